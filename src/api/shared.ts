import { isAdmin, Op, type AuthItem, type ObjectAuth } from '../domain/authorization.js';
import { actionError, authorizationError, internalError, noExists } from '../domain/errors.js';
import { storedLockLevel, UNLOCKED } from '../domain/lock.js';
import { invalidNameReason } from '../domain/names.js';
import { OBJECT_NAME, type ObjectType } from '../domain/objectTypes.js';
import { PERMISSION_KEYS, type Permissions } from '../domain/permissions.js';
import { objectAuth, type PoolObject } from '../domain/poolObject.js';
import { nowSeconds } from '../clock.js';
import { isUniqueViolation, type Queryable } from '../store/database.js';
import { getGroup } from '../store/groups.js';
import type { PoolTable } from '../store/poolTable.js';
import { getUser } from '../store/users.js';
import type { Request } from './app.js';
import { basicAuthorization, requireAuthorization } from './authorize.js';
import { groupAuth } from './group.js';
import { userAuth } from './user.js';

/** A kind of pool object the generic SharedAPI behaviours work on. */
export interface PoolKind<T extends PoolObject> {
  type: ObjectType;
  table: PoolTable<T>;
  /** Runs after the generic change, in the same transaction (e.g. to keep dependent rows in step). */
  afterSave?: (tx: Queryable, o: T) => Promise<void>;
  /** false for objects whose names need not be unique (VMs): rename and chown then skip the name checks. */
  uniqueNames?: boolean;
  /** Why this object may not change owner now (a DONE VM), or null. */
  chownRefusal?: (o: T) => string | null;
  /** The object's request.auth_op, which rename and chown check: MANAGE (default), ADMIN for hosts. */
  authOp?: number;
  /** The object that already holds `name` where names must be unique (SharedAPI::exist): by default one of the
   *  same owner; hosts and datastores look cloud-wide. */
  nameHolder?: (q: Queryable, name: string, uid: number) => Promise<number | undefined>;
  /** chown refuses a new owner who has an object of the same name (default); datastores skip that check. */
  chownChecksName?: boolean;
  /** What authorization sees of an object (default objectAuth); objects in clusters add their cluster ids. */
  auth?: (o: T) => ObjectAuth;
}

const authOf = <T extends PoolObject>(kind: PoolKind<T>, o: T): ObjectAuth => kind.auth?.(o) ?? objectAuth(kind.type, o);
const nameHolder = <T extends PoolObject>(kind: PoolKind<T>, q: Queryable, name: string, uid: number) =>
  (kind.nameHolder ? kind.nameHolder(q, name, uid) : kind.table.idByNameAndOwner(q, name, uid));

/** SharedAPI::basic_authorization followed by get(): the object, or NO_EXISTS / AUTHORIZATION. */
export async function authorizedObject<T extends PoolObject>(req: Request, kind: PoolKind<T>, id: number, op: number,
  q: Queryable = req.app.db, read: (q: Queryable, id: number) => Promise<T | undefined> = (rq, rid) => kind.table.get(rq, rid)): Promise<T> {
  const object = id >= 0 ? await read(q, id) : undefined;
  await basicAuthorization(req, kind.type, id, op, object && authOf(kind, object), q);
  if (!object) throw noExists(kind.type, id);
  return object;
}

/** Reads the object again under a row lock inside the writing transaction; it may have gone meanwhile. */
export async function lockedObject<T extends PoolObject>(tx: Queryable, kind: PoolKind<T>, id: number): Promise<T> {
  const object = await kind.table.get(tx, id, true);
  if (!object) throw noExists(kind.type, id);
  return object;
}

const renaming = new Set<string>();

/** SharedAPI::rename. */
export async function renameObject<T extends PoolObject>(req: Request, kind: PoolKind<T>, id: number, newName: string): Promise<number> {
  const key = `${kind.table.table}:${id}`;
  if (renaming.has(key)) throw internalError('Object is being renamed');
  renaming.add(key);
  try {
    const object = await kind.table.get(req.app.db, id);
    if (!object) throw noExists(kind.type, id);
    if (object.name === newName) return id;
    await requireAuthorization(req, [{ op: kind.authOp ?? Op.MANAGE, object: authOf(kind, object) }]);
    const obname = OBJECT_NAME[kind.type];
    const collision = (other: number) =>
      actionError(`${obname} cannot be renamed to ${newName} because it collides with ${obname} ${other}`);
    await req.app.db.transaction(async (tx) => {
      const current = await lockedObject(tx, kind, id);
      const other = kind.uniqueNames === false ? undefined : await nameHolder(kind, tx, newName, current.uid);
      if (other !== undefined) throw collision(other);
      const bad = invalidNameReason(newName);
      if (bad) throw actionError(bad);
      current.name = newName;
      await kind.table.save(tx, current);
      await kind.afterSave?.(tx, current);
    }).catch(async (err: unknown) => {
      const other = isUniqueViolation(err)
        ? await nameHolder(kind, req.app.db, newName, object.uid) : undefined;
      if (other !== undefined) throw collision(other);
      throw err;
    });
    return id;
  } finally {
    renaming.delete(key);
  }
}

