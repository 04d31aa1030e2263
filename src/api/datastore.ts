import { AclSelector, Op } from '../domain/authorization.js';
import {
  applyDatastoreTemplateUpdate, datastoreCapacityOf, enableDatastore, normaliseNewDatastore, type Datastore,
} from '../domain/datastore.js';
import { actionError, internalError, noExists, rpcApiError } from '../domain/errors.js';
import { UNLOCKED } from '../domain/lock.js';
import { invalidNameReason } from '../domain/names.js';
import { aclResourceBit } from '../domain/objectTypes.js';
import { defaultPermissions } from '../domain/permissions.js';
import { objectAuth } from '../domain/poolObject.js';
import { PoolFilter, poolWhere } from '../domain/poolFilter.js';
import { parseTemplateOr } from './parseTemplate.js';
import type { RpcValue } from '../rpc/values.js';
import { isUniqueViolation } from '../store/database.js';
import { deleteAclRulesWhere, listAclRules } from '../store/acl.js';
import { setClusterMember } from '../store/clusters.js';
import { datastoreIdByName, datastoreTable, datastoreUsage, usageOf } from '../store/datastores.js';
import { renameImagesDatastore } from '../store/images.js';
import { nextOid } from '../store/poolControl.js';
import { renderDatastore, renderDatastorePool } from '../xml/datastore.js';
import type { ApiMethod } from './app.js';
import { requireAuthorization } from './authorize.js';
import { authorizeAllocateInCluster } from './cluster.js';
import { listOrder } from './listOrder.js';
import { authorizedObject, chmodObject, chownObject, lockedObject, renameObject, type PoolKind } from './shared.js';
import { updateTemplate } from './templateUpdate.js';

const int = (v: RpcValue) => v as number;
const str = (v: RpcValue) => v as string;

/** What authorization sees of a datastore: an owned object in its clusters. */
const datastoreAuth = (ds: Datastore) => ({ ...objectAuth('DATASTORE', ds), clusterIds: ds.clusters });

/** Datastore methods authorize MANAGE by default; names are unique cloud-wide and chown does not check them. */
const kind: PoolKind<Datastore> = {
  type: 'DATASTORE', table: datastoreTable, nameHolder: (q, name) => datastoreIdByName(q, name),
  chownChecksName: false, auth: datastoreAuth,
};

const allocate: ApiMethod = {
  name: 'one.datastore.allocate', signature: 'A:ssi', object: 'DATASTORE',
  async run(req, p) {
    const template = parseTemplateOr(str(p[1]));
    const cluster = await authorizeAllocateInCluster(req, int(p[2]), 'DATASTORE');
    const name = template.get('NAME') ?? '';
    const bad = invalidNameReason(name);
    if (bad) throw internalError(bad);
    template.erase('NAME');
    const { caller } = req;
    const taken = (id: number) => internalError(`NAME is already taken by DATASTORE ${id}.`);
    try {
      return await req.app.db.transaction(async (tx) => {
        const other = await datastoreIdByName(tx, name);
        if (other !== undefined) throw taken(other);
        const permissions = defaultPermissions(caller.uid, caller.gid, caller.umask, req.app.config.ENABLE_OTHER_PERMISSIONS);
        permissions.groupU = 1;
        const ds: Datastore = {
          id: await nextOid(tx, 'datastore_pool'), name, uid: caller.uid, gid: caller.gid, uname: caller.uname,
          gname: caller.gname, permissions, lock: { ...UNLOCKED }, dsMad: '', tmMad: '', type: 0, diskType: 0, state: 0,
          clusters: [cluster.id], template,
        };
        const error = normaliseNewDatastore(ds);
        if (error) throw internalError(error);
        await datastoreTable.insert(tx, ds);
        await setClusterMember(tx, cluster.id, 'datastores', ds.id, true);
        return ds.id;
      });
    } catch (err) {
      const other = isUniqueViolation(err) ? await datastoreIdByName(req.app.db, name) : undefined;
      if (other !== undefined) throw taken(other);
      throw err;
    }
  },
};

const info: ApiMethod = {
  name: 'one.datastore.info', signature: 'A:sib', required: 2, object: 'DATASTORE',
  async run(req, p) {
    const ds = await authorizedObject(req, kind, int(p[1]), Op.USE_NO_LCK);
    const usage = await usageOf(req.app.db, ds.id);
    return renderDatastore(ds, datastoreCapacityOf(ds, usage.imagesMb), usage.images);
  },
};

