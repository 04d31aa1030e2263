import { randomUUID } from 'node:crypto';
import { Op, type AuthItem } from '../domain/authorization.js';
import { streamInt } from '../domain/cppParse.js';
import { actionError, internalError, noExists, rpcApiError } from '../domain/errors.js';
import { UNLOCKED } from '../domain/lock.js';
import { invalidNameReason } from '../domain/names.js';
import { defaultPermissions } from '../domain/permissions.js';
import { objectAuth } from '../domain/poolObject.js';
import { poolWhere } from '../domain/poolFilter.js';
import { applySchedActionVector, newSchedAction } from '../domain/schedAction.js';
import { Template, type Attribute } from '../domain/template.js';
import { parseTemplateOr } from './parseTemplate.js';
import { currentHistory, type Vm } from '../domain/vm.js';
import { applyBackupConfig } from '../domain/vmBackups.js';
import { performVmAction, VM_ACTION_AUTH } from '../domain/vmLifecycle.js';
import { stateName, VmState } from '../domain/vmState.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { listAclRules } from '../store/acl.js';
import type { Queryable } from '../store/database.js';
import { nextOid } from '../store/poolControl.js';
import { deleteSchedActions, getSchedAction, getSchedActions, insertSchedAction, saveSchedAction } from '../store/schedActions.js';
import { vmTable } from '../store/vms.js';
import { datastoreTable } from '../store/datastores.js';
import { imageByNameAndOwner, imageTable } from '../store/images.js';
import { getUserByName } from '../store/users.js';
import { ImageType, type Image } from '../domain/image.js';
import { datastoreDiskAttributes, diskImageRef, imageDiskAttributes, type DiskImageRef } from '../domain/vmTemplate.js';
import { renderVm, renderVmExtended, renderVmShort } from '../xml/vm.js';
import type { ApiMethod, Request } from './app.js';
import { requireAuthorization } from './authorize.js';
import { listOrder } from './listOrder.js';
import { authorizedObject, chmodObject, chownObject, lockedObject, lockObject, renameObject, unlockObject, type PoolKind } from './shared.js';
import { updateTemplate } from './templateUpdate.js';
import { releaseVmFromHost } from './vmPlacement.js';

export const vmKind: PoolKind<Vm> = {
  type: 'VM', table: vmTable, uniqueNames: false,
  chownRefusal: (vm) => (vm.state === VmState.DONE ? 'Could not change VM ownership, wrong state' : null),
};
const int = (v: RpcValue) => v as number;
const str = (v: RpcValue) => v as string;

/** Attributes VirtualMachine::insert moves from the user's template into TEMPLATE (VirtualMachineParser.cc). */
const SYSTEM_ATTRIBUTES = new Set(['MEMORY', 'CPU', 'VCPU', 'MEMORY_MAX', 'MEMORY_SLOTS', 'MEMORY_RESIZE_MODE', 'VCPU_MAX',
  'CPU_COST', 'MEMORY_COST', 'DISK_COST', 'EMULATOR', 'OS', 'FEATURES', 'INPUT', 'RAW', 'CLONING_TEMPLATE_ID', 'TOPOLOGY',
  'NUMA_NODE', 'HYPERV_OPTIONS', 'SPICE_OPTIONS', 'PCI', 'NIC', 'NIC_ALIAS', 'NIC_DEFAULT', 'DISK', 'CONTEXT', 'GRAPHICS',
  'VIDEO', 'TPM', 'MEMORY_ENCRYPTION', 'SUBMIT_ON_HOLD', 'TEMPLATE_ID']);

/**
 * Expands every DISK as VirtualMachineDisk does (the same Image::disk_attribute and Datastore::disk_attribute rules
 * one.template.info extended shows): image disks take their image's and datastore's data, volatile disks keep SIZE.
 */
