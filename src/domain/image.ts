/**
 * Images as oned 7.4 keeps them (include/Image.h, src/image/Image.cc, ImagePool.cc, ImageManagerActions.cc): the
 * object, its enums and the pure rules of allocate, enable, persistent, chtype and delete. No I/O.
 *
 * Images are emulated: no datastore driver runs. Where oned asks the DS driver, the answers are those of the
 * `dummy` DS_MAD (src/datastore_mad/remotes/dummy): `stat` says 1024 MB, `cp` answers "dummy_path dummy_format",
 * `mkfs` answers "dummy_path". They arrive at once, so an image is READY when its allocate returns.
 */
import { streamLong } from './cppParse.js';
import { DatastoreType, DiskType } from './datastore.js';
import { UNLOCKED } from './lock.js';
import { invalidNameReason } from './names.js';
import type { PoolObject } from './poolObject.js';
import { Template } from './template.js';

/** Image::ImageType. */
export const ImageType = { OS: 0, CDROM: 1, DATABLOCK: 2, KERNEL: 3, RAMDISK: 4, CONTEXT: 5, BACKUP: 6, FILESYSTEM: 7 } as const;
const TYPE_NAMES = ['OS', 'CDROM', 'DATABLOCK', 'KERNEL', 'RAMDISK', 'CONTEXT', 'BACKUP', 'FILESYSTEM'];

/** Image::ImageState. */
export const ImageState = {
  INIT: 0, READY: 1, USED: 2, DISABLED: 3, LOCKED: 4, ERROR: 5, CLONE: 6, DELETE: 7, USED_PERS: 8, LOCKED_USED: 9,
  LOCKED_USED_PERS: 10,
} as const;

const DISK_TYPE_NAMES = ['FILE', 'CDROM', 'BLOCK', 'RBD', 'RBD_CDROM', 'GLUSTER', 'GLUSTER_CDROM', 'SHEEPDOG',
  'SHEEPDOG_CDROM', 'ISCSI', 'FILESYSTEM'];

// The datastore module owns these enums; images use them too (and other modules import them from here).
export { DatastoreType, DiskType } from './datastore.js';

/** Shipped oned.conf values (DEFAULT_IMAGE_TYPE, DEFAULT_DEVICE_PREFIX), which oned-emu does not make configurable. */
export const DEFAULT_IMAGE_TYPE = 'OS';
export const DEFAULT_DEVICE_PREFIX = 'sd';

/** What the dummy DS driver answers (see the file comment). */
export const DUMMY_STAT_SIZE = '1024';
export const DUMMY_SOURCE = 'dummy_path';
export const DUMMY_CP_FORMAT = 'dummy_format';

/** One increment of a BACKUP image (BackupIncrements): INCREMENT = [DATE, ID, PARENT_ID, SIZE (MB), SOURCE, TYPE]. */
export interface BackupIncrement {
  id: number;
  parentId: number;
  type: 'FULL' | 'INCREMENT';
  date: number;
  size: number;
  source: string;
}

/**
 * An image: every field of the IMAGE document. `prevState` is rewritten from `state` at every save
 * (ImagePool::update); `snapshots` is the SNAPSHOTS template (ALLOW_ORPHANS, CURRENT_BASE, NEXT_SNAPSHOT,
 * SNAPSHOT vectors) and `template` the free attributes only (NAME, TYPE, SOURCE, … are fields).
 */
export interface Image extends PoolObject {
  type: number;
  diskType: number;
  persistent: number;
  regtime: number;
  modtime: number;
  source: string;
  path: string;
  format: string;
  fs: string;
  /** SIZE in MB. */
  size: number;
  state: number;
  prevState: number;
  runningVms: number;
  cloningOps: number;
  cloningId: number;
  targetSnapshot: number;
  datastoreId: number;
  /** DATASTORE: the datastore's name when the image was registered (rewritten when the datastore is renamed). */
  datastore: string;
  vms: number[];
  clones: number[];
  appClones: number[];
  template: Template;
  snapshots: Template;
  backupIncrements: BackupIncrement[];
  backupDiskIds: number[];
}

