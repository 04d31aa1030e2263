import { streamLong, streamUnsigned } from './cppParse.js';
import { UNLOCKED } from './lock.js';
import { invalidNameReason } from './names.js';
import type { PoolObject } from './poolObject.js';
import type { Template } from './template.js';

/** Host::HostState (1, 5, 6 and 7 are obsolete). */
export const HostState = { INIT: 0, MONITORED: 2, ERROR: 3, DISABLED: 4, OFFLINE: 8 } as const;

/** The codes of one.host.status (HostAPI::Status). */
export const HostStatus = { ENABLED: 0, DISABLED: 1, OFFLINE: 2 } as const;

/** HOST_SHARE/DATASTORES: disk of the host's datastore location, in MB. */
export interface HostDiskShare { diskUsage: number; maxDisk: number; freeDisk: number; usedDisk: number }

/** HostShare: what the host offers (TOTAL/MAX) and what the VMs placed on it hold (USAGE, RUNNING_VMS). */
export interface HostShare {
  /** KB allocated to VMs. */
  memUsage: number;
  /** CPU × 100 allocated to VMs. */
  cpuUsage: number;
  totalMem: number;
  totalCpu: number;
  maxMem: number;
  maxCpu: number;
  runningVms: number;
  vmsThread: number;
  /** null until the first monitoring: oned then writes an empty DATASTORES element. */
  datastores: HostDiskShare | null;
}

/** One record of host_monitoring (HostMonitoringTemplate): CAPACITY and SYSTEM values at TIMESTAMP. */
export interface HostMonitoring {
  timestamp: number;
  hostId: number;
  freeCpu: number;
  freeMemory: number;
  usedCpu: number;
  usedMemory: number;
  netRx: number;
  netTx: number;
}

/** A host (Host.h). It is a pool object owned by oneadmin whose ownership never shows in its document. */
export interface Host extends PoolObject {
  state: number;
  imMad: string;
  vmMad: string;
  clusterId: number;
  clusterName: string;
  share: HostShare;
  /** Ids of the VMs holding capacity on the host. */
  vms: number[];
  template: Template;
}

/** Hosts always belong to oneadmin:oneadmin with um- --- --- (Host::insert_replace); their document never says so. */
export const HOST_OWNERSHIP = {
  uid: 0, gid: 0, uname: '', gname: 'oneadmin',
  permissions: { ownerU: 1, ownerM: 1, ownerA: 0, groupU: 0, groupM: 0, groupA: 0, otherU: 0, otherM: 0, otherA: 0 },
} as const;

/** RESERVED_CPU / RESERVED_MEM of the host's cluster, used where the host leaves them empty. */
export interface ReservedCapacity { cpu: string; mem: string }

/** IM drivers that monitor a host (monitord.conf plus the dummy one); any other name leaves the host in INIT. */
export const MONITORED_IM_MADS: ReadonlySet<string> = new Set(['kvm', 'qemu', 'lxc', 'dummy']);

/**
 * What oned's dummy IM driver reports (src/im_mad/remotes/dummy-probes.d/host/system/system.rb), the emulated
 * probe's answer. TOTAL_CPU (CPU × 100) and TOTAL_MEMORY (KB) in the host template override the two totals: an
 * emulator extension to give hosts other sizes.
 */
export const EMULATED_PROBE = {
  totalCpu: 800,
  totalMemoryKb: 16777216,
  dsLocationTotalMb: 20480,
  dsLocationFreeMb: 20480,
  dsLocationUsedMb: 9720,
  system: [
    ['ARCH', 'x86_64'],
    ['CPUSPEED', '3200'],
    ['KVM_CPU_FEATURES', 'vme,ds,acpi,ss,ht,tm,pbe,dtes64,monitor,ds_cpl,vmx,smx,est,tm2,xtpr,pdcm,osxsave,f16c,rdrand,'
      + 'arat,tsc_adjust,clflushopt,clwb,intel-pt,sha-ni,umip,pku,ospke,waitpkg,gfni,vaes,vpclmulqdq,rdpid,movdiri,'
      + 'movdir64b,pks,fsrm,md-clear,serialize,arch-lbr,stibp,arch-capabilities,core-capability,ssbd,avx-vnni,xsaveopt,'
      + 'xsavec,xgetbv1,xsaves,pdpe1gb,abm,invtsc,rdctl-no,ibrs-all,skip-l1dfl-vmentry,mds-no,pschange-mc-no'],
    ['KVM_CPU_MODELS', '486 pentium pentium2 pentium3 pentiumpro coreduo n270 core2duo qemu32 kvm32 cpu64-rhel5 '
      + 'cpu64-rhel6 kvm64 Conroe Penryn Nehalem Nehalem-IBRS Westmere Westmere-IBRS SandyBridge SandyBridge-IBRS '
      + 'IvyBridge IvyBridge-IBRS SapphireRapids SapphireRapids-noTSX Opteron_G1'],
    ['MEMORY_ENCRYPTION', 'SEV'],
    ['MODELNAME', 'Dummy(R) Core @ 3.2GHz'],
  ] as ReadonlyArray<readonly [string, string]>,
} as const;

