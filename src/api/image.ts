import { AclSelector, isAdmin, Op } from '../domain/authorization.js';
import { streamInt } from '../domain/cppParse.js';
import { isPersistentOnly, type Datastore } from '../domain/datastore.js';
import { ErrorCode, authorizationError, actionError, internalError, noExists, OneError, rpcApiError } from '../domain/errors.js';
import {
  applyPersistentDefault, changeTypeError, completeRegistration, DatastoreType, deleteRefusal, enableImage, ImageType,
  imagePlacementError, inLockedState, insertImage, newImage, parseSizeMb, persistencyTypeError, setImageType, setPersistent,
  statImageSize, type Image,
} from '../domain/image.js';
import { aclResourceBit } from '../domain/objectTypes.js';
import { defaultPermissions } from '../domain/permissions.js';
import { objectAuth } from '../domain/poolObject.js';
import { PoolFilter, poolWhere } from '../domain/poolFilter.js';
import { Template } from '../domain/template.js';
import { parseTemplateOr } from './parseTemplate.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { deleteAclRulesWhere, listAclRules } from '../store/acl.js';
import { isUniqueViolation, type Queryable } from '../store/database.js';
import { checkDatastoreCapacity, datastoreTable } from '../store/datastores.js';
import { getGroup } from '../store/groups.js';
import { allocateImageRow, backupVmState, forgetBackupImage, imageTable } from '../store/images.js';
import { getUser } from '../store/users.js';
import { renderImage, renderImagePool } from '../xml/image.js';
import type { ApiMethod, Request } from './app.js';
import { requireAuthorization } from './authorize.js';
import { listOrder } from './listOrder.js';
import {
  authorizedObject, chmodObject, chownObject, lockedObject, lockObject, renameObject, unlockObject, type PoolKind,
} from './shared.js';
import { updateTemplate } from './templateUpdate.js';

export const imageKind: PoolKind<Image> = { type: 'IMAGE', table: imageTable };
const int = (v: RpcValue) => v as number;
const str = (v: RpcValue) => v as string;
const bool = (v: RpcValue) => v as boolean;

/** ImagePool::allocate's failures: ALLOCATE "Error allocating a new image. <msg>". */
const allocateError = (msg: string) => new OneError(ErrorCode.ALLOCATE, msg);

/** IMAGE_RESTRICTED_ATTR of the shipped oned.conf. */
const IMAGE_RESTRICTED_ATTRIBUTES = ['SOURCE'];

/** DS_MAD_CONF CONCURRENT_FORGET: no datastore driver oned 7.4 ships sets it. */
const CONCURRENT_FORGET = false;

const datastoreAuth = (ds: Datastore) => ({ ...objectAuth('DATASTORE', ds), clusterIds: ds.clusters });

/** Nebula::get_configuration_attribute(uid, gid, name): the caller's OPENNEBULA vector, else its group's. */
async function configuredAttribute(req: Request, name: string): Promise<string | undefined> {
  const user = await getUser(req.app.db, req.caller.uid);
  const own = user?.template.getVectors('OPENNEBULA')[0]?.get(name);
  if (own !== undefined) return own;
  const group = await getGroup(req.app.db, req.caller.gid);
  return group?.template.getVectors('OPENNEBULA')[0]?.get(name);
}

/** Template::get(name, int): the first single attribute read completely as an int. */
function templateInt(t: Template, name: string): number | undefined {
  const text = t.get(name);
  if (text === undefined) return undefined;
  const r = streamInt(text);
  return r.complete ? r.value : undefined;
}

