/**
 * VM templates as oned 7.4 keeps them (src/vm_template/VMTemplate.cc, VMTemplatePool.cc, VirtualMachineTemplate):
 * the object, the restricted-attribute rules for non-admins, the checks of allocate/update, and the DISK
 * expansion one.template.info(extended) shows (Image::disk_attribute, Datastore::disk_attribute). No I/O.
 */
import { XMLValidator } from 'fast-xml-parser';
import { DiskType, type Datastore } from './datastore.js';
import { DEFAULT_DEVICE_PREFIX, diskTypeName, ImageState, ImageType, type Image } from './image.js';
import type { PoolObject } from './poolObject.js';
import { applySchedActionVector, newSchedAction } from './schedAction.js';
import type { Template } from './template.js';

/** A VM template (VMTemplate.h): REGTIME and the user's template without NAME. */
export interface VmTemplate extends PoolObject {
  regtime: number;
  template: Template;
}

/**
 * VM_RESTRICTED_ATTR of the shipped oned.conf as VirtualMachineTemplate keeps it: attribute → restricted
 * sub-attributes (none for single attributes). oned walks both levels in key order: the list is in that order and
 * the sub-attributes are sorted.
 */
export const VM_RESTRICTED_ATTRIBUTES: ReadonlyArray<readonly [string, readonly string[]]> = ([
  ['CONTEXT', ['FILES']],
  ['CPU_COST', []],
  ['DEPLOY_ID', []],
  ['DISK', ['ORIGINAL_SIZE', 'OPENNEBULA_MANAGED', 'READ_BYTES_SEC', 'READ_BYTES_SEC_MAX', 'READ_BYTES_SEC_MAX_LENGTH',
    'READ_IOPS_SEC', 'READ_IOPS_SEC_MAX', 'READ_IOPS_SEC_MAX_LENGTH', 'SIZE_IOPS_SEC', 'SIZE_PREV', 'TOTAL_BYTES_SEC',
    'TOTAL_BYTES_SEC_MAX', 'TOTAL_BYTES_SEC_MAX_LENGTH', 'TOTAL_IOPS_SEC', 'TOTAL_IOPS_SEC_MAX',
    'TOTAL_IOPS_SEC_MAX_LENGTH', 'WRITE_BYTES_SEC', 'WRITE_BYTES_SEC_MAX', 'WRITE_BYTES_SEC_MAX_LENGTH',
    'WRITE_IOPS_SEC', 'WRITE_IOPS_SEC_MAX', 'WRITE_IOPS_SEC_MAX_LENGTH']],
  ['DISK_COST', []],
  ['EMULATOR', []],
  ['MEMORY_COST', []],
  ['NIC', ['BRIDGE', 'EXTERNAL', 'FILTER', 'FILTER_IP_SPOOFING', 'FILTER_MAC_SPOOFING', 'INBOUND_AVG_BW', 'INBOUND_PEAK_BW',
    'INBOUND_PEAK_KB', 'MAC', 'OPENNEBULA_MANAGED', 'OUTBOUND_AVG_BW', 'OUTBOUND_PEAK_BW', 'OUTBOUND_PEAK_KB', 'VLAN_ID',
    'VLAN_TAGGED_ID']],
  ['NIC_ALIAS', ['BRIDGE', 'INBOUND_AVG_BW', 'INBOUND_PEAK_BW', 'INBOUND_PEAK_KB', 'MAC', 'OPENNEBULA_MANAGED',
    'OUTBOUND_AVG_BW', 'OUTBOUND_PEAK_BW', 'OUTBOUND_PEAK_KB', 'VLAN_ID']],
  ['NIC_DEFAULT', ['BRIDGE', 'EXTERNAL', 'FILTER', 'MAC', 'VLAN_ID']],
  ['PCI', []],
  ['RAW', ['DATA']],
  ['TOPOLOGY', ['HUGEPAGE_SIZE', 'PIN_POLICY']],
  ['USER_INPUTS', ['CPU', 'MEMORY', 'VCPU']],
  ['USER_PRIORITY', []],
] as Array<[string, string[]]>).map(([name, subs]) => [name, [...subs].sort()] as const);