/** SharedAPI::chmod: nine values -1 (keep), 0 or 1, in OWNER_U … OTHER_A order. */
export async function chmodObject<T extends PoolObject>(req: Request, kind: PoolKind<T>, id: number, values: number[]): Promise<number> {
  const object = await kind.table.get(req.app.db, id);
  if (!object) throw noExists(kind.type, id);
  const v = [...values];
  const p = object.permissions;
  // Only the admin and 'other' bits are compared with the current value (oned's normalisation).
  const normalised: Array<[number, keyof Permissions]> = [[2, 'ownerA'], [5, 'groupA'], [6, 'otherU'], [7, 'otherM'], [8, 'otherA']];
  for (const [i, key] of normalised) if (v[i] === p[key]) v[i] = -1;
  const op = v[2] !== -1 || v[5] !== -1 || v[8] !== -1 ? Op.ADMIN : Op.MANAGE;
  if ((v[6] !== -1 || v[7] !== -1 || v[8] !== -1) && !req.app.config.ENABLE_OTHER_PERMISSIONS && !isAdmin(req.caller)) {
    throw authorizationError("'other' permissions is disabled in oned.conf");
  }
  await requireAuthorization(req, [{ op, object: authOf(kind, object) }]);
  if (v.some((x) => x < -1 || x > 1)) throw internalError('New permission values must be -1, 0 or 1');
  await req.app.db.transaction(async (tx) => {
    const current = await lockedObject(tx, kind, id);
    PERMISSION_KEYS.forEach((key, i) => { if (v[i] !== -1) current.permissions[key] = v[i]; });
    await kind.table.save(tx, current);
    await kind.afterSave?.(tx, current);
  });
  return id;
}

/** SharedAPI::chown: -1 keeps the owner or group. */
export async function chownObject<T extends PoolObject>(req: Request, kind: PoolKind<T>, id: number, uid: number, gid: number): Promise<number> {
  const db = req.app.db;
  const newUser = uid > -1 ? await getUser(db, uid) : undefined;
  if (uid > -1 && !newUser) throw noExists('USER', uid);
  const newGroup = gid > -1 ? await getGroup(db, gid) : undefined;
  if (gid > -1 && !newGroup) throw noExists('GROUP', gid);
  const object = await kind.table.get(db, id);
  if (!object) throw noExists(kind.type, id);
  let newUid = uid === object.uid ? -1 : uid;
  const newGid = gid === object.gid ? -1 : gid;
  const items: AuthItem[] = [{ op: kind.authOp ?? Op.MANAGE, object: authOf(kind, object) }];
  if (newUid > -1 && newUser) items.push({ op: Op.MANAGE, object: userAuth(newUser) });
  if (newGid > -1 && newGroup) items.push({ op: Op.USE, object: groupAuth(newGroup) });
  await requireAuthorization(req, items);
  const nameTaken = async (q: Queryable, name: string) => {
    if (kind.chownChecksName === false) return;
    const other = await nameHolder(kind, q, name, newUid);
    if (other !== undefined) {
      throw internalError(`user [${newUid}] already owns ${OBJECT_NAME[kind.type]} [${other}] with NAME ${name}`);
    }
  };
  await db.transaction(async (tx) => {
    const current = await lockedObject(tx, kind, id);
    const refusal = kind.chownRefusal?.(current);
    if (refusal) throw actionError(refusal);
    if (newUid === current.uid) newUid = -1;
    if (newUid !== -1 && kind.uniqueNames !== false) await nameTaken(tx, current.name);
    // Ids below -1 are not looked up and are stored as given with empty names, as oned does.
    if (newUid !== -1) { current.uid = newUid; current.uname = newUser?.name ?? ''; }
    if (newGid !== -1) { current.gid = newGid; current.gname = newGroup?.name ?? ''; }
    await kind.table.save(tx, current);
    await kind.afterSave?.(tx, current);
  }).catch(async (err: unknown) => {
    if (isUniqueViolation(err)) await nameTaken(db, object.name);
    throw err;
  });
  return id;
}

/** SharedAPI::lock: API levels 1-4 (4 is stored as 1); `test` fails with the lock time when already locked. */
export async function lockObject<T extends PoolObject>(req: Request, kind: PoolKind<T>, id: number, level: number, test: boolean): Promise<number> {
  await authorizedObject(req, kind, id, Op.MANAGE_NO_LCK);
  const stored = storedLockLevel(level);
  if (stored === null) throw actionError('Wrong lock level specified');
  await req.app.db.transaction(async (tx) => {
    const current = await lockedObject(tx, kind, id);
    if (test && current.lock.locked !== 0) throw actionError(String(current.lock.time));
    if (current.lock.locked !== 0 && current.lock.owner !== req.caller.uid && !isAdmin(req.caller)) {
      throw actionError('Error trying to lock the resource.');
    }
    current.lock = { locked: stored, owner: req.caller.uid, time: nowSeconds(req.app.clock), reqId: req.reqId };
    await kind.table.save(tx, current);
  });
  return id;
}

/** SharedAPI::unlock: admins always unlock; others only their own lock (an unlocked object has owner -1). */
export async function unlockObject<T extends PoolObject>(req: Request, kind: PoolKind<T>, id: number): Promise<number> {
  await authorizedObject(req, kind, id, Op.MANAGE_NO_LCK);
  await req.app.db.transaction(async (tx) => {
    const current = await lockedObject(tx, kind, id);
    if (!isAdmin(req.caller) && current.lock.owner !== req.caller.uid) {
      throw actionError('Cannot unlock: Lock is owned by another user');
    }
    current.lock = { ...UNLOCKED, time: nowSeconds(req.app.clock) };
    await kind.table.save(tx, current);
  });
  return id;
}