/** Template attributes Host::offline drops with the capacity. */
const OFFLINE_DROPPED = ['TOTALCPU', 'TOTALMEMORY', 'FREECPU', 'FREEMEMORY', 'USEDCPU', 'USEDMEMORY'];

/** HostPool's host-name rule, checked on allocate only; null when the name passes. */
export function invalidHostnameReason(hostname: string): string | null {
  const length = Buffer.byteLength(hostname, 'utf8');
  if (length < 2 || length > 63) {
    return 'Invalid HOSTNAME, HOSTNAME length should be greater than 1, but smaller than 64 characters';
  }
  const edge = new Set(['-', '.', '_']);
  const chars = [...hostname];
  if (edge.has(chars[0])) return `Invalid HOSTNAME, first character can't be '${chars[0]}'`;
  // isalnum in the C locale: ASCII letters and digits only.
  const bad = chars.find((c) => !/^[A-Za-z0-9._-]$/.test(c));
  if (bad !== undefined) return `Invalid HOSTNAME, '${bad}' is invalid character for a HOSTNAME`;
  const last = chars[chars.length - 1];
  if (edge.has(last)) return `Invalid HOSTNAME, last character can't be '${last}'`;
  return null;
}

/** HostPool::allocate's checks before the uniqueness one: the error text, or null. */
export function hostAllocateError(hostname: string, imMad: string, vmMad: string): string | null {
  const bad = invalidHostnameReason(hostname) ?? invalidNameReason(hostname);
  if (bad) return bad;
  if (imMad === '') return 'IM_MAD_NAME cannot be empty.';
  if (vmMad === '') return 'VMM_MAD_NAME cannot be empty.';
  return null;
}

/** A host as Host's constructor builds it: INIT, no capacity, drivers and empty reservations in the template. */
export function newHost(id: number, name: string, imMad: string, vmMad: string, clusterId: number, clusterName: string,
  template: Template): Host {
  template.set('RESERVED_CPU', '');
  template.set('RESERVED_MEM', '');
  template.replace('IM_MAD', imMad);
  template.replace('VM_MAD', vmMad);
  return {
    id, name, ...HOST_OWNERSHIP, permissions: { ...HOST_OWNERSHIP.permissions }, lock: { ...UNLOCKED },
    state: HostState.INIT, imMad, vmMad, clusterId, clusterName, vms: [], template,
    share: { memUsage: 0, cpuUsage: 0, totalMem: 0, totalCpu: 0, maxMem: 0, maxCpu: 0, runningVms: 0, vmsThread: 1, datastores: null },
  };
}

/**
 * set_reserved_metric: the usable amount of `total` once `reserved` is taken away, an absolute number or "N%".
 * An empty or unreadable reservation leaves the total.
 */
export function reservedMetric(total: number, reserved: string): number {
  if (reserved === '') return total;
  let text = /\s$/.test(reserved) ? reserved.trim() : reserved;
  const percent = text.endsWith('%');
  if (percent) text = text.slice(0, -1);
  const parsed = streamLong(text);
  if (!parsed.complete) return total;
  return percent ? Math.trunc(total * (1 - parsed.value / 100)) : total - parsed.value;
}

/** Host::reserved_capacity: the host's RESERVED_CPU/RESERVED_MEM, falling back one by one to the cluster's. */
export function reservedCapacity(host: Host, cluster: ReservedCapacity): ReservedCapacity {
  const cpu = host.template.get('RESERVED_CPU') ?? '';
  const mem = host.template.get('RESERVED_MEM') ?? '';
  return { cpu: cpu === '' ? cluster.cpu : cpu, mem: mem === '' ? cluster.mem : mem };
}

/** HostShare::update_capacity: MAX_CPU/MAX_MEM from the totals and reservations; VMS_THREAD from the template. */
function updateCapacity(host: Host, reserved: ReservedCapacity): void {
  const share = host.share;
  share.maxCpu = reservedMetric(share.totalCpu, reserved.cpu);
  share.maxMem = reservedMetric(share.totalMem, reserved.mem);
  const threads = host.template.get('VMS_THREAD');
  const parsed = threads === undefined ? undefined : streamUnsigned(threads);
  if (parsed?.complete) {
    if (parsed.value === 0) host.template.replace('VMS_THREAD', '1');
    share.vmsThread = parsed.value === 0 ? 1 : parsed.value;
  }
}

/** Host::post_update_template: drivers follow IM_MAD/VM_MAD (written back when absent), reservations re-applied. */
export function applyHostTemplateUpdate(host: Host, cluster: ReservedCapacity): void {
  const imMad = host.template.get('IM_MAD') ?? '';
  const vmMad = host.template.get('VM_MAD') ?? '';
  if (imMad !== '') host.imMad = imMad;
  if (vmMad !== '') host.vmMad = vmMad;
  host.template.replace('IM_MAD', host.imMad);
  host.template.replace('VM_MAD', host.vmMad);
  updateCapacity(host, reservedCapacity(host, cluster));
}

