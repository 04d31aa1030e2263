import { streamLong } from './cppParse.js';
import type { PoolObject } from './poolObject.js';
import type { Template } from './template.js';

/** Datastore::DatastoreType. */
export const DatastoreType = { IMAGE_DS: 0, SYSTEM_DS: 1, FILE_DS: 2, BACKUP_DS: 3 } as const;
export const DATASTORE_TYPE_NAMES = ['IMAGE_DS', 'SYSTEM_DS', 'FILE_DS', 'BACKUP_DS'] as const;

/** Datastore::DatastoreState. */
export const DatastoreState = { READY: 0, DISABLED: 1 } as const;

/** Image::DiskType; NONE marks an unknown name. */
export const DiskType = {
  FILE: 0, CDROM: 1, BLOCK: 2, RBD: 3, RBD_CDROM: 4, GLUSTER: 5, GLUSTER_CDROM: 6, SHEEPDOG: 7, SHEEPDOG_CDROM: 8,
  ISCSI: 9, FILESYSTEM: 10, NONE: 255,
} as const;
const DISK_TYPE_NAMES = ['FILE', 'CDROM', 'BLOCK', 'RBD', 'RBD_CDROM', 'GLUSTER', 'GLUSTER_CDROM', 'SHEEPDOG',
  'SHEEPDOG_CDROM', 'ISCSI', 'FILESYSTEM'];

/** The fixed ids of the bootstrap datastores (DatastorePool); user datastores start at 100. */
export const SYSTEM_DS_ID = 0;
export const FIRST_USER_DATASTORE_ID = 100;

/** DATASTORE_LOCATION of the reference oned (VAR_LOCATION ends in '/', hence the double slash). */
export const DATASTORE_LOCATION = '/var/lib/one//datastores';

/** oned.conf DATASTORE_CAPACITY_CHECK as shipped. */
export const DEFAULT_CAPACITY_CHECK = true;

/**
 * Emulator extension: the size a datastore reports when its template has no TOTAL_MB (1 TiB), standing in for the
 * DS driver's monitoring.
 */
export const DEFAULT_TOTAL_MB = 1048576;

/** A datastore (Datastore.h). TOTAL/FREE/USED_MB and IMAGES are not kept here: they follow the image pool. */
export interface Datastore extends PoolObject {
  dsMad: string;
  tmMad: string;
  type: number;
  diskType: number;
  state: number;
  clusters: number[];
  template: Template;
}

interface DsMadConf { requiredAttrs: string; persistentOnly: boolean; capacityCheck?: boolean }

/** DS_MAD_CONF of the shipped oned.conf. */
const DS_MAD_CONF: ReadonlyMap<string, DsMadConf> = new Map<string, DsMadConf>([
  ['ceph', { requiredAttrs: 'DISK_TYPE,BRIDGE_LIST', persistentOnly: false }],
  ['dev', { requiredAttrs: 'DISK_TYPE', persistentOnly: true }],
  ['iscsi_libvirt', { requiredAttrs: 'DISK_TYPE,ISCSI_HOST', persistentOnly: true }],
  ['dummy', { requiredAttrs: '', persistentOnly: false }],
  ['fs', { requiredAttrs: '', persistentOnly: false }],
  ['lvm', { requiredAttrs: '', persistentOnly: false }],
  ['restic', { requiredAttrs: 'RESTIC_PASSWORD', persistentOnly: true }],
  ['rsync', { requiredAttrs: 'RSYNC_HOST,RSYNC_USER', persistentOnly: true }],
  ['netapp', { requiredAttrs: 'NETAPP_HOST,NETAPP_USER,NETAPP_PASS,NETAPP_AGGREGATES,NETAPP_SVM,NETAPP_IGROUP,NETAPP_TARGET', persistentOnly: false }],
  ['purefa', { requiredAttrs: 'PUREFA_HOST,PUREFA_API_TOKEN,PUREFA_TARGET', persistentOnly: false }],
  ['virtiofs', { requiredAttrs: '', persistentOnly: false, capacityCheck: false }],
  ['interactive', { requiredAttrs: '', persistentOnly: false, capacityCheck: false }],
]);

