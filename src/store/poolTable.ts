import type { PoolObject } from '../domain/poolObject.js';
import type { Queryable } from './database.js';

export interface PoolRow { oid: number; name: string; uid: number; gid: number; body: Record<string, unknown> }

/**
 * One pool table with oned's columns (oid, name, body, uid, gid, owner_u, group_u, other_u) plus the extra
 * columns a pool needs; the object body is jsonb. All SQL of a pool lives here.
 */
export class PoolTable<T extends PoolObject> {
  constructor(
    readonly table: string,
    private readonly toBody: (o: T) => Record<string, unknown>,
    readonly fromRow: (row: PoolRow) => T,
    private readonly extraColumns: (o: T) => Record<string, unknown> = () => ({}),
  ) {}

  private columns(o: T): Record<string, unknown> {
    return { ...this.rowColumns(o), body: JSON.stringify(this.toBody(o)) };
  }

  /** The columns with the body as an object: rows for jsonb_populate_recordset. */
  private rowColumns(o: T): Record<string, unknown> {
    return {
      name: o.name, body: this.toBody(o), uid: o.uid, gid: o.gid,
      owner_u: o.permissions.ownerU, group_u: o.permissions.groupU, other_u: o.permissions.otherU,
      ...this.extraColumns(o),
    };
  }

  async get(q: Queryable, id: number, forUpdate = false): Promise<T | undefined> {
    const { rows } = await q.query<PoolRow>(
      `SELECT oid, name, uid, gid, body FROM ${this.table} WHERE oid = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0] && this.fromRow(rows[0]);
  }

  /** The objects with these ids that exist, by id; locked when `forUpdate` (in id order, so lockers never deadlock). */
  async getMany(q: Queryable, ids: readonly number[], forUpdate = false): Promise<Map<number, T>> {
    if (ids.length === 0) return new Map();
    const { rows } = await q.query<PoolRow>(
      `SELECT oid, name, uid, gid, body FROM ${this.table} WHERE oid = ANY($1::int[]) ORDER BY oid${forUpdate ? ' FOR UPDATE' : ''}`,
      [[...ids]]);
    return new Map(rows.map((r) => [r.oid, this.fromRow(r)]));
  }

  async list(q: Queryable, where: string, order: 'ASC' | 'DESC', limit?: { offset: number; count: number }): Promise<T[]> {
    const page = limit ? ` LIMIT ${limit.count} OFFSET ${limit.offset}` : '';
    const { rows } = await q.query<PoolRow>(
      `SELECT oid, name, uid, gid, body FROM ${this.table} WHERE ${where} ORDER BY oid ${order}${page}`);
    return rows.map((r) => this.fromRow(r));
  }

  async insert(q: Queryable, o: T): Promise<void> {
    const cols = this.columns(o);
    const names = ['oid', ...Object.keys(cols)];
    const values = [o.id, ...Object.values(cols)];
    await q.query(`INSERT INTO ${this.table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`, values);
  }

  async save(q: Queryable, o: T): Promise<void> {
    const cols = this.columns(o);
    const sets = Object.keys(cols).map((name, i) => `${name} = $${i + 2}`);
    await q.query(`UPDATE ${this.table} SET ${sets.join(', ')} WHERE oid = $1`, [o.id, ...Object.values(cols)]);
  }

  /**
   * save() of several objects in one statement. The ids are also given as an array: the planner cannot see how many
   * rows the JSON holds and would otherwise join it against a scan of the whole table.
   */
  async saveMany(q: Queryable, objects: readonly T[]): Promise<void> {
    if (objects.length === 0) return;
    const rows = objects.map((o) => ({ oid: o.id, ...this.rowColumns(o) }));
    const sets = Object.keys(rows[0]).filter((c) => c !== 'oid').map((c) => `${c} = r.${c}`);
    await q.query(`UPDATE ${this.table} t SET ${sets.join(', ')}
      FROM jsonb_populate_recordset(NULL::${this.table}, $1::jsonb) r WHERE t.oid = ANY($2::int[]) AND t.oid = r.oid`,
    [JSON.stringify(rows), objects.map((o) => o.id)]);
  }

  /** insert() of several objects in one statement. */
  async insertMany(q: Queryable, objects: readonly T[]): Promise<void> {
    if (objects.length === 0) return;
    const rows = objects.map((o) => ({ oid: o.id, ...this.rowColumns(o) }));
    const names = Object.keys(rows[0]).join(', ');
    await q.query(`INSERT INTO ${this.table} (${names})
      SELECT ${names} FROM jsonb_populate_recordset(NULL::${this.table}, $1::jsonb)`, [JSON.stringify(rows)]);
  }

  async delete(q: Queryable, id: number): Promise<void> {
    await q.query(`DELETE FROM ${this.table} WHERE oid = $1`, [id]);
  }

  /** The object of that owner with that name, if any (names are unique per owner). */
  async idByNameAndOwner(q: Queryable, name: string, uid: number): Promise<number | undefined> {
    const { rows } = await q.query<{ oid: number }>(`SELECT oid FROM ${this.table} WHERE name = $1 AND uid = $2`, [name, uid]);
    return rows[0]?.oid;
  }
}

/** The common part of a pool object body, kept in jsonb beside the type's own fields. */
export function commonBody(o: PoolObject): Record<string, unknown> {
  return { uname: o.uname, gname: o.gname, permissions: o.permissions, lock: o.lock };
}

export function commonFromRow(row: PoolRow): PoolObject {
  const b = row.body as Record<string, never>;
  return { id: row.oid, name: row.name, uid: row.uid, gid: row.gid, uname: b.uname, gname: b.gname,
    permissions: b.permissions, lock: b.lock };
}
