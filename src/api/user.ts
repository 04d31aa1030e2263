import { randomBytes } from 'node:crypto';
import { isAdmin, Op, type AuthItem, type ObjectAuth } from '../domain/authorization.js';
import { actionError, internalError, noExists, rpcApiError } from '../domain/errors.js';
import { permissionsFromOctal } from '../domain/permissions.js';
import { invalidNameReason, USER_GROUP_EXTRA_FORBIDDEN } from '../domain/names.js';
import { invalidPasswordReason, randomHex64, storedPassword } from '../domain/password.js';
import { Template } from '../domain/template.js';
import { driverConf, MAX_LOGIN_TOKENS, ONEADMIN_GID, tokenValid, USERS_GID, type User } from '../domain/user.js';
import { PoolFilter, poolWhere } from '../domain/poolFilter.js';
import { nowSeconds } from '../clock.js';
import { FAULT, RpcFault } from '../rpc/faults.js';
import type { RpcValue } from '../rpc/values.js';
import { deleteAclRulesWhere, listAclRules } from '../store/acl.js';
import { isUniqueViolation, type Queryable } from '../store/database.js';
import { getGroup, lockGroups, saveGroup } from '../store/groups.js';
import { nextOid } from '../store/poolControl.js';
import { deleteUser, getUser, getUserByName, insertUser, listUsers, saveUser } from '../store/users.js';
import { renderUser, renderUserPool } from '../xml/user.js';
import type { ApiMethod, Request } from './app.js';
import { basicAuthorization, requireAuthorization } from './authorize.js';
import { updateTemplate } from './templateUpdate.js';
import { validateVmOperations, VM_OPERATION_ATTRIBUTES } from '../domain/vmOperations.js';
import { groupAuth } from './group.js';
import { AclSelector } from '../domain/authorization.js';

/** A user owns itself with USE+MANAGE; its gid is its primary group (User.cc). */
export function userAuth(u: User): ObjectAuth {
  return { type: 'USER', oid: u.id, uid: u.id, gid: u.gid, permissions: permissionsFromOctal(0o600) };
}

/** Oned's user template attributes only admins may set (USER_RESTRICTED_ATTR). */
const USER_RESTRICTED_ATTRIBUTES = VM_OPERATION_ATTRIBUTES;

/** Group USERS lists follow a user's memberships; rows are locked in id order. */
async function syncGroupMembership(q: Queryable, uid: number, added: number[], removed: number[]): Promise<void> {
  const groups = await lockGroups(q, [...added, ...removed]);
  for (const g of groups) {
    if (added.includes(g.id) && !g.users.includes(uid)) g.users.push(uid);
    if (removed.includes(g.id)) {
      g.users = g.users.filter((u) => u !== uid);
      if (g.admins.includes(uid)) {
        g.admins = g.admins.filter((u) => u !== uid);
        await deleteGroupAdminRules(q, uid, g.id);
      }
    }
    await saveGroup(q, g);
  }
}

/** The four rules addadmin creates (Group.cc), removed when the user stops administering the group. */
async function deleteGroupAdminRules(q: Queryable, uid: number, gid: number): Promise<void> {
  const user = (AclSelector.INDIVIDUAL | BigInt(uid)).toString();
  await deleteAclRulesWhere(q, `user_sel = $1 AND (resource & 4294967295) = $2`, [user, gid]);
}

const getInt = (v: RpcValue) => v as number;
const getStr = (v: RpcValue) => v as string;

async function loadUserForAuth(req: Request, id: number, op: number): Promise<User> {
  const user = id >= 0 ? await getUser(req.app.db, id) : undefined;
  await basicAuthorization(req, 'USER', id, op, user && userAuth(user));
  if (!user) throw noExists('USER', id);
  return user;
}