async function expandDisks(tx: Queryable, disks: Attribute[], callerUid: number): Promise<Attribute[]> {
  const out: Attribute[] = [];
  for (const [i, attr] of disks.entries()) {
    const disk = attr.kind === 'vector' ? new Map(attr.value) : new Map<string, string>();
    const ref = diskImageRef(disk, callerUid, false);
    if (ref !== undefined || disk.has('IMAGE_ID') || disk.has('IMAGE')) {
      const image = await findImage(tx, ref);
      if (!image) throw internalError(`DISK ${i}: Image with ID: ${disk.get('IMAGE_ID') ?? disk.get('IMAGE') ?? ''} does not exist`);
      if (image.type === ImageType.BACKUP) throw internalError(`DISK ${i}: Image ${image.id} (${image.name}) of type BACKUP cannot be used as DISK.`);
      imageDiskAttributes(disk, image);
      const ds = await datastoreTable.get(tx, image.datastoreId);
      if (ds) datastoreDiskAttributes(disk, ds);
    } else if (!disk.has('TYPE')) {
      disk.set('TYPE', 'fs');
    }
    disk.set('DISK_ID', String(i));
    out.push({ kind: 'vector', name: 'DISK', value: disk });
  }
  return out;
}

async function findImage(q: Queryable, ref: DiskImageRef): Promise<Image | undefined> {
  if (ref === undefined) return undefined;
  if ('id' in ref) return imageTable.get(q, ref.id);
  if ('uid' in ref) return imageByNameAndOwner(q, ref.name, ref.uid);
  const user = await getUserByName(q, ref.uname);
  return user ? imageByNameAndOwner(q, ref.name, user.id) : undefined;
}

/** VirtualMachine::insert's checks of the capacity attributes. */
function checkCapacity(t: Template): void {
  const memory = t.get('MEMORY');
  const m = memory === undefined ? undefined : streamInt(memory);
  if (!m || !m.complete || m.value <= 0) throw internalError('MEMORY attribute must be a positive integer value.');
  const cpu = t.get('CPU');
  if (cpu === undefined || !/^\s*\d*\.?\d+(e[+-]?\d+)?\s*$/i.test(cpu) || Number(cpu) <= 0) {
    throw internalError('CPU attribute must be a positive float or integer value.');
  }
  const vcpu = t.get('VCPU');
  if (vcpu !== undefined) {
    const v = streamInt(vcpu);
    if (!v.complete || v.value <= 0) throw internalError('VCPU attribute must be a positive integer value.');
  }
}

/**
 * VirtualMachinePool::allocate + VirtualMachine::insert: the user's template becomes USER_TEMPLATE, what oned manages
 * moves to TEMPLATE, disks are expanded, BACKUP_CONFIG and SCHED_ACTION become the VM's. `extra` adds TEMPLATE
 * attributes (TEMPLATE_ID on instantiate); `defaultName` replaces one-<id>.
 */
export async function createVm(req: Request, given: Template, hold: boolean,
  opts: { extra?: Attribute[]; defaultName?: (id: number) => string } = {}): Promise<{ id: number; schedError: string | null }> {
  const { caller } = req;
  const now = nowSeconds(req.app.clock);
  const created = await req.app.db.transaction(async (tx) => {
    const id = await nextOid(tx, 'vm_pool');
    const user = given.clone();
    const template = new Template();
    // VirtualMachine::insert checks the name before anything else; the default one is always valid.
    const badName = user.get('NAME') ? invalidNameReason(user.get('NAME')!) : null;
    if (badName) throw internalError(badName);
    for (const attr of [...user.attributes]) {
      if (SYSTEM_ATTRIBUTES.has(attr.name)) { user.erase(attr.name); if (attr.name !== 'DISK') template.add(attr); }
    }
    checkCapacity(template);
    for (const disk of await expandDisks(tx, given.getAll('DISK'), caller.uid)) template.add(disk);
    for (const attr of opts.extra ?? []) template.add(attr);
    const name = user.get('NAME') || (opts.defaultName ? opts.defaultName(id) : `one-${id}`);
    for (const n of ['NAME', 'TEMPLATE_NAME', 'VMID']) user.erase(n);
    const backupConfig = user.getVectors('BACKUP_CONFIG')[0];
    user.erase('BACKUP_CONFIG');
    const schedVectors = user.getVectors('SCHED_ACTION');
    user.erase('SCHED_ACTION');
    template.add({ kind: 'single', name: 'VMID', value: String(id) });
    template.add({ kind: 'single', name: 'AUTOMATIC_REQUIREMENTS', value: '!(PIN_POLICY = PINNED)' });
    const os = new Map(template.getVectors('OS')[0] ?? []);
    template.erase('OS');
    if (!os.has('UUID')) os.set('UUID', randomUUID());
    if (!os.has('MACHINE')) os.set('MACHINE', 'q35');
    template.add({ kind: 'vector', name: 'OS', value: os });
    if (hold) template.replace('SUBMIT_ON_HOLD', 'YES');
    const vm: Vm = {
      id, uid: caller.uid, gid: caller.gid, uname: caller.uname, gname: caller.gname, name,
      permissions: defaultPermissions(caller.uid, caller.gid, caller.umask, req.app.config.ENABLE_OTHER_PERMISSIONS),
      lock: { ...UNLOCKED }, lastPoll: 0, state: hold ? VmState.HOLD : VmState.PENDING, lcmState: 0, resched: 0, stime: now,
      etime: 0, deployId: '', schedActions: [], template, userTemplate: user, history: [], backups: { config: {}, ids: [] },
    };
    if (backupConfig) {
      const error = applyBackupConfig(vm, backupConfig, false);
      if (error) throw internalError(error);
    }
    // A bad SCHED_ACTION fails the call but, as in oned, the VM stays, without any scheduled action.
    let schedError: string | null = null;
    for (const vector of schedVectors) {
      const sa = newSchedAction('VM', id);
      schedError = applySchedActionVector(sa, vector, now);
      if (schedError) break;
      vm.schedActions.push(await insertSchedAction(tx, sa));
    }
    if (schedError) {
      await deleteSchedActions(tx, vm.schedActions);
      vm.schedActions = [];
    }
    await vmTable.insert(tx, vm);
    return { id, schedError };
  });
  return created;
}

