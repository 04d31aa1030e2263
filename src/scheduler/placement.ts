import type { App } from '../api/app.js';
import { placeVm, systemDatastores } from '../api/vmPlacement.js';
import { vmCapacity } from '../domain/vm.js';
import { hostCpuUsage } from '../domain/host.js';
import { VmState } from '../domain/vmState.js';
import { listPlaceableHosts } from '../store/hosts.js';
import { pendingVmIds, vmTable } from '../store/vms.js';

/**
 * oned's scheduler and PlanManager in one step: every PENDING VM, in id order, goes to the first MONITORED host
 * (lowest id) with room and a system datastore in its cluster, as oneadmin's deploy would put it (PLAN_ID -1,
 * ACTION_ID = its index in the plan). VMs that fit nowhere stay PENDING with SCHED_MESSAGE. Returns how many moved.
 */
export async function placePendingVms(app: App, now: number): Promise<number> {
  const ids = await pendingVmIds(app.db);
  let placed = 0;
  for (const [index, id] of ids.entries()) {
    const moved = await app.db.transaction(async (tx) => {
      const vm = await vmTable.get(tx, id, true);
      if (!vm || vm.state !== VmState.PENDING) return false;
      const { cpu, memoryKb } = vmCapacity(vm);
      for (const candidate of await listPlaceableHosts(tx)) {
        if (candidate.freeCpu < hostCpuUsage(cpu) || candidate.freeMemoryKb < memoryKb) continue;
        const [ds] = await systemDatastores(tx, candidate.host.clusterId);
        if (!ds) continue;
        await placeVm(tx, vm, candidate.host, ds, now, { planId: -1, actionId: index });
        vm.userTemplate.erase('SCHED_MESSAGE');
        await vmTable.save(tx, vm);
        return true;
      }
      return false;
    });
    if (moved) placed++;
  }
  return placed;
}
