import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { RpcValue } from '../../src/rpc/values.js';
import { openDatabase } from '../../src/store/database.js';
import { okXml, startTestCloud, type TestCloud } from '../support/cloud.js';
import { TcpProxy } from '../support/tcpProxy.js';

/**
 * PostgreSQL going away under a running oned-emu (through a relay the test breaks): calls fail with oned's INTERNAL
 * reply within the wait timeout instead of hanging, nothing is half written, the process stays up, and everything
 * works again by itself once the database is back, the scheduler included, without launching a backup twice.
 */
const SERVER_URL = process.env.TEST_DATABASE_URL;
const WAIT_MS = 1500;
const INTERNAL = 0x2000;

const ok = (r: RpcValue[]) => { assert.equal(r[0], true, String(r[1])); return r[1] as number; };
const ids = (xml: string, tag: string) => [...(xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1] ?? '').matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));

describe('PostgreSQL going away and coming back', { skip: SERVER_URL ? false : 'needs TEST_DATABASE_URL', timeout: 60000 }, () => {
  const dbName = `oned_emu_outage_${process.pid}`;
  let admin: pg.Client;
  let direct: pg.Client;
  let proxy: TcpProxy;
  let cloud: TestCloud;

  before(async () => {
    admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const target = new URL(SERVER_URL!);
    target.pathname = `/${dbName}`;
    direct = new pg.Client({ connectionString: target.toString() });
    await direct.connect();
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    const relayed = new URL(target);
    relayed.host = `127.0.0.1:${proxy.port}`;
    cloud = await startTestCloud({ name: 'postgres', open: () => openDatabase({ url: relayed.toString(), waitTimeoutMs: WAIT_MS }) },
      { MAX_BACKUPS: 5, MAX_BACKUPS_HOST: 2 });
  });

  after(async () => {
    await cloud?.stop();
    await proxy?.close();
    await direct?.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  const rows = async (table: string) => (await direct.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

  /** The call's reply and how long it took. */
  async function timedCall(method: string, ...params: RpcValue[]): Promise<{ reply: RpcValue[]; ms: number }> {
    const t = performance.now();
    const reply = await cloud.call(method, ...params);
    return { reply, ms: performance.now() - t };
  }

  for (const mode of ['refuse', 'blackhole'] as const) {
    it(`${mode}: INTERNAL replies within the wait timeout, no partial write, then recovery by itself`, async () => {
      const before = ok(await cloud.call('one.backupjob.allocate', `NAME = "before-${mode}"`));
      const jobs = await rows('backupjob_pool');
      proxy.cut(mode);
      try {
        for (const [method, params] of [
          ['one.backupjob.info', [before]],
          ['one.backupjob.allocate', [`NAME = "during-${mode}"`]],
          ['one.backupjob.update', [before, 'KEEP_LAST = 3', 1]],
        ] as Array<[string, RpcValue[]]>) {
          const { reply, ms } = await timedCall(method, ...params);
          assert.equal(reply[0], false, `${method} cannot succeed without its database`);
          assert.equal(reply[1], `[${method}] Internal error`);
          assert.equal(reply[2], INTERNAL);
          // Authentication waits once for the database; a refused connection fails at once.
          assert.ok(ms < WAIT_MS * 2 + 1000, `${method} answered in ${ms.toFixed(0)} ms`);
        }
      } finally {
        proxy.restore();
      }
      assert.equal(await rows('backupjob_pool'), jobs, 'nothing written while the database was away');
      // The pool drops the broken connections and opens new ones on its own.
      ok(await cloud.call('one.backupjob.allocate', `NAME = "after-${mode}"`));
      assert.match(String((await cloud.call('one.backupjob.info', before))[1]), /<BACKUPJOB>/);
      process.stdout.write(`# database ${mode}: info, allocate and update answered INTERNAL within ${WAIT_MS * 2 + 1000} ms, `
        + 'nothing written, calls work again once it is back\n');
    });
  }

  it('the scheduler fails its tick while the database is away and launches each backup once when it is back', async () => {
    const host = ok(await cloud.call('one.host.allocate', 'outage-host', 'dummy', 'dummy', -1));
    const ds = ok(await cloud.call('one.datastore.allocate', 'NAME = "outage-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"', -1));
    const vms: number[] = [];
    for (let i = 0; i < 2; i++) {
      const vm = ok(await cloud.call('one.vm.allocate', `NAME = "outage-${i}"\nCPU = 0.1\nMEMORY = 64\nDISK = [ SIZE = 10, TYPE = "fs" ]\nEMU_BACKUP_SECONDS = 30`, true));
      ok(await cloud.call('one.vm.deploy', vm, host));
      vms.push(vm);
    }
    const job = ok(await cloud.call('one.backupjob.allocate', `NAME = "outage-job"\nEXECUTION = PARALLEL\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${vms.join(',')}"`));
    ok(await cloud.call('one.backupjob.backup', job));
    proxy.cut('blackhole');
    try {
      const { reply } = await timedCall('emu.scheduler.tick');
      assert.equal(reply[0], false, 'the tick cannot run');
    } finally {
      proxy.restore();
    }
    assert.equal((await direct.query('SELECT count(*)::int AS n FROM vm_backup_runs')).rows[0].n, 0, 'nothing launched');
    ok(await cloud.call('emu.scheduler.tick'));
    ok(await cloud.call('emu.scheduler.tick'));
    assert.deepEqual(ids(okXml(await cloud.call('one.backupjob.info', job)), 'BACKING_UP_VMS'), vms);
    await cloud.call('emu.clock.advance', 60);
    const xml = okXml(await cloud.call('one.backupjob.info', job));
    assert.deepEqual(ids(xml, 'UPDATED_VMS'), vms);
    const launches = await direct.query<{ n: number }>(
      `SELECT (SELECT count(*)::int FROM jsonb_array_elements(body->'history') h WHERE (h->>'action')::int = 50) AS n
       FROM vm_pool WHERE oid = ANY($1::int[])`, [vms]);
    assert.deepEqual(launches.rows.map((r) => r.n), [1, 1], 'each VM backed up exactly once');
  });
});
