import type { SchedAction, SchedParent } from '../domain/schedAction.js';
import type { Queryable } from './database.js';
import { nextOid } from './poolControl.js';

type Body = Omit<SchedAction, 'id' | 'parentId' | 'type' | 'time' | 'done'>;
export interface SchedActionRow { oid: number; parent_id: number; type: SchedParent; body: Body; time: number | string; done: number | string }

export const schedActionFromRow = (r: SchedActionRow): SchedAction => ({ ...r.body, id: r.oid, parentId: r.parent_id, type: r.type, time: Number(r.time), done: Number(r.done) });

const bodyOf = ({ id: _id, parentId: _p, type: _t, time: _time, done: _done, ...rest }: SchedAction): Body => rest;

/** Inserts a new action with the next id of the one counter backup jobs and VMs share. */
export async function insertSchedAction(tx: Queryable, sa: SchedAction): Promise<number> {
  sa.id = await nextOid(tx, 'schedaction_pool');
  await tx.query(`INSERT INTO schedaction_pool (oid, parent_id, type, body, time, done) VALUES ($1, $2, $3, $4, $5, $6)`,
    [sa.id, sa.parentId, sa.type, JSON.stringify(bodyOf(sa)), sa.time, sa.done]);
  return sa.id;
}

export async function saveSchedAction(tx: Queryable, sa: SchedAction): Promise<void> {
  await tx.query(`UPDATE schedaction_pool SET body = $2, time = $3, done = $4 WHERE oid = $1`,
    [sa.id, JSON.stringify(bodyOf(sa)), sa.time, sa.done]);
}

export async function getSchedAction(q: Queryable, id: number, forUpdate = false): Promise<SchedAction | undefined> {
  const { rows } = await q.query<SchedActionRow>(
    `SELECT oid, parent_id, type, body, time, done FROM schedaction_pool WHERE oid = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] && schedActionFromRow(rows[0]);
}

/** The actions with these ids that still exist, in id order; locked when `forUpdate`. */
export async function getSchedActions(q: Queryable, ids: readonly number[], forUpdate = false): Promise<SchedAction[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<SchedActionRow>(
    `SELECT oid, parent_id, type, body, time, done FROM schedaction_pool WHERE oid = ANY($1::int[]) ORDER BY oid${forUpdate ? ' FOR UPDATE' : ''}`,
    [ids]);
  return rows.map(schedActionFromRow);
}

/** saveSchedAction() of several actions in one statement. */
export async function saveSchedActions(tx: Queryable, actions: readonly SchedAction[]): Promise<void> {
  if (actions.length === 0) return;
  await tx.query(`UPDATE schedaction_pool t SET body = r.body, time = r.time, done = r.done
    FROM jsonb_to_recordset($1::jsonb) AS r(oid integer, body jsonb, time bigint, done bigint)
    WHERE t.oid = ANY($2::int[]) AND t.oid = r.oid`,
  [JSON.stringify(actions.map((sa) => ({ oid: sa.id, body: bodyOf(sa), time: sa.time, done: sa.done }))), actions.map((sa) => sa.id)]);
}

export async function deleteSchedActions(tx: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(`DELETE FROM schedaction_pool WHERE oid = ANY($1::int[])`, [ids]);
}

/** ScheduledActionPool::get_is_due_actions for VMs and for backup jobs, in one read: TIME < now and TIME > DONE,
 *  by TIME then id. */
export async function dueSchedActions(q: Queryable, now: number): Promise<Record<SchedParent, SchedAction[]>> {
  const { rows } = await q.query<SchedActionRow>(
    `SELECT oid, parent_id, type, body, time, done FROM schedaction_pool
     WHERE time < $1 AND time > done ORDER BY time, oid`, [now]);
  const due: Record<SchedParent, SchedAction[]> = { VM: [], BACKUPJOB: [] };
  for (const row of rows) due[row.type].push(schedActionFromRow(row));
  return due;
}