export const imageTypeName = (type: number) => TYPE_NAMES[type] ?? '';
export const diskTypeName = (type: number) => DISK_TYPE_NAMES[type] ?? '';

/** Image::state_to_str: USED_PERS prints USED and LOCKED_USED_PERS prints LOCKED_USED. */
export function imageStateName(state: number): string {
  if (state === ImageState.USED_PERS) return 'USED';
  if (state === ImageState.LOCKED_USED_PERS) return 'LOCKED_USED';
  return ['INIT', 'READY', 'USED', 'DISABLED', 'LOCKED', 'ERROR', 'CLONE', 'DELETE'][state] ?? '';
}

/** Image::str_to_type: empty means the default type; case-insensitive; an unknown name reads as OS. */
export function imageTypeFromText(text: string): { type: number; upper: string } {
  const upper = (text === '' ? DEFAULT_IMAGE_TYPE : text).toUpperCase();
  const index = TYPE_NAMES.indexOf(upper);
  return { type: index === -1 ? ImageType.OS : index, upper };
}

/** Snapshots(-1, DENY) of a new image: no snapshot, ALLOW_ORPHANS NO. */
export function emptyImageSnapshots(): Template {
  const t = new Template();
  t.set('ALLOW_ORPHANS', 'NO');
  t.set('CURRENT_BASE', '-1');
  t.set('NEXT_SNAPSHOT', '0');
  return t;
}

export const snapshotCount = (image: Image) => image.snapshots.getVectors('SNAPSHOT').length;

/** An image with the defaults of oned's Image constructor; the caller fills in what it knows. */
export function newImage(fields: Pick<Image, 'uid' | 'gid' | 'uname' | 'gname' | 'permissions'> & { now: number }): Image {
  return {
    id: -1, uid: fields.uid, gid: fields.gid, uname: fields.uname, gname: fields.gname, name: '',
    permissions: fields.permissions, lock: { ...UNLOCKED },
    type: ImageType.OS, diskType: DiskType.FILE, persistent: 0, regtime: fields.now, modtime: fields.now,
    source: '', path: '', format: '', fs: '', size: 0, state: ImageState.INIT, prevState: ImageState.INIT,
    runningVms: 0, cloningOps: 0, cloningId: -1, targetSnapshot: -1, datastoreId: -1, datastore: '',
    vms: [], clones: [], appClones: [], template: new Template(), snapshots: emptyImageSnapshots(),
    backupIncrements: [], backupDiskIds: [],
  };
}

/** Template::get(name, long long): the first single attribute, parsed completely. */
function templateLong(t: Template, name: string): number | undefined {
  const text = t.get(name);
  if (text === undefined) return undefined;
  const r = streamLong(text);
  return r.complete ? r.value : undefined;
}

/**
 * ImageManager::stat_image with the dummy driver: the SIZE text of a new image, or the reason (after
 * "Cannot parse image SIZE: ") it cannot be known.
 */
export function statImageSize(t: Template): { size: string } | { error: string } {
  const { type, upper } = imageTypeFromText(t.get('TYPE') ?? '');
  const path = t.get('PATH') ?? '';
  const source = t.get('SOURCE') ?? '';
  const givenSize = (): { size: string } | { error: string } =>
    (templateLong(t, 'SIZE') === undefined ? { error: 'Wrong number or missing SIZE attribute.' } : { size: t.get('SIZE')! });
  switch (type) {
    case ImageType.FILESYSTEM:
      return path === '' ? { error: 'Missing PATH attribute.' } : { size: DUMMY_STAT_SIZE };
    case ImageType.BACKUP:
      return t.get('SIZE') !== undefined ? { size: t.get('SIZE')! } : { error: '' };
    case ImageType.CDROM: case ImageType.KERNEL: case ImageType.RAMDISK: case ImageType.CONTEXT:
      if (source !== '') return givenSize();
      return path === '' ? { error: `Either PATH or SOURCE are required for ${upper}` } : { size: DUMMY_STAT_SIZE };
    default:
      if (source !== '' || path === '') return givenSize();
      return { size: DUMMY_STAT_SIZE };
  }
}