/** Template::check_restricted(ra): the first restricted attribute the template holds (a sub-attribute's own name). */
export function restrictedAttributeIn(t: Template): string | undefined {
  for (const [name, subs] of VM_RESTRICTED_ATTRIBUTES) {
    if (subs.length === 0) {
      if (t.get(name) !== undefined) return name;
      continue;
    }
    for (const vector of t.getVectors(name)) {
      const found = subs.find((sub) => vector.has(sub));
      if (found) return found;
    }
  }
  return undefined;
}

/** restricted_values: "SUB=value" for every restricted sub-attribute of every vector `name`, sorted. */
function restrictedValues(t: Template, name: string, subs: readonly string[]): { exists: boolean; values: string[] } {
  const vectors = t.getVectors(name);
  const values: string[] = [];
  for (const v of vectors) for (const sub of subs) if (v.has(sub)) values.push(`${sub}=${v.get(sub)}`);
  return { exists: vectors.length > 0, values: values.sort() };
}

/**
 * Template::check_restricted(ra, base, append) for a non-admin update: the restricted attribute (the vector's or
 * single attribute's name) whose value would change, or undefined. A restricted single attribute missing from
 * `given` is copied into it from `base`, so a replace keeps it.
 */
export function restrictedChange(given: Template, base: Template, append: boolean): string | undefined {
  for (const [name, subs] of VM_RESTRICTED_ATTRIBUTES) {
    if (subs.length > 0) {
      const now = restrictedValues(given, name, subs);
      const before = restrictedValues(base, name, subs);
      const touched = now.exists || (!append && before.exists);
      if (touched && now.values.join('\n') !== before.values.join('\n')) return name;
      continue;
    }
    const value = given.get(name);
    const old = base.get(name);
    if (value !== undefined) {
      if (value !== (old ?? '')) return name;
    } else if (old !== undefined) {
      given.set(name, old);
    }
  }
  return undefined;
}

/** The VM drivers whose names RAW/TYPE may give (the VM_MADs oned-emu's hosts accept). */
const VM_DRIVERS: ReadonlySet<string> = new Set(['kvm', 'qemu', 'lxc', 'dummy']);
/** Drivers of libvirt type, which check RAW/DATA as part of a libvirt domain. */
const LIBVIRT_DRIVERS: ReadonlySet<string> = new Set(['kvm', 'qemu']);

/**
 * VirtualMachineManager::validate_raw. For kvm/qemu oned validates DATA inside a libvirt <domain> against
 * libvirt's domain.rng; oned-emu has no RelaxNG, so it checks that the domain is well-formed XML, which every
 * document domain.rng accepts is.
 */
export function rawSectionError(t: Template): string | null {
  const raw = t.getVectors('RAW')[0];
  if (!raw) return null;
  const validate = raw.get('VALIDATE') ?? '';
  if (validate !== '' && validate.toUpperCase() !== 'YES') return null;
  const type = (raw.get('TYPE') ?? '').toLowerCase();
  if (!VM_DRIVERS.has(type)) return 'Invalid RAW section: unsupported TYPE';
  if (!LIBVIRT_DRIVERS.has(type)) return null;
  const domain = `<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>aux</name>${raw.get('DATA') ?? ''}</domain>`;
  return XMLValidator.validate(domain) === true ? null : 'Invalid RAW section: cannot validate DATA with domain.rng schema';
}

/**
 * VMTemplate::parse_sched_action then validate_raw, as allocate (insert) and update (post_update_template) run
 * them: every SCHED_ACTION vector must be a valid VM scheduled action. The refusal text, or null.
 */
export function vmTemplateError(t: Template): string | null {
  for (const vector of t.getVectors('SCHED_ACTION')) {
    const error = applySchedActionVector(newSchedAction('VM', 0), vector, 0);
    if (error) return error;
  }
  return rawSectionError(t);
}

/** How a DISK names its image (VirtualMachineDisk::get_image_id / authorize). */
export type DiskImageRef = { id: number } | { name: string; uid: number } | { name: string; uname: string } | undefined;

/**
 * The image a DISK refers to: IMAGE_ID (a complete integer), else IMAGE with IMAGE_UID (a readable integer),
 * IMAGE_UNAME or the caller as owner. `imageFirst` is the order of authorize (IMAGE before IMAGE_ID).
 */