const allocate: ApiMethod = {
  name: 'one.vm.allocate', signature: 'A:ssb', required: 2, object: 'VM',
  async run(req, p) {
    const given = parseTemplateOr(str(p[1]), 'INTERNAL');
    const hold = p.length > 2 ? (p[2] as boolean) : false;
    const { caller } = req;
    const items: AuthItem[] = [{ op: Op.CREATE, object: { type: 'VM', oid: -1, uid: caller.uid, gid: caller.gid } }];
    // VirtualMachine::set_auth_request: USE on every image the disks name.
    for (const disk of given.getVectors('DISK')) {
      const image = await findImage(req.app.db, diskImageRef(disk, caller.uid, true));
      if (image) items.push({ op: Op.USE, object: objectAuth('IMAGE', image) });
    }
    await requireAuthorization(req, items);
    const { id, schedError } = await createVm(req, given, hold);
    if (schedError) throw internalError(schedError);
    return id;
  },
};

const info: ApiMethod = {
  name: 'one.vm.info', signature: 'A:sib', required: 2, object: 'VM',
  async run(req, p) {
    const vm = await authorizedObject(req, vmKind, int(p[1]), Op.USE_NO_LCK);
    return renderVm(vm, await getSchedActions(req.app.db, vm.schedActions));
  },
};

/** one.vmpool.info / infoextended: (filter, start, end, state[, json]). */
function vmPool(name: string, render: (vm: Vm) => string): ApiMethod {
  return {
    name, signature: 'A:siiiis', required: 5, object: 'VM',
    async run(req, p) {
      const [filter, start, end, state] = [int(p[1]), int(p[2]), int(p[3]), int(p[4])];
      if (p.length > 5 && str(p[5]) !== '') throw internalError('JSON query search is not supported by the SQL backend');
      if (state < -2 || state > 11) throw rpcApiError(`Incorrect state filter ${state}`);
      if (filter < -4) throw rpcApiError('Incorrect filter_flag');
      const rules = await listAclRules(req.app.db);
      let where = poolWhere(req.caller, 'VM', rules, filter, start, end);
      if (state === -1) where += ` AND state <> ${VmState.DONE}`;
      else if (state >= 0) where += ` AND state = ${state}`;
      const page = end < -1 ? { offset: Math.max(0, start), count: -end } : undefined;
      const vms = await vmTable.list(req.app.db, where, await listOrder(req), page);
      return `<VM_POOL>${vms.map(render).join('')}</VM_POOL>`;
    },
  };
}

/** The operation a VM action needs (oned's default VM_*_OPERATIONS). */
const actionOp = (action: string) => (VM_ACTION_AUTH[action] === 'ADMIN' ? Op.ADMIN : Op.MANAGE);

