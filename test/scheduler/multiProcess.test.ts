import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { RpcValue } from '../../src/rpc/values.js';
import { mulberry32 } from '../support/random.js';
import { RpcClient } from '../support/rpcClient.js';

/**
 * Several oned-emu processes on one PostgreSQL: one API process and two, then three, scheduler processes launch VM-level
 * scheduled backups under MAX_BACKUPS=5 and MAX_BACKUPS_HOST=2 while the database is watched (every 50 ms, four
 * times a tick); with two, one scheduler is killed with SIGKILL a third of the way; with three, schedulers are
 * killed at random moments and replaced until the end. Wall-clock time, so the run is sized to take well under a
 * minute; `npm run chaos` runs 2 000 backups.
 */
const SERVER_URL = process.env.TEST_DATABASE_URL;
const CLI = resolve(fileURLToPath(import.meta.url), '../../../src/cli.js');
const VMS = Number(process.env.MULTI_PROCESS_VMS ?? 1000);
const SESSION = 'oneadmin:multi';

function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; log: string } {
  const log = join(mkdtempSync(join(tmpdir(), 'oned-emu-mp-')), 'oned.log');
  writeFileSync(log, '');
  const child = spawn(process.execPath, [CLI, ...args, '--log', log], { env: { ...process.env, ...env }, stdio: 'ignore' });
  return { child, log };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const [schedulers, vmCount] of [[2, Math.ceil(VMS / 4)], [3, VMS]] as const) describe(`${schedulers} scheduler processes on one PostgreSQL`, { skip: SERVER_URL ? false : 'needs TEST_DATABASE_URL' }, () => {
  const dbName = `oned_emu_mp_${process.pid}_${schedulers}`;
  let dbUrl: string;
  let admin: pg.Client;
  let watch: pg.Client;
  const procs: ChildProcess[] = [];
  let client: RpcClient;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const u = new URL(SERVER_URL!);
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
    env = { DATABASE_URL: dbUrl, ONEADMIN_PASSWORD: 'multi', MAX_BACKUPS: '5', MAX_BACKUPS_HOST: '2', MANAGER_TIMER: '0.2', MAX_CONN: '32' };
    const api = start(['serve', '--port', '0', '--no-scheduler'], env);
    procs.push(api.child);
    const url = await waitFor('the API process', () => /listening on (http:\/\/[\d.]+:\d+\/RPC2)/.exec(readFileSync(api.log, 'utf8'))?.[1]);
    client = new RpcClient(url);
    watch = new pg.Client({ connectionString: dbUrl });
    await watch.connect();
    for (let i = 0; i < schedulers; i++) procs.push(start(['scheduler'], env).child);
  });

  after(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    client?.close();
    await watch?.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  it(`${vmCount} scheduled VM backups: no duplicate launch, limits held cloud-wide, all finished, schedulers killed`, async () => {
    const call = async (m: string, ...p: RpcValue[]) => {
      const r = (await client.call(m, SESSION, ...p)) as RpcValue[];
      assert.equal(r[0], true, `${m}: ${String(r[1])}`);
      return r[1] as number;
    };
    const hosts: number[] = [];
    for (let h = 0; h < 4; h++) hosts.push(await call('one.host.allocate', `mp-host-${h}`, 'dummy', 'dummy', -1));
    const ds = await call('one.datastore.allocate', 'NAME = "mp-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"', -1);
    // The schedules come due a few seconds from now, once every VM is deployed.
    const due = Math.floor(Date.now() / 1000) + 5 + Math.ceil(vmCount / 100);
    const queue = Array.from({ length: vmCount }, (_, i) => i);
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const vm = await call('one.vm.allocate', `NAME = "mp-${i}"\nCPU = 0.01\nMEMORY = 8\nDISK = [ TYPE = "fs", SIZE = 1 ]\n`
          + `EMU_BACKUP_SECONDS = 0\nSCHED_ACTION = [ ACTION = "backup", ARGS = "${ds}", TIME = "${due}" ]`, true);
        await call('one.vm.deploy', vm, hosts[i % hosts.length]);
      }
    }));

    let maxActive = 0;
    let maxPerHost = 0;
    let killed = false;
    let kills = 0;
    let finishedAll = false;
    // With three schedulers: kill one at random every 0.3-1.5 s and start a replacement, until the end.
    const chaos = schedulers < 3 ? Promise.resolve() : (async () => {
      const random = mulberry32(7);
      while (!finishedAll) {
        await new Promise((r) => setTimeout(r, 300 + random() * 1200));
        if (finishedAll) break;
        const alive = procs.slice(1).filter((p) => p.exitCode === null && p.signalCode === null);
        const victim = alive[Math.floor(random() * alive.length)];
        victim?.kill('SIGKILL');
        kills++;
        procs.push(start(['scheduler'], env).child);
      }
    })();
    const finished = await waitFor('every backup to finish', async () => {
      const active = await watch.query<{ hid: number; n: number }>(
        `SELECT (body->'history'->-1->>'hid')::int AS hid, count(*)::int AS n FROM vm_pool WHERE state = 3 AND lcm_state IN (69, 70) GROUP BY 1`);
      const total = active.rows.reduce((s, r) => s + r.n, 0);
      maxActive = Math.max(maxActive, total);
      maxPerHost = Math.max(maxPerHost, ...active.rows.map((r) => r.n), 0);
      const done = await watch.query<{ n: number }>(`SELECT count(*)::int AS n FROM schedaction_pool WHERE type = 'VM' AND done > 0`);
      if (!killed && schedulers < 3 && done.rows[0].n >= vmCount / 3) {
        killed = true;
        procs[1].kill('SIGKILL');
      }
      const images = await watch.query<{ n: number }>(`SELECT count(*)::int AS n FROM image_pool`);
      return images.rows[0].n >= vmCount && total === 0 ? images.rows[0].n : undefined;
    }, 180000).finally(() => { finishedAll = true; });
    await chaos;

    if (schedulers < 3) assert.ok(killed, 'a scheduler was killed a third of the way');
    else assert.ok(kills >= 2, `schedulers were killed and replaced (${kills} times)`);
    assert.ok(maxActive <= 5, `at most 5 backups at once cloud-wide (saw ${maxActive})`);
    assert.ok(maxPerHost <= 2, `at most 2 per host (saw ${maxPerHost})`);
    assert.equal(finished, vmCount, 'one backup image per VM');
    const launches = await watch.query<{ oid: number; n: number }>(
      `SELECT oid, (SELECT count(*)::int FROM jsonb_array_elements(body->'history') h WHERE (h->>'action')::int = 50) AS n FROM vm_pool`);
    assert.equal(launches.rows.length, vmCount);
    assert.ok(launches.rows.every((r) => r.n === 1), 'every VM was backed up exactly once');
    const stuck = await watch.query<{ n: number }>(`SELECT count(*)::int AS n FROM vm_backup_runs`);
    assert.equal(stuck.rows[0].n, 0);
    process.stdout.write(`# ${schedulers} schedulers, ${vmCount} backups, ${schedulers < 3 ? 1 : kills} scheduler(s) killed: `
      + `at most ${maxActive} active (limit 5), ${maxPerHost} on a host (limit 2), each VM backed up once, none left running\n`);
  });
});