/** `iss >> size_mb` on the SIZE text: the MB value, or undefined when nothing numeric leads it. */
export function parseSizeMb(text: string): number | undefined {
  const r = streamLong(text);
  return r.parsed ? r.value : undefined;
}

/**
 * Image::test_set_persistent for allocate: PERSISTENT given in the template wins, else the user's or group's
 * OPENNEBULA/DEFAULT_IMAGE_PERSISTENT_NEW (YES/anything), else NO. PERSISTENT is rewritten as YES/NO and a
 * SHAREABLE PERSISTENT_TYPE is dropped from non-persistent images.
 */
export function applyPersistentDefault(t: Template, configuredDefault: string | undefined): boolean {
  const given = t.get('PERSISTENT');
  const fromTemplate = given !== undefined && given.toUpperCase() === 'YES';
  let persistent: boolean;
  if (given !== undefined) persistent = fromTemplate;
  else if (configuredDefault !== undefined && configuredDefault !== '') persistent = configuredDefault.toUpperCase() === 'YES';
  else persistent = false;
  t.replace('PERSISTENT', persistent ? 'YES' : 'NO');
  const ptype = t.get('PERSISTENT_TYPE');
  if (!persistent && ptype !== undefined && ptype.toUpperCase() === 'SHAREABLE') t.erase('PERSISTENT_TYPE');
  return persistent;
}

/** The first single value of `name`, then every attribute of that name removed (erase_template_attribute). */
function takeAttribute(t: Template, name: string): string {
  const value = t.get(name) ?? '';
  t.erase(name);
  return value;
}

/**
 * The checks of ImagePool::allocate before the name lookup: the NAME rule, then the type against the datastore
 * type. Returns the refusal text (shown after "Error allocating a new image. ") or null.
 */
export function imagePlacementError(t: Template, datastoreType: number): string | null {
  const bad = invalidNameReason(t.get('NAME') ?? '');
  if (bad) return bad;
  switch (imageTypeFromText(t.get('TYPE') ?? '').type) {
    case ImageType.KERNEL: case ImageType.RAMDISK: case ImageType.CONTEXT:
      return datastoreType === DatastoreType.FILE_DS ? null
        : 'IMAGES of type KERNEL, RAMDISK and CONTEXT cannot be registered in an IMAGE_DS datastore';
    case ImageType.BACKUP:
      return datastoreType === DatastoreType.BACKUP_DS ? null
        : 'IMAGES of type BACKUP can only be registered in an BACKUP_DS datastore';
    default:
      return datastoreType === DatastoreType.IMAGE_DS ? null
        : 'Only IMAGES of type KERNEL, RAMDISK and CONTEXT can be registered in a FILE_DS datastore';
  }
}

/**
 * Image::set_type. oned builds the unknown-type text as `"Unknown type " + type`, adding the *current* type enum
 * to the literal's address, so the text loses that many leading characters ("nknown type " for a CDROM).
 */
export function setImageType(image: Image, text: string): string | null {
  const upper = text.toUpperCase();
  if (upper !== 'OS' && upper !== 'DATABLOCK' && snapshotCount(image) > 0) {
    return 'Image with snapshots can be only of type OS or DATABLOCK';
  }
  const index = TYPE_NAMES.indexOf(upper);
  if (index === -1) return 'Unknown type '.slice(image.type);
  image.type = index;
  return null;
}

/** What Image::insert needs to know of the datastore the image goes to. */
export interface ImageTarget {
  id: number;
  name: string;
  diskType: number;
  /** Datastore::get_ds_driver: TM_MAD_CONF DRIVER of its TM_MAD, else its template DRIVER ("" when none). */
  driver: string;
}

/**
 * Image::insert on a new image whose `template` is the allocate template (NAME, TYPE, PERSISTENT, SIZE, …
 * included): those move to fields, DEV_PREFIX and FORMAT get their defaults, STATE becomes LOCKED (READY for
 * BACKUP images, which must carry VM_ID). Returns the refusal text or null.
 */