const action: ApiMethod = {
  name: 'one.vm.action', signature: 'A:ssi', object: 'VM',
  async run(req, p) {
    const name = str(p[1]);
    const id = int(p[2]);
    await authorizedObject(req, vmKind, id, actionOp(name));
    if (!(name in VM_ACTION_AUTH) || ['migrate', 'live-migrate', 'delete', 'recover', 'retry', 'deploy', 'backup', 'restore'].includes(name)) {
      throw actionError(`Action "${name}" is not supported`);
    }
    await req.app.db.transaction(async (tx) => {
      const vm = await lockedObject(tx, vmKind, id);
      const hostBefore = currentHistory(vm)?.hid;
      const outcome = performVmAction(vm, name, nowSeconds(req.app.clock), { uid: req.caller.uid, gid: req.caller.gid, reqId: req.reqId });
      if (typeof outcome === 'string') throw actionError(`Error performing action "${name}": ${outcome}`);
      if (outcome.releasesHost && hostBefore !== undefined) await releaseVmFromHost(tx, vm, hostBefore);
      await vmTable.save(tx, vm);
    });
    return id;
  },
};

const update: ApiMethod = {
  name: 'one.vm.update', signature: 'A:sisi', required: 3, object: 'VM',
  async run(req, p) {
    const id = int(p[1]);
    const type = p.length > 3 ? int(p[3]) : 0;
    await authorizedObject(req, vmKind, id, Op.MANAGE);
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    parseTemplateOr(str(p[2]), 'ACTION');
    await req.app.db.transaction(async (tx) => {
      const vm = await lockedObject(tx, vmKind, id);
      vm.userTemplate = updateTemplate(vm.userTemplate, str(p[2]), type === 1, { restricted: [], restrictedLabel: 'User Template' });
      await vmTable.save(tx, vm);
    });
    return id;
  },
};

/** States in which updateconf is refused (VirtualMachine::updateconf). */
function updateconfRefused(vm: Vm): boolean {
  if ([VmState.INIT, VmState.DONE, VmState.SUSPENDED, VmState.STOPPED].includes(vm.state as never)) return true;
  if (vm.state !== VmState.ACTIVE) return false;
  const allowed = new Set([0, 1, 3, 11, 12, 15, 18, 23, 27, 29, 30, 31, 33, 34, 36, 39, 40, 42, 43, 44, 47, 50, 51, 52, 53]);
  return !allowed.has(vm.lcmState);
}

/** The sub-attributes updateconf takes from each section (VirtualMachineTemplate::UPDATECONF_ATTRS). */
const UPDATECONF_KEYS: Record<string, string[]> = {
  OS: ['ARCH', 'MACHINE', 'KERNEL', 'INITRD', 'BOOTLOADER', 'BOOT', 'KERNEL_CMD', 'ROOT', 'SD_DISK_BUS', 'UUID', 'FIRMWARE',
    'FIRMWARE_FORMAT'],
  FEATURES: ['PAE', 'ACPI', 'APIC', 'LOCALTIME', 'HYPERV', 'GUEST_AGENT', 'VIRTIO_SCSI_QUEUES', 'VIRTIO_BLK_QUEUES', 'IOTHREADS',
    'GIC', 'RAS', 'MIGRATE_AUTO_CONVERGE', 'MIGRATE_COMPRESSED'],
  INPUT: ['TYPE', 'BUS'],
  GRAPHICS: ['TYPE', 'LISTEN', 'PASSWD', 'KEYMAP', 'COMMAND'],
  VIDEO: ['IOMMU', 'ATS', 'TYPE', 'VRAM', 'RESOLUTION'],
  RAW: ['TYPE', 'DATA', 'VALIDATE', 'DATA_VMX'],
  CPU_MODEL: ['MODEL', 'FEATURES'],
  BACKUP_CONFIG: ['FS_FREEZE', 'KEEP_LAST', 'BACKUP_VOLATILE', 'INCREMENT_MODE', 'MODE', 'DISK_IDS', 'INTERACTIVE'],
};

/** copy_vector_values: the first vector of a section reduced to its listed, non-empty keys (an empty DISK_IDS
 *  counts); undefined when nothing is left. */
function updateconfVector(t: Template, section: string, keys: readonly string[]): Map<string, string> | undefined {
  const vector = t.getVectors(section)[0];
  if (!vector) return undefined;
  const kept = new Map<string, string>();
  for (const key of keys) {
    const value = vector.get(key);
    if (value !== undefined && (value !== '' || (section === 'BACKUP_CONFIG' && key === 'DISK_IDS'))) kept.set(key, value);
  }
  return kept.size > 0 ? kept : undefined;
}

