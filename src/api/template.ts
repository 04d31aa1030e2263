import { AclSelector, isAdmin, Op, type AuthItem } from '../domain/authorization.js';
import {
  actionError, authorizationError, failureMessage, internalError, noExists, OneError, rpcApiError,
} from '../domain/errors.js';
import { UNLOCKED } from '../domain/lock.js';
import { aclResourceBit } from '../domain/objectTypes.js';
import { defaultPermissions } from '../domain/permissions.js';
import { objectAuth } from '../domain/poolObject.js';
import { PoolFilter, poolWhere } from '../domain/poolFilter.js';
import type { Image } from '../domain/image.js';
import { invalidNameReason } from '../domain/names.js';
import { Template } from '../domain/template.js';
import { parseTemplateOr } from './parseTemplate.js';
import {
  datastoreDiskAttributes, diskImageRef, imageDiskAttributes, restrictedAttributeIn, restrictedChange, vmTemplateError,
  type DiskImageRef, type VmTemplate,
} from '../domain/vmTemplate.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { deleteAclRulesWhere, listAclRules } from '../store/acl.js';
import { isUniqueViolation, type Queryable } from '../store/database.js';
import { datastoreTable } from '../store/datastores.js';
import { imageByNameAndOwner, imageTable } from '../store/images.js';
import { nextOid } from '../store/poolControl.js';
import { getUserByName } from '../store/users.js';
import { vmTemplateTable } from '../store/vmTemplates.js';
import { renderVmTemplate, renderVmTemplatePool } from '../xml/vmTemplate.js';
import type { ApiMethod } from './app.js';
import { requireAuthorization } from './authorize.js';
import { deleteImage, imageKind } from './image.js';
import { listOrder } from './listOrder.js';
import {
  authorizedObject, chmodObject, chownObject, lockedObject, lockObject, renameObject, unlockObject, type PoolKind,
} from './shared.js';
import { updateTemplate } from './templateUpdate.js';

const kind: PoolKind<VmTemplate> = { type: 'TEMPLATE', table: vmTemplateTable };
const int = (v: RpcValue) => v as number;
const str = (v: RpcValue) => v as string;
const bool = (v: RpcValue) => v as boolean;

/** The image a DISK refers to, if it exists (owner names resolved through the user pool). */
async function referencedImage(q: Queryable, ref: DiskImageRef): Promise<Image | undefined> {
  if (!ref) return undefined;
  if ('id' in ref) return ref.id >= 0 ? imageTable.get(q, ref.id) : undefined;
  const uid = 'uid' in ref ? ref.uid : (await getUserByName(q, ref.uname))?.id;
  return uid === undefined ? undefined : imageByNameAndOwner(q, ref.name, uid);
}

/** VirtualMachineDisks::get_image_ids: the ids of the existing images the template's DISKs name. */
async function templateImageIds(q: Queryable, t: Template, callerUid: number): Promise<number[]> {
  const ids = new Set<number>();
  for (const disk of t.getVectors('DISK')) {
    const ref = diskImageRef(disk, callerUid, false);
    if (ref && 'id' in ref) ids.add(ref.id);
    else if (ref) {
      const image = await referencedImage(q, ref);
      if (image) ids.add(image.id);
    }
  }
  return [...ids].sort((a, b) => a - b);
}

const allocate: ApiMethod = {
  name: 'one.template.allocate', signature: 'A:ss', object: 'TEMPLATE',
  async run(req, p) {
    const template = parseTemplateOr(str(p[1]));
    const { caller } = req;
    await requireAuthorization(req, [{ op: Op.CREATE, object: { type: 'TEMPLATE', oid: -1, uid: caller.uid, gid: caller.gid } }]);
    if (!isAdmin(caller)) {
      const restricted = restrictedAttributeIn(template);
      if (restricted) throw authorizationError(`VM Template includes a restricted attribute ${restricted}`);
    }
    const name = template.get('NAME') ?? '';
    const bad = invalidNameReason(name);
    if (bad) throw internalError(bad);
    const taken = async (q: Queryable) => {
      const other = await vmTemplateTable.idByNameAndOwner(q, name, caller.uid);
      if (other !== undefined) throw internalError(`NAME is already taken by TEMPLATE ${other}.`);
    };
    try {
      return await req.app.db.transaction(async (tx) => {
        await taken(tx);
        template.erase('NAME');
        const error = vmTemplateError(template);
        if (error) throw internalError(error);
        const vmTemplate: VmTemplate = {
          id: await nextOid(tx, 'template_pool'), uid: caller.uid, gid: caller.gid, uname: caller.uname, gname: caller.gname,
          name, permissions: defaultPermissions(caller.uid, caller.gid, caller.umask, req.app.config.ENABLE_OTHER_PERMISSIONS),
          lock: { ...UNLOCKED }, regtime: nowSeconds(req.app.clock), template,
        };
        await vmTemplateTable.insert(tx, vmTemplate);
        return vmTemplate.id;
      });
    } catch (err) {
      if (isUniqueViolation(err)) await taken(req.app.db);
      throw err;
    }
  },
};