/** TM_MAD_CONF of the shipped oned.conf, as its vector values. */
const TM_MAD_CONF: ReadonlyMap<string, Readonly<Record<string, string>>> = new Map<string, Record<string, string>>([
  ['dummy', { LN_TARGET: 'NONE', CLONE_TARGET: 'SYSTEM', SHARED: 'YES', DS_MIGRATE: 'YES', DS_LIVE_MIGRATE: 'YES', DS_MIGRATE_SNAP: 'YES' }],
  ['shared', { LN_TARGET: 'NONE', CLONE_TARGET: 'SYSTEM', SHARED: 'YES', TM_MAD_SYSTEM: 'ssh', LN_TARGET_SSH: 'SYSTEM',
    CLONE_TARGET_SSH: 'SYSTEM', DISK_TYPE_SSH: 'FILE', ALLOW_ORPHANS: 'FORMAT', DS_MIGRATE: 'YES', DS_LIVE_MIGRATE: 'YES',
    DS_MIGRATE_SNAP: 'YES' }],
  ['lvm', { LN_TARGET: 'NONE', CLONE_TARGET: 'SELF', SHARED: 'YES', DRIVER: 'raw', DISK_TYPE: 'BLOCK', ALLOW_ORPHANS: 'YES',
    DS_MIGRATE: 'YES', DS_LIVE_MIGRATE: 'NO', DS_MIGRATE_SNAP: 'NO' }],
  ['fs_lvm', { LN_TARGET: 'SYSTEM', CLONE_TARGET: 'SYSTEM', SHARED: 'YES', DRIVER: 'raw', DISK_TYPE: 'BLOCK', DS_MIGRATE: 'YES',
    DS_LIVE_MIGRATE: 'NO', DS_MIGRATE_SNAP: 'NO' }],
  ['fs_lvm_ssh', { LN_TARGET: 'SYSTEM', CLONE_TARGET: 'SYSTEM', SHARED: 'YES', DRIVER: 'raw', DISK_TYPE: 'BLOCK',
    PERSISTENT_SNAPSHOTS: 'NO', ALLOW_ORPHANS: 'YES', DS_MIGRATE: 'YES', DS_LIVE_MIGRATE: 'YES', DS_MIGRATE_SNAP: 'NO' }],
  ['qcow2', { LN_TARGET: 'NONE', CLONE_TARGET: 'SYSTEM', SHARED: 'YES', TM_MAD_SYSTEM: 'ssh', LN_TARGET_SSH: 'SYSTEM',
    CLONE_TARGET_SSH: 'SYSTEM', DISK_TYPE_SSH: 'FILE', DRIVER: 'qcow2', ALLOW_ORPHANS: 'FORMAT', DS_MIGRATE: 'YES',
    DS_LIVE_MIGRATE: 'YES', DS_MIGRATE_SNAP: 'YES' }],
  ['ssh', { LN_TARGET: 'SYSTEM', CLONE_TARGET: 'SYSTEM', SHARED: 'NO', ALLOW_ORPHANS: 'YES', DS_MIGRATE: 'YES',
    DS_LIVE_MIGRATE: 'YES', DS_MIGRATE_SNAP: 'YES' }],
  ['local', { LN_TARGET: 'SYSTEM', CLONE_TARGET: 'SYSTEM', SHARED: 'NO', ALLOW_ORPHANS: 'FORMAT', DS_MIGRATE: 'YES',
    DS_LIVE_MIGRATE: 'YES', DS_MIGRATE_SNAP: 'YES' }],
  ['ceph', { LN_TARGET: 'NONE', CLONE_TARGET: 'SELF', SHARED: 'YES', DRIVER: 'raw', ALLOW_ORPHANS: 'mixed',
    TM_MAD_SYSTEM: 'ssh', LN_TARGET_SSH: 'SYSTEM', CLONE_TARGET_SSH: 'SYSTEM', DISK_TYPE_SSH: 'FILE', DS_MIGRATE: 'NO',
    DS_LIVE_MIGRATE: 'NO', DS_MIGRATE_SNAP: 'NO' }],
  ['iscsi_libvirt', { LN_TARGET: 'NONE', CLONE_TARGET: 'SELF', SHARED: 'YES', DRIVER: 'raw', DS_MIGRATE: 'NO',
    DS_LIVE_MIGRATE: 'NO', DS_MIGRATE_SNAP: 'NO' }],
  ['dev', { LN_TARGET: 'NONE', CLONE_TARGET: 'NONE', SHARED: 'YES', DRIVER: 'raw', DS_MIGRATE: 'NO', DS_LIVE_MIGRATE: 'NO',
    DS_MIGRATE_SNAP: 'NO' }],
  ['netapp', { LN_TARGET: 'NONE', CLONE_TARGET: 'SELF', SHARED: 'YES', DRIVER: 'raw', DISK_TYPE: 'BLOCK',
    ALLOW_ORPHANS: 'LINEAR', DS_MIGRATE: 'NO', DS_LIVE_MIGRATE: 'NO', DS_MIGRATE_SNAP: 'NO' }],
  ['purefa', { LN_TARGET: 'NONE', CLONE_TARGET: 'SELF', SHARED: 'YES', DRIVER: 'raw', DISK_TYPE: 'BLOCK',
    ALLOW_ORPHANS: 'YES', DS_MIGRATE: 'NO', DS_LIVE_MIGRATE: 'NO', DS_MIGRATE_SNAP: 'NO' }],
  ['virtiofs', { LN_TARGET: 'NONE', CLONE_TARGET: 'NONE', SHARED: 'YES', DRIVER: 'virtiofs', DISK_TYPE: 'filesystem',
    DS_MIGRATE: 'NO', DS_LIVE_MIGRATE: 'NO', DS_MIGRATE_SNAP: 'NO' }],
]);

