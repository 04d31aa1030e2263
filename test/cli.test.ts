import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RpcClient } from './support/rpcClient.js';

const CLI = resolve(fileURLToPath(import.meta.url), '../../src/cli.js');

/** Starts `oned-emu serve` on an ephemeral port and resolves once it logs its address. */
function serve(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = new Promise<string>((resolveUrl, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+\/RPC2)/.exec(output);
      if (m) resolveUrl(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  return { child, url, output: () => output };
}

describe('oned-emu command line', () => {
  it('--help and bad usage', () => {
    const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /oned-emu serve \[--port N\]/);
    const bad = spawnSync(process.execPath, [CLI, 'fly'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command "fly"/);
    const badConfig = spawnSync(process.execPath, [CLI, 'serve'], { encoding: 'utf8', env: { ...process.env, MAX_BACKUPS: 'many' } });
    assert.equal(badConfig.status, 2);
    assert.match(badConfig.stderr, /invalid value for MAX_BACKUPS: "many"/);
  });

  it('serve on a fresh data folder: generated one_auth, /ready, version, then SIGTERM exits 0; data survives', async () => {
    const data = mkdtempSync(join(tmpdir(), 'oned-emu-cli-'));
    const env = { ONE_EMU_DATA: data, ONEADMIN_PASSWORD: '', ONE_AUTH: '', DATABASE_URL: '' };
    const first = serve([], env);
    const url = await first.url;
    const authFile = join(data, 'one_auth');
    assert.equal(statSync(authFile).mode & 0o777, 0o600);
    const session = readFileSync(authFile, 'utf8').trim();
    assert.match(session, /^oneadmin:[0-9a-f]{32}$/);
    assert.ok(first.output().includes(authFile), 'the log names the file');
    const client = new RpcClient(url);
    const ready = await client.raw('', {});
    assert.notEqual(ready.status, 0);
    const readyGet = await fetch(url.replace('/RPC2', '/ready'));
    assert.equal(readyGet.status, 200);
    assert.deepEqual(await client.call('one.system.version', session), [true, '7.4.0', 0]);
    assert.equal(((await client.call('one.backupjob.allocate', session, 'NAME=kept')) as unknown[])[1], 0);
    client.close();

    // A second process on the same data folder is refused while the first runs.
    const second = spawnSync(process.execPath, [CLI, 'serve', '--port', '0'], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, /in use by process \d+/);

    first.child.kill('SIGTERM');
    const code = await new Promise((r) => first.child.on('exit', r));
    assert.equal(code, 0);

    const again = serve([], env);
    const client2 = new RpcClient(await again.url);
    const pool = (await client2.call('one.backupjobpool.info', session, -2, -1, -1)) as unknown[];
    assert.match(String(pool[1]), /<NAME>kept<\/NAME>/);
    client2.close();
    again.child.kill('SIGINT');
    assert.equal(await new Promise((r) => again.child.on('exit', r)), 0);
  });

  it('seed --demo fills an empty cloud once, then refuses', () => {
    const data = mkdtempSync(join(tmpdir(), 'oned-emu-seed-'));
    const env = { ...process.env, DATABASE_URL: '', ONEADMIN_PASSWORD: 'pw' };
    const run = spawnSync(process.execPath, [CLI, 'seed', '--demo', '--data', data], { encoding: 'utf8', env });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /Demo cloud created:\n {2}hosts 0, 1; backup datastore 100 "demo-backups" \(1 TiB\)\n {2}8 running VMs: 0 web-1,/);
    assert.match(run.stdout, /backup job 0 "hourly": SEQUENTIAL, FULL, KEEP_LAST 24, first run at \d\d:\d\d:\d\d \(in 30 s\), then every hour/);
    const again = spawnSync(process.execPath, [CLI, 'seed', '--demo', '--data', data], { encoding: 'utf8', env });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /the database already holds a cloud \(hosts: 2, VMs: 8/);
    const bare = spawnSync(process.execPath, [CLI, 'seed', '--data', data], { encoding: 'utf8', env });
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /seed needs --demo/);
  });

  it('migrate applies the migrations and reports them', () => {
    const data = mkdtempSync(join(tmpdir(), 'oned-emu-migrate-'));
    const run = spawnSync(process.execPath, [CLI, 'migrate', '--data', data], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /migrations applied: 001_foundation\.sql, 002_backup_jobs\.sql/);
    const rerun = spawnSync(process.execPath, [CLI, 'migrate', '--data', data], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
    assert.match(rerun.stdout, /migrations applied: none \(already applied: \d+\)/);
  });
});