export function diskImageRef(disk: ReadonlyMap<string, string>, callerUid: number, imageFirst: boolean): DiskImageRef {
  const byId = (): DiskImageRef => {
    const text = disk.get('IMAGE_ID');
    if (text === undefined || text === '' || !/^[ \t\n\v\f\r]*[+-]?\d+$/.test(text)) return undefined;
    const id = Number(text.trim());
    return id >= -(2 ** 31) && id < 2 ** 31 ? { id } : undefined;
  };
  const byName = (): DiskImageRef => {
    const name = disk.get('IMAGE');
    if (name === undefined) return undefined;
    const uidText = disk.get('IMAGE_UID') ?? '';
    if (uidText !== '') {
      const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(uidText);
      return m ? { name, uid: Number(m[1]) } : undefined;
    }
    const uname = disk.get('IMAGE_UNAME') ?? '';
    return uname !== '' ? { name, uname } : { name, uid: callerUid };
  };
  if (imageFirst) return disk.has('IMAGE') ? byName() : byId();
  return byId() ?? byName();
}

/** INHERIT_IMAGE_ATTR and INHERIT_DATASTORE_ATTR of the shipped oned.conf. */
const INHERIT_IMAGE_ATTRIBUTES = ['ISCSI_USER', 'ISCSI_USAGE', 'ISCSI_HOST', 'ISCSI_IQN', 'LUKS_SECRET', 'DISK_TYPE', 'SERIAL',
  'MOUNT_POINT', 'MOUNT_TAG'];
const INHERIT_DATASTORE_ATTRIBUTES = ['CEPH_HOST', 'CEPH_SECRET', 'CEPH_KEY', 'CEPH_USER', 'CEPH_CONF', 'CEPH_TRASH',
  'POOL_NAME', 'ISCSI_USER', 'ISCSI_USAGE', 'ISCSI_HOST', 'GLUSTER_HOST', 'GLUSTER_VOLUME', 'DISK_TYPE', 'ALLOW_ORPHANS',
  'QCOW2_STANDALONE', 'SPARSE', 'LVM_THIN_ENABLE', 'PERSISTENT_SNAPSHOTS'];

/** Copies inherited attributes the disk does not set yet: all values of a vector, or a single value. */
function inherit(disk: Map<string, string>, from: Template, names: readonly string[]): void {
  for (const name of names) {
    const vector = from.getVectors(name)[0];
    if (vector) {
      for (const [key, value] of vector) if ((disk.get(key) ?? '') === '' && value !== '') disk.set(key, value);
    } else {
      const value = from.get(name) ?? '';
      if ((disk.get(name) ?? '') === '' && value !== '') disk.set(name, value);
    }
  }
}

const yesNo = (b: boolean) => (b ? 'YES' : 'NO');

