import type { Group } from '../domain/group.js';
import type { Queryable } from './database.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

interface GroupRow { oid: number; name: string; body: { template: TemplateJson; users: number[]; admins: number[] } }

const fromRow = (r: GroupRow): Group => ({
  id: r.oid, name: r.name, template: templateFromJson(r.body.template), users: r.body.users, admins: r.body.admins,
});
const sortIds = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);
const toBody = (g: Group) => JSON.stringify({ template: templateToJson(g.template), users: sortIds(g.users), admins: sortIds(g.admins) });

export async function getGroup(q: Queryable, id: number, forUpdate = false): Promise<Group | undefined> {
  const { rows } = await q.query<GroupRow>(`SELECT oid, name, body FROM group_pool WHERE oid = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && fromRow(rows[0]);
}

export async function getGroupByName(q: Queryable, name: string): Promise<Group | undefined> {
  const { rows } = await q.query<GroupRow>(`SELECT oid, name, body FROM group_pool WHERE name = $1`, [name]);
  return rows[0] && fromRow(rows[0]);
}

/** Names of the given groups, by id. */
export async function groupNames(q: Queryable, ids: readonly number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<{ oid: number; name: string }>(`SELECT oid, name FROM group_pool WHERE oid = ANY($1::int[])`, [ids]);
  return new Map(rows.map((r) => [r.oid, r.name]));
}

export async function listGroups(q: Queryable, where: string, params: unknown[], order: 'ASC' | 'DESC'): Promise<Group[]> {
  const { rows } = await q.query<GroupRow>(`SELECT oid, name, body FROM group_pool WHERE ${where} ORDER BY oid ${order}`,
    // The filter has the caller's ids written in: not a statement worth preparing once per caller.
    params.length > 0 ? params : undefined);
  return rows.map(fromRow);
}

/** Groups are owned by oneadmin, their gid is their own id, members get USE through group_u (Group.cc). */
export async function insertGroup(q: Queryable, g: Group): Promise<void> {
  await q.query(
    `INSERT INTO group_pool (oid, name, body, uid, gid, owner_u, group_u, other_u) VALUES ($1, $2, $3, 0, $1, 1, 1, 0)`,
    [g.id, g.name, toBody(g)]);
}

export async function saveGroup(q: Queryable, g: Group): Promise<void> {
  await q.query(`UPDATE group_pool SET body = $2 WHERE oid = $1`, [g.id, toBody(g)]);
}

export async function deleteGroup(q: Queryable, id: number): Promise<void> {
  await q.query(`DELETE FROM group_pool WHERE oid = $1`, [id]);
}

/** Locks the rows of the given groups, in id order so concurrent callers cannot deadlock. */
export async function lockGroups(q: Queryable, ids: readonly number[]): Promise<Group[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<GroupRow>(
    `SELECT oid, name, body FROM group_pool WHERE oid = ANY($1::int[]) ORDER BY oid FOR UPDATE`, [ids]);
  return rows.map(fromRow);
}
