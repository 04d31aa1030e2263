import { Op } from '../domain/authorization.js';
import { noExists } from '../domain/errors.js';
import type { ObjectType } from '../domain/objectTypes.js';
import { objectAuth } from '../domain/poolObject.js';
import { PoolFilter, poolWhere } from '../domain/poolFilter.js';
import type { RpcValue } from '../rpc/values.js';
import { listAclRules } from '../store/acl.js';
import { clusterTable, DEFAULT_CLUSTER_ID, NONE_CLUSTER_ID, type Cluster } from '../store/clusters.js';
import { renderCluster, renderClusterPool } from '../xml/cluster.js';
import type { ApiMethod, Request } from './app.js';
import { requireAuthorization } from './authorize.js';
import { listOrder } from './listOrder.js';
import { authorizedObject, type PoolKind } from './shared.js';

const kind: PoolKind<Cluster> = { type: 'CLUSTER', table: clusterTable };
const int = (v: RpcValue) => v as number;

/**
 * The cluster part of SharedAPI::allocate for hosts and datastores: -1 means the default cluster, which must exist
 * (NO_EXISTS names the cluster), then CREATE <type> and ADMIN on the cluster are authorized together.
 */
export async function authorizeAllocateInCluster(req: Request, clusterId: number, type: ObjectType): Promise<Cluster> {
  const id = clusterId === NONE_CLUSTER_ID ? DEFAULT_CLUSTER_ID : clusterId;
  const cluster = await clusterTable.get(req.app.db, id);
  if (!cluster) throw noExists('CLUSTER', id);
  await requireAuthorization(req, [
    { op: Op.CREATE, object: { type, oid: -1, uid: req.caller.uid, gid: req.caller.gid } },
    { op: Op.ADMIN, object: objectAuth('CLUSTER', cluster) },
  ]);
  return cluster;
}

const info: ApiMethod = {
  name: 'one.cluster.info', signature: 'A:sib', required: 2, object: 'CLUSTER',
  async run(req, p) {
    return renderCluster(await authorizedObject(req, kind, int(p[1]), Op.USE_NO_LCK));
  },
};

const pool: ApiMethod = {
  name: 'one.clusterpool.info', signature: 'A:s', object: 'CLUSTER',
  async run(req) {
    const where = poolWhere(req.caller, 'CLUSTER', await listAclRules(req.app.db), PoolFilter.ALL);
    return renderClusterPool(await clusterTable.list(req.app.db, where, await listOrder(req)));
  },
};

export const clusterMethods: ApiMethod[] = [info, pool];
