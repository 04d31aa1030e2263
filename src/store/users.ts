import type { User, LoginToken } from '../domain/user.js';
import type { Queryable } from './database.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

interface UserRow { oid: number; name: string; body: UserBodyJson }
interface UserBodyJson {
  gid: number; groups: number[]; gname: string; password: string; authDriver: string; enabled: boolean;
  loginTokens: LoginToken[]; template: TemplateJson;
}

const fromRow = (r: UserRow): User => ({
  id: r.oid, name: r.name, gid: r.body.gid, groups: r.body.groups, gname: r.body.gname, password: r.body.password,
  authDriver: r.body.authDriver, enabled: r.body.enabled, loginTokens: r.body.loginTokens,
  template: templateFromJson(r.body.template),
});

const toBody = (u: User): UserBodyJson => ({
  gid: u.gid, groups: [...u.groups].sort((a, b) => a - b), gname: u.gname, password: u.password,
  authDriver: u.authDriver, enabled: u.enabled, loginTokens: u.loginTokens, template: templateToJson(u.template),
});

export async function getUser(q: Queryable, id: number, forUpdate = false): Promise<User | undefined> {
  const { rows } = await q.query<UserRow>(`SELECT oid, name, body FROM user_pool WHERE oid = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && fromRow(rows[0]);
}

export async function getUserByName(q: Queryable, name: string, forUpdate = false): Promise<User | undefined> {
  const { rows } = await q.query<UserRow>(`SELECT oid, name, body FROM user_pool WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`, [name]);
  return rows[0] && fromRow(rows[0]);
}

/** Users an ownership filter lets through (see poolFilter.ts), ordered by id. */
export async function listUsers(q: Queryable, where: string, params: unknown[], order: 'ASC' | 'DESC'): Promise<User[]> {
  const { rows } = await q.query<UserRow>(`SELECT oid, name, body FROM user_pool WHERE ${where} ORDER BY oid ${order}`,
    // The filter has the caller's ids written in: not a statement worth preparing once per caller.
    params.length > 0 ? params : undefined);
  return rows.map(fromRow);
}

/** Users own themselves with USE+MANAGE, are in their primary group without group rights (User.cc). */
export async function insertUser(q: Queryable, u: User): Promise<void> {
  await q.query(
    `INSERT INTO user_pool (oid, name, body, uid, gid, owner_u, group_u, other_u) VALUES ($1, $2, $3, $1, $4, 1, 0, 0)`,
    [u.id, u.name, JSON.stringify(toBody(u)), u.gid]);
}

export async function saveUser(q: Queryable, u: User): Promise<void> {
  await q.query(`UPDATE user_pool SET name = $2, body = $3, gid = $4 WHERE oid = $1`, [u.id, u.name, JSON.stringify(toBody(u)), u.gid]);
}

export async function deleteUser(q: Queryable, id: number): Promise<void> {
  await q.query(`DELETE FROM user_pool WHERE oid = $1`, [id]);
}
