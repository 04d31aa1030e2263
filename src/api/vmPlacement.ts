import type { Host, VmCapacity } from '../domain/host.js';
import { currentHistory, vmCapacity, type HistoryRecord, type Vm } from '../domain/vm.js';
import { Lcm, VmState } from '../domain/vmState.js';
import type { Queryable } from '../store/database.js';
import { allocateHostCapacity } from '../store/hosts.js';
import { datastoreTable } from '../store/datastores.js';
import { DatastoreType } from '../domain/image.js';

/** What the host's share counts of a VM: its template CPU (converted to hundredths by the host) and MEMORY in KB. */
function hostCapacity(vm: Vm): VmCapacity {
  return { cpu: Number(vm.template.get('CPU') ?? 0), memoryKb: vmCapacity(vm).memoryKb, vmId: vm.id };
}

/** A system datastore as placement needs it. */
export interface SystemDatastore { id: number; tmMad: string; clusters: number[] }

/** The system datastores of a cluster, lowest id first (Cluster::get_default_system_ds). */
export async function systemDatastores(q: Queryable, clusterId: number): Promise<SystemDatastore[]> {
  const all = await datastoreTable.list(q, 'TRUE', 'ASC');
  return all.filter((d) => d.type === DatastoreType.SYSTEM_DS && d.clusters.includes(clusterId))
    .map((d) => ({ id: d.id, tmMad: d.tmMad, clusters: d.clusters }));
}

/**
 * Puts a VM on a host (VirtualMachine::add_history + the emulated PROLOG/BOOT, which the dummy drivers finish at
 * once): a new history record, the host's capacity taken, the VM RUNNING.
 */
export async function placeVm(tx: Queryable, vm: Vm, host: Host, ds: SystemDatastore, now: number,
  plan: { planId: number; actionId: number }): Promise<void> {
  const previous = currentHistory(vm);
  const record: HistoryRecord = {
    seq: previous ? previous.seq + 1 : 0, hostname: host.name, hid: host.id, cid: host.clusterId, stime: now, etime: 0,
    vmMad: host.vmMad, tmMad: ds.tmMad, dsId: ds.id, planId: plan.planId, actionId: plan.actionId, pstime: now, petime: now,
    rstime: now, retime: 0, estime: 0, eetime: 0, action: 0, uid: -1, gid: -1, requestId: -1,
  };
  vm.history.push(record);
  vm.state = VmState.ACTIVE;
  vm.lcmState = Lcm.RUNNING;
  vm.deployId = `${host.name}:${vm.name}:${host.vmMad}`;
  vm.template.replace('TM_MAD_SYSTEM', ds.tmMad);
  const graphics = vm.template.getVectors('GRAPHICS')[0];
  if (graphics && !graphics.has('PORT')) {
    const updated = new Map(graphics);
    updated.set('PORT', String(5900 + vm.id));
    vm.template.erase('GRAPHICS');
    vm.template.add({ kind: 'vector', name: 'GRAPHICS', value: updated });
  }
  await allocateHostCapacity(tx, host.id, hostCapacity(vm), 1);
}

/** The VM leaves its host (end of EPILOG): the capacity it held is given back. */
export async function releaseVmFromHost(tx: Queryable, vm: Vm, hostId: number): Promise<void> {
  await allocateHostCapacity(tx, hostId, hostCapacity(vm), -1);
}
