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

/** `count` consecutive new ids of a pool in one statement, ascending. */
export async function nextOids(tx: Queryable, table: string, count: number): Promise<number[]> {
  if (count === 0) return [];
  const { rows } = await tx.query<{ last_oid: number }>(
    `INSERT INTO pool_control (tablename, last_oid) VALUES ($1, $2 - 1)
     ON CONFLICT (tablename) DO UPDATE SET last_oid = pool_control.last_oid + $2
     RETURNING last_oid`, [table, count]);
  const last = rows[0].last_oid;
  return Array.from({ length: count }, (_, i) => last - count + 1 + i);
}

/**
 * Gives back the last `count` ids of a pool that nextOids reserved and nobody used. Only inside the reserving
 * transaction, which holds the counter's row: no id after them can have been handed out.
 */
export async function returnOids(tx: Queryable, table: string, count: number): Promise<void> {
  if (count === 0) return;
  await tx.query(`UPDATE pool_control SET last_oid = last_oid - $2 WHERE tablename = $1`, [table, count]);
}

/** Makes sure the next id handed out is at least `next` (system objects have fixed ids, user groups start at 100). */
export async function reserveOidsBelow(tx: Queryable, table: string, next: number): Promise<void> {
  await tx.query(
    `INSERT INTO pool_control (tablename, last_oid) VALUES ($1, $2)
     ON CONFLICT (tablename) DO UPDATE SET last_oid = GREATEST(pool_control.last_oid, EXCLUDED.last_oid)`,
    [table, next - 1]);
}
