import type { Group } from '../domain/group.js';
import { cdata, el, idList } from './text.js';
import { EMPTY_QUOTAS } from './user.js';

function renderGroupBody(g: Group): string {
  return `<GROUP>${el('ID', g.id)}${el('NAME', g.name)}${g.template.toXml('TEMPLATE')}${idList('USERS', g.users)}${idList('ADMINS', g.admins)}`;
}

/** VLAN_RULES (new in 7.4): only the group id until one.group.vlan adds rules, which oned-emu does not offer. */
const vlanRules = (g: Group) => `<VLAN_RULES><ID>${cdata(String(g.id))}</ID></VLAN_RULES>`;

/** one.group.info. */
export function renderGroup(g: Group): string {
  return `${renderGroupBody(g)}${EMPTY_QUOTAS}${vlanRules(g)}<DEFAULT_GROUP_QUOTAS>${EMPTY_QUOTAS}</DEFAULT_GROUP_QUOTAS></GROUP>`;
}

/** one.grouppool.info. */
export function renderGroupPool(groups: readonly Group[]): string {
  const rows = groups.map((g) => `${renderGroupBody(g)}</GROUP><QUOTAS><ID>${g.id}</ID>${EMPTY_QUOTAS}</QUOTAS>${vlanRules(g)}`).join('');
  return `<GROUP_POOL>${rows}<DEFAULT_GROUP_QUOTAS>${EMPTY_QUOTAS}</DEFAULT_GROUP_QUOTAS></GROUP_POOL>`;
}