/**
 * one.template.info. The template must exist before anything is authorized (NO_EXISTS even for users who may
 * not see it). `extended` also asks USE on the images the DISKs name and shows those DISKs as a VM would get them.
 */
const info: ApiMethod = {
  name: 'one.template.info', signature: 'A:sibb', required: 2, object: 'TEMPLATE',
  async run(req, p) {
    const id = int(p[1]);
    const extended = p.length > 2 ? bool(p[2]) : false;
    const db = req.app.db;
    const vmTemplate = await vmTemplateTable.get(db, id);
    if (!vmTemplate) throw noExists('TEMPLATE', id);
    const items: AuthItem[] = [{ op: Op.USE_NO_LCK, object: objectAuth('TEMPLATE', vmTemplate) }];
    if (!extended) {
      await requireAuthorization(req, items);
      return renderVmTemplate(vmTemplate);
    }
    const shown = vmTemplate.template.clone();
    const disks = shown.getVectors('DISK');
    // VirtualMachine::set_auth_request: IMAGE names resolve first and pin IMAGE_ID in the shown copy.
    for (const disk of disks) {
      const ref = diskImageRef(disk, req.caller.uid, true);
      const image = await referencedImage(db, ref);
      if (!image) continue;
      if (ref && !('id' in ref)) disk.set('IMAGE_ID', String(image.id));
      items.push({ op: Op.USE_NO_LCK, object: objectAuth('IMAGE', image) });
    }
    for (const [diskId, disk] of disks.entries()) {
      const image = await referencedImage(db, diskImageRef(disk, req.caller.uid, false));
      if (image) {
        imageDiskAttributes(disk, image);
        const ds = await datastoreTable.get(db, image.datastoreId);
        if (ds) datastoreDiskAttributes(disk, ds);
      }
      disk.set('DISK_ID', String(diskId));
    }
    await requireAuthorization(req, items);
    return renderVmTemplate(vmTemplate, shown);
  },
};

const update: ApiMethod = {
  name: 'one.template.update', signature: 'A:sisi', required: 3, object: 'TEMPLATE',
  async run(req, p) {
    const id = int(p[1]);
    const type = p.length > 3 ? int(p[3]) : 0;
    await authorizedObject(req, kind, id, Op.MANAGE);
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    const merge = type === 1;
    await req.app.db.transaction(async (tx) => {
      const vmTemplate = await lockedObject(tx, kind, id);
      vmTemplate.template = updateTemplate(vmTemplate.template, str(p[2]), merge, {
        restricted: [], restrictedLabel: 'VM Template',
        prepare: (given) => {
          if (isAdmin(req.caller)) return;
          const changed = restrictedChange(given, vmTemplate.template, merge);
          if (changed === undefined) return;
          throw internalError(merge ? `Cannot update template. User Template includes a restricted attribute ${changed}`
            : `Cannot update template. Tried to change restricted attribute: ${changed}`);
        },
        validate: vmTemplateError,
      });
      await vmTemplateTable.save(tx, vmTemplate);
    });
    return id;
  },
};

const rename: ApiMethod = {
  name: 'one.template.rename', signature: 'A:sis', object: 'TEMPLATE',
  run: (req, p) => renameObject(req, kind, int(p[1]), str(p[2])),
};