/** An emulator-extension total (TOTAL_CPU / TOTAL_MEMORY): a non-negative integer, else the probe's default. */
function configuredTotal(t: Template, name: string, fallback: number): number {
  const text = t.get(name);
  if (text === undefined) return fallback;
  const parsed = streamLong(text);
  return parsed.complete && parsed.value >= 0 ? parsed.value : fallback;
}

/**
 * The emulated monitoring of a host (what monitord and Host::update_info do when the probes answer): the system
 * probe's attributes replace the template's, the state becomes MONITORED unless the host is DISABLED, the totals and
 * the datastore-location disk are refreshed. Returns the monitoring record, or null when oned would not monitor the
 * host (OFFLINE, or an IM driver that does not exist).
 */
export function monitorHost(host: Host, cluster: ReservedCapacity, nowS: number): HostMonitoring | null {
  if (host.state === HostState.OFFLINE || !MONITORED_IM_MADS.has(host.imMad)) return null;
  const totalCpu = configuredTotal(host.template, 'TOTAL_CPU', EMULATED_PROBE.totalCpu);
  const totalMem = configuredTotal(host.template, 'TOTAL_MEMORY', EMULATED_PROBE.totalMemoryKb);
  host.template.erase('ERROR');
  const reported: Array<readonly [string, string]> = [...EMULATED_PROBE.system, ['HOSTNAME', host.name],
    ['HYPERVISOR', host.imMad], ['TOTALCPU', String(totalCpu)], ['TOTALMEMORY', String(totalMem)]];
  for (const [name, value] of reported) host.template.replace(name, value);
  if (host.state !== HostState.DISABLED) host.state = HostState.MONITORED;
  const share = host.share;
  share.totalCpu = totalCpu;
  share.totalMem = totalMem;
  updateCapacity(host, reservedCapacity(host, cluster));
  share.datastores = {
    diskUsage: share.datastores?.diskUsage ?? 0, maxDisk: EMULATED_PROBE.dsLocationTotalMb,
    freeDisk: EMULATED_PROBE.dsLocationFreeMb, usedDisk: EMULATED_PROBE.dsLocationUsedMb,
  };
  // The emulated host is busy exactly with what its VMs were given.
  return {
    timestamp: nowS, hostId: host.id, usedCpu: share.cpuUsage, freeCpu: Math.max(0, totalCpu - share.cpuUsage),
    usedMemory: share.memUsage, freeMemory: Math.max(0, totalMem - share.memUsage), netRx: 0, netTx: 0,
  };
}

/** Host::enable / disable / offline for one.host.status; the error text for an unknown code, else null. */
export function setHostStatus(host: Host, status: number): string | null {
  switch (status) {
    case HostStatus.ENABLED:
      host.state = host.state === HostState.DISABLED && host.share.totalCpu > 0 ? HostState.MONITORED : HostState.INIT;
      return null;
    case HostStatus.DISABLED:
      host.state = HostState.DISABLED;
      return null;
    case HostStatus.OFFLINE:
      host.state = HostState.OFFLINE;
      Object.assign(host.share, { totalCpu: 0, totalMem: 0, maxCpu: 0, maxMem: 0 });
      for (const name of OFFLINE_DROPPED) host.template.erase(name);
      return null;
    default:
      return 'Wrong status code';
  }
}

/** HostShareCapacity: a VM's CPU as CPU_USAGE counts it, `(int)(float CPU × 100)`, e.g. 10 for CPU = 0.1. */
export function hostCpuUsage(cpu: number): number {
  return Math.trunc(Math.fround(Math.fround(cpu) * 100));
}

/** What a VM holds on its host while placed there. */
export interface VmCapacity {
  /** The VM's CPU as in its template (e.g. 0.1); converted with hostCpuUsage. */
  cpu: number;
  /** The VM's MEMORY in KB (MEMORY × 1024). */
  memoryKb: number;
  vmId: number;
}

/**
 * Host::add_capacity (sign 1) / del_capacity (sign -1): the VM joins or leaves VMS and its capacity is added to or
 * taken from HOST_SHARE. A VM already in (or missing from) VMS changes nothing, as in oned; returns whether it did.
 */
export function changeHostCapacity(host: Host, capacity: VmCapacity, sign: 1 | -1): boolean {
  const present = host.vms.includes(capacity.vmId);
  if (sign === 1 ? present : !present) return false;
  host.vms = sign === 1 ? [...host.vms, capacity.vmId].sort((a, b) => a - b) : host.vms.filter((id) => id !== capacity.vmId);
  host.share.cpuUsage += sign * hostCpuUsage(capacity.cpu);
  host.share.memUsage += sign * capacity.memoryKb;
  host.share.runningVms += sign;
  return true;
}
