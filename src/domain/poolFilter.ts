import { AclSelector, isAdmin, type AclRule, type Caller, Op } from './authorization.js';
import { aclResourceBit, type ObjectType } from './objectTypes.js';

/** Pool filter flags (PoolSQL.h). */
export const PoolFilter = { PRIMARY_GROUP: -4, MINE: -3, ALL: -2, MINE_GROUP: -1 } as const;

const LOW_32 = 0xffffffffn;

/** AclManager::reverse_search for USE: what the caller may see beyond its own permission bits. */
export function aclVisibility(caller: Caller, type: ObjectType, rules: readonly AclRule[]) {
  if (isAdmin(caller)) return { all: true, oids: [] as number[], gids: [] as number[] };
  const typeBit = aclResourceBit(type);
  const userSelectors = new Set([AclSelector.ALL, AclSelector.INDIVIDUAL | BigInt(caller.uid),
    ...[...caller.groups].map((g) => AclSelector.GROUP | BigInt(g))]);
  let all = false;
  const oids: number[] = [];
  const gids: number[] = [];
  for (const rule of rules) {
    if (!userSelectors.has(rule.user) || (rule.resource & typeBit) === 0n || (rule.rights & BigInt(Op.USE)) === 0n) continue;
    const zoneOk = (rule.zone & AclSelector.ALL) !== 0n || (rule.zone & LOW_32) === 0n;
    if (!zoneOk) continue;
    const id = Number(rule.resource & LOW_32);
    if (rule.resource & AclSelector.ALL) all = true;
    else if (rule.resource & AclSelector.INDIVIDUAL) oids.push(id);
    else if (rule.resource & AclSelector.GROUP) gids.push(id);
  }
  return { all, oids, gids };
}

/**
 * The WHERE clause of a pool listing (PoolSQL::usr_filter + oid_filter), on the columns every pool table has:
 * oid, uid, gid, owner_u, group_u, other_u. All values are integers, written inline as oned does.
 */
export function poolWhere(caller: Caller, type: ObjectType, rules: readonly AclRule[], flag: number,
  startId = -1, endId = -1): string {
  const { all, oids, gids } = aclVisibility(caller, type, rules);
  const aclStr = oids.map((o) => ` OR oid = ${o}`).join('') + gids.map((g) => ` OR gid = ${g}`).join('');
  const groups = [...caller.groups].sort((a, b) => a - b);
  const groupUse = groups.map((g) => ` OR ( gid = ${g} AND group_u = 1 )`).join('');
  const uid = caller.uid;
  let usr: string;
  if (flag === PoolFilter.MINE) {
    usr = `uid = ${uid}`;
  } else if (flag === PoolFilter.PRIMARY_GROUP) {
    usr = `gid = ${caller.gid}`;
    if (!all) usr += ` AND ( other_u = 1 OR ( uid = ${uid} ) OR ( gid = ${caller.gid} AND group_u = 1 )${aclStr})`;
  } else if (flag === PoolFilter.MINE_GROUP) {
    usr = `uid = ${uid} OR ( (${groups.map((g) => ` ( gid = ${g} )`).join(' OR')})`;
    if (!all) usr += ` AND ( other_u = 1${groupUse}${aclStr})`;
    usr += ')';
  } else if (flag === PoolFilter.ALL) {
    usr = all ? '' : `uid = ${uid} OR other_u = 1${groupUse}${aclStr}`;
  } else {
    usr = `uid = ${flag}`;
    if (flag !== uid && !all) usr += ` AND ( other_u = 1${groupUse}${aclStr})`;
  }
  let oid = '';
  if (endId >= -1 && startId !== -1) {
    oid = `oid >= ${startId}`;
    if (endId !== -1) oid += ` AND oid <= ${endId}`;
  }
  const parts = [usr, oid].filter((p) => p !== '').map((p) => `(${p})`);
  return parts.length === 0 ? 'TRUE' : parts.join(' AND ');
}
