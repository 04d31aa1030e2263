import { AclSelector, isAdmin, Op, type ObjectAuth } from '../domain/authorization.js';
import { actionError, internalError, noExists, rpcApiError } from '../domain/errors.js';
import { FIRST_USER_GROUP_ID, type Group } from '../domain/group.js';
import { invalidNameReason, USER_GROUP_EXTRA_FORBIDDEN } from '../domain/names.js';
import { aclResourceBit } from '../domain/objectTypes.js';
import { permissionsFromOctal } from '../domain/permissions.js';
import { PoolFilter, poolWhere } from '../domain/poolFilter.js';
import { Template } from '../domain/template.js';
import type { RpcValue } from '../rpc/values.js';
import { deleteAclRulesWhere, listAclRules } from '../store/acl.js';
import { isUniqueViolation } from '../store/database.js';
import { addDefaultVdcRulesSql } from '../store/vdc.js';
import { deleteGroup, getGroup, getGroupByName, insertGroup, listGroups, saveGroup } from '../store/groups.js';
import { nextOid, reserveOidsBelow } from '../store/poolControl.js';
import { renderGroup, renderGroupPool } from '../xml/group.js';
import type { ApiMethod, Request } from './app.js';
import { basicAuthorization, requireAuthorization } from './authorize.js';
import { updateTemplate } from './templateUpdate.js';
import { validateVmOperations, VM_OPERATION_ATTRIBUTES } from '../domain/vmOperations.js';

/** A group is owned by oneadmin, its gid is its own id and its members may USE it (Group.cc). */
export function groupAuth(g: Pick<Group, 'id'>): ObjectAuth {
  return { type: 'GROUP', oid: g.id, uid: 0, gid: g.id, permissions: permissionsFromOctal(0o640) };
}

const GROUP_RESTRICTED_ATTRIBUTES = VM_OPERATION_ATTRIBUTES;

const getInt = (v: RpcValue) => v as number;

async function loadGroupForAuth(req: Request, id: number, op: number): Promise<Group> {
  const group = id >= 0 ? await getGroup(req.app.db, id) : undefined;
  await basicAuthorization(req, 'GROUP', id, op, group && groupAuth(group));
  if (!group) throw noExists('GROUP', id);
  return group;
}

const allocate: ApiMethod = {
  name: 'one.group.allocate', signature: 'A:ss', object: 'GROUP',
  async run(req, p) {
    const name = p[1] as string;
    await requireAuthorization(req, [{ op: Op.CREATE, object: { type: 'GROUP', oid: -1, uid: req.caller.uid, gid: req.caller.gid } }]);
    const bad = invalidNameReason(name, USER_GROUP_EXTRA_FORBIDDEN);
    if (bad) throw internalError(bad);
    const db = req.app.db;
    return db.transaction(async (tx) => {
      const taken = await getGroupByName(tx, name);
      if (taken) throw internalError(`NAME is already taken by GROUP ${taken.id}.`);
      await reserveOidsBelow(tx, 'group_pool', FIRST_USER_GROUP_ID);
      const id = await nextOid(tx, 'group_pool');
      await insertGroup(tx, { id, name, template: new Template(), users: [], admins: [] });
      await addDefaultVdcRulesSql(tx, id);
      return id;
    }).catch(async (err: unknown) => {
      const winner = isUniqueViolation(err) ? await getGroupByName(db, name) : undefined;
      if (winner) throw internalError(`NAME is already taken by GROUP ${winner.id}.`);
      throw err;
    });
  },
};

const remove: ApiMethod = {
  name: 'one.group.delete', signature: 'A:si', object: 'GROUP',
  async run(req, p) {
    const id = getInt(p[1]);
    const group = await getGroup(req.app.db, id);
    if (!group) throw noExists('GROUP', id);
    await requireAuthorization(req, [{ op: Op.ADMIN, object: groupAuth(group) }]);
    if (id < FIRST_USER_GROUP_ID) throw actionError('Cannot delete group. System Groups (ID < 100) cannot be deleted.');
    await req.app.db.transaction(async (tx) => {
      const current = await getGroup(tx, id, true);
      if (!current) throw noExists('GROUP', id);
      if (current.users.length > 0) throw actionError(`Cannot delete group. Group ${id} is not empty.`);
      await deleteGroup(tx, id);
      const groupSel = (AclSelector.GROUP | BigInt(id)).toString();
      const groupResource = (aclResourceBit('GROUP') | AclSelector.INDIVIDUAL | BigInt(id)).toString();
      await deleteAclRulesWhere(tx,
        `user_sel = $1 OR ((resource & $2) <> 0 AND (resource & 4294967295) = $3) OR resource = $4`,
        [groupSel, AclSelector.GROUP.toString(), id, groupResource]);
    });
    return id;
  },
};

const info: ApiMethod = {
  name: 'one.group.info', signature: 'A:sib', required: 2, object: 'GROUP',
  async run(req, p) {
    let id = getInt(p[1]);
    if (id === -1) id = req.caller.gid;
    return renderGroup(await loadGroupForAuth(req, id, Op.USE_NO_LCK));
  },
};

const update: ApiMethod = {
  name: 'one.group.update', signature: 'A:sisi', required: 3, object: 'GROUP',
  async run(req, p) {
    const id = getInt(p[1]);
    const text = p[2] as string;
    const type = p.length > 3 ? getInt(p[3]) : 0;
    await loadGroupForAuth(req, id, Op.ADMIN);
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    await req.app.db.transaction(async (tx) => {
      const group = await getGroup(tx, id, true);
      if (!group) throw noExists('GROUP', id);
      group.template = updateTemplate(group.template, text, type === 1, {
        restricted: isAdmin(req.caller) ? [] : GROUP_RESTRICTED_ATTRIBUTES, restrictedLabel: 'Group Template',
        validate: validateVmOperations,
      });
      await saveGroup(tx, group);
    });
    return id;
  },
};

const pool: ApiMethod = {
  name: 'one.grouppool.info', signature: 'A:s', object: 'GROUP',
  async run(req) {
    const rules = await listAclRules(req.app.db);
    const where = poolWhere(req.caller, 'GROUP', rules, PoolFilter.ALL);
    return renderGroupPool(await listGroups(req.app.db, where, [], req.app.config.API_LIST_ORDER));
  },
};

export const groupMethods: ApiMethod[] = [allocate, remove, info, update, pool];
