import type { AclRule } from '../domain/authorization.js';
import type { Queryable } from './database.js';

interface AclRow { oid: number; user_sel: string | number; resource: string | number; rights: string | number; zone: string | number }

const fromRow = (r: AclRow): AclRule => ({
  id: r.oid, user: BigInt(r.user_sel), resource: BigInt(r.resource), rights: BigInt(r.rights), zone: BigInt(r.zone),
});

/** All ACL rules, in oned's listing order (by user value, then insertion order). */
export async function listAclRules(q: Queryable): Promise<AclRule[]> {
  const { rows } = await q.query<AclRow>(
    `SELECT oid, user_sel::text AS user_sel, resource::text AS resource, rights::text AS rights, zone::text AS zone
     FROM acl ORDER BY user_sel, oid`);
  return rows.map(fromRow);
}

export async function insertAclRule(q: Queryable, rule: AclRule): Promise<void> {
  await q.query(`INSERT INTO acl (oid, user_sel, resource, rights, zone) VALUES ($1, $2, $3, $4, $5)`,
    [rule.id, rule.user.toString(), rule.resource.toString(), rule.rights.toString(), rule.zone.toString()]);
}

export async function deleteAclRulesWhere(q: Queryable, predicate: string, params: unknown[]): Promise<void> {
  await q.query(`DELETE FROM acl WHERE ${predicate}`, params);
}