const update: ApiMethod = {
  name: 'one.datastore.update', signature: 'A:sisi', required: 3, object: 'DATASTORE',
  async run(req, p) {
    const id = int(p[1]);
    const type = p.length > 3 ? int(p[3]) : 0;
    await authorizedObject(req, kind, id, Op.MANAGE);
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    await req.app.db.transaction(async (tx) => {
      const ds = await lockedObject(tx, kind, id);
      const old = ds.template;
      ds.template = updateTemplate(old, str(p[2]), type === 1, { restricted: [], restrictedLabel: 'Template' });
      const error = applyDatastoreTemplateUpdate(ds, old, (await usageOf(tx, id)).images.length > 0);
      if (error) throw internalError(`Cannot update template. ${error}`);
      await datastoreTable.save(tx, ds);
    });
    return id;
  },
};

/** The images of a renamed datastore show its new name (DatastoreAPI::batch_rename). */
const renameKind: PoolKind<Datastore> = { ...kind, afterSave: (tx, ds) => renameImagesDatastore(tx, ds.id, ds.name) };

const rename: ApiMethod = {
  name: 'one.datastore.rename', signature: 'A:sis', object: 'DATASTORE',
  run: (req, p) => renameObject(req, renameKind, int(p[1]), str(p[2])),
};

const chmod: ApiMethod = {
  name: 'one.datastore.chmod', signature: 'A:siiiiiiiiii', object: 'DATASTORE',
  run: (req, p) => chmodObject(req, kind, int(p[1]), p.slice(2, 11).map(int)),
};

const chown: ApiMethod = {
  name: 'one.datastore.chown', signature: 'A:siii', object: 'DATASTORE',
  run: (req, p) => chownObject(req, kind, int(p[1]), int(p[2]), int(p[3])),
};

const enable: ApiMethod = {
  name: 'one.datastore.enable', signature: 'A:sib', object: 'DATASTORE',
  async run(req, p) {
    const id = int(p[1]);
    await authorizedObject(req, kind, id, Op.MANAGE);
    await req.app.db.transaction(async (tx) => {
      const ds = await lockedObject(tx, kind, id);
      const error = enableDatastore(ds, p[2] as boolean);
      if (error) throw internalError(error);
      await datastoreTable.save(tx, ds);
    });
    return id;
  },
};

const remove: ApiMethod = {
  name: 'one.datastore.delete', signature: 'A:si', object: 'DATASTORE',
  async run(req, p) {
    const id = int(p[1]);
    const ds = await datastoreTable.get(req.app.db, id);
    if (!ds) throw noExists('DATASTORE', id);
    await requireAuthorization(req, [{ op: Op.MANAGE, object: datastoreAuth(ds) }]);
    await req.app.db.transaction(async (tx) => {
      const current = await lockedObject(tx, kind, id);
      if ((await usageOf(tx, id)).images.length > 0) throw actionError(`Cannot delete datastore. Datastore ${id} is not empty.`);
      await datastoreTable.delete(tx, id);
      for (const clusterId of current.clusters) await setClusterMember(tx, clusterId, 'datastores', id, false);
      const resource = (aclResourceBit('DATASTORE') | AclSelector.INDIVIDUAL | BigInt(id)).toString();
      await deleteAclRulesWhere(tx, 'resource = $1', [resource]);
    });
    return id;
  },
};

const pool: ApiMethod = {
  name: 'one.datastorepool.info', signature: 'A:s', object: 'DATASTORE',
  async run(req) {
    const where = poolWhere(req.caller, 'DATASTORE', await listAclRules(req.app.db), PoolFilter.ALL);
    const datastores = await datastoreTable.list(req.app.db, where, await listOrder(req));
    const usage = await datastoreUsage(req.app.db, datastores.map((ds) => ds.id));
    return renderDatastorePool(datastores.map((ds) => {
      const { images, imagesMb } = usage.get(ds.id) ?? { images: [], imagesMb: 0 };
      return renderDatastore(ds, datastoreCapacityOf(ds, imagesMb), images);
    }));
  },
};

export const datastoreMethods: ApiMethod[] = [allocate, info, update, rename, chmod, chown, enable, remove, pool];
