import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { RpcValue } from '../../src/rpc/values.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { mulberry32 } from '../support/random.js';
import { RpcClient } from '../support/rpcClient.js';

/**
 * Crash safety: a server process is killed with SIGKILL at a random moment of a mixed workload (allocates, updates,
 * deletes, backup jobs running) and started again, CRASH_KILLS times (`npm run crash` runs 50), on each backend.
 * After every kill the database is checked with the server down: acknowledged writes are there, unacknowledged ones
 * are whole or absent, job sets agree with the VMs' states and the running backups; at the end every backup has
 * finished, ids were never reused, and a schedule that came due during the kills fired exactly once.
 */
const KILLS = Number(process.env.CRASH_KILLS ?? 5);
const SEED = Number(process.env.CRASH_SEED ?? 20261126);
const CLI = resolve(fileURLToPath(import.meta.url), '../../../src/cli.js');
const SESSION = 'oneadmin:crash';

interface Target { name: string; env: NodeJS.ProcessEnv; open(): Promise<Database>; dispose(): Promise<void> }

function pgliteTarget(): Target {
  const dir = mkdtempSync(join(tmpdir(), 'oned-emu-crash-'));
  return { name: 'pglite', env: { ONE_EMU_DATA: dir, DATABASE_URL: '' }, open: () => openDatabase({ dataDir: dir }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function postgresTarget(serverUrl: string): Promise<Target> {
  const name = `oned_emu_crash_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { name: 'postgres', env: { DATABASE_URL: url.toString() }, open: () => openDatabase({ url: url.toString() }),
    dispose: async () => { await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); await admin.end(); } };
}

async function startServer(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; client: RpcClient }> {
  const log = join(mkdtempSync(join(tmpdir(), 'oned-emu-crash-log-')), 'oned.log');
  writeFileSync(log, '');
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log', log], {
    env: { ...process.env, ONEADMIN_PASSWORD: 'crash', MANAGER_TIMER: '0.2', MAX_BACKUPS: '5', MAX_BACKUPS_HOST: '2', ...env },
    stdio: 'ignore',
  });
  const deadline = Date.now() + 60000;
  for (;;) {
    const m = /listening on (http:\/\/[\d.]+:\d+\/RPC2)/.exec(readFileSync(log, 'utf8'));
    if (m) return { child, client: new RpcClient(m[1]) };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start: ${readFileSync(log, 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const kill = (child: ChildProcess) => new Promise<void>((done) => {
  if (child.exitCode !== null || child.signalCode !== null) { done(); return; }
  child.once('exit', () => done());
  child.kill('SIGKILL');
});

type Outcome = 'acked' | 'failed' | 'unknown';
interface Op { kind: 'allocate' | 'update' | 'delete'; id?: number; name?: string; keepLast?: number; outcome: Outcome }

/** What the clients believe: every call and how it ended (a call cut by the kill is 'unknown'). */
class Ledger {
  readonly ops: Op[] = [];
  readonly allocatedIds: number[] = [];

  async track(op: Op, call: () => Promise<RpcValue>): Promise<void> {
    this.ops.push(op);
    try {
      const r = await call() as RpcValue[];
      op.outcome = r[0] === true ? 'acked' : 'failed';
      if (op.outcome === 'acked' && op.kind === 'allocate') { op.id = r[1] as number; this.allocatedIds.push(op.id); }
    } catch {
      op.outcome = 'unknown';
    }
  }

  /** Jobs allocated and acknowledged whose deletion was neither acknowledged nor attempted. */
  surely(present: boolean): number[] {
    const deletes = this.ops.filter((o) => o.kind === 'delete');
    return this.ops.filter((o) => o.kind === 'allocate' && o.outcome === 'acked').map((o) => o.id!)
      .filter((id) => {
        const deleted = deletes.filter((d) => d.id === id);
        return present ? deleted.every((d) => d.outcome === 'failed') : deleted.some((d) => d.outcome === 'acked');
      });
  }
}

async function checkDatabase(db: Database, ledger: Ledger, label: string): Promise<void> {
  const jobs = new Map((await db.query<{ oid: number; name: string; body: { schedActions: number[]; backingUpVms: number[];
    outdatedVms: number[]; template: Array<[string, string]> } }>('SELECT oid, name, body FROM backupjob_pool')).rows.map((r) => [r.oid, r]));
  for (const id of ledger.surely(true)) assert.ok(jobs.has(id), `${label}: acknowledged job ${id} is there`);
  for (const id of ledger.surely(false)) assert.ok(!jobs.has(id), `${label}: acknowledged delete of ${id} holds`);
  // The single updating client's last word on each job: the acknowledged value, or the one cut by the kill after it.
  const updates = ledger.ops.filter((o) => o.kind === 'update' && o.outcome !== 'failed');
  for (const id of new Set(updates.map((u) => u.id!))) {
    const row = jobs.get(id);
    if (!row) continue;
    const mine = updates.filter((u) => u.id === id);
    const lastAcked = mine.map((u, i) => [u, i] as const).filter(([u]) => u.outcome === 'acked').pop();
    const allowed = new Set(mine.slice(lastAcked ? lastAcked[1] : 0).map((u) => String(u.keepLast)));
    const keepLast = JSON.stringify(row.body.template).match(/"KEEP_LAST","(\d+)"/)?.[1];
    if (lastAcked) assert.ok(keepLast !== undefined && allowed.has(keepLast), `${label}: job ${id} KEEP_LAST ${keepLast} in ${[...allowed]}`);
  }
  // Whole or absent: a job's actions exist and point back at it; no action is left without its job.
  const actions = (await db.query<{ oid: number; parent_id: number }>(`SELECT oid, parent_id FROM schedaction_pool WHERE type = 'BACKUPJOB'`)).rows;
  for (const a of actions) assert.ok(jobs.has(a.parent_id), `${label}: action ${a.oid} has its job ${a.parent_id}`);
  for (const [id, row] of jobs) {
    for (const sa of row.body.schedActions) assert.ok(actions.some((a) => a.oid === sa && a.parent_id === id), `${label}: job ${id} action ${sa}`);
  }
  // Job sets, VM states and the emulated transfers agree.
  const inBackup = new Map((await db.query<{ oid: number; bj: string | null }>(
    `SELECT oid, body->'backups'->'config'->>'BACKUP_JOB_ID' AS bj FROM vm_pool WHERE state = 3 AND lcm_state IN (69, 70)`)).rows.map((r) => [r.oid, r.bj]));
  const runs = new Set((await db.query<{ vm_id: number }>('SELECT vm_id FROM vm_backup_runs')).rows.map((r) => r.vm_id));
  assert.deepEqual([...runs].sort(), [...inBackup.keys()].sort(), `${label}: a transfer for every VM in BACKUP and no other`);
  for (const [id, row] of jobs) {
    const backingUp = [...row.body.backingUpVms].sort();
    const actual = [...inBackup].filter(([, bj]) => bj === String(id)).map(([vm]) => vm).sort();
    assert.deepEqual(backingUp, actual, `${label}: job ${id} BACKING_UP_VMS are its VMs in BACKUP`);
    assert.ok(row.body.outdatedVms.every((v) => !backingUp.includes(v)), `${label}: job ${id} OUTDATED and BACKING_UP are apart`);
  }
  const { rows: [counter] } = await db.query<{ last_oid: number }>(`SELECT last_oid FROM pool_control WHERE tablename = 'backupjob_pool'`);
  assert.ok(ledger.allocatedIds.every((id) => id <= counter.last_oid), `${label}: the id counter is past every id handed out`);
}

for (const targetName of ['pglite', 'postgres'] as const) {
  const serverUrl = process.env.TEST_DATABASE_URL;
  describe(`crash safety: ${KILLS} SIGKILLs during a mixed workload (${targetName})`,
    { skip: targetName === 'postgres' && !serverUrl ? 'needs TEST_DATABASE_URL' : false, timeout: 60000 + KILLS * 15000 }, () => {
      let target: Target;
      before(async () => { target = targetName === 'pglite' ? pgliteTarget() : await postgresTarget(serverUrl!); });
      after(async () => { await target.dispose(); });

      it('acknowledged writes survive, nothing is half written, every backup finishes, a due schedule fires once', async () => {
        // The kill moments and the workload's choices replay from CRASH_SEED.
        const random = mulberry32(SEED);
        const ledger = new Ledger();
        let server = await startServer(target.env);
        const call = async (method: string, ...p: RpcValue[]) => {
          const r = (await server.client.call(method, SESSION, ...p)) as RpcValue[];
          assert.equal(r[0], true, `${method}: ${String(r[1])}`);
          return r[1] as number;
        };
        const hosts = [await call('one.host.allocate', 'crash-0', 'dummy', 'dummy', -1), await call('one.host.allocate', 'crash-1', 'dummy', 'dummy', -1)];
        const ds = await call('one.datastore.allocate', 'NAME = "crash-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"', -1);
        const vms: number[] = [];
        for (let i = 0; i < 8; i++) {
          const vm = await call('one.vm.allocate', `NAME = "crash-${i}"\nCPU = 0.01\nMEMORY = 8\nDISK = [ TYPE = "fs", SIZE = 1 ]\nEMU_BACKUP_SECONDS = 1`, true);
          await call('one.vm.deploy', vm, hosts[i % 2]);
          vms.push(vm);
        }
        const workloadJob = await call('one.backupjob.allocate', `NAME = "crash-manual"\nEXECUTION = PARALLEL\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${vms.slice(0, 4).join(',')}"`);
        // Due a moment after the kills start: it comes due while the server is up or down, and must run once.
        const dueAt = Math.floor(Date.now() / 1000) + 2;
        const scheduledJob = await call('one.backupjob.allocate', `NAME = "crash-scheduled"\nEXECUTION = SEQUENTIAL\nDATASTORE_ID = ${ds}\n`
          + `BACKUP_VMS = "${vms.slice(4).join(',')}"\nSCHED_ACTION = [ TIME = "${dueAt}" ]`);

        for (let k = 0; k < KILLS; k++) {
          let stop = false;
          const live = () => ledger.ops.filter((o) => o.kind === 'allocate' && o.outcome === 'acked').map((o) => o.id!)
            .filter((id) => !ledger.ops.some((d) => d.kind === 'delete' && d.id === id && d.outcome !== 'failed'));
          const workers = [
            (async () => {
              for (let n = 0; !stop; n++) {
                const name = `w-${k}-${n}`;
                await ledger.track({ kind: 'allocate', name, outcome: 'unknown' },
                  () => server.client.call('one.backupjob.allocate', SESSION, `NAME = "${name}"\nSCHED_ACTION = [ TIME = "2000000000" ]`));
              }
            })(),
            (async () => {
              while (!stop) {
                const ids = live();
                if (ids.length === 0) { await new Promise((r) => setTimeout(r, 5)); continue; }
                const id = ids[Math.floor(random() * ids.length)];
                const keepLast = Math.floor(random() * 1000);
                await ledger.track({ kind: 'update', id, keepLast, outcome: 'unknown' },
                  () => server.client.call('one.backupjob.update', SESSION, id, `KEEP_LAST = ${keepLast}`, 1));
              }
            })(),
            (async () => {
              while (!stop) {
                const ids = live();
                if (ids.length < 3) { await new Promise((r) => setTimeout(r, 5)); continue; }
                const id = ids[Math.floor(random() * ids.length)];
                await ledger.track({ kind: 'delete', id, outcome: 'unknown' }, () => server.client.call('one.backupjob.delete', SESSION, id));
              }
            })(),
            (async () => {
              while (!stop) {
                await server.client.call('one.backupjob.backup', SESSION, workloadJob).catch(() => undefined);
                await new Promise((r) => setTimeout(r, 50));
              }
            })(),
          ];
          await new Promise((r) => setTimeout(r, 150 + random() * 1200));
          await kill(server.child);
          stop = true;
          await Promise.all(workers);
          server.client.close();
          const db = await target.open();
          try {
            await checkDatabase(db, ledger, `after kill ${k + 1}`);
          } finally {
            await db.close();
          }
          server = await startServer(target.env);
        }

        // Left alone, every backup finishes and the schedule that came due during the kills has run, once.
        const deadline = Date.now() + 60000;
        for (;;) {
          const job = String((await server.client.call('one.backupjob.info', SESSION, scheduledJob) as RpcValue[])[1]);
          const manual = String((await server.client.call('one.backupjob.info', SESSION, workloadJob) as RpcValue[])[1]);
          const idle = (xml: string) => /<OUTDATED_VMS\/>|<OUTDATED_VMS><\/OUTDATED_VMS>/.test(xml) && /<BACKING_UP_VMS\/>|<BACKING_UP_VMS><\/BACKING_UP_VMS>/.test(xml);
          if (idle(job) && idle(manual) && /<DONE>[1-9]/.test(job)) break;
          if (Date.now() > deadline) assert.fail(`backups did not settle:\n${job}\n${manual}`);
          await new Promise((r) => setTimeout(r, 200));
        }
        await kill(server.child);
        server.client.close();
        const db = await target.open();
        try {
          await checkDatabase(db, ledger, 'at the end');
          const { rows } = await db.query<{ oid: number; n: number }>(
            `SELECT oid, (SELECT count(*)::int FROM jsonb_array_elements(body->'history') h WHERE (h->>'action')::int = 50) AS n
             FROM vm_pool WHERE oid = ANY($1::int[]) ORDER BY oid`, [vms.slice(4)]);
          assert.deepEqual(rows.map((r) => r.n), [1, 1, 1, 1], 'the schedule backed up each of its VMs once');
          assert.equal(new Set(ledger.allocatedIds).size, ledger.allocatedIds.length, 'no id was handed out twice');
        } finally {
          await db.close();
        }
        const acked = ledger.ops.filter((o) => o.outcome === 'acked').length;
        const cut = ledger.ops.filter((o) => o.outcome === 'unknown').length;
        process.stdout.write(`# crash safety (${targetName}): ${KILLS} kills, ${ledger.ops.length} calls, ${acked} acknowledged, ${cut} cut by a kill; all invariants held\n`);
      });
    });
}