/** The size oned learns before registering an image (ImageAllocateAPI::allocate): MB, and SIZE as text. */
async function newImageSize(q: Queryable, t: Template): Promise<{ mb: number; text: string }> {
  if (templateInt(t, 'FROM_APP') !== undefined) {
    // oned-emu has no marketplace, so the appliance is never found.
    throw internalError('Cannot determine image SIZE.');
  }
  const backupDs = templateInt(t, 'FROM_BACKUP_DS');
  if (backupDs !== undefined && !(await datastoreTable.get(q, backupDs))) {
    throw internalError('Could not get associated backup datastore.');
  }
  const stat = statImageSize(t);
  if ('error' in stat) throw internalError(`Cannot parse image SIZE: ${stat.error}`);
  const mb = parseSizeMb(stat.size);
  if (mb === undefined) throw internalError(`Cannot parse image SIZE: ${stat.size}`);
  return { mb, text: stat.size };
}

/**
 * one.image.allocate. The datastore driver is emulated (see src/domain/image.ts): an image registered from a PATH
 * or created empty (mkfs) would stay LOCKED until the driver answers; here the dummy driver's answer is applied
 * in the same transaction, so the image is READY when the call returns.
 */
const allocate: ApiMethod = {
  name: 'one.image.allocate', signature: 'A:ssib', required: 3, object: 'IMAGE',
  async run(req, p) {
    const { caller } = req;
    const admin = isAdmin(caller);
    const skipCapacityCheck = admin && p.length > 3 && bool(p[3]);
    const template = parseTemplateOr(str(p[1]), 'INTERNAL', '', { replaceMode: true });
    const dsId = int(p[2]);
    const db = req.app.db;
    const ds = await datastoreTable.get(db, dsId);
    if (!ds) throw noExists('DATASTORE', dsId);
    if (ds.type === DatastoreType.SYSTEM_DS || ds.type === DatastoreType.BACKUP_DS) {
      throw allocateError('New images can only be allocated in a files or image datastore.');
    }
    const size = await newImageSize(db, template);
    if (!skipCapacityCheck) await checkDatastoreCapacity(db, dsId, size.mb, 'image');
    template.replace('SIZE', size.text);

    if (!admin) {
      const restricted = IMAGE_RESTRICTED_ATTRIBUTES.find((name) => template.get(name) !== undefined);
      if (restricted) throw authorizationError(`Template includes a restricted attribute ${restricted}`);
    }
    await requireAuthorization(req, [
      { op: Op.CREATE, object: { type: 'IMAGE', oid: -1, uid: caller.uid, gid: caller.gid } },
      { op: Op.USE, object: datastoreAuth(ds) },
    ]);
    // Datastore quotas are not enforced by oned-emu (users and groups show empty quotas).
    const persistent = applyPersistentDefault(template, await configuredAttribute(req, 'DEFAULT_IMAGE_PERSISTENT_NEW'));
    if (isPersistentOnly(ds) && !persistent) throw allocateError('This Datastore only accepts persistent images.');
    const placement = imagePlacementError(template, ds.type);
    if (placement) throw allocateError(placement);

    const name = template.get('NAME') ?? '';
    const taken = async (q: Queryable) => {
      const other = await imageTable.idByNameAndOwner(q, name, caller.uid);
      if (other !== undefined) throw allocateError(`NAME is already taken by IMAGE ${other}.`);
    };
    try {
      return await db.transaction(async (tx) => {
        await taken(tx);
        const image = newImage({ uid: caller.uid, gid: caller.gid, uname: caller.uname, gname: caller.gname,
          permissions: defaultPermissions(caller.uid, caller.gid, caller.umask, req.app.config.ENABLE_OTHER_PERMISSIONS),
          now: nowSeconds(req.app.clock) });
        image.template = template;
        // Datastore::get_ds_driver reads TM_MAD_CONF DRIVER first; the datastore code copies it into the template.
        const error = insertImage(image, { id: ds.id, name: ds.name, diskType: ds.diskType, driver: ds.template.get('DRIVER') ?? '' });
        if (error) throw allocateError(error);
        const id = await allocateImageRow(tx, image);
        completeRegistration(image);
        await imageTable.save(tx, image);
        return id;
      });
    } catch (err) {
      if (isUniqueViolation(err)) await taken(db);
      throw err;
    }
  },
};