/** VectorAttribute::vector_value(bool): missing or empty → undefined, else whether it reads YES. */
function confBool(conf: Readonly<Record<string, string>>, key: string): boolean | undefined {
  const v = conf[key];
  return v === undefined || v === '' ? undefined : v.toUpperCase() === 'YES';
}

const yesNo = (b: boolean) => (b ? 'YES' : 'NO');

/** Datastore::str_to_type: unknown or empty names are IMAGE_DS. */
export function datastoreTypeOf(text: string): number {
  const i = (DATASTORE_TYPE_NAMES as readonly string[]).indexOf(text.toUpperCase());
  return i < 0 ? DatastoreType.IMAGE_DS : i;
}

/** Image::str_to_disk_type (case-insensitive). */
export function diskTypeOf(text: string): number {
  const i = DISK_TYPE_NAMES.indexOf(text.toUpperCase());
  return i < 0 ? DiskType.NONE : i;
}

export const datastoreBasePath = (id: number) => `${DATASTORE_LOCATION}/${id}`;

/** DS_MAD_CONF PERSISTENT_ONLY of the datastore's DS_MAD (rsync, restic, dev, iscsi_libvirt). */
export const isPersistentOnly = (ds: Datastore) => DS_MAD_CONF.get(ds.dsMad)?.persistentOnly ?? false;

/** Whether SYSTEM_DS storage is shared between hosts (SHARED=YES, set from TM_MAD_CONF). */
export const isSharedSystemDs = (ds: Datastore) => (ds.template.get('SHARED') ?? '').toUpperCase() === 'YES';

/** Datastore::set_ds_mad: the DS_MAD must be configured and its REQUIRED_ATTRS present (not for SYSTEM_DS). */
function applyDsMad(ds: Datastore): string | null {
  if (ds.type === DatastoreType.SYSTEM_DS) return null;
  const conf = DS_MAD_CONF.get(ds.dsMad);
  if (!conf) return `DS_MAD named "${ds.dsMad}" is not defined in oned.conf`;
  if (conf.capacityCheck !== undefined) ds.template.replace('DATASTORE_CAPACITY_CHECK', yesNo(conf.capacityCheck));
  for (const raw of conf.requiredAttrs.split(',').filter((a) => a !== '')) {
    const attr = raw.trim().toUpperCase();
    if ((ds.template.get(attr) ?? '') === '') return `Datastore template is missing the "${attr}" attribute or it's empty.`;
  }
  return null;
}