const allocate: ApiMethod = {
  name: 'one.user.allocate', signature: 'A:ssssA', required: 4, readOrder: [4, 1, 2, 3], object: 'USER', hidden: [2],
  async run(req, p) {
    const name = getStr(p[1]);
    const password = getStr(p[2]);
    let driver = getStr(p[3]);
    const gidValues = (p[4] as RpcValue[] | undefined) ?? [];
    const gids = gidValues.map((v) => {
      if (typeof v !== 'number') {
        throw new RpcFault(FAULT.INTERNAL, 'Unexpected error executing code for particular method, detected by Xmlrpc-c method '
          + 'registry code.  Method did not fail; rather, it did not complete at all.  Not integer type.  See type() method');
      }
      return v;
    });
    const db = req.app.db;
    for (const gid of gids) {
      if (!(await getGroup(db, gid))) throw noExists('GROUP', gid);
    }
    const items: AuthItem[] = [{ op: Op.CREATE, object: { type: 'USER', oid: -1, uid: req.caller.uid, gid: req.caller.gid } }];
    for (const gid of gids) {
      if (gid !== req.caller.gid) {
        const g = await getGroup(db, gid);
        if (g) items.push({ op: Op.MANAGE, object: groupAuth(g) });
      }
    }
    await requireAuthorization(req, items);

    let primary: number;
    let groups: number[];
    if (gids.length > 0) {
      primary = gids[0];
      groups = [...new Set(gids)];
    } else {
      primary = req.caller.gid === ONEADMIN_GID ? USERS_GID : req.caller.gid;
      groups = [primary];
    }
    if (driver === '') driver = 'core';
    if (driverConf(driver).passwordRequired) {
      const bad = invalidPasswordReason(password, driver);
      if (bad) throw internalError(`${bad}.`);
    }
    const badName = invalidNameReason(name, USER_GROUP_EXTRA_FORBIDDEN);
    if (badName) throw internalError(`${badName}.`);

    return db.transaction(async (tx) => {
      const taken = await getUserByName(tx, name);
      if (taken) throw internalError(`NAME is already taken by USER ${taken.id}.`);
      const primaryGroup = await getGroup(tx, primary);
      if (!primaryGroup) throw noExists('GROUP', primary);
      const id = await nextOid(tx, 'user_pool');
      const template = new Template();
      template.set('TOKEN_PASSWORD', randomHex64());
      await insertUser(tx, {
        id, name, gid: primary, groups: [...groups].sort((a, b) => a - b), gname: primaryGroup.name,
        password: storedPassword(password, driver), authDriver: driver, enabled: true, loginTokens: [], template,
      });
      await syncGroupMembership(tx, id, groups, []);
      return id;
    }).catch(async (err: unknown) => {
      // Two concurrent allocations of one name: the unique index makes the loser oned's duplicate-name reply.
      const winner = isUniqueViolation(err) ? await getUserByName(db, name) : undefined;
      if (winner) throw internalError(`NAME is already taken by USER ${winner.id}.`);
      throw err;
    });
  },
};

const remove: ApiMethod = {
  name: 'one.user.delete', signature: 'A:si', object: 'USER',
  async run(req, p) {
    const id = getInt(p[1]);
    const db = req.app.db;
    const user = await getUser(db, id);
    if (!user) throw noExists('USER', id);
    await requireAuthorization(req, [{ op: Op.ADMIN, object: userAuth(user) }]);
    if (id === 0) throw actionError('Cannot delete user. oneadmin cannot be deleted.');
    await db.transaction(async (tx) => {
      const current = await getUser(tx, id, true);
      if (!current) throw noExists('USER', id);
      await syncGroupMembership(tx, id, [], current.groups);
      await deleteUser(tx, id);
      const individual = (AclSelector.INDIVIDUAL | BigInt(id)).toString();
      const userResource = (0x10000000000n | AclSelector.INDIVIDUAL | BigInt(id)).toString();
      await deleteAclRulesWhere(tx, `user_sel = $1 OR resource = $2`, [individual, userResource]);
    });
    return id;
  },
};

const passwd: ApiMethod = {
  name: 'one.user.passwd', signature: 'A:sis', object: 'USER', hidden: [2],
  async run(req, p) {
    const id = getInt(p[1]);
    const password = getStr(p[2]);
    const user = await loadUserForAuth(req, id, Op.MANAGE);
    if (!driverConf(user.authDriver).passwordChange && !isAdmin(req.caller)) {
      throw actionError(`Password for driver ${user.authDriver} cannot be changed.`);
    }
    const bad = invalidPasswordReason(password, user.authDriver);
    if (bad) throw actionError(bad);
    await req.app.db.transaction(async (tx) => {
      const current = await getUser(tx, id, true);
      if (!current) throw noExists('USER', id);
      current.password = storedPassword(password, current.authDriver);
      current.loginTokens = [];
      await saveUser(tx, current);
    });
    return id;
  },
};

