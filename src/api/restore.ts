import { isAdmin, Op } from '../domain/authorization.js';
import { actionError, noExists } from '../domain/errors.js';
import { completeRegistration, DatastoreType, ImageType, insertImage, newImage, type Image } from '../domain/image.js';
import { defaultPermissions } from '../domain/permissions.js';
import { UNLOCKED } from '../domain/lock.js';
import { objectAuth } from '../domain/poolObject.js';
import { Template, type Attribute } from '../domain/template.js';
import { parseTemplateOr } from './parseTemplate.js';
import { closeCopyHistory } from '../domain/vmLifecycle.js';
import { VmAction, VmState } from '../domain/vmState.js';
import { streamInt } from '../domain/cppParse.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { listAclRules } from '../store/acl.js';
import type { Queryable } from '../store/database.js';
import { datastoreTable } from '../store/datastores.js';
import { allocateImageRow, imageTable } from '../store/images.js';
import { nextOid } from '../store/poolControl.js';
import { templateFromJson, type TemplateJson } from '../store/templateJson.js';
import { vmTemplateTable } from '../store/vmTemplates.js';
import { vmTable } from '../store/vms.js';
import { authorize } from '../domain/authorization.js';
import type { ApiMethod, Request } from './app.js';
import { requireAuthorization } from './authorize.js';
import { lockedObject } from './shared.js';
import { vmKind } from './vm.js';

const int = (v: RpcValue) => v as number;

interface Snapshot { template: Template; userTemplate: Template; disks: Array<{ id: number; size: number }>; vmId: number }

/** The vm.xml of a backup: the one saved with the increment restored (the last one by default). */
async function backupSnapshot(q: Queryable, image: Image, incrementId: number): Promise<Snapshot | undefined> {
  const { rows } = await q.query<{ vm_id: number; template: TemplateJson; user_template: TemplateJson; disks: Array<{ id: number; size: number }> }>(
    `SELECT vm_id, template, user_template, disks FROM backup_vm_snapshots WHERE image_id = $1 AND increment_id <= $2
     ORDER BY increment_id DESC LIMIT 1`, [image.id, incrementId]);
  const r = rows[0];
  return r && { vmId: r.vm_id, template: templateFromJson(r.template), userTemplate: templateFromJson(r.user_template), disks: r.disks };
}

const DROPPED_TOP = ['AUTOMATIC_REQUIREMENTS', 'AUTOMATIC_DS_REQUIREMENTS', 'AUTOMATIC_NIC_REQUIREMENTS', 'VMID', 'TEMPLATE_ID',
  'TM_MAD_SYSTEM', 'SECURITY_GROUP_RULE', 'ERROR', 'EMU_BACKUP_FAIL'];
const DROPPED_DISK = ['ALLOW_ORPHANS', 'CLONE', 'CLONE_TARGET', 'CLUSTER_ID', 'DATASTORE', 'DATASTORE_ID', 'DISK_SNAPSHOT_TOTAL_SIZE',
  'DISK_TYPE', 'DRIVER', 'IMAGE', 'IMAGE_STATE', 'IMAGE_UID', 'IMAGE_UNAME', 'LN_TARGET', 'OPENNEBULA_MANAGED', 'ORIGINAL_SIZE',
  'PERSISTENT', 'READONLY', 'SAVE', 'SOURCE', 'TARGET', 'TM_MAD', 'FORMAT', 'DISK_ID', 'TYPE', 'SIZE'];
const NIC_NETWORK_KEYS = ['AR_ID', 'BRIDGE', 'BRIDGE_TYPE', 'CLUSTER_ID', 'NAME', 'NETWORK_ID', 'NIC_ID', 'TARGET', 'VLAN_ID',
  'VN_MAD', 'VLAN_TAGGED_ID', 'PHYDEV'];

const yes = (v: string | undefined) => (v ?? '').toUpperCase() === 'YES';

/**
 * The VM template the rsync/restic restore builds from a backup's vm.xml (src/tm_mad/lib/backup.rb): TEMPLATE and
 * USER_TEMPLATE merged, what only made sense for the original VM removed, each backed-up DISK pointing at its
 * restored image.
 */
