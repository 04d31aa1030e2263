import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connection } from '../../src/top/top.js';
import { parseBackupJobPool } from '../../src/top/snapshot.js';
import { backends } from '../support/backends.js';
import { ONEADMIN, startTestCloud, type TestCloud } from '../support/cloud.js';

const CLI = resolve(fileURLToPath(import.meta.url), '../../../src/cli.js');

/** Runs `oned-emu top --once` as OpenNebula's CLI would be run: ONE_XMLRPC and a ONE_AUTH file. */
function topOnce(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, 'top', '--once'], { env: { ...process.env, TZ: 'UTC', COLUMNS: '120', ...env } },
      (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

function authFile(session: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'oned-emu-top-')), 'one_auth');
  writeFileSync(file, `${session}\n`);
  return file;
}

describe('oned-emu top: where it connects', () => {
  it('ONE_XMLRPC and ONE_AUTH as OpenNebula\'s CLI reads them, with the same defaults', () => {
    const home = mkdtempSync(join(tmpdir(), 'oned-emu-home-'));
    mkdirSync(join(home, '.one'));
    writeFileSync(join(home, '.one', 'one_auth'), 'oneadmin:secret\nignored\n');
    assert.deepEqual(connection({ HOME: home }), { endpoint: 'http://localhost:2633/RPC2', session: 'oneadmin:secret' });
    assert.deepEqual(connection({ ONE_XMLRPC: 'http://h:1/RPC2', ONE_AUTH: authFile('u:p') }), { endpoint: 'http://h:1/RPC2', session: 'u:p' });
    assert.throws(() => connection({ ONE_AUTH: '/nonexistent/one_auth' }), /cannot read the ONE_AUTH file \/nonexistent\/one_auth \(ENOENT\)/);
    assert.throws(() => connection({ ONE_AUTH: authFile('no-colon') }), /must hold one line user:password/);
  });

  it('reads the four sets of every job from a pool document, also an empty one', () => {
    assert.deepEqual(parseBackupJobPool('<BACKUPJOB_POOL></BACKUPJOB_POOL>'), []);
    const jobs = parseBackupJobPool('<BACKUPJOB_POOL><BACKUPJOB><ID>3</ID><NAME>j</NAME><PRIORITY>50</PRIORITY><LAST_BACKUP_TIME>7</LAST_BACKUP_TIME>'
      + '<LAST_BACKUP_DURATION>2</LAST_BACKUP_DURATION><UPDATED_VMS><ID>1</ID></UPDATED_VMS><OUTDATED_VMS/><BACKING_UP_VMS><ID>2</ID><ID>4</ID>'
      + '</BACKING_UP_VMS><ERROR_VMS></ERROR_VMS><TEMPLATE><EXECUTION><![CDATA[PARALLEL]]></EXECUTION></TEMPLATE></BACKUPJOB></BACKUPJOB_POOL>');
    assert.deepEqual(jobs, [{ id: 3, name: 'j', priority: 50, execution: 'PARALLEL', lastBackupTime: 7, lastBackupDuration: 2,
      outdated: [], backingUp: [2, 4], updated: [1], error: [] }]);
  });
});

for (const backend of backends()) {
  describe(`oned-emu top --once against a server (${backend.name})`, () => {
    let cloud: TestCloud;
    before(async () => {
      cloud = await startTestCloud(backend);
      const call = async (method: string, ...params: (string | number | boolean)[]) => {
        const reply = await cloud.call(method, ...params);
        assert.equal(reply[0], true, `${method}: ${String(reply[1])}`);
        return reply[1] as number;
      };
      await call('one.host.allocate', 'h1', 'dummy', 'dummy', -1);
      await call('one.datastore.allocate', 'NAME=bk\nTYPE=BACKUP_DS\nDS_MAD=dummy', -1);
      const vms: number[] = [];
      for (const size of [1700, 3400]) {
        const vm = await call('one.vm.allocate', `NAME=web-${size}\nCPU=0.1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=${size}]`, true);
        await call('one.vm.deploy', vm, 0);
        vms.push(vm);
      }
      const job = await call('one.backupjob.allocate', `NAME=nightly\nDATASTORE_ID=100\nBACKUP_VOLATILE=YES\nBACKUP_VMS="${vms.join(',')}"`);
      await call('one.backupjob.backup', job);
      await call('emu.scheduler.tick');
      await call('emu.clock.advance', 5);
    });
    after(async () => { await cloud.stop(); });

    it('prints one frame: the job with its sets, the running backup half done', async () => {
      const run = await topOnce({ ONE_XMLRPC: cloud.url, ONE_AUTH: authFile(ONEADMIN) });
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.split('\n');
      assert.equal(lines[0], `oned-emu top - ${cloud.url} - 2023-09-23 14:15:05`);
      assert.ok(lines.some((l) => /^ {4}0 nightly +50 SEQUENTIAL 09\/23 14:15:00 +0:00 1 +0 +- +-$/.test(l)), run.stdout);
      assert.ok(lines.some((l) => /^ {4}0 web-1700 +0 +0 +1\.7G \[█+░+\] +50% +0:05$/.test(l)), run.stdout);
    });

    it('fails clearly when the server refuses the session or is not there', async () => {
      const alice = await cloud.user('alice');
      const denied = await topOnce({ ONE_XMLRPC: cloud.url, ONE_AUTH: authFile(alice.session) });
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /Only oneadmin may use the emulator methods/);
      const away = await topOnce({ ONE_XMLRPC: 'http://127.0.0.1:1/RPC2', ONE_AUTH: authFile(ONEADMIN) });
      assert.equal(away.code, 1);
      assert.match(away.stderr, /ECONNREFUSED/);
    });
  });
}
