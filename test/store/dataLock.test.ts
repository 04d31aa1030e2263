import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { acquireDataDirLock, DatabaseLockedError, LOCK_FILE_NAME } from '../../src/store/dataLock.js';
import { DatabaseLockedError as ReexportedError, openDatabase } from '../../src/store/database.js';

const dataLockModule = new URL('../../src/store/dataLock.js', import.meta.url).href;

/** Runs a node child that tries to take the lock; it prints 'acquired' or the error, then waits for stdin to end. */
function lockingChild(dataDir: string) {
  const script = `
    import { acquireDataDirLock } from ${JSON.stringify(dataLockModule)};
    try {
      const lock = await acquireDataDirLock(${JSON.stringify(dataDir)});
      console.log('acquired');
      process.stdin.resume();
      process.stdin.on('end', async () => { await lock.release(); process.exit(0); });
    } catch (error) {
      console.log(error.name + ': ' + error.message);
      process.exit(3);
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const firstLine = new Promise<string>((resolve) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(output.split('\n')[0]);
    });
  });
  return { child, firstLine };
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  assert.ok(child.pid);
  return child.pid;
}

describe('data folder lock', () => {
  let root: string;
  let counter = 0;
  const freshDir = () => path.join(root, `data-${++counter}`);
  before(async () => { root = await fs.mkdtemp(path.join(os.tmpdir(), 'oned-emu-lock-')); });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  it('creates the folder, records our pid, refuses a second holder in this process and frees on release', async () => {
    const dir = freshDir();
    const lock = await acquireDataDirLock(dir);
    assert.equal((await fs.readFile(path.join(dir, LOCK_FILE_NAME), 'utf8')).trim(), String(process.pid));
    await assert.rejects(acquireDataDirLock(dir), (error: Error) => error instanceof DatabaseLockedError
      && error.message === `data folder ${path.resolve(dir)} is in use by process ${process.pid}; `
        + 'PGlite allows one process per data folder: stop it or use DATABASE_URL');
    await lock.release();
    await assert.rejects(fs.access(path.join(dir, LOCK_FILE_NAME)));
    const again = await acquireDataDirLock(dir);
    await again.release();
  });

  it('is refused to another process while we hold it', async () => {
    const dir = freshDir();
    const lock = await acquireDataDirLock(dir);
    try {
      const { child, firstLine } = lockingChild(dir);
      assert.equal(await firstLine, `DatabaseLockedError: data folder ${path.resolve(dir)} is in use by process ${process.pid}; `
        + 'PGlite allows one process per data folder: stop it or use DATABASE_URL');
      const [code] = await once(child, 'exit');
      assert.equal(code, 3);
    } finally {
      await lock.release();
    }
  });

  it('refuses us while another process holds it, and takes over once that process is killed', async () => {
    const dir = freshDir();
    const { child, firstLine } = lockingChild(dir);
    assert.equal(await firstLine, 'acquired');
    await assert.rejects(acquireDataDirLock(dir),
      (error: Error) => error instanceof DatabaseLockedError && error.ownerPid === child.pid);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = await acquireDataDirLock(dir);
    assert.equal((await fs.readFile(path.join(dir, LOCK_FILE_NAME), 'utf8')).trim(), String(process.pid));
    await lock.release();
  });

  it('takes over a stale lock left by a dead process', async () => {
    const dir = freshDir();
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, LOCK_FILE_NAME), `${await deadPid()}\n`);
    const lock = await acquireDataDirLock(dir);
    assert.equal((await fs.readFile(path.join(dir, LOCK_FILE_NAME), 'utf8')).trim(), String(process.pid));
    await lock.release();
    assert.deepEqual(await fs.readdir(dir), [], 'no leftover draft or stale files');
  });

  it('refuses a lock file that holds no pid instead of guessing', async () => {
    const dir = freshDir();
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, LOCK_FILE_NAME), 'garbage');
    await assert.rejects(acquireDataDirLock(dir), /does not hold a process id/);
  });

  it('does not delete a lock file that is no longer ours on release', async () => {
    const dir = freshDir();
    const lock = await acquireDataDirLock(dir);
    const lockPath = path.join(dir, LOCK_FILE_NAME);
    await fs.writeFile(lockPath, '1\n');   // e.g. an operator removed ours and another process (pid 1) locked
    await lock.release();
    assert.equal((await fs.readFile(lockPath, 'utf8')).trim(), '1');
  });

  it('makes openDatabase refuse a data folder already open, until it is closed', async () => {
    const dir = freshDir();
    const db = await openDatabase({ dataDir: dir });
    try {
      await assert.rejects(openDatabase({ dataDir: dir }), ReexportedError);
    } finally {
      await db.close();
    }
    const reopened = await openDatabase({ dataDir: dir });
    await reopened.close();
  });
});
