import type { Queryable } from './database.js';

/** The next object id of a pool: last_oid + 1, never reused (PoolSQL::allocate). Call inside the inserting
 *  transaction so a failed insert gives the id back. */
export async function nextOid(tx: Queryable, table: string): Promise<number> {
  const { rows } = await tx.query<{ last_oid: number }>(
    `INSERT INTO pool_control (tablename, last_oid) VALUES ($1, 0)
     ON CONFLICT (tablename) DO UPDATE SET last_oid = pool_control.last_oid + 1
     RETURNING last_oid`, [table]);
  return rows[0].last_oid;
}

/** Makes sure the next id handed out is at least `next` (system objects have fixed ids, user groups start at 100). */
export async function reserveOidsBelow(tx: Queryable, table: string, next: number): Promise<void> {
  await tx.query(
    `INSERT INTO pool_control (tablename, last_oid) VALUES ($1, $2)
     ON CONFLICT (tablename) DO UPDATE SET last_oid = GREATEST(pool_control.last_oid, EXCLUDED.last_oid)`,
    [table, next - 1]);
}