const TARGET_TYPES = new Set(['NONE', 'SELF', 'SYSTEM']);

/** check_tm_target_type: NONE, SELF or SYSTEM (upper-cased); undefined when missing or wrong. */
function targetType(value: string | undefined): string | undefined {
  const up = (value ?? '').toUpperCase();
  return TARGET_TYPES.has(up) ? up : undefined;
}

/** Datastore::set_tm_mad: copies the TM_MAD_CONF behaviour attributes into the template (not for BACKUP_DS). */
function applyTmMad(ds: Datastore, tmMad: string): string | null {
  if (ds.type === DatastoreType.BACKUP_DS) return null;
  if (tmMad === '') return 'No TM_MAD in template.';
  const conf = TM_MAD_CONF.get(tmMad);
  if (!conf) return `TM_MAD named "${tmMad}" is not defined in oned.conf`;
  const broken = `Attribute shared, ln_target or clone_target in TM_MAD_CONF for ${tmMad} is missing or has wrong value in oned.conf`;
  const t = ds.template;
  if (ds.type === DatastoreType.SYSTEM_DS) {
    const shared = confBool(conf, 'SHARED');
    if (shared === undefined) return broken;
    t.replace('SHARED', yesNo(shared));
    t.replace('DS_MIGRATE', yesNo(confBool(conf, 'DS_MIGRATE') ?? true));
    t.replace('DS_LIVE_MIGRATE', yesNo(confBool(conf, 'DS_LIVE_MIGRATE') ?? false));
    t.replace('DS_MIGRATE_SNAP', yesNo(confBool(conf, 'DS_MIGRATE_SNAP') ?? false));
    t.erase('LN_TARGET');
    t.erase('CLONE_TARGET');
  } else {
    const modes = conf.TM_MAD_SYSTEM ?? '';
    if (modes !== '') {
      t.replace('TM_MAD_SYSTEM', modes);
      for (const mode of modes.split(',').filter((m) => m !== '').map((m) => m.trim().toUpperCase())) {
        const ln = targetType(conf[`LN_TARGET_${mode}`]);
        const clone = targetType(conf[`CLONE_TARGET_${mode}`]);
        const disk = conf[`DISK_TYPE_${mode}`] ?? '';
        if (!ln || !clone || disk === '') return broken;
        t.replace(`LN_TARGET_${mode}`, ln);
        t.replace(`CLONE_TARGET_${mode}`, clone);
        t.replace(`DISK_TYPE_${mode}`, disk);
      }
    }
    const ln = targetType(conf.LN_TARGET);
    if (!ln) return broken;
    t.replace('LN_TARGET', ln);
    const clone = targetType(conf.CLONE_TARGET);
    if (!clone) return broken;
    t.replace('CLONE_TARGET', clone);
    if (conf.DRIVER) t.replace('DRIVER', conf.DRIVER);
    if (conf.DISK_TYPE) t.replace('DISK_TYPE', conf.DISK_TYPE);
    t.erase('SHARED');
  }
  const orphans = conf.ALLOW_ORPHANS;
  t.replace('ALLOW_ORPHANS', orphans === undefined || orphans === '' ? 'NO' : orphans);
  t.replace('PERSISTENT_SNAPSHOTS', yesNo(confBool(conf, 'PERSISTENT_SNAPSHOTS') ?? true));
  return null;
}

/** Disk types each datastore type refuses (Datastore::set_ds_disk_type); FILE_DS and BACKUP_DS are always FILE. */
const INVALID_DISK_TYPES: Readonly<Record<number, { types: ReadonlySet<number>; message: string }>> = {
  [DatastoreType.IMAGE_DS]: {
    types: new Set([DiskType.CDROM, DiskType.RBD_CDROM, DiskType.SHEEPDOG_CDROM, DiskType.GLUSTER_CDROM]),
    message: 'Invalid DISK_TYPE for an Image Datastore.',
  },
  [DatastoreType.SYSTEM_DS]: {
    types: new Set([DiskType.GLUSTER, DiskType.SHEEPDOG, DiskType.ISCSI, DiskType.CDROM, DiskType.RBD_CDROM,
      DiskType.SHEEPDOG_CDROM, DiskType.GLUSTER_CDROM]),
    message: 'Invalid DISK_TYPE for a System Datastore.',
  },
};

