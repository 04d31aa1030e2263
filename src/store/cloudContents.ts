import type { Queryable } from './database.js';

/**
 * The objects a cloud holds beyond a fresh oned's own (users 0-1, groups 0-1, cluster 0, datastores 0-2), as
 * "hosts: 2", "VMs: 8", …; empty for a cloud nobody has used yet.
 */
export async function objectsBeyondFreshCloud(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM host_pool) AS hosts,
            (SELECT count(*) FROM vm_pool) AS "VMs",
            (SELECT count(*) FROM image_pool) AS images,
            (SELECT count(*) FROM template_pool) AS "VM templates",
            (SELECT count(*) FROM backupjob_pool) AS "backup jobs",
            (SELECT count(*) FROM datastore_pool WHERE oid >= 100) AS datastores,
            (SELECT count(*) FROM cluster_pool WHERE oid >= 100) AS clusters,
            (SELECT count(*) FROM user_pool WHERE oid >= 2) AS users,
            (SELECT count(*) FROM group_pool WHERE oid >= 100) AS groups`);
  return Object.entries(rows[0]).filter(([, n]) => n > 0).map(([what, n]) => `${what}: ${n}`);
}
