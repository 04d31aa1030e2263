import type { Queryable } from '../../src/store/database.js';

/**
 * An md5 of each table of the current schema over all its rows, on either backend: two equal checksums mean no row
 * was inserted, changed or deleted in between. Rows are ordered by their own text, which is as deterministic as the
 * primary key and needs no per-table knowledge (host_monitoring and backup_vm_snapshots have composite keys).
 */
export async function databaseChecksums(db: Queryable): Promise<Record<string, string>> {
  const tables = await db.query<{ name: string }>(
    `SELECT quote_ident(table_name) AS name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`);
  if (tables.rows.length === 0) throw new Error('databaseChecksums: no tables in the current schema');
  const perTable = tables.rows.map(({ name }) =>
    `SELECT '${name}' AS name, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS sum FROM ${name} t`);
  const result = await db.query<{ name: string; sum: string }>(perTable.join(' UNION ALL '));
  return Object.fromEntries(result.rows.map((r) => [r.name, r.sum]));
}

/** The tables whose checksums differ between two databaseChecksums() results. */
export function changedTables(before: Record<string, string>, after: Record<string, string>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n] !== after[n]).sort();
}
