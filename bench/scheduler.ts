/**
 * Scheduler benchmarks, in process (the tick is what is measured, not the wire): a tick with 10 000 jobs and
 * 100 000 VMs of which 1 000 jobs come due, an idle tick on the same data, and emu.clock.advance of one week for
 * 1 000 VMs in 50 jobs. The data is made through the methods themselves for a seed object and copied in bulk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { nowSeconds } from '../src/clock.js';
import { openDatabase, type Database } from '../src/store/database.js';
import { cloud, populate } from './data.js';

export interface SchedulerFigure { backend: string; scenario: string; ms: number; note: string }

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
  const only = process.env.BENCH_SCHED_ONLY;
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
      // The launch log line is written once the launches have committed: the VMs are in BACKUP from then on.
      let launchedAt: number | undefined;
      const info = c.app.log.info.bind(c.app.log);
      c.app.log.info = (module, message) => {
        if (launchedAt === undefined && message.includes('executing backup for VM')) launchedAt = performance.now();
        info(module, message);
      };
      const tickStart = performance.now();
      out.push({ backend, scenario: 'tick, 10 000 jobs / 100 000 VMs, 1 000 due', ms: await timed(() => c.scheduler.tick()),
        note: '1 000 jobs executed, 5 VM backups launched (MAX_BACKUPS)' });
      out.push({ backend, scenario: 'due → BACKUP: from the tick that finds the schedules due to their VMs in BACKUP',
        ms: (launchedAt ?? Number.NaN) - tickStart,
        note: 'plus the wait for that tick: up to MANAGER_TIMER (15 s) of emulated time, as in oned' });
      c.clock.advance(15000);
      out.push({ backend, scenario: 'next tick, 1 000 jobs with OUTDATED VMs', ms: await timed(() => c.scheduler.tick()), note: 'limits already reached' });
    } finally {
      await db.close();
    }
  }
  // oned's default limits make a day's 1 000 backups of 60 s run 5 at a time: 1 400 serial launch/complete cycles a
  // week. The second run sizes the limits to the cloud (10 hosts) to show the cost per cycle, not per backup.
  const weeks: Array<[string, number, number]> = [['oned default limits MAX_BACKUPS=5, MAX_BACKUPS_HOST=2', 5, 2],
    ['MAX_BACKUPS=50, MAX_BACKUPS_HOST=5', 50, 5]];
  for (const [label, maxBackups, maxPerHost] of weeks) {
    if (only && only !== 'week') break;
    const db = await open();
    try {
      const c = await cloud(db, { MAX_BACKUPS: maxBackups, MAX_BACKUPS_HOST: maxPerHost });
      step('week populate');
      await populate(c, 10, scaled(1000), scaled(50), scaled(50), 60);
      step('week');
      out.push({ backend, scenario: `emu.clock.advance one week, 1 000 VMs in 50 daily jobs, ${label}`,
        ms: await timed(() => c.scheduler.advance(7 * 86400)), note: 'every job due every 24 h, 60 s backups: 7 000 backups' });
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
