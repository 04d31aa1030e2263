import { Op } from '../domain/authorization.js';
import { actionError, internalError, noExists } from '../domain/errors.js';
import { HostState } from '../domain/host.js';
import { objectAuth } from '../domain/poolObject.js';
import { parseTemplateOr } from './parseTemplate.js';
import { stateName, VmState } from '../domain/vmState.js';
import { vmCapacity } from '../domain/vm.js';
import { hostCpuUsage } from '../domain/host.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { hostTable } from '../store/hosts.js';
import { datastoreTable } from '../store/datastores.js';
import { DatastoreType } from '../domain/image.js';
import { vmTable } from '../store/vms.js';
import type { ApiMethod } from './app.js';
import { requireAuthorization } from './authorize.js';
import { lockedObject } from './shared.js';
import { vmKind } from './vm.js';
import { placeVm, systemDatastores, type SystemDatastore } from './vmPlacement.js';

const int = (v: RpcValue) => v as number;

/** one.vm.deploy (VirtualMachineAPI::deploy), checks in oned's order. */
export const deploy: ApiMethod = {
  name: 'one.vm.deploy', signature: 'A:siibis', required: 3, object: 'VM',
  async run(req, p) {
    const [id, hid] = [int(p[1]), int(p[2])];
    const enforce = p.length > 3 ? (p[3] as boolean) : false;
    const dsId = p.length > 4 ? int(p[4]) : -1;
    if (p.length > 5 && (p[5] as string) !== '') parseTemplateOr(p[5] as string);
    const db = req.app.db;
    const host = await hostTable.get(db, hid);
    if (!host) throw noExists('HOST', hid);
    if (host.state === HostState.OFFLINE) throw actionError('Host is offline, cannot use it to deploy VM');
    const vm = await vmTable.get(db, id);
    if (!vm) throw noExists('VM', id);
    let ds: SystemDatastore;
    let dsAuth;
    if (dsId === -1) {
      const candidates = await systemDatastores(db, host.clusterId);
      if (candidates.length === 0) throw actionError(`cluster [${host.clusterId}] does not have any datastore of type SYSTEM_DS.`);
      ds = candidates[0];
    } else {
      const row = await datastoreTable.get(db, dsId);
      if (!row) throw noExists('DATASTORE', dsId);
      if (row.type !== DatastoreType.SYSTEM_DS) throw internalError(`Trying to use datastore [${dsId}] to deploy the VM, but it is not of type system datastore.`);
      if (!row.clusters.includes(host.clusterId)) {
        throw actionError(`datastore [${dsId}] and host [${hid}] are not in the same cluster [${host.clusterId}].`);
      }
      ds = { id: row.id, tmMad: row.tmMad, clusters: row.clusters };
      dsAuth = objectAuth('DATASTORE', row);
    }
    await requireAuthorization(req, [
      { op: Op.ADMIN, object: objectAuth('VM', vm) },
      { op: Op.MANAGE, object: objectAuth('HOST', host) },
      ...(dsAuth ? [{ op: Op.USE, object: dsAuth }] : []),
    ]);
    await db.transaction(async (tx) => {
      const current = await lockedObject(tx, vmKind, id);
      if (![VmState.PENDING, VmState.HOLD, VmState.STOPPED, VmState.UNDEPLOYED].includes(current.state as never)) {
        throw actionError(`Deploy action is not available for state ${stateName(current.state, current.lcmState)}`);
      }
      const target = await hostTable.get(tx, hid, true);
      if (!target) throw noExists('HOST', hid);
      if (enforce) {
        const { cpu: cpuTemplate, memoryKb } = vmCapacity(current);
        const cpu = hostCpuUsage(cpuTemplate);
        const freeCpu = target.share.maxCpu - target.share.cpuUsage;
        const freeMem = target.share.maxMem - target.share.memUsage;
        if (cpu > freeCpu || memoryKb > freeMem) {
          const reason = cpu > freeCpu ? `Not enough CPU: ${cpu}/${freeCpu}` : `Not enough memory: ${memoryKb}/${freeMem}`;
          throw actionError(`virtual machine [${id}] does not fit in host [${hid}]. ${reason}`);
        }
      }
      await placeVm(tx, current, target, ds, nowSeconds(req.app.clock), { planId: -2, actionId: -1 });
      await vmTable.save(tx, current);
    });
    return id;
  },
};
