/**
 * Benchmark data made fast: a cloud opened in process on a database, a seed VM and job made through the methods
 * themselves, then copied in bulk by SQL to any size.
 */
import type { ApiMethod, App, Request } from '../src/api/app.js';
import { buildRegistry } from '../src/api/methods.js';
import { ManualClock, nowSeconds } from '../src/clock.js';
import { DEFAULTS } from '../src/config.js';
import type { Caller } from '../src/domain/authorization.js';
import { memoryLogger } from '../src/logger.js';
import type { RpcValue } from '../src/rpc/values.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { backupJobTable } from '../src/store/backupJobs.js';
import { bootstrap } from '../src/store/bootstrap.js';
import type { Database } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';

const ONEADMIN: Caller = { uid: 0, gid: 0, groups: new Set([0]), uname: 'oneadmin', gname: 'oneadmin', umask: 0o177 };
export const START = 1704067200; // 2024-01-01 00:00 UTC

export async function cloud(db: Database, config: Partial<typeof DEFAULTS>) {
  await migrate(db);
  await bootstrap(db, async () => ({ name: 'oneadmin', password: 'bench' }));
  const clock = new ManualClock(START * 1000);
  const app: App = { db, config: { ...DEFAULTS, ...config }, clock, log: memoryLogger() };
  const scheduler = new Scheduler(app);
  app.scheduler = scheduler;
  const registry = buildRegistry();
  const call = async (name: string, ...params: RpcValue[]) => {
    const method = registry.get(name) as ApiMethod;
    const req: Request = { app, caller: ONEADMIN, method: name, reqId: 0 };
    return method.run(req, ['', ...params]) as Promise<number>;
  };
  return { app, scheduler, call, clock };
}

/**
 * A deployed VM and a job made through the methods, then copied in bulk by SQL (`vms` VMs spread over the hosts,
 * `jobs` jobs of vms/jobs VMs each, every job with an hourly schedule; the first `due` of them already due).
 */
export type BenchCloud = Awaited<ReturnType<typeof cloud>>;

export async function populate(c: BenchCloud, hosts: number, vms: number, jobs: number, due: number, backupSeconds: number) {
  const hostIds: number[] = [];
  for (let h = 0; h < hosts; h++) hostIds.push(await c.call('one.host.allocate', `bench-host-${h}`, 'dummy', 'dummy', -1));
  const ds = await c.call('one.datastore.allocate', 'NAME = "bench-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"\nTOTAL_MB = 1000000000', -1);
  const seedVm = await c.call('one.vm.allocate', `NAME = seed\nCPU = 0.01\nMEMORY = 1\nDISK = [ TYPE = "fs", SIZE = 1 ]\nEMU_BACKUP_SECONDS = ${backupSeconds}`, true);
  await c.call('one.vm.deploy', seedVm, hostIds[0]);
  const db = c.app.db;
  await db.query(
    `INSERT INTO vm_pool (oid, name, body, uid, gid, state, lcm_state, owner_u, group_u, other_u)
     SELECT s.oid + g, 'vm-' || g, jsonb_set(s.body, '{history,0,hid}', to_jsonb($2::int + (g % $3::int))),
            s.uid, s.gid, s.state, s.lcm_state, s.owner_u, s.group_u, s.other_u
     FROM vm_pool s, generate_series(1, $4::int - 1) g WHERE s.oid = $1`, [seedVm, hostIds[0], hosts, vms]);
  await db.query(`UPDATE pool_control SET last_oid = $1 WHERE tablename = 'vm_pool'`, [seedVm + vms - 1]);
  const perJob = Math.max(1, Math.floor(vms / jobs));
  const now = nowSeconds(c.clock);
  const seedJob = await c.call('one.backupjob.allocate', `NAME = job-0\nDATASTORE_ID = ${ds}\nEXECUTION = PARALLEL\n`
    + `BACKUP_VMS = "${seedVm}"\nSCHED_ACTION = [ TIME = "${now + 86400 * 365}", REPEAT = 3, DAYS = "24" ]`);
  const job = (await backupJobTable.get(db, seedJob))!;
  const vmsIndex = job.template.attributes.findIndex((a) => a.name === 'BACKUP_VMS');
  const seedSa = job.schedActions[0];
  // Job j: BACKUP_VMS = its slice of the VMs, schedule id seedSa + j, the first `due` schedules already due.
  await db.query(
    `INSERT INTO schedaction_pool (oid, parent_id, type, body, time, done)
     SELECT s.oid + g, s.parent_id + g, s.type, s.body, CASE WHEN g < $2::int THEN $3::bigint ELSE s.time END, s.done
     FROM schedaction_pool s, generate_series(1, $4::int - 1) g WHERE s.oid = $1`, [seedSa, due, now - 60, jobs]);
  if (due > 0) await db.query('UPDATE schedaction_pool SET time = $2 WHERE oid = $1', [seedSa, now - 60]);
  await db.query(`UPDATE pool_control SET last_oid = $1 WHERE tablename = 'schedaction_pool'`, [seedSa + jobs - 1]);
  await db.query(
    `INSERT INTO backupjob_pool (oid, name, body, uid, gid, owner_u, group_u, other_u, priority, outdated_vms)
     SELECT s.oid + g, 'job-' || g,
            jsonb_set(jsonb_set(s.body, ARRAY['template', $2::text, '1'],
              to_jsonb((SELECT string_agg(($3::int + g * $4::int + k)::text, ',') FROM generate_series(0, $4::int - 1) k))),
              '{schedActions}', jsonb_build_array($6::int + g)),
            s.uid, s.gid, s.owner_u, s.group_u, s.other_u, s.priority, 0
     FROM backupjob_pool s, generate_series(1, $5::int - 1) g WHERE s.oid = $1`,
    [seedJob, String(vmsIndex), seedVm, perJob, jobs, seedSa]);
  await db.query(
    `UPDATE backupjob_pool SET body = jsonb_set(body, ARRAY['template', $2::text, '1'],
       to_jsonb((SELECT string_agg(($3::int + k)::text, ',') FROM generate_series(0, $4::int - 1) k))) WHERE oid = $1`,
    [seedJob, String(vmsIndex), seedVm, perJob]);
  await db.query(`UPDATE pool_control SET last_oid = $1 WHERE tablename = 'backupjob_pool'`, [seedJob + jobs - 1]);
  // The copies get their stored pool documents (body_wire) as a save through the methods would have written them.
  for (let from = seedJob; from < seedJob + jobs; from += 500) {
    const copies = await backupJobTable.list(db, `oid >= ${from} AND oid < ${Math.min(from + 500, seedJob + jobs)}`, 'ASC');
    await backupJobTable.saveMany(db, copies);
  }
  // Each VM belongs to its job, as allocating the job with its BACKUP_VMS would have recorded.
  await db.query(
    `UPDATE vm_pool SET body = jsonb_set(body, '{backups,config,BACKUP_JOB_ID}', to_jsonb(($1::int + (oid - $2::int) / $3::int)::text))
     WHERE oid >= $2 AND oid < $2 + $4::int`, [seedJob, seedVm, perJob, jobs * perJob]);
}