const updateconf: ApiMethod = {
  name: 'one.vm.updateconf', signature: 'A:sisi', required: 3, object: 'VM',
  async run(req, p) {
    const id = int(p[1]);
    const type = p.length > 3 ? int(p[3]) : 0;
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    const given = parseTemplateOr(str(p[2]), 'INTERNAL');
    await authorizedObject(req, vmKind, id, Op.MANAGE);
    await req.app.db.transaction(async (tx) => {
      const vm = await lockedObject(tx, vmKind, id);
      if (updateconfRefused(vm)) throw internalError(`configuration cannot be updated in state ${stateName(vm.state, vm.lcmState)}`);
      for (const [section, keys] of Object.entries(UPDATECONF_KEYS)) {
        if (section === 'BACKUP_CONFIG') continue;
        const vector = updateconfVector(given, section, keys);
        const current = vm.template.getVectors(section)[0];
        if (!vector) {
          // replace_vector_values: in replace mode a section left out is removed.
          if (type === 0) vm.template.erase(section);
        } else if (!current) {
          vm.template.add({ kind: 'vector', name: section, value: vector });
        } else {
          for (const key of keys) {
            if (vector.has(key)) current.set(key, vector.get(key)!);
            else if (type === 0) current.delete(key);
          }
        }
      }
      // A GRAPHICS section new to a deployed VM gets its VNC port, as deploy would give it.
      const graphics = vm.template.getVectors('GRAPHICS')[0];
      if (graphics && !graphics.has('PORT') && [VmState.ACTIVE, VmState.POWEROFF, VmState.SUSPENDED].includes(vm.state as never)) {
        graphics.set('PORT', String(5900 + vm.id));
      }
      const context = given.getVectors('CONTEXT')[0];
      if (context) {
        const current = vm.template.getVectors('CONTEXT')[0];
        if (!current) throw internalError('Virtual machine does not have context, cannot add a new one.');
        vm.template.erase('CONTEXT');
        vm.template.add({ kind: 'vector', name: 'CONTEXT', value: type === 1 ? new Map([...current, ...context]) : new Map(context) });
      }
      const backup = updateconfVector(given, 'BACKUP_CONFIG', UPDATECONF_KEYS.BACKUP_CONFIG);
      if (backup) {
        const error = applyBackupConfig(vm, backup, type === 1);
        if (error) throw internalError(error);
      }
      await vmTable.save(tx, vm);
    });
    return id;
  },
};

const recover: ApiMethod = {
  name: 'one.vm.recover', signature: 'A:sii', object: 'VM',
  async run(req, p) {
    const id = int(p[1]);
    const op = int(p[2]);
    if (op < 0 || op > 5) throw actionError('Wrong recovery operation code');
    await authorizedObject(req, vmKind, id, Op.ADMIN);
    await req.app.db.transaction(async (tx) => {
      const vm = await lockedObject(tx, vmKind, id);
      const now = nowSeconds(req.app.clock);
      const s = stateName(vm.state, vm.lcmState);
      if (op === 0 || op === 1) {
        if (vm.state !== VmState.ACTIVE && vm.state !== VmState.CLONING_FAILURE) throw actionError(`Could not perform a recover operation on VM ${id}, wrong state ${s}.`);
        return;
      }
      if (op === 2) {
        if (vm.state !== VmState.ACTIVE) throw actionError(`Could not perform a retry on VM ${id}, wrong state ${s}.`);
        return;
      }
      if (op === 4) {
        if (vm.state === VmState.DONE) throw actionError('Cannot delete-recreate a VM already in DONE state');
        if ([VmState.INIT, VmState.PENDING, VmState.CLONING, VmState.CLONING_FAILURE].includes(vm.state as never)) return;
        const host = currentHistory(vm)?.hid;
        const held = vm.state === VmState.ACTIVE || vm.state === VmState.POWEROFF || vm.state === VmState.SUSPENDED;
        if (held && host !== undefined) await releaseVmFromHost(tx, vm, host);
        vm.state = VmState.PENDING;
        vm.lcmState = 0;
        await vmTable.save(tx, vm);
        return;
      }
      // 3 delete, 5 delete-db: the VM ends at once; its host capacity is given back.
      if (vm.state === VmState.DONE) return;
      const held = vm.state === VmState.ACTIVE || vm.state === VmState.POWEROFF || vm.state === VmState.SUSPENDED;
      const host = currentHistory(vm)?.hid;
      if (held && host !== undefined) await releaseVmFromHost(tx, vm, host);
      const h = currentHistory(vm);
      if (h && h.etime === 0) { h.etime = now; h.action = 13; h.uid = req.caller.uid; h.gid = req.caller.gid; h.requestId = req.reqId; }
      vm.state = VmState.DONE;
      vm.lcmState = 0;
      vm.etime = now;
      await vmTable.save(tx, vm);
    });
    return id;
  },
};