/** Datastore::set_ds_disk_type: the disk type allowed for the datastore type; IMAGE and SYSTEM keep it in the template. */
function applyDiskType(ds: Datastore, text: string): string | null {
  const rules = INVALID_DISK_TYPES[ds.type];
  if (!rules) {
    ds.diskType = DiskType.FILE;
    return null;
  }
  const diskType = text === '' ? DiskType.FILE : diskTypeOf(text);
  if (diskType === DiskType.NONE) return 'Unknown DISK_TYPE in template.';
  if (rules.types.has(diskType)) return rules.message;
  ds.diskType = diskType;
  ds.template.set('DISK_TYPE', DISK_TYPE_NAMES[diskType]);
  return null;
}

/** The value oned reads, then every attribute of that name goes (PoolObjectSQL::erase_template_attribute). */
function eraseValue(t: Template, name: string): string {
  const value = t.get(name) ?? '';
  t.erase(name);
  return value;
}

/**
 * Datastore::insert: turns the allocate template (NAME already taken out) into the new datastore's fields and
 * normalised template. `ds` comes with id, ownership, permissions, clusters and that template; returns the error
 * text, or null when `ds` is ready to be stored.
 */
export function normaliseNewDatastore(ds: Datastore): string | null {
  const t = ds.template;
  ds.dsMad = t.get('DS_MAD') ?? '';
  ds.type = datastoreTypeOf(t.get('TYPE') ?? '');
  if (ds.type === DatastoreType.SYSTEM_DS) {
    if (ds.dsMad !== '') return 'SYSTEM datastores cannot have DS_MAD defined.';
    ds.dsMad = '-';
  } else if (ds.dsMad === '') {
    return 'No DS_MAD in template.';
  }
  const madError = applyDsMad(ds);
  if (madError) return madError;
  ds.tmMad = t.get('TM_MAD') ?? '';
  if (ds.type === DatastoreType.BACKUP_DS) {
    ds.tmMad = '-';
  } else {
    const tmError = applyTmMad(ds, ds.tmMad);
    if (tmError) return tmError;
  }
  t.erase('BASE_PATH');
  const diskError = applyDiskType(ds, eraseValue(t, 'DISK_TYPE'));
  if (diskError) return diskError;
  if ((t.get('SAFE_DIRS') ?? '') === '' && (t.get('RESTRICTED_DIRS') ?? '') === '') {
    t.replace('SAFE_DIRS', '/var/tmp');
    t.replace('RESTRICTED_DIRS', '/');
  }
  return null;
}

/** Options that cannot change while the datastore holds images (Datastore::post_update_template). */
const FIXED_WITH_IMAGES = ['LVM_THIN_ENABLE', 'NFS_AUTO_ENABLE', 'NFS_AUTO_HOST', 'NFS_AUTO_PATH', 'NFS_AUTO_OPTS'];

/**
 * Datastore::post_update_template, run on the already replaced or merged `ds.template`: TYPE, DISK_TYPE, TM_MAD and
 * DS_MAD follow the new template (or are written back into it) and the DS_MAD's required attributes are checked.
 * On failure the fields are restored and the error text returned; the caller keeps the old template.
 */