const chauth: ApiMethod = {
  name: 'one.user.chauth', signature: 'A:siss', object: 'USER', hidden: [3],
  async run(req, p) {
    const id = getInt(p[1]);
    const driver = getStr(p[2]);
    const password = getStr(p[3]);
    const user = await getUser(req.app.db, id);
    await basicAuthorization(req, 'USER', id, Op.ADMIN, user && userAuth(user));
    if (!user) throw noExists('USER', id);
    if (password !== '') {
      const bad = invalidPasswordReason(password, driver);
      if (bad) throw actionError(bad);
    }
    await req.app.db.transaction(async (tx) => {
      const current = await getUser(tx, id, true);
      if (!current) throw noExists('USER', id);
      current.authDriver = driver;
      if (password !== '') {
        current.password = storedPassword(password, driver);
        current.loginTokens = [];
      }
      await saveUser(tx, current);
    });
    return id;
  },
};

const login: ApiMethod = {
  name: 'one.user.login', signature: 'A:sssii', required: 4, object: 'USER', hidden: [2],
  async run(req, p) {
    const uname = getStr(p[1]);
    let token = getStr(p[2]);
    let valid = getInt(p[3]);
    const egid = p.length > 4 ? getInt(p[4]) : -1;
    const db = req.app.db;
    const found = await getUserByName(db, uname);
    if (!found) throw noExists('USER', -1);
    await requireAuthorization(req, [{ op: Op.MANAGE, object: userAuth(found) }]);
    const now = nowSeconds(req.app.clock);
    return db.transaction(async (tx) => {
      const user = await getUser(tx, found.id, true);
      if (!user) throw noExists('USER', -1);
      const maxTokenTime = driverConf(user.authDriver).maxTokenTime;
      if (maxTokenTime === 0) {
        user.loginTokens = [];
        await saveUser(tx, user);
        throw actionError(`Login tokens are disabled for driver ${user.authDriver}`);
      }
      if (maxTokenTime > 0 && (valid > maxTokenTime || valid === -1)) valid = maxTokenTime;
      if (valid === 0) {
        if (token === '') user.loginTokens = [];
        else if (user.loginTokens.some((t) => t.token === token)) user.loginTokens = user.loginTokens.filter((t) => t.token !== token);
        else throw rpcApiError(`Could not find token: ${token}`);
      } else if (valid > 0 || valid === -1) {
        const callerGroups = req.caller.groups;
        if (egid !== -1 && !isAdmin(req.caller) && (!user.groups.includes(egid) || !callerGroups.has(egid))) {
          throw rpcApiError('EGID is not in user group list');
        }
        const sameGroups = user.groups.length === callerGroups.size && user.groups.every((g) => callerGroups.has(g));
        if (egid === -1 && !sameGroups) throw rpcApiError('Cannot create a full token with a specific group token');
        user.loginTokens = user.loginTokens.filter((t) => tokenValid(t, now));
        if (!user.loginTokens.some((t) => t.token === token && token !== '')) {
          if (user.loginTokens.length >= MAX_LOGIN_TOKENS) throw rpcApiError('Max number of tokens limit reached.');
          if (token === '') token = randomBytes(32).toString('hex');
          user.loginTokens.push({ token, expiration: valid === -1 ? -1 : now + valid, egid });
        }
      } else {
        throw rpcApiError('Wrong valid period for token');
      }
      await saveUser(tx, user);
      return token;
    });
  },
};

const info: ApiMethod = {
  name: 'one.user.info', signature: 'A:sib', required: 2, object: 'USER',
  async run(req, p) {
    let id = getInt(p[1]);
    if (id === -1) id = req.caller.uid;
    const user = await loadUserForAuth(req, id, Op.USE_NO_LCK);
    return renderUser(user);
  },
};

const update: ApiMethod = {
  name: 'one.user.update', signature: 'A:sisi', required: 3, object: 'USER',
  async run(req, p) {
    const id = getInt(p[1]);
    const text = getStr(p[2]);
    const type = p.length > 3 ? getInt(p[3]) : 0;
    await loadUserForAuth(req, id, Op.MANAGE);
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    await req.app.db.transaction(async (tx) => {
      const user = await getUser(tx, id, true);
      if (!user) throw noExists('USER', id);
      user.template = updateTemplate(user.template, text, type === 1, {
        restricted: isAdmin(req.caller) ? [] : USER_RESTRICTED_ATTRIBUTES, restrictedLabel: 'User Template', replaceMode: true,
        validate: validateVmOperations,
      });
      await saveUser(tx, user);
    });
    return id;
  },
};

