import { aclResourceBit, type ObjectType } from './objectTypes.js';
import { groupRights, otherRights, ownerRights, type Permissions } from './permissions.js';

/** AuthRequest::Operation. The NO_LCK variants ignore locks. */
export const Op = {
  USE: 0x1, MANAGE: 0x2, ADMIN: 0x4, CREATE: 0x8,
  USE_NO_LCK: 0x11, MANAGE_NO_LCK: 0x12, ADMIN_NO_LCK: 0x14,
} as const;
export type Operation = (typeof Op)[keyof typeof Op];

const NO_LOCK_BIT = 0x10;

export function operationName(op: number): string {
  switch (op & 0x0f) {
    case Op.USE: return 'USE';
    case Op.MANAGE: return 'MANAGE';
    case Op.ADMIN: return 'ADMIN';
    case Op.CREATE: return 'CREATE';
    default: return '';
  }
}

/** AclRule selector bits (AclRule.h). */
export const AclSelector = { INDIVIDUAL: 0x100000000n, GROUP: 0x200000000n, ALL: 0x400000000n, CLUSTER: 0x800000000n } as const;
const LOW_32 = 0xffffffffn;

export interface AclRule { id: number; user: bigint; resource: bigint; rights: bigint; zone: bigint }

/** Who is asking: the authenticated user with its effective groups (RequestAttributes). */
export interface Caller {
  uid: number;
  gid: number;
  groups: ReadonlySet<number>;
  uname: string;
  gname: string;
  umask: number;
}

/** oneadmin, or a member of the oneadmin group (primary or secondary). */
export function isAdmin(caller: Pick<Caller, 'uid' | 'groups'>): boolean {
  return caller.uid === 0 || caller.groups.has(0);
}

/** PoolObjectAuth: what authorization needs to know of an object. oid -1 for CREATE requests. */
export interface ObjectAuth {
  type: ObjectType;
  oid: number;
  uid: number;
  gid: number;
  permissions?: Permissions;
  locked?: number;
  clusterIds?: readonly number[];
}

export interface AuthItem { op: number; object: ObjectAuth }

const ZONE_ID = 0n;

function zoneMatches(ruleZone: bigint): boolean {
  return (ruleZone & (AclSelector.INDIVIDUAL | LOW_32)) === (AclSelector.INDIVIDUAL | ZONE_ID)
    || (ruleZone & AclSelector.ALL) === AclSelector.ALL;
}

/** AclManager::authorize for a caller that is not an admin. */
function aclAuthorize(caller: Caller, object: ObjectAuth, op: number, rules: readonly AclRule[]): boolean {
  let rightsOp = op;
  if (op & NO_LOCK_BIT) rightsOp = op & 0x0f;
  else if ((object.locked ?? 0) > 0 && (object.locked ?? 0) <= op) return false;

  const typeBit = aclResourceBit(object.type);
  const oidReq = object.oid >= 0 ? typeBit | AclSelector.INDIVIDUAL | BigInt(object.oid) : -1n;
  const gidReq = object.gid >= 0 ? typeBit | AclSelector.GROUP | BigInt(object.gid) : -1n;
  const allReq = typeBit | AclSelector.ALL;
  const cidReqs = (object.clusterIds ?? []).map((c) => typeBit | AclSelector.CLUSTER | BigInt(c));
  const rights = BigInt(rightsOp);

  const matches = (rule: AclRule, userReq: bigint): boolean => {
    if (rule.user !== userReq) return false;
    if ((rule.rights & rights) !== rights) return false;
    if (!zoneMatches(rule.zone)) return false;
    const r = rule.resource;
    return (oidReq !== -1n && (r & (typeBit | AclSelector.INDIVIDUAL | LOW_32)) === oidReq)
      || (gidReq !== -1n && (r & (typeBit | AclSelector.GROUP | LOW_32)) === gidReq)
      || cidReqs.some((c) => (r & (typeBit | AclSelector.CLUSTER | LOW_32)) === c)
      || (r & allReq) === allReq;
  };

  // The object's own permission bits act as three temporary rules (PoolObjectAuth::get_acl_rules).
  const p = object.permissions;
  const objectRules: AclRule[] = p && object.oid >= 0 ? [
    { id: -1, user: AclSelector.INDIVIDUAL | BigInt(object.uid), resource: oidReq, rights: BigInt(ownerRights(p)), zone: AclSelector.ALL },
    { id: -1, user: AclSelector.GROUP | BigInt(object.gid), resource: oidReq, rights: BigInt(groupRights(p)), zone: AclSelector.ALL },
    { id: -1, user: AclSelector.ALL, resource: oidReq, rights: BigInt(otherRights(p)), zone: AclSelector.ALL },
  ] : [];

  const userReqs = [AclSelector.ALL, AclSelector.INDIVIDUAL | BigInt(caller.uid),
    ...[...caller.groups].sort((a, b) => a - b).map((g) => AclSelector.GROUP | BigInt(g))];
  for (const userReq of userReqs) {
    if (objectRules.some((r) => matches(r, userReq))) return true;
    if (rules.some((r) => matches(r, userReq))) return true;
  }
  return false;
}

/**
 * AuthRequest::add_auth over several items: returns null when every item is granted, else the joined
 * denial text ("Not authorized to perform MANAGE BACKUPJOB [2]; ..." or, for admins, "BACKUPJOB is locked. [2]").
 */
export function authorize(caller: Caller, items: readonly AuthItem[], rules: readonly AclRule[]): string | null {
  const admin = isAdmin(caller);
  const denials: string[] = [];
  for (const { op, object } of items) {
    let granted: boolean;
    if (admin) {
      const locked = object.locked ?? 0;
      granted = (op & NO_LOCK_BIT) !== 0 || !(locked > 0 && locked <= op);
    } else {
      granted = aclAuthorize(caller, object, op, rules);
    }
    if (granted) continue;
    const what = admin ? `${object.type} is locked.` : `Not authorized to perform ${operationName(op)} ${object.type}`;
    denials.push(object.oid !== -1 ? `${what} [${object.oid}]` : what);
  }
  return denials.length === 0 ? null : denials.join('; ');
}