function restoredTemplate(snap: Snapshot, name: string, images: Map<number, number>, noNic: boolean, noIp: boolean): Template {
  const t = snap.userTemplate.clone();
  t.merge(snap.template);
  for (const key of DROPPED_TOP) t.erase(key);
  const out = new Template();
  for (const attr of t.attributes) {
    if (attr.kind === 'single') { if (attr.value !== '' && attr.name !== 'NAME') out.add(attr); continue; }
    const v = new Map(attr.value);
    if (attr.name === 'DISK') {
      const diskId = Number(v.get('DISK_ID') ?? -1);
      const restored = images.get(diskId);
      if (restored === undefined) {
        if (v.get('IMAGE_ID') === undefined) out.add({ kind: 'vector', name: 'DISK', value: new Map([['TYPE', v.get('TYPE') ?? 'fs'], ['SIZE', v.get('SIZE') ?? '0']]) });
        else out.add(attr);
        continue;
      }
      for (const k of DROPPED_DISK) v.delete(k);
      v.set('IMAGE_ID', String(restored));
    } else if (attr.name === 'NIC') {
      if (noNic) continue;
      for (const k of NIC_NETWORK_KEYS) v.delete(k);
      if (noIp) for (const k of ['IP', 'IP6', 'IP6_ULA', 'IP6_GLOBAL', 'MAC']) v.delete(k);
      else if (v.has('IP')) v.delete('MAC');
    } else if (attr.name === 'CONTEXT') {
      for (const k of [...v.keys()]) if (k === 'DISK_ID' || k.startsWith('ETH') || k.startsWith('PCI')) v.delete(k);
    } else if (attr.name === 'GRAPHICS') {
      v.delete('PORT');
    } else if (attr.name === 'OS') {
      v.delete('UUID');
    }
    for (const [k, val] of [...v]) if (val === '') v.delete(k);
    if (v.size > 0) out.add({ kind: 'vector', name: attr.name, value: v } as Attribute);
  }
  out.replace('NAME', name);
  return out;
}

/** one.image.restore (cloud.md §5.1): a VM template plus one image per backed-up disk, as the rsync/restic drivers do. */
const imageRestore: ApiMethod = {
  name: 'one.image.restore', signature: 'A:siis', object: 'IMAGE',
  async run(req: Request, p) {
    const [imageId, dsId] = [int(p[1]), int(p[2])];
    const db = req.app.db;
    const image = imageId >= 0 ? await imageTable.get(db, imageId) : undefined;
    // oned answers SUCCESS with the authorization text when the image is missing or not usable (a bug kept here).
    if (imageId >= 0 && !image) return '';
    const rules = isAdmin(req.caller) ? [] : await listAclRules(db);
    const denial = authorize(req.caller, [{ op: Op.USE, object: image ? objectAuth('IMAGE', image) : { type: 'IMAGE', oid: -1, uid: -1, gid: -1 } }], rules);
    if (denial !== null) return denial;
    const ds = dsId >= 0 ? await datastoreTable.get(db, dsId) : undefined;
    if (!ds) throw noExists('IMAGE', dsId);
    await requireAuthorization(req, [{ op: Op.USE, object: objectAuth('DATASTORE', ds) }]);
    const options = parseTemplateOr(p[3] as string);
    const diskText = options.get('DISK_ID');
    const diskId = diskText !== undefined && streamInt(diskText).complete && streamInt(diskText).value >= 0 ? streamInt(diskText).value : -1;
    if (image) {
      if (yes(image.template.get('BACKUP_SELECTED_DISKS')) && diskId === -1) throw actionError('Cannot restore a VM from a selected disk backup');
      if (diskId !== -1 && !image.backupDiskIds.includes(diskId)) throw actionError(`Cannot restore disk ${diskId}, it is not part of the backup`);
    }
    if (!image) throw actionError('Image does not exist');
    if (image.type !== ImageType.BACKUP) throw actionError('Can only restore images of type BACKUP');
    const backupDs = await datastoreTable.get(db, image.datastoreId);
    if (!backupDs) throw actionError('Datastore does not exist');
    if (ds.type !== DatastoreType.IMAGE_DS) throw actionError('Destination can be only an image datastore');

    const last = image.backupIncrements.reduce((m, i) => Math.max(m, i.id), -1);
    const incText = options.get('INCREMENT_ID');
    const incrementId = incText !== undefined && streamInt(incText).complete ? streamInt(incText).value : last;
    const increment = image.backupIncrements.find((i) => i.id === incrementId);
    const snap = await backupSnapshot(db, image, last === -1 ? -1 : incrementId);
    if (!snap || snap.disks.length === 0) throw actionError('Backup does not contain any disks or missing vm.xml');
    const backupId = increment?.source ?? image.source;
    const base = options.get('NAME') || `${snap.vmId}-${backupId}`;
    const jobId = image.template.get('BACKUP_JOB_ID');
    const now = nowSeconds(req.app.clock);
    const { caller } = req;
    return db.transaction(async (tx) => {
      const restored = new Map<number, number>();
      for (const disk of snap.disks.filter((d) => diskId === -1 || d.id === diskId)) {
        const name = `${base}-disk-${disk.id}`;
        const taken = await imageTable.idByNameAndOwner(tx, name, caller.uid);
        if (taken !== undefined) {
          const list = restored.size > 0 ? ` The following images were restored: ${[...restored.values()].join(' ')}` : '';
          throw actionError(`Error restoring disk image: [one.image.allocate] Error allocating a new image. NAME is already taken by IMAGE ${taken}.${list}`);
        }
        const t = new Template();
        t.set('NAME', name);
        t.set('TYPE', disk.id === 0 ? 'OS' : 'DATABLOCK');
        t.set('PATH', `${backupDs.dsMad}://${backupDs.id}/${jobId ?? ''}/${image.source}/disk.${disk.id}`);
        t.set('FROM_BACKUP_DS', String(backupDs.id));
        if (jobId !== undefined) t.set('BACKUP_JOB_ID', jobId);
        t.set('SIZE', String(disk.size));
        const restoredImage = newImage({ uid: caller.uid, gid: caller.gid, uname: caller.uname, gname: caller.gname, now,
          permissions: defaultPermissions(caller.uid, caller.gid, caller.umask, req.app.config.ENABLE_OTHER_PERMISSIONS) });
        restoredImage.template = t;
        const error = insertImage(restoredImage, { id: ds.id, name: ds.name, diskType: ds.diskType, driver: ds.template.get('DRIVER') ?? '' });
        if (error) throw actionError(`Error restoring disk image: ${error}`);
        const newId = await allocateImageRow(tx, restoredImage);
        completeRegistration(restoredImage);
        await imageTable.save(tx, restoredImage);
        restored.set(disk.id, newId);
      }
      let templateId = -1;
      if (diskId === -1) {
        const template = restoredTemplate(snap, base, restored, yes(options.get('NO_NIC')), yes(options.get('NO_IP')));
        const taken = await vmTemplateTable.idByNameAndOwner(tx, base, caller.uid);
        if (taken !== undefined) {
          throw actionError(`Error creating VM template: NAME is already taken by TEMPLATE ${taken}. The following images were restored: ${[...restored.values()].join(' ')}`);
        }
        templateId = await nextOid(tx, 'template_pool');
        template.erase('NAME');
        await vmTemplateTable.insert(tx, {
          id: templateId, uid: caller.uid, gid: caller.gid, uname: caller.uname, gname: caller.gname, name: base,
          permissions: defaultPermissions(caller.uid, caller.gid, caller.umask, req.app.config.ENABLE_OTHER_PERMISSIONS),
          lock: { ...UNLOCKED }, regtime: now, template,
        });
      }
      return [templateId, ...restored.values()].join(' ');
    });
  },
};