/** one.template.chmod; with `recursive` the same change goes to every image of its DISKs (failures listed). */
const chmod: ApiMethod = {
  name: 'one.template.chmod', signature: 'A:siiiiiiiiiib', required: 11, object: 'TEMPLATE',
  async run(req, p) {
    const id = int(p[1]);
    const values = p.slice(2, 11).map(int);
    await chmodObject(req, kind, id, values);
    if (!(p.length > 11 && bool(p[11]))) return id;
    const vmTemplate = await vmTemplateTable.get(req.app.db, id);
    if (!vmTemplate) throw noExists('TEMPLATE', id);
    const failed: number[] = [];
    for (const imageId of await templateImageIds(req.app.db, vmTemplate.template, req.caller.uid)) {
      try {
        await chmodObject(req, imageKind, imageId, values);
      } catch (err) {
        if (!(err instanceof OneError)) throw err;
        req.app.log.error('ReM', failureMessage('one.template.delete', req.caller.uid, 'TEMPLATE', err));
        failed.push(imageId);
      }
    }
    if (failed.length > 0) throw actionError(`Cannot chmod image: ${failed.join(',')}`);
    return id;
  },
};

const chown: ApiMethod = {
  name: 'one.template.chown', signature: 'A:siii', object: 'TEMPLATE',
  run: (req, p) => chownObject(req, kind, int(p[1]), int(p[2]), int(p[3])),
};

const lock: ApiMethod = {
  name: 'one.template.lock', signature: 'A:siib', required: 3, object: 'TEMPLATE',
  run: (req, p) => lockObject(req, kind, int(p[1]), int(p[2]), p.length > 3 ? bool(p[3]) : false),
};

const unlock: ApiMethod = {
  name: 'one.template.unlock', signature: 'A:si', object: 'TEMPLATE',
  run: (req, p) => unlockObject(req, kind, int(p[1])),
};

/** one.template.delete; with `recursive` the images of its DISKs are deleted too, failures only logged. */
const remove: ApiMethod = {
  name: 'one.template.delete', signature: 'A:sib', required: 2, object: 'TEMPLATE',
  async run(req, p) {
    const id = int(p[1]);
    const recursive = p.length > 2 ? bool(p[2]) : false;
    const vmTemplate = await vmTemplateTable.get(req.app.db, id);
    if (!vmTemplate) throw noExists('TEMPLATE', id);
    await requireAuthorization(req, [{ op: Op.MANAGE, object: objectAuth('TEMPLATE', vmTemplate) }]);
    const doomed = await req.app.db.transaction(async (tx) => {
      const current = await lockedObject(tx, kind, id);
      const imageIds = recursive ? await templateImageIds(tx, current.template, req.caller.uid) : [];
      await vmTemplateTable.delete(tx, id);
      const resource = (aclResourceBit('TEMPLATE') | AclSelector.INDIVIDUAL | BigInt(id)).toString();
      await deleteAclRulesWhere(tx, 'resource = $1', [resource]);
      return imageIds;
    });
    const failed: number[] = [];
    for (const imageId of doomed) {
      try {
        await deleteImage(req, imageId, false);
      } catch (err) {
        if (!(err instanceof OneError)) throw err;
        req.app.log.warn('ReM', failureMessage('one.image.delete', req.caller.uid, 'IMAGE', err));
        failed.push(imageId);
      }
    }
    if (failed.length > 0) {
      req.app.log.warn('ReM', `Template ${id} deleted, unable to recursively delete image: ${failed.join(',')}`);
    }
    return id;
  },
};

const pool: ApiMethod = {
  name: 'one.templatepool.info', signature: 'A:siii', object: 'TEMPLATE',
  async run(req, p) {
    const [filter, start, end] = [int(p[1]), int(p[2]), int(p[3])];
    if (filter < PoolFilter.PRIMARY_GROUP) throw rpcApiError('Incorrect filter_flag');
    const rules = await listAclRules(req.app.db);
    const where = poolWhere(req.caller, 'TEMPLATE', rules, filter, start, end);
    const page = end < -1 ? { offset: Math.max(0, start), count: -end } : undefined;
    return renderVmTemplatePool(await vmTemplateTable.list(req.app.db, where, await listOrder(req), page));
  },
};

export const templateMethods: ApiMethod[] = [allocate, info, update, rename, chmod, chown, lock, unlock, remove, pool];
