import type { User } from '../domain/user.js';
import { cdata, el, idList } from './text.js';

const EMPTY_QUOTAS = '<DATASTORE_QUOTA></DATASTORE_QUOTA><NETWORK_QUOTA></NETWORK_QUOTA><VM_QUOTA></VM_QUOTA><IMAGE_QUOTA></IMAGE_QUOTA>';

/** The stored user body (User::to_xml): what the pool lists. Quotas are not enforced, so they are always empty. */
export function renderUserBody(u: User): string {
  const tokens = [...u.loginTokens]
    .sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : 0))
    .map((t) => `<LOGIN_TOKEN>${el('TOKEN', t.token)}${el('EXPIRATION_TIME', t.expiration)}${el('EGID', t.egid)}</LOGIN_TOKEN>`)
    .join('');
  return `<USER>${el('ID', u.id)}${el('GID', u.gid)}${idList('GROUPS', u.groups)}${el('GNAME', u.gname)}${el('NAME', u.name)}`
    + `<PASSWORD>${cdata(u.password)}</PASSWORD><AUTH_DRIVER>${cdata(u.authDriver)}</AUTH_DRIVER>`
    + `<ENABLED>${u.enabled ? 1 : 0}</ENABLED>${tokens}${u.template.toXml('TEMPLATE')}`;
}

/** one.user.info: the body plus the (empty) quota elements and the default user quotas. */
export function renderUser(u: User): string {
  return `${renderUserBody(u)}${EMPTY_QUOTAS}<DEFAULT_USER_QUOTAS>${EMPTY_QUOTAS}</DEFAULT_USER_QUOTAS></USER>`;
}

/** one.userpool.info: each body closed and followed by its QUOTAS, then the default quotas once. */
export function renderUserPool(users: readonly User[]): string {
  const rows = users.map((u) => `${renderUserBody(u)}</USER><QUOTAS><ID>${u.id}</ID>${EMPTY_QUOTAS}</QUOTAS>`).join('');
  return `<USER_POOL>${rows}<DEFAULT_USER_QUOTAS>${EMPTY_QUOTAS}</DEFAULT_USER_QUOTAS></USER_POOL>`;
}

export { EMPTY_QUOTAS };
