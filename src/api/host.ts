import { AclSelector, Op } from '../domain/authorization.js';
import { actionError, ErrorCode, internalError, noExists, OneError, rpcApiError } from '../domain/errors.js';
import { applyHostTemplateUpdate, hostAllocateError, monitorHost, newHost, setHostStatus, type Host } from '../domain/host.js';
import { aclResourceBit } from '../domain/objectTypes.js';
import { objectAuth } from '../domain/poolObject.js';
import { PoolFilter, poolWhere } from '../domain/poolFilter.js';
import { Template } from '../domain/template.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { deleteAclRulesWhere, listAclRules } from '../store/acl.js';
import { clusterReservedCapacity, setClusterMember } from '../store/clusters.js';
import { isUniqueViolation, type Queryable } from '../store/database.js';
import {
  deleteHostMonitoring, hostIdByName, hostMonitoringRecords, hostTable, lastHostMonitoring, saveHostMonitoring,
} from '../store/hosts.js';
import { nextOid } from '../store/poolControl.js';
import { renderHost, renderHostMonitoringData, renderHostPool } from '../xml/host.js';
import type { ApiMethod, Request } from './app.js';
import { requireAuthorization } from './authorize.js';
import { authorizeAllocateInCluster } from './cluster.js';
import { listOrder } from './listOrder.js';
import { authorizedObject, lockedObject, renameObject, type PoolKind } from './shared.js';
import { updateTemplate } from './templateUpdate.js';

const int = (v: RpcValue) => v as number;
const str = (v: RpcValue) => v as string;

/**
 * The emulated monitoring that follows every change oned hands to monitord (allocate, update, rename, status): the
 * probe answers at once instead of a few seconds later, and its record is stored.
 */
async function monitor(tx: Queryable, host: Host, nowS: number): Promise<void> {
  const record = monitorHost(host, await clusterReservedCapacity(tx, host.clusterId), nowS);
  if (record) await saveHostMonitoring(tx, record);
}

/** What authorization sees of a host: oneadmin's object in its cluster. */
const hostAuth = (h: Host) => ({ ...objectAuth('HOST', h), clusterIds: [h.clusterId] });

/** Host methods authorize ADMIN by default and see names cloud-wide (HostAPI.h). */
const baseKind: PoolKind<Host> = {
  type: 'HOST', table: hostTable, authOp: Op.ADMIN, nameHolder: (q, name) => hostIdByName(q, name), auth: hostAuth,
};

/** After a rename the probe reports the new HOSTNAME. */
const renameKind = (req: Request): PoolKind<Host> => ({
  ...baseKind,
  async afterSave(tx, host) {
    await monitor(tx, host, nowSeconds(req.app.clock));
    await hostTable.save(tx, host);
  },
});

const allocateError = (detail: string) => new OneError(ErrorCode.ALLOCATE, detail);

const allocate: ApiMethod = {
  name: 'one.host.allocate', signature: 'A:ssssi', object: 'HOST',
  async run(req, p) {
    const [name, imMad, vmMad] = [str(p[1]), str(p[2]), str(p[3])];
    const cluster = await authorizeAllocateInCluster(req, int(p[4]), 'HOST');
    const invalid = hostAllocateError(name, imMad, vmMad);
    if (invalid) throw allocateError(invalid);
    const taken = (id: number) => allocateError(`NAME is already taken by HOST ${id}.`);
    try {
      return await req.app.db.transaction(async (tx) => {
        const other = await hostIdByName(tx, name);
        if (other !== undefined) throw taken(other);
        const host = newHost(await nextOid(tx, 'host_pool'), name, imMad, vmMad, cluster.id, cluster.name, new Template());
        await monitor(tx, host, nowSeconds(req.app.clock));
        await hostTable.insert(tx, host);
        await setClusterMember(tx, cluster.id, 'hosts', host.id, true);
        return host.id;
      });
    } catch (err) {
      const other = isUniqueViolation(err) ? await hostIdByName(req.app.db, name) : undefined;
      if (other !== undefined) throw taken(other);
      throw err;
    }
  },
};

const info: ApiMethod = {
  name: 'one.host.info', signature: 'A:sib', required: 2, object: 'HOST',
  async run(req, p) {
    const host = await authorizedObject(req, baseKind, int(p[1]), Op.USE_NO_LCK);
    return renderHost(host, await lastHostMonitoring(req.app.db, host.id));
  },
};

const monitoring: ApiMethod = {
  name: 'one.host.monitoring', signature: 'A:si', object: 'HOST',
  async run(req, p) {
    const id = int(p[1]);
    await authorizedObject(req, baseKind, id, Op.USE);
    return renderHostMonitoringData(await hostMonitoringRecords(req.app.db, id));
  },
};

const update: ApiMethod = {
  name: 'one.host.update', signature: 'A:sisi', required: 3, object: 'HOST',
  async run(req, p) {
    const id = int(p[1]);
    const type = p.length > 3 ? int(p[3]) : 0;
    await authorizedObject(req, baseKind, id, Op.ADMIN);
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    await req.app.db.transaction(async (tx) => {
      const host = await lockedObject(tx, baseKind, id);
      host.template = updateTemplate(host.template, str(p[2]), type === 1, { restricted: [], restrictedLabel: 'Template' });
      applyHostTemplateUpdate(host, await clusterReservedCapacity(tx, host.clusterId));
      await monitor(tx, host, nowSeconds(req.app.clock));
      await hostTable.save(tx, host);
    });
    return id;
  },
};

const status: ApiMethod = {
  name: 'one.host.status', signature: 'A:sii', object: 'HOST',
  async run(req, p) {
    const id = int(p[1]);
    await authorizedObject(req, baseKind, id, Op.ADMIN);
    await req.app.db.transaction(async (tx) => {
      const host = await lockedObject(tx, baseKind, id);
      const error = setHostStatus(host, int(p[2]));
      if (error) throw internalError(error);
      await monitor(tx, host, nowSeconds(req.app.clock));
      await hostTable.save(tx, host);
    });
    return id;
  },
};

const rename: ApiMethod = {
  name: 'one.host.rename', signature: 'A:sis', object: 'HOST',
  run: (req, p) => renameObject(req, renameKind(req), int(p[1]), str(p[2])),
};

const remove: ApiMethod = {
  name: 'one.host.delete', signature: 'A:si', object: 'HOST',
  async run(req, p) {
    const id = int(p[1]);
    const host = await hostTable.get(req.app.db, id);
    if (!host) throw noExists('HOST', id);
    await requireAuthorization(req, [{ op: Op.ADMIN, object: hostAuth(host) }]);
    await req.app.db.transaction(async (tx) => {
      const current = await lockedObject(tx, baseKind, id);
      if (current.share.runningVms > 0) throw actionError('Cannot delete host. Can not remove a host with running VMs');
      await hostTable.delete(tx, id);
      await deleteHostMonitoring(tx, id);
      await setClusterMember(tx, current.clusterId, 'hosts', id, false);
      const resource = (aclResourceBit('HOST') | AclSelector.INDIVIDUAL | BigInt(id)).toString();
      await deleteAclRulesWhere(tx, 'resource = $1', [resource]);
    });
    return id;
  },
};

const pool: ApiMethod = {
  name: 'one.hostpool.info', signature: 'A:s', object: 'HOST',
  async run(req) {
    const where = poolWhere(req.caller, 'HOST', await listAclRules(req.app.db), PoolFilter.ALL);
    return renderHostPool(await hostTable.list(req.app.db, where, await listOrder(req)));
  },
};

export const hostMethods: ApiMethod[] = [allocate, info, monitoring, update, status, rename, remove, pool];