export function insertImage(image: Image, target: ImageTarget): string | null {
  const t = image.template;
  image.datastoreId = target.id;
  image.datastore = target.name;
  image.diskType = target.diskType;
  image.name = takeAttribute(t, 'NAME');
  let typeText = takeAttribute(t, 'TYPE');
  if (typeText === '') typeText = DEFAULT_IMAGE_TYPE;
  const typeError = setImageType(image, typeText);
  if (typeError) return typeError;

  const persistentText = takeAttribute(t, 'PERSISTENT');
  switch (image.type) {
    case ImageType.OS: case ImageType.DATABLOCK:
      image.persistent = persistentText.toUpperCase() === 'YES' ? 1 : 0;
      if ((t.get('DEV_PREFIX') ?? '') === '') t.replace('DEV_PREFIX', DEFAULT_DEVICE_PREFIX);
      break;
    case ImageType.BACKUP:
      image.persistent = 1;
      t.erase('DEV_PREFIX');
      break;
    case ImageType.FILESYSTEM:
      image.persistent = persistentText.toUpperCase() === 'YES' ? 1 : 0;
      t.erase('DEV_PREFIX');
      break;
    default:
      image.persistent = 0;
      t.erase('DEV_PREFIX');
  }

  image.size = parseSizeMb(takeAttribute(t, 'SIZE')) ?? 0;
  image.fs = takeAttribute(t, 'FS');
  t.erase('DRIVER');
  image.path = takeAttribute(t, 'PATH');
  image.source = takeAttribute(t, 'SOURCE');
  image.format = takeAttribute(t, 'FORMAT');
  t.erase('TM_MAD');

  if (image.source !== '') {
    if (image.path !== '') return 'PATH and SOURCE cannot be both set.';
    if (image.format === '') return 'SOURCE needs FORMAT to be set.';
  } else if (image.type === ImageType.BACKUP) {
    return 'SOURCE cannot be empty for BACKUP images';
  } else if (image.path !== '') {
    image.format = '';
  } else if (image.type === ImageType.DATABLOCK || image.type === ImageType.OS) {
    if (target.driver !== '') {
      t.replace('DRIVER', target.driver);
      image.format = target.driver;
    } else if (image.format === '') {
      image.format = 'raw';
    }
  } else if (image.type === ImageType.FILESYSTEM) {
    image.format = 'dir';
  } else {
    return 'No PATH nor SOURCE in template.';
  }

  image.state = ImageState.LOCKED;
  if (image.type === ImageType.BACKUP) {
    const vmId = templateLong(t, 'VM_ID');
    t.erase('VM_ID');
    if (vmId === undefined) return 'No associated VM ID for BACKUP image.';
    image.state = ImageState.READY;
    image.runningVms += 1;
    image.vms = [...new Set([...image.vms, vmId])];
  }
  return null;
}

/**
 * ImageManager::register_image and the dummy driver's answer: `cp` for a PATH, `mkfs` for an empty OS/DATABLOCK,
 * nothing when SOURCE was given; then Image::set_state_unlock. Only LOCKED images change.
 */
export function completeRegistration(image: Image): void {
  if (image.state !== ImageState.LOCKED) return;
  if (image.path !== '') {
    image.source = DUMMY_SOURCE;
    image.format = DUMMY_CP_FORMAT;
  } else if (image.source === '') {
    image.source = DUMMY_SOURCE;
  }
  image.state = ImageState.READY;
}

/** ImageManager::enable_image: the new state, or the reason (shown after "Could not enable/disable image: "). */
export function enableImage(image: Image, enable: boolean): string | null {
  if (image.type === ImageType.BACKUP) return 'Backup images cannot be enabled or disabled.';
  const refuse = () => `Image cannot be in state ${imageStateName(image.state)}.`;
  if (enable) {
    if (image.state === ImageState.DISABLED) image.state = ImageState.READY;
    else if (image.state === ImageState.ERROR) {
      image.state = image.runningVms === 0 ? ImageState.READY : image.persistent ? ImageState.USED_PERS : ImageState.USED;
    } else if (image.state !== ImageState.READY) return refuse();
  } else if (image.state === ImageState.READY || image.state === ImageState.ERROR) {
    image.state = ImageState.DISABLED;
  } else if (image.state !== ImageState.DISABLED) {
    return refuse();
  }
  return null;
}