const info: ApiMethod = {
  name: 'one.image.info', signature: 'A:sib', required: 2, object: 'IMAGE',
  // The decrypt flag changes nothing: images have no encrypted attributes in the shipped oned.conf.
  run: async (req, p) => renderImage(await authorizedObject(req, imageKind, int(p[1]), Op.USE_NO_LCK)),
};

const update: ApiMethod = {
  name: 'one.image.update', signature: 'A:sisi', required: 3, object: 'IMAGE',
  async run(req, p) {
    const id = int(p[1]);
    const type = p.length > 3 ? int(p[3]) : 0;
    await authorizedObject(req, imageKind, id, Op.MANAGE);
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    await req.app.db.transaction(async (tx) => {
      const image = await lockedObject(tx, imageKind, id);
      image.template = updateTemplate(image.template, str(p[2]), type === 1, {
        restricted: isAdmin(req.caller) ? [] : IMAGE_RESTRICTED_ATTRIBUTES, restrictedLabel: 'User Template', replaceMode: true,
      });
      await imageTable.save(tx, image);
    });
    return id;
  },
};

const rename: ApiMethod = {
  name: 'one.image.rename', signature: 'A:sis', object: 'IMAGE',
  run: (req, p) => renameObject(req, imageKind, int(p[1]), str(p[2])),
};

const chmod: ApiMethod = {
  name: 'one.image.chmod', signature: 'A:siiiiiiiiii', object: 'IMAGE',
  run: (req, p) => chmodObject(req, imageKind, int(p[1]), p.slice(2, 11).map(int)),
};

const chown: ApiMethod = {
  name: 'one.image.chown', signature: 'A:siii', object: 'IMAGE',
  // oned also moves the image's datastore quota usage to the new owner; quotas are not enforced here.
  run: (req, p) => chownObject(req, imageKind, int(p[1]), int(p[2]), int(p[3])),
};

const lock: ApiMethod = {
  name: 'one.image.lock', signature: 'A:siib', required: 3, object: 'IMAGE',
  run: (req, p) => lockObject(req, imageKind, int(p[1]), int(p[2]), p.length > 3 ? bool(p[3]) : false),
};

const unlock: ApiMethod = {
  name: 'one.image.unlock', signature: 'A:si', object: 'IMAGE',
  run: (req, p) => unlockObject(req, imageKind, int(p[1])),
};

/**
 * ImageAPI::del_image then ImageManager::delete_image. The DS driver's `rm` is emulated as an immediate success,
 * so an image with a SOURCE goes at once instead of passing through STATE DELETE. Also used by
 * one.template.delete's recursive mode.
 */
export async function deleteImage(req: Request, id: number, force: boolean): Promise<void> {
  const db = req.app.db;
  const image = await imageTable.get(db, id);
  if (!image) throw noExists('IMAGE', id);
  let op: number = Op.MANAGE;
  if (inLockedState(image)) {
    op = Op.ADMIN;
    if (!force) {
      throw internalError('Image locked, use --force flag to remove the image. Force delete may leave some files on Datastore', id);
    }
  }
  if (force) {
    // oned writes FORCE_DELETE before it authorizes the deletion, so the mark stays even when that fails.
    await db.transaction(async (tx) => {
      const current = await lockedObject(tx, imageKind, id);
      current.template.replace('FORCE_DELETE', 'YES');
      await imageTable.save(tx, current);
    });
  }
  const current = await imageTable.get(db, id);
  if (!current) throw noExists('IMAGE', id);
  await requireAuthorization(req, [{ op, object: objectAuth('IMAGE', current) }]);
  await db.transaction(async (tx) => {
    const doomed = await lockedObject(tx, imageKind, id);
    if (!(await datastoreTable.get(tx, doomed.datastoreId))) {
      throw actionError('Cannot delete image. Datastore no longer exists cannot remove image');
    }
    const owner = doomed.type === ImageType.BACKUP ? [...doomed.vms].sort((a, b) => a - b)[0] : undefined;
    const vm = owner === undefined ? undefined : await backupVmState(tx, owner);
    const refusal = deleteRefusal(doomed, vm, CONCURRENT_FORGET);
    if (refusal) throw actionError(`Cannot delete image. ${refusal}`);
    await imageTable.delete(tx, id);
    if (owner !== undefined) await forgetBackupImage(tx, owner, id);
    const resource = (aclResourceBit('IMAGE') | AclSelector.INDIVIDUAL | BigInt(id)).toString();
    await deleteAclRulesWhere(tx, 'resource = $1', [resource]);
  });
}