export function applyDatastoreTemplateUpdate(ds: Datastore, oldTemplate: Template, hasImages: boolean): string | null {
  const t = ds.template;
  if (hasImages) {
    for (const option of FIXED_WITH_IMAGES) {
      if ((t.get(option) ?? '') !== (oldTemplate.get(option) ?? '')) {
        return `Cannot update option ${option} in a datastore with existing images`;
      }
    }
  }
  const saved = { type: ds.type, diskType: ds.diskType, tmMad: ds.tmMad, dsMad: ds.dsMad };
  const fail = (error: string) => { Object.assign(ds, saved); return error; };

  const typeText = t.get('TYPE') ?? '';
  const newType = typeText !== '' ? datastoreTypeOf(typeText) : ds.type;
  if (ds.id === SYSTEM_DS_ID) ds.type = DatastoreType.SYSTEM_DS;
  else if (ds.type !== DatastoreType.BACKUP_DS) ds.type = newType;
  t.replace('TYPE', DATASTORE_TYPE_NAMES[ds.type]);

  const diskText = eraseValue(t, 'DISK_TYPE');
  if (diskText !== '') {
    const error = applyDiskType(ds, diskText);
    if (error) return fail(error);
  }

  const newTmMad = t.get('TM_MAD') ?? '';
  if (newTmMad !== '' && ds.type !== DatastoreType.BACKUP_DS) {
    const error = applyTmMad(ds, newTmMad);
    if (error) return fail(error);
    ds.tmMad = newTmMad;
  } else {
    t.replace('TM_MAD', ds.tmMad);
  }

  const newDsMad = t.get('DS_MAD') ?? '';
  if (ds.type === DatastoreType.SYSTEM_DS) {
    ds.dsMad = '-';
    t.erase('DS_MAD');
  } else if (newDsMad === '') {
    t.replace('DS_MAD', ds.dsMad);
  } else {
    ds.dsMad = newDsMad;
  }
  const madError = applyDsMad(ds);
  return madError ? fail(madError) : null;
}

/** Datastore::enable: only system datastores can be disabled. */
export function enableDatastore(ds: Datastore, enable: boolean): string | null {
  if (ds.type !== DatastoreType.SYSTEM_DS) return 'Only SYSTEM_DS can be disabled or enabled';
  ds.state = enable ? DatastoreState.READY : DatastoreState.DISABLED;
  return null;
}

/** TOTAL_MB / FREE_MB / USED_MB of a datastore document. */
export interface DatastoreCapacity { totalMb: number; freeMb: number; usedMb: number }

/** A template attribute read as a long long (Template::get<long long>), or undefined when absent or unreadable. */
function longValue(t: Template, name: string): number | undefined {
  const text = t.get(name);
  if (text === undefined) return undefined;
  const parsed = streamLong(text);
  return parsed.complete ? parsed.value : undefined;
}

/**
 * The emulated monitoring of a datastore: USED_MB is the size of the images it holds, TOTAL_MB its template's
 * TOTAL_MB (emulator extension) or DEFAULT_TOTAL_MB. A non-shared system datastore is monitored per host and
 * shows 0 / 0 / 0, as oned does.
 */
export function datastoreCapacityOf(ds: Datastore, imagesMb: number): DatastoreCapacity {
  if (ds.type === DatastoreType.SYSTEM_DS && !isSharedSystemDs(ds)) return { totalMb: 0, freeMb: 0, usedMb: 0 };
  const totalMb = longValue(ds.template, 'TOTAL_MB') ?? DEFAULT_TOTAL_MB;
  const usedMb = ds.type === DatastoreType.SYSTEM_DS ? 0 : imagesMb;
  return { totalMb, freeMb: Math.max(0, totalMb - usedMb), usedMb };
}

/**
 * Datastore::get_avail_mb: the space a new image or backup may take (FREE_MB, or LIMIT_MB - USED_MB when LIMIT_MB is
 * set, never below 0) and whether the capacity check applies (template DATASTORE_CAPACITY_CHECK, else oned.conf).
 */
export function availableSpace(ds: Datastore, capacity: DatastoreCapacity): { availMb: number; check: boolean } {
  const limit = longValue(ds.template, 'LIMIT_MB');
  const availMb = Math.max(0, limit !== undefined ? limit - capacity.usedMb : capacity.freeMb);
  const flag = ds.template.get('DATASTORE_CAPACITY_CHECK');
  return { availMb, check: flag !== undefined ? flag.toUpperCase() === 'YES' : DEFAULT_CAPACITY_CHECK };
}