const schedadd: ApiMethod = {
  name: 'one.vm.schedadd', signature: 'A:sis', object: 'VM',
  async run(req, p) {
    const id = int(p[1]);
    const vm = await authorizedObject(req, vmKind, id, Op.MANAGE);
    if (vm.state === VmState.DONE) throw internalError(`Unable to create Scheduled Action for Virtual Machine ${id}, it's in DONE state`, id);
    const vector = parseTemplateOr(str(p[2]), 'INTERNAL').getVectors('SCHED_ACTION')[0];
    if (!vector) throw actionError('No SCHED_ACTION attribute in template');
    const sa = newSchedAction('VM', id);
    const error = applySchedActionVector(sa, vector, vm.stime);
    if (error) throw actionError(error);
    return req.app.db.transaction(async (tx) => {
      const current = await lockedObject(tx, vmKind, id);
      current.schedActions.push(await insertSchedAction(tx, sa));
      await vmTable.save(tx, current);
      return sa.id;
    });
  },
};

const schedupdate: ApiMethod = {
  name: 'one.vm.schedupdate', signature: 'A:siis', object: 'VM',
  async run(req, p) {
    const id = int(p[1]);
    const saId = int(p[2]);
    await authorizedObject(req, vmKind, id, Op.MANAGE);
    const vector = parseTemplateOr(str(p[3]), 'INTERNAL').getVectors('SCHED_ACTION')[0];
    if (!vector) throw internalError('No SCHED_ACTION attribute in template');
    await req.app.db.transaction(async (tx) => {
      const vm = await lockedObject(tx, vmKind, id);
      if (!vm.schedActions.includes(saId)) throw internalError(`SCHED_ACTION with id = ${saId} doesn't exist`);
      const sa = await getSchedAction(tx, saId, true);
      if (!sa) throw internalError(`Unable to get Scheduled Action id = ${saId}. It doesn't exist or is malformed.`);
      const error = applySchedActionVector(sa, vector, vm.stime);
      if (error) throw internalError(error);
      await saveSchedAction(tx, sa);
    });
    return saId;
  },
};

const scheddelete: ApiMethod = {
  name: 'one.vm.scheddelete', signature: 'A:sii', object: 'VM',
  async run(req, p) {
    const id = int(p[1]);
    const saId = int(p[2]);
    await authorizedObject(req, vmKind, id, Op.MANAGE);
    await req.app.db.transaction(async (tx) => {
      const vm = await lockedObject(tx, vmKind, id);
      if (!vm.schedActions.includes(saId)) throw noExists('SCHEDULEDACTION', saId);
      vm.schedActions = vm.schedActions.filter((s) => s !== saId);
      await vmTable.save(tx, vm);
      await deleteSchedActions(tx, [saId]);
    });
    return id;
  },
};

export const vmMethods: ApiMethod[] = [
  allocate, info, vmPool('one.vmpool.info', renderVmShort), vmPool('one.vmpool.infoextended', renderVmExtended), action,
  update, updateconf, recover, schedadd, schedupdate, scheddelete,
  { name: 'one.vm.rename', signature: 'A:sis', object: 'VM', run: (req, p) => renameObject(req, vmKind, int(p[1]), str(p[2])) },
  { name: 'one.vm.chmod', signature: 'A:siiiiiiiiii', object: 'VM', run: (req, p) => chmodObject(req, vmKind, int(p[1]), p.slice(2, 11).map(int)) },
  { name: 'one.vm.chown', signature: 'A:siii', object: 'VM', run: (req, p) => chownObject(req, vmKind, int(p[1]), int(p[2]), int(p[3])) },
  { name: 'one.vm.lock', signature: 'A:siib', required: 3, object: 'VM', run: (req, p) => lockObject(req, vmKind, int(p[1]), int(p[2]), p.length > 3 ? (p[3] as boolean) : false) },
  { name: 'one.vm.unlock', signature: 'A:si', object: 'VM', run: (req, p) => unlockObject(req, vmKind, int(p[1])) },
];