const remove: ApiMethod = {
  name: 'one.image.delete', signature: 'A:sib', required: 2, object: 'IMAGE',
  async run(req, p) {
    const id = int(p[1]);
    await deleteImage(req, id, p.length > 2 ? bool(p[2]) : false);
    return id;
  },
};

const enable: ApiMethod = {
  name: 'one.image.enable', signature: 'A:sib', object: 'IMAGE',
  async run(req, p) {
    const id = int(p[1]);
    const flag = bool(p[2]);
    await authorizedObject(req, imageKind, id, Op.MANAGE);
    await req.app.db.transaction(async (tx) => {
      const image = await lockedObject(tx, imageKind, id);
      const error = enableImage(image, flag);
      if (error) throw internalError(`Could not ${flag ? 'enable' : 'disable'} image: ${error}`);
      await imageTable.save(tx, image);
    });
    return id;
  },
};

const persistent: ApiMethod = {
  name: 'one.image.persistent', signature: 'A:sib', object: 'IMAGE',
  async run(req, p) {
    const id = int(p[1]);
    const flag = bool(p[2]);
    const image = await authorizedObject(req, imageKind, id, Op.MANAGE);
    if (Boolean(image.persistent) === flag) return id;
    const ds = await datastoreTable.get(req.app.db, image.datastoreId);
    if (!ds) throw internalError('Datastore no longer exists.');
    if (ds.dsMad.toLowerCase() === 'lvm') throw internalError("lvm datastores doesn't support change of image persistency.");
    await req.app.db.transaction(async (tx) => {
      const current = await lockedObject(tx, imageKind, id);
      const typeError = persistencyTypeError(current);
      if (typeError) throw actionError(typeError);
      if (isPersistentOnly(ds) && !flag) throw internalError('This Datastore only accepts persistent images.');
      const error = setPersistent(current, flag);
      if (error) throw internalError(`Could not make image ${flag ? 'persistent' : 'non-persistent'}: ${error}`);
      await imageTable.save(tx, current);
    });
    return id;
  },
};

const chtype: ApiMethod = {
  name: 'one.image.chtype', signature: 'A:sis', object: 'IMAGE',
  async run(req, p) {
    const id = int(p[1]);
    await authorizedObject(req, imageKind, id, Op.MANAGE);
    await req.app.db.transaction(async (tx) => {
      const image = await lockedObject(tx, imageKind, id);
      const checked = changeTypeError(image, str(p[2]));
      if ('error' in checked) throw actionError(checked.error);
      const error = setImageType(image, checked.typeText);
      if (error) throw internalError(error);
      await imageTable.save(tx, image);
    });
    return id;
  },
};

const pool: ApiMethod = {
  name: 'one.imagepool.info', signature: 'A:siii', object: 'IMAGE',
  async run(req, p) {
    const [filter, start, end] = [int(p[1]), int(p[2]), int(p[3])];
    if (filter < PoolFilter.PRIMARY_GROUP) throw rpcApiError('Incorrect filter_flag');
    const rules = await listAclRules(req.app.db);
    const where = poolWhere(req.caller, 'IMAGE', rules, filter, start, end);
    const page = end < -1 ? { offset: Math.max(0, start), count: -end } : undefined;
    return renderImagePool(await imageTable.list(req.app.db, where, await listOrder(req), page));
  },
};

export const imageMethods: ApiMethod[] = [allocate, info, update, rename, chmod, chown, lock, unlock, remove, enable,
  persistent, chtype, pool];
