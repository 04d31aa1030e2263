/**
 * Scheduler benchmarks, in process (the tick is what is measured, not the wire): a tick with 10 000 jobs and
 * 100 000 VMs of which 1 000 jobs come due, an idle tick on the same data, and emu.clock.advance of one week for
 * 1 000 VMs in 50 jobs. The data is made through the methods themselves for a seed object and copied in bulk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
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
import { openDatabase, type Database } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';

export interface SchedulerFigure { backend: string; scenario: string; ms: number; note: string }

const ONEADMIN: Caller = { uid: 0, gid: 0, groups: new Set([0]), uname: 'oneadmin', gname: 'oneadmin', umask: 0o177 };
const START = 1704067200; // 2024-01-01 00:00 UTC

async function cloud(db: Database, config: Partial<typeof DEFAULTS>) {
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
async function populate(c: Awaited<ReturnType<typeof cloud>>, hosts: number, vms: number, jobs: number, due: number, backupSeconds: number) {
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
  // Each VM belongs to its job, as allocating the job with its BACKUP_VMS would have recorded.
  await db.query(
    `UPDATE vm_pool SET body = jsonb_set(body, '{backups,config,BACKUP_JOB_ID}', to_jsonb(($1::int + (oid - $2::int) / $3::int)::text))
     WHERE oid >= $2 AND oid < $2 + $4::int`, [seedJob, seedVm, perJob, jobs * perJob]);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** BENCH_SCALE shrinks the data (e.g. 0.1) for a quick look. */
const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const scaled = (n: number) => Math.max(1, Math.round(n * SCALE));

async function scenarios(backend: string, open: () => Promise<Database>): Promise<SchedulerFigure[]> {
  const out: SchedulerFigure[] = [];
  const step = (label: string) => { if (process.env.BENCH_TRACE) process.stderr.write(`${new Date().toISOString()} ${label}\n`); };
  const only = process.env.BENCH_ONLY;
  if (!only || only === 'tick') {
    const db = await open();
    try {
      const c = await cloud(db, { MAX_BACKUPS: 5, MAX_BACKUPS_HOST: 2 });
      step('populate');
      await populate(c, 20, scaled(100000), scaled(10000), 0, 600);
      step('idle');
      c.clock.advance(15000);
      out.push({ backend, scenario: 'idle tick, 10 000 jobs / 100 000 VMs', ms: await timed(() => c.scheduler.tick()), note: 'nothing due' });
      out.push({ backend, scenario: 'idle tick, again', ms: await timed(() => c.scheduler.tick()), note: '' });
      await db.query(`UPDATE schedaction_pool SET time = $1 WHERE oid IN (SELECT oid FROM schedaction_pool WHERE type = 'BACKUPJOB' ORDER BY oid LIMIT ${scaled(1000)})`,
        [nowSeconds(c.clock) - 10]);
      c.clock.advance(15000);
      step('due tick');
      out.push({ backend, scenario: 'tick, 10 000 jobs / 100 000 VMs, 1 000 due', ms: await timed(() => c.scheduler.tick()),
        note: '1 000 jobs executed, 5 VM backups launched (MAX_BACKUPS)' });
      c.clock.advance(15000);
      out.push({ backend, scenario: 'next tick, 1 000 jobs with OUTDATED VMs', ms: await timed(() => c.scheduler.tick()), note: 'limits already reached' });
    } finally {
      await db.close();
    }
  }
  if (!only || only === 'week') {
    const db = await open();
    try {
      const c = await cloud(db, { MAX_BACKUPS: 5, MAX_BACKUPS_HOST: 2 });
      step('week populate');
      await populate(c, 10, scaled(1000), scaled(50), scaled(50), 60);
      step('week');
      out.push({ backend, scenario: 'emu.clock.advance one week, 1 000 VMs in 50 hourly jobs', ms: await timed(() => c.scheduler.advance(7 * 86400)),
        note: 'every job due every 24 h, 60 s backups' });
    } finally {
      await db.close();
    }
  }
  return out;
}

export async function schedulerBenchmarks(): Promise<SchedulerFigure[]> {
  const figures: SchedulerFigure[] = [];
  const dirs: string[] = [];
  // BENCH_BACKENDS=postgres (or pglite) runs one backend only.
  const backends = (process.env.BENCH_BACKENDS ?? 'pglite,postgres').split(',');
  if (backends.includes('pglite')) try {
    figures.push(...await scenarios('pglite', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'oned-emu-bench-sched-'));
      dirs.push(dir);
      return openDatabase({ dataDir: dir });
    }));
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  const url = process.env.BENCH_DATABASE_URL;
  if (url && backends.includes('postgres')) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    let n = 0;
    const names: string[] = [];
    try {
      figures.push(...await scenarios('postgres', async () => {
        const name = `oned_emu_bench_sched_${process.pid}_${n++}`;
        names.push(name);
        await admin.query(`CREATE DATABASE ${name}`);
        const target = new URL(url);
        target.pathname = `/${name}`;
        return openDatabase({ url: target.toString() });
      }));
    } finally {
      for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
  return figures;
}
