import type { ObjectAuth } from './authorization.js';
import type { LockState } from './lock.js';
import type { ObjectType } from './objectTypes.js';
import type { Permissions } from './permissions.js';

/** What every owned, permissioned object of oned has (PoolObjectSQL). */
export interface PoolObject {
  id: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  name: string;
  permissions: Permissions;
  lock: LockState;
}

export function objectAuth(type: ObjectType, o: PoolObject): ObjectAuth {
  return { type, oid: o.id, uid: o.uid, gid: o.gid, permissions: o.permissions, locked: o.lock.locked };
}
