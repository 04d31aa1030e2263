import type { ReservedCapacity } from '../domain/host.js';
import type { PoolObject } from '../domain/poolObject.js';
import { permissionsFromOctal } from '../domain/permissions.js';
import { UNLOCKED } from '../domain/lock.js';
import { Template } from '../domain/template.js';
import type { Queryable } from './database.js';
import { commonBody, commonFromRow, PoolTable } from './poolTable.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

/** A cluster (Cluster.h): the hosts, datastores and virtual networks grouped in it, and its template. */
export interface Cluster extends PoolObject {
  hosts: number[];
  datastores: number[];
  vnets: number[];
  template: Template;
}

/** ClusterPool: -1 means "no cluster" in allocate calls, and stands for the default cluster 0. */
export const NONE_CLUSTER_ID = -1;
export const DEFAULT_CLUSTER_ID = 0;

/** The membership lists a cluster keeps (ClusterPool::add_to_cluster). */
export type ClusterMembers = 'hosts' | 'datastores';

interface ClusterBody { hosts: number[]; datastores: number[]; vnets: number[]; template: TemplateJson }

const sortedUnique = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);

export const clusterTable = new PoolTable<Cluster>(
  'cluster_pool',
  (c) => ({ ...commonBody(c), hosts: sortedUnique(c.hosts), datastores: sortedUnique(c.datastores),
    vnets: sortedUnique(c.vnets), template: templateToJson(c.template) }),
  (row) => {
    const b = row.body as unknown as ClusterBody;
    return { ...commonFromRow(row), hosts: b.hosts, datastores: b.datastores, vnets: b.vnets,
      template: templateFromJson(b.template) };
  },
);

/** Cluster 0 "default" of a fresh oned, holding the bootstrap datastores (ClusterPool's constructor). */
export function defaultCluster(datastores: number[]): Cluster {
  const template = new Template();
  template.set('RESERVED_CPU', '');
  template.set('RESERVED_MEM', '');
  return {
    id: DEFAULT_CLUSTER_ID, name: 'default', uid: 0, gid: 0, uname: 'oneadmin', gname: 'oneadmin',
    permissions: permissionsFromOctal(0o640), lock: { ...UNLOCKED }, hosts: [], datastores, vnets: [], template,
  };
}

/** Adds (or removes) an object id to one membership list of a cluster, under a row lock; a missing cluster is skipped. */
export async function setClusterMember(tx: Queryable, clusterId: number, members: ClusterMembers, id: number,
  present: boolean): Promise<void> {
  const cluster = await clusterTable.get(tx, clusterId, true);
  if (!cluster) return;
  const others = cluster[members].filter((x) => x !== id);
  cluster[members] = present ? [...others, id] : others;
  await clusterTable.save(tx, cluster);
}

/** The cluster's RESERVED_CPU / RESERVED_MEM (Cluster::get_reserved_capacity); empty when it has none. */
export async function clusterReservedCapacity(q: Queryable, clusterId: number): Promise<ReservedCapacity> {
  const cluster = await clusterTable.get(q, clusterId);
  return { cpu: cluster?.template.get('RESERVED_CPU') ?? '', mem: cluster?.template.get('RESERVED_MEM') ?? '' };
}