/** one.vm.restore (cloud.md §5.2): the disks of a POWEROFF VM from one of its backups, in place. */
const vmRestore: ApiMethod = {
  name: 'one.vm.restore', signature: 'A:siiii', object: 'VM',
  async run(req, p) {
    const [vmId, imageId, incrementId, diskId] = [int(p[1]), int(p[2]), int(p[3]), int(p[4])];
    const db = req.app.db;
    const vm = await vmTable.get(db, vmId);
    if (!vm) throw noExists('VM', vmId);
    if (diskId !== -1 && !vm.template.getVectors('DISK').some((d) => Number(d.get('DISK_ID')) === diskId)) {
      throw actionError('VM disk does not exist');
    }
    const image = await imageTable.get(db, imageId);
    if (!image) throw noExists('IMAGE', imageId);
    if (image.type !== ImageType.BACKUP) throw actionError('Image has to be of type BACKUP');
    const last = image.backupIncrements.reduce((m, i) => Math.max(m, i.id), -1);
    if (incrementId > last) throw actionError('Wrong increment');
    await requireAuthorization(req, [{ op: Op.ADMIN, object: objectAuth('VM', vm) }, { op: Op.USE, object: objectAuth('IMAGE', image) }]);
    await db.transaction(async (tx) => {
      const current = await lockedObject(tx, vmKind, vmId);
      if (current.state !== VmState.POWEROFF) throw actionError('Could not restore VM, it must be in poweroff');
      // The emulated TM restore finishes at once: RESTORE (71) and back to POWEROFF.
      closeCopyHistory(current, VmAction.RESTORE, { uid: req.caller.uid, gid: req.caller.gid, reqId: req.reqId }, nowSeconds(req.app.clock));
      current.template.erase('SNAPSHOT');
      if (Object.keys(current.backups.config).length > 0) {
        current.backups.config.LAST_INCREMENT_ID = '-1';
        current.backups.config.INCREMENTAL_BACKUP_ID = '-1';
      }
      await vmTable.save(tx, current);
    });
    return vmId;
  },
};

export const restoreMethods: ApiMethod[] = [imageRestore, vmRestore];
