import {
  availableSpace, datastoreCapacityOf, normaliseNewDatastore, type Datastore, type DatastoreCapacity,
} from '../domain/datastore.js';
import { actionError, noExists } from '../domain/errors.js';
import { UNLOCKED } from '../domain/lock.js';
import { permissionsFromOctal } from '../domain/permissions.js';
import { Template } from '../domain/template.js';
import type { Queryable } from './database.js';
import { commonBody, commonFromRow, PoolTable, type PoolRow } from './poolTable.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

interface DatastoreBody {
  dsMad: string; tmMad: string; type: number; diskType: number; state: number; clusters: number[]; template: TemplateJson;
}

export const datastoreTable = new PoolTable<Datastore>(
  'datastore_pool',
  (d): Record<string, unknown> => ({
    ...commonBody(d),
    ...{ dsMad: d.dsMad, tmMad: d.tmMad, type: d.type, diskType: d.diskType, state: d.state,
      clusters: [...new Set(d.clusters)].sort((a, b) => a - b), template: templateToJson(d.template) } satisfies DatastoreBody,
  }),
  (row) => {
    const b = row.body as unknown as DatastoreBody;
    return { ...commonFromRow(row), lock: { ...UNLOCKED }, dsMad: b.dsMad, tmMad: b.tmMad, type: b.type,
      diskType: b.diskType, state: b.state, clusters: b.clusters, template: templateFromJson(b.template) };
  },
);

/** The datastore with that name, if any (datastore names are unique cloud-wide). */
export async function datastoreIdByName(q: Queryable, name: string): Promise<number | undefined> {
  const { rows } = await q.query<{ oid: number }>(`SELECT oid FROM datastore_pool WHERE name = $1`, [name]);
  return rows[0]?.oid;
}

/** What a datastore holds: its images (ids ascending) and their total size. */
export interface DatastoreUsage { images: number[]; imagesMb: number }

const NO_USAGE: DatastoreUsage = { images: [], imagesMb: 0 };

/**
 * The images of each datastore, read from image_pool rows whose body has a numeric "datastoreId" and "size" (MB).
 * Without `ids`, every datastore with images.
 */
export async function datastoreUsage(q: Queryable, ids?: readonly number[]): Promise<Map<number, DatastoreUsage>> {
  const only = ids ? `AND (body->>'datastoreId')::int = ANY($1::int[])` : '';
  const { rows } = await q.query<{ ds: number; images: number[]; mb: number }>(
    `SELECT (body->>'datastoreId')::int AS ds, array_agg(oid ORDER BY oid) AS images,
            COALESCE(sum(CASE WHEN jsonb_typeof(body->'size') = 'number' THEN (body->>'size')::numeric ELSE 0 END), 0)::bigint AS mb
     FROM image_pool WHERE jsonb_typeof(body->'datastoreId') = 'number' ${only}
     GROUP BY 1`, ids ? [[...ids]] : undefined);
  return new Map(rows.map((r) => [r.ds, { images: r.images.map(Number), imagesMb: Number(r.mb) }]));
}

export async function usageOf(q: Queryable, dsId: number): Promise<DatastoreUsage> {
  return (await datastoreUsage(q, [dsId])).get(dsId) ?? NO_USAGE;
}

async function existingDatastore(q: Queryable, dsId: number): Promise<Datastore> {
  const ds = await datastoreTable.get(q, dsId);
  if (!ds) throw noExists('DATASTORE', dsId);
  return ds;
}

/** A datastore and its image megabytes in one read: what every backup's capacity check needs. */
export async function datastoreWithUsage(q: Queryable, dsId: number): Promise<{ ds: Datastore; imagesMb: number } | undefined> {
  const { rows } = await q.query<PoolRow & { mb: string | number }>(
    `SELECT d.oid, d.name, d.uid, d.gid, d.body, COALESCE(u.images_mb, 0)::bigint AS mb
     FROM datastore_pool d LEFT JOIN datastore_usage u ON u.ds_id = d.oid WHERE d.oid = $1`, [dsId]);
  return rows[0] && { ds: datastoreTable.fromRow(rows[0]), imagesMb: Number(rows[0].mb) };
}

/** Megabytes of the datastore's images (datastore_usage, kept by a trigger on image_pool). */
export async function imagesMbOf(q: Queryable, dsId: number): Promise<number> {
  const { rows } = await q.query<{ mb: string | number }>(
    `SELECT images_mb::bigint AS mb FROM datastore_usage WHERE ds_id = $1`, [dsId]);
  return rows.length === 0 ? 0 : Number(rows[0].mb);
}

/** TOTAL_MB / FREE_MB / USED_MB of a datastore as its document shows them; NO_EXISTS (datastore) when it is missing. */
export async function datastoreCapacity(q: Queryable, dsId: number): Promise<DatastoreCapacity> {
  const ds = await existingDatastore(q, dsId);
  return datastoreCapacityOf(ds, await imagesMbOf(q, dsId));
}

/** Which caller asks, for oned's two texts: image allocate/clone/save-as, or a VM backup. */
export type CapacityUse = 'image' | 'backup';

const NO_SPACE: Record<CapacityUse, string> = {
  image: 'Not enough space in datastore',
  backup: 'Not enough free space on target datastore',
};

/**
 * oned's capacity check (Datastore::get_avail_mb): when DATASTORE_CAPACITY_CHECK applies and `sizeMb` exceeds the
 * available space, throws ACTION with the text oned uses for that caller. NO_EXISTS (datastore) when it is missing.
 */
export async function checkDatastoreCapacity(q: Queryable, dsId: number, sizeMb: number, use: CapacityUse = 'image'): Promise<void> {
  const ds = await existingDatastore(q, dsId);
  checkCapacityOf(ds, await imagesMbOf(q, dsId), sizeMb, use);
}

/** checkDatastoreCapacity with the datastore's image megabytes already known. */
export function checkCapacityOf(ds: Datastore, imagesMb: number, sizeMb: number, use: CapacityUse): void {
  const { availMb, check } = availableSpace(ds, datastoreCapacityOf(ds, imagesMb));
  if (check && sizeMb > availMb) throw actionError(NO_SPACE[use]);
}

/** The three datastores of a fresh oned (DatastorePool's constructor), owned by oneadmin:oneadmin with umask 0137. */
export function bootstrapDatastores(): Datastore[] {
  const definitions: Array<[number, string, string]> = [
    [0, 'system', 'TYPE = SYSTEM_DS\nTM_MAD = local'],
    [1, 'default', 'TYPE = IMAGE_DS\nDS_MAD = fs\nTM_MAD = local'],
    [2, 'files', 'TYPE = FILE_DS\nDS_MAD = fs\nTM_MAD = local'],
  ];
  return definitions.map(([id, name, text]) => {
    const permissions = permissionsFromOctal(0o777 & ~0o137);
    permissions.groupU = 1;
    const ds: Datastore = {
      id, name, uid: 0, gid: 0, uname: 'oneadmin', gname: 'oneadmin', permissions, lock: { ...UNLOCKED },
      dsMad: '', tmMad: '', type: 0, diskType: 0, state: 0, clusters: [0], template: Template.parse(text),
    };
    const error = normaliseNewDatastore(ds);
    if (error) throw new Error(`bootstrap datastore ${name}: ${error}`);
    return ds;
  });
}
