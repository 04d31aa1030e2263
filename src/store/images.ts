import type { BackupIncrement, BackupVmState, Image } from '../domain/image.js';
import type { Queryable } from './database.js';
import { nextOid } from './poolControl.js';
import { commonBody, commonFromRow, PoolTable } from './poolTable.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

/**
 * The jsonb body of an image_pool row. `datastoreId` and `size` (MB) are read by the datastore code, which sums
 * them into TOTAL/FREE/USED_MB and the IMAGES list; `datastore` is the name it rewrites on a datastore rename.
 */
interface ImageBody {
  type: number; diskType: number; persistent: number; regtime: number; modtime: number; source: string; path: string;
  format: string; fs: string; size: number; state: number; prevState: number; runningVms: number; cloningOps: number;
  cloningId: number; targetSnapshot: number; datastoreId: number; datastore: string; vms: number[]; clones: number[];
  appClones: number[]; template: TemplateJson; snapshots: TemplateJson; backupIncrements: BackupIncrement[];
  backupDiskIds: number[];
}

const sortedUnique = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);

export const imageTable = new PoolTable<Image>(
  'image_pool',
  (i) => {
    const body: ImageBody = {
      type: i.type, diskType: i.diskType, persistent: i.persistent, regtime: i.regtime, modtime: i.modtime,
      source: i.source, path: i.path, format: i.format, fs: i.fs, size: i.size, state: i.state,
      // ImagePool::update copies STATE into PREV_STATE at every save. oned follows every insert with such a
      // save (the driver's answer, the backup disk ids), so no stored image keeps another PREV_STATE.
      prevState: i.state,
      runningVms: i.runningVms, cloningOps: i.cloningOps, cloningId: i.cloningId, targetSnapshot: i.targetSnapshot,
      datastoreId: i.datastoreId, datastore: i.datastore, vms: sortedUnique(i.vms), clones: sortedUnique(i.clones),
      appClones: sortedUnique(i.appClones), template: templateToJson(i.template), snapshots: templateToJson(i.snapshots),
      backupIncrements: [...i.backupIncrements].sort((a, b) => a.id - b.id), backupDiskIds: sortedUnique(i.backupDiskIds),
    };
    return { ...commonBody(i), ...body };
  },
  (row) => {
    const b = row.body as unknown as ImageBody;
    return {
      ...commonFromRow(row), type: b.type, diskType: b.diskType, persistent: b.persistent, regtime: b.regtime,
      modtime: b.modtime, source: b.source, path: b.path, format: b.format, fs: b.fs, size: b.size, state: b.state,
      prevState: b.prevState, runningVms: b.runningVms, cloningOps: b.cloningOps, cloningId: b.cloningId,
      targetSnapshot: b.targetSnapshot, datastoreId: b.datastoreId, datastore: b.datastore, vms: b.vms, clones: b.clones,
      appClones: b.appClones, template: templateFromJson(b.template), snapshots: templateFromJson(b.snapshots),
      backupIncrements: b.backupIncrements, backupDiskIds: b.backupDiskIds,
    };
  },
);

/**
 * PoolSQL::allocate for images: gives `image` the next image id and inserts it. The caller has run the image
 * rules (insertImage) and checked the name against the owner's images; the (uid, name) index catches races.
 * Used by one.image.allocate and by the backup code that creates BACKUP images.
 */
export async function allocateImageRow(tx: Queryable, image: Image): Promise<number> {
  image.id = await nextOid(tx, 'image_pool');
  await imageTable.insert(tx, image);
  return image.id;
}

/** Deletes these images; returns the datastores whose usage that changed. */
export async function deleteImages(tx: Queryable, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const { rows } = await tx.query<{ ds: number | null }>(
    `DELETE FROM image_pool WHERE oid = ANY($1::int[]) RETURNING (body->>'datastoreId')::int AS ds`, [[...ids]]);
  return [...new Set(rows.map((r) => r.ds).filter((d): d is number => d !== null))];
}

/** The image of that owner with that name (ImagePool::get_ro(name, uid)), for DISK = [IMAGE = …] references. */
export async function imageByNameAndOwner(q: Queryable, name: string, uid: number): Promise<Image | undefined> {
  const id = await imageTable.idByNameAndOwner(q, name, uid);
  return id === undefined ? undefined : imageTable.get(q, id);
}

/**
 * The VM a BACKUP image belongs to, as ImageManager::delete_image looks at it: its LCM state and backup
 * configuration (vm_pool body->'backups'->'config'); undefined when the VM is gone.
 */
export async function backupVmState(q: Queryable, vmId: number): Promise<BackupVmState | undefined> {
  const { rows } = await q.query<{ lcm_state: number; config: Record<string, string> | null }>(
    `SELECT lcm_state, body->'backups'->'config' AS config FROM vm_pool WHERE oid = $1`, [vmId]);
  if (rows.length === 0) return undefined;
  const config = rows[0].config ?? {};
  return { lcmState: rows[0].lcm_state, mode: (config.MODE ?? '').toUpperCase(),
    activeFlatten: (config.ACTIVE_FLATTEN ?? '').toUpperCase() === 'YES' };
}

/** A deleted backup image leaves the BACKUP_IDS of its VM (vm_pool body->'backups'->'ids'), when the VM exists. */
export async function forgetBackupImage(tx: Queryable, vmId: number, imageId: number): Promise<void> {
  await tx.query(
    `UPDATE vm_pool SET body = jsonb_set(body, '{backups,ids}',
       COALESCE((SELECT jsonb_agg(x) FROM jsonb_array_elements(body->'backups'->'ids') AS x WHERE x <> to_jsonb($2::int)),
                '[]'::jsonb))
     WHERE oid = $1 AND jsonb_typeof(body->'backups'->'ids') = 'array'`, [vmId, imageId]);
}

/** Datastore rename: its images' DATASTORE field follows (DatastoreAPI's batch_rename). */
export async function renameImagesDatastore(tx: Queryable, dsId: number, name: string): Promise<void> {
  await tx.query(`UPDATE image_pool SET body = jsonb_set(body, '{datastore}', to_jsonb($2::text))
     WHERE (body->>'datastoreId')::int = $1`, [dsId, name]);
}
