import {
  changeHostCapacity, HOST_OWNERSHIP, HostState, type Host, type HostMonitoring, type HostShare, type VmCapacity,
} from '../domain/host.js';
import { UNLOCKED } from '../domain/lock.js';
import type { Queryable } from './database.js';
import { PoolTable } from './poolTable.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

/** monitord.conf HOST_MONITORING_EXPIRATION_TIME: records older than this are dropped. */
export const HOST_MONITORING_EXPIRATION_S = 43200;

interface HostBody {
  state: number; imMad: string; vmMad: string; clusterId: number; cluster: string; share: HostShare; vms: number[];
  template: TemplateJson;
}

export const hostTable = new PoolTable<Host>(
  'host_pool',
  (h): Record<string, unknown> => ({
    state: h.state, imMad: h.imMad, vmMad: h.vmMad, clusterId: h.clusterId, cluster: h.clusterName, share: h.share,
    vms: [...new Set(h.vms)].sort((a, b) => a - b), template: templateToJson(h.template),
  } satisfies HostBody),
  (row) => {
    const b = row.body as unknown as HostBody;
    return { id: row.oid, name: row.name, ...HOST_OWNERSHIP, permissions: { ...HOST_OWNERSHIP.permissions }, lock: { ...UNLOCKED }, state: b.state, imMad: b.imMad,
      vmMad: b.vmMad, clusterId: b.clusterId, clusterName: b.cluster, share: b.share, vms: b.vms,
      template: templateFromJson(b.template) };
  },
  (h) => ({ state: h.state, cid: h.clusterId }),
);

/** The host with that name, if any (host names are unique cloud-wide). */
export async function hostIdByName(q: Queryable, name: string): Promise<number | undefined> {
  const { rows } = await q.query<{ oid: number }>(`SELECT oid FROM host_pool WHERE name = $1`, [name]);
  return rows[0]?.oid;
}

type StoredMonitoring = Omit<HostMonitoring, 'timestamp' | 'hostId'>;

/** Stores a monitoring record (one per host and second) and drops the expired ones of that host. */
export async function saveHostMonitoring(q: Queryable, record: HostMonitoring): Promise<void> {
  const { timestamp, hostId, ...values } = record;
  await q.query(
    `INSERT INTO host_monitoring (hid, last_mon_time, body) VALUES ($1, $2, $3)
     ON CONFLICT (hid, last_mon_time) DO UPDATE SET body = EXCLUDED.body`,
    [hostId, timestamp, JSON.stringify(values satisfies StoredMonitoring)]);
  await q.query(`DELETE FROM host_monitoring WHERE hid = $1 AND last_mon_time < $2`,
    [hostId, timestamp - HOST_MONITORING_EXPIRATION_S]);
}

interface MonitoringRow { hid: number; last_mon_time: number; body: StoredMonitoring }

const monitoringFromRow = (r: MonitoringRow): HostMonitoring => ({ timestamp: r.last_mon_time, hostId: r.hid, ...r.body });

/** Every stored record of a host, oldest first (HostPool::dump_monitoring). */
export async function hostMonitoringRecords(q: Queryable, hostId: number): Promise<HostMonitoring[]> {
  const { rows } = await q.query<MonitoringRow>(
    `SELECT hid, last_mon_time, body FROM host_monitoring WHERE hid = $1 ORDER BY last_mon_time`, [hostId]);
  return rows.map(monitoringFromRow);
}

/** The newest record of a host (HostPool::get_monitoring), if any. */
export async function lastHostMonitoring(q: Queryable, hostId: number): Promise<HostMonitoring | undefined> {
  const { rows } = await q.query<MonitoringRow>(
    `SELECT hid, last_mon_time, body FROM host_monitoring WHERE hid = $1 ORDER BY last_mon_time DESC LIMIT 1`, [hostId]);
  return rows[0] && monitoringFromRow(rows[0]);
}

export async function deleteHostMonitoring(q: Queryable, hostId: number): Promise<void> {
  await q.query(`DELETE FROM host_monitoring WHERE hid = $1`, [hostId]);
}

/**
 * A VM takes (sign 1) or gives back (sign -1) its capacity on a host: HOST_SHARE CPU_USAGE, MEM_USAGE, RUNNING_VMS
 * and the host's VMS list change together, under a row lock in the caller's transaction. Returns false (and changes
 * nothing) when the host does not exist, or when the VM is already on it (sign 1) or not on it (sign -1), as oned.
 */
export async function allocateHostCapacity(tx: Queryable, hostId: number, capacity: VmCapacity, sign: 1 | -1): Promise<boolean> {
  const host = await hostTable.get(tx, hostId, true);
  if (!host || !changeHostCapacity(host, capacity, sign)) return false;
  await hostTable.save(tx, host);
  return true;
}

/** A host the scheduler may place VMs on, with what is left of it (MAX minus USAGE). */
export interface PlaceableHost {
  host: Host;
  /** CPU × 100 still free. */
  freeCpu: number;
  freeMemoryKb: number;
}

/** The MONITORED hosts (enabled and reachable), by id, with their free capacity. */
export async function listPlaceableHosts(tx: Queryable): Promise<PlaceableHost[]> {
  const hosts = await hostTable.list(tx, `state = ${HostState.MONITORED}`, 'ASC');
  return hosts.map((host) => ({
    host, freeCpu: host.share.maxCpu - host.share.cpuUsage, freeMemoryKb: host.share.maxMem - host.share.memUsage,
  }));
}