const chgrp: ApiMethod = {
  name: 'one.user.chgrp', signature: 'A:sii', object: 'USER',
  async run(req, p) {
    const id = getInt(p[1]);
    const gid = getInt(p[2]);
    const db = req.app.db;
    if (gid < 0) throw rpcApiError('Wrong group ID');
    const user = await getUser(db, id);
    if (!user) throw noExists('USER', id);
    if (driverConf(user.authDriver).driverManagedGroups && !user.groups.includes(gid)) {
      throw rpcApiError(`Groups cannot be manually managed for auth driver ${user.authDriver}`);
    }
    const group = await getGroup(db, gid);
    if (!group) throw noExists('GROUP', gid);
    if (id === 0) {
      const oneadmin = await getGroup(db, 0);
      throw internalError(`user [0] ${user.name} cannot be moved outside of the group [0] ${oneadmin?.name ?? 'oneadmin'}`);
    }
    await requireAuthorization(req, [{ op: Op.MANAGE, object: userAuth(user) }, { op: Op.USE, object: groupAuth(group) }]);
    if (gid === user.gid) return id;
    await db.transaction(async (tx) => {
      const current = await getUser(tx, id, true);
      if (!current) throw noExists('USER', id);
      if (gid === current.gid) return;
      const oldPrimary = current.gid;
      const wasSecondary = current.groups.includes(gid);
      current.gid = gid;
      current.gname = group.name;
      const removed = wasSecondary ? [] : [oldPrimary];
      current.groups = [...new Set([...current.groups.filter((g) => !removed.includes(g)), gid])].sort((a, b) => a - b);
      await saveUser(tx, current);
      await syncGroupMembership(tx, id, wasSecondary ? [] : [gid], removed);
    });
    return id;
  },
};

function membershipMethod(name: 'one.user.addgroup' | 'one.user.delgroup'): ApiMethod {
  const adding = name === 'one.user.addgroup';
  return {
    name, signature: 'A:sii', object: 'USER',
    async run(req, p) {
      const id = getInt(p[1]);
      const gid = getInt(p[2]);
      const db = req.app.db;
      const user = await getUser(db, id);
      if (!user) throw noExists('USER', id);
      if (driverConf(user.authDriver).driverManagedGroups) {
        throw actionError(`Groups cannot be manually managed for auth driver ${user.authDriver}`);
      }
      const group = await getGroup(db, gid);
      if (!group) throw noExists('GROUP', gid);
      await requireAuthorization(req, [{ op: Op.MANAGE, object: userAuth(user) }, { op: Op.MANAGE, object: groupAuth(group) }]);
      await db.transaction(async (tx) => {
        const current = await getUser(tx, id, true);
        if (!current) throw noExists('USER', id);
        if (adding) {
          if (current.groups.includes(gid)) throw actionError('User is already in this group');
          current.groups = [...current.groups, gid].sort((a, b) => a - b);
        } else {
          if (current.gid === gid) throw actionError('Cannot remove user from the primary group');
          if (!current.groups.includes(gid)) throw actionError('User is not part of this group');
          current.groups = current.groups.filter((g) => g !== gid);
        }
        await saveUser(tx, current);
        await syncGroupMembership(tx, id, adding ? [gid] : [], adding ? [] : [gid]);
      });
      return id;
    },
  };
}

const enable: ApiMethod = {
  name: 'one.user.enable', signature: 'A:sib', object: 'USER',
  async run(req, p) {
    const id = getInt(p[1]);
    const enabled = p[2] as boolean;
    const user = await getUser(req.app.db, id);
    await basicAuthorization(req, 'USER', id, Op.ADMIN, user && userAuth(user));
    if (!user) throw noExists('USER', id);
    if (id === 0) throw actionError('Cannot enable/disable oneadmin user');
    if (user.enabled === enabled) return id;
    await req.app.db.transaction(async (tx) => {
      const current = await getUser(tx, id, true);
      if (!current) throw noExists('USER', id);
      current.enabled = enabled;
      if (!enabled) current.loginTokens = [];
      await saveUser(tx, current);
    });
    return id;
  },
};

const pool: ApiMethod = {
  name: 'one.userpool.info', signature: 'A:s', object: 'USER',
  async run(req) {
    const rules = await listAclRules(req.app.db);
    const where = poolWhere(req.caller, 'USER', rules, PoolFilter.ALL);
    return renderUserPool(await listUsers(req.app.db, where, [], req.app.config.API_LIST_ORDER));
  },
};

export const userMethods: ApiMethod[] = [allocate, remove, passwd, chauth, login, info, update, chgrp,
  membershipMethod('one.user.addgroup'), membershipMethod('one.user.delgroup'), enable, pool];

