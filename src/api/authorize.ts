import { authorize, isAdmin, type AuthItem, type ObjectAuth } from '../domain/authorization.js';
import { authorizationError, noExists } from '../domain/errors.js';
import type { ObjectType } from '../domain/objectTypes.js';
import { listAclRules } from '../store/acl.js';
import type { Queryable } from '../store/database.js';
import type { Request } from './app.js';

/** Authorizes every item or throws AUTHORIZATION with oned's joined denial text. */
export async function requireAuthorization(req: Request, items: readonly AuthItem[], q: Queryable = req.app.db): Promise<void> {
  if (isAdmin(req.caller) && items.every((i) => !(i.object.locked ?? 0))) return;
  const rules = isAdmin(req.caller) ? [] : await listAclRules(q);
  const denial = authorize(req.caller, items, rules);
  if (denial !== null) throw authorizationError(denial);
}

/**
 * SharedAPI::basic_authorization: for id >= 0 the object must exist (NO_EXISTS with its id); ids below 0 are
 * not looked up, so the check runs on an object with oid -1 (admins pass, others are refused without an id).
 */
export async function basicAuthorization(req: Request, type: ObjectType, id: number, op: number,
  object: ObjectAuth | undefined, q: Queryable = req.app.db): Promise<void> {
  if (id >= 0) {
    if (!object) throw noExists(type, id);
    await requireAuthorization(req, [{ op, object }], q);
  } else {
    await requireAuthorization(req, [{ op, object: { type, oid: -1, uid: -1, gid: -1 } }], q);
  }
}