/** The type rules of ImageAPI::persistent: ACTION refusals for types that cannot change persistency. */
export function persistencyTypeError(image: Image): string | null {
  switch (image.type) {
    case ImageType.KERNEL: case ImageType.RAMDISK: case ImageType.CONTEXT:
      return 'KERNEL, RAMDISK and CONTEXT must be non-persistent';
    case ImageType.BACKUP:
      return 'BACKUP images must be persistent';
    default:
      return null;
  }
}

/** Image::persistent: sets the flag or returns the reason (shown after "Could not make image [non-]persistent: "). */
export function setPersistent(image: Image, persistent: boolean): string | null {
  if (snapshotCount(image) > 0 && !persistent) return 'Image has snapshots.';
  switch (image.state) {
    case ImageState.USED: case ImageState.CLONE: case ImageState.USED_PERS: case ImageState.LOCKED_USED:
    case ImageState.LOCKED_USED_PERS:
      return `Image cannot be in state ${imageStateName(image.state)}.`;
    default:
      image.persistent = persistent ? 1 : 0;
      return null;
  }
}

/**
 * The type rules of ImageAPI::change_type (ACTION refusals). `requested` is the type text as given; it is
 * returned normalised (empty → default type, upper case) for setImageType, as oned's str_to_type rewrites it.
 */
export function changeTypeError(image: Image, requested: string): { error: string } | { typeText: string } {
  const { type: wanted, upper } = imageTypeFromText(requested);
  const incompatible = 'Cannot change image type to an incompatible type for the current datastore.';
  const diskTypes: number[] = [ImageType.OS, ImageType.DATABLOCK, ImageType.CDROM];
  const fileTypes: number[] = [ImageType.KERNEL, ImageType.RAMDISK, ImageType.CONTEXT];
  if (diskTypes.includes(image.type)) {
    if (!diskTypes.includes(wanted)) return { error: incompatible };
  } else if (fileTypes.includes(image.type)) {
    if (!fileTypes.includes(wanted)) return { error: incompatible };
  } else {
    // No space after "for": oned concatenates the words as they are.
    return { error: `Cannot change type for${imageTypeName(image.type)} images.` };
  }
  return { typeText: upper };
}

/** Image::is_locked: a driver operation is running (not the API lock). */
export const inLockedState = (image: Image) =>
  image.state === ImageState.LOCKED || image.state === ImageState.LOCKED_USED || image.state === ImageState.LOCKED_USED_PERS;

/** What ImageManager::delete_image needs to know of the VM of a BACKUP image. */
export interface BackupVmState { lcmState: number; mode: string; activeFlatten: boolean }

const LCM_BACKUP = 69;
const LCM_BACKUP_POWEROFF = 70;

/**
 * ImageManager::delete_image's refusals (shown after "Cannot delete image. "). `backupVm` is the first VM of a
 * BACKUP image when it still exists; `concurrentForget` is the datastore's DS_MAD_CONF CONCURRENT_FORGET.
 */
export function deleteRefusal(image: Image, backupVm: BackupVmState | undefined, concurrentForget: boolean): string | null {
  if (image.type === ImageType.BACKUP && backupVm) {
    const backingUp = backupVm.lcmState === LCM_BACKUP || backupVm.lcmState === LCM_BACKUP_POWEROFF;
    if (backupVm.activeFlatten || (backingUp && (backupVm.mode === 'INCREMENT' || !concurrentForget))) {
      return 'Active backup on the associated VM. Wait till it finish to delete the backup Image';
    }
  }
  switch (image.state) {
    case ImageState.READY:
      return image.runningVms !== 0 && image.type !== ImageType.BACKUP ? `There are ${image.runningVms} VMs using it.` : null;
    case ImageState.CLONE:
      return `There are ${image.cloningOps} active clone operations.`;
    case ImageState.USED: case ImageState.USED_PERS: case ImageState.LOCKED_USED: case ImageState.LOCKED_USED_PERS:
      return `There are ${image.runningVms} VMs using it.`;
    default:
      return null;
  }
}