/** Image::disk_attribute: the image's data written into a DISK vector. */
export function imageDiskAttributes(disk: Map<string, string>, image: Image): void {
  const it = image.template;
  const target = disk.get('TARGET') ?? '';
  const templateTarget = it.get('TARGET') ?? '';
  const persistentType = (it.get('PERSISTENT_TYPE') ?? '').toUpperCase();
  if ((disk.get('DEV_PREFIX') ?? '') === '' && image.type !== ImageType.CDROM && image.type !== ImageType.FILESYSTEM) {
    disk.set('DEV_PREFIX', (it.get('DEV_PREFIX') ?? '') || DEFAULT_DEVICE_PREFIX);
  }
  disk.set('IMAGE', image.name);
  disk.set('IMAGE_ID', String(image.id));
  disk.set('SOURCE', image.source);
  disk.set('ORIGINAL_SIZE', String(image.size));
  if ((disk.get('SIZE') ?? '') === '') disk.set('SIZE', String(image.size));
  const snapshotsMb = image.snapshots.getVectors('SNAPSHOT').reduce((sum, s) => sum + (Number.parseInt(s.get('SIZE') ?? '0', 10) || 0), 0);
  disk.set('DISK_SNAPSHOT_TOTAL_SIZE', String(snapshotsMb));
  if (image.format !== '') {
    const format = image.format.toLowerCase();
    disk.set('DRIVER', format);
    disk.set('FORMAT', format);
  } else {
    disk.delete('DRIVER');
    disk.delete('FORMAT');
  }
  disk.set('IMAGE_STATE', String(image.state));

  if (image.type === ImageType.CDROM || persistentType === 'IMMUTABLE') {
    disk.set('SAVE', 'NO');
    disk.set('CLONE', 'NO');
    disk.set('READONLY', 'YES');
  } else {
    if ((disk.get('READONLY') ?? '') === '') {
      const fromImage = it.get('READONLY');
      disk.set('READONLY', yesNo(fromImage !== undefined && fromImage.toUpperCase() === 'YES'));
    }
    if (image.persistent) {
      disk.set('PERSISTENT', 'YES');
      disk.set('CLONE', 'NO');
      disk.set('SAVE', 'YES');
      if (persistentType === 'SHAREABLE' && (image.format === 'raw' || image.format === 'dir')) disk.set('SHAREABLE', 'YES');
    } else {
      disk.set('CLONE', 'YES');
      disk.set('SAVE', 'NO');
    }
  }
  const cloning = image.state === ImageState.LOCKED || image.state === ImageState.LOCKED_USED
    || image.state === ImageState.LOCKED_USED_PERS;
  if (cloning) disk.set('CLONING', 'YES');
  else disk.delete('CLONING');

  let type = '';
  if (image.type === ImageType.OS || image.type === ImageType.DATABLOCK || image.type === ImageType.FILESYSTEM) {
    type = diskTypeName(image.diskType);
  } else if (image.type === ImageType.CDROM) {
    const cdrom: Record<number, number> = { [DiskType.RBD]: DiskType.RBD_CDROM, [DiskType.SHEEPDOG]: DiskType.SHEEPDOG_CDROM,
      [DiskType.GLUSTER]: DiskType.GLUSTER_CDROM };
    type = diskTypeName(cdrom[image.diskType] ?? DiskType.CDROM);
  }
  disk.set('TYPE', type);
  if (target === '' && templateTarget !== '') disk.set('TARGET', templateTarget);
  if (disk.get('TYPE') === 'FILESYSTEM') {
    if ((disk.get('MOUNT_POINT') ?? '') === '') disk.set('MOUNT_POINT', (it.get('MOUNT_POINT') ?? '') || `/mnt/one-fs-${image.id}`);
    if ((disk.get('MOUNT_TAG') ?? '') === '') disk.set('MOUNT_TAG', (it.get('MOUNT_TAG') ?? '') || `one-tag-${image.id}`);
  }
  inherit(disk, it, INHERIT_IMAGE_ATTRIBUTES);
}

/** VirtualMachineDisk::set_types: TYPE and DISK_TYPE from a DISK_TYPE_<TM_MAD_SYSTEM> value. */
function setDiskTypes(disk: Map<string, string>, dsDiskType: string): void {
  const current = (disk.get('TYPE') ?? '').toUpperCase();
  const isCdrom = ['CDROM', 'RBD_CDROM', 'GLUSTER_CDROM', 'SHEEPDOG_CDROM'].includes(current);
  if (isCdrom) {
    disk.set('TYPE', dsDiskType !== 'FILE' && dsDiskType !== 'ISCSI' && dsDiskType !== 'NONE' ? `${dsDiskType}_CDROM` : 'CDROM');
  } else {
    disk.set('TYPE', dsDiskType);
  }
  disk.set('DISK_TYPE', dsDiskType);
}

/**
 * Datastore::disk_attribute for a DISK of an image of that datastore. (Its volatile-disk branch never applies
 * here: an image disk's TYPE is never FS or SWAP.)
 */
export function datastoreDiskAttributes(disk: Map<string, string>, ds: Datastore): void {
  const dt = ds.template;
  disk.set('DATASTORE', ds.name);
  disk.set('DATASTORE_ID', String(ds.id));
  disk.set('TM_MAD', ds.tmMad);
  disk.set('CLUSTER_ID', [...ds.clusters].sort((a, b) => a - b).join(','));
  const system = (disk.get('TM_MAD_SYSTEM') ?? '').trim().toUpperCase();
  const modeValue = (name: string) => (system !== '' ? (dt.get(`${name}_${system}`) ?? '') || (dt.get(name) ?? '') : dt.get(name) ?? '');
  const clone = modeValue('CLONE_TARGET');
  if (clone !== '' && (disk.get('CLONE_TARGET') ?? '') === '') disk.set('CLONE_TARGET', clone);
  const ln = modeValue('LN_TARGET');
  if (ln !== '' && (disk.get('LN_TARGET') ?? '') === '') disk.set('LN_TARGET', ln);
  inherit(disk, dt, INHERIT_DATASTORE_ATTRIBUTES);
  if (system !== '') {
    const diskType = dt.get(`DISK_TYPE_${system}`) ?? '';
    if (diskType !== '') setDiskTypes(disk, diskType);
  }
}
