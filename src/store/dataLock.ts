/**
 * PGlite runs PostgreSQL inside this process, with no server arbitrating access to its files: two processes on one
 * data folder would corrupt it. A lock file holding the owner's pid guards the folder.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export class DatabaseLockedError extends Error {
  constructor(readonly dataDir: string, readonly ownerPid: number) {
    super(`data folder ${dataDir} is in use by process ${ownerPid}; `
      + 'PGlite allows one process per data folder: stop it or use DATABASE_URL');
    this.name = 'DatabaseLockedError';
  }
}

export const LOCK_FILE_NAME = 'oned-emu.lock';

/** Takes over stale locks at most this many times before giving up, so a pathological race cannot spin forever. */
const MAX_ATTEMPTS = 5;

export async function acquireDataDirLock(dataDir: string): Promise<{ release(): Promise<void> }> {
  const absoluteDir = path.resolve(dataDir);
  await fs.mkdir(absoluteDir, { recursive: true });
  const lockPath = path.join(absoluteDir, LOCK_FILE_NAME);
  const ownPid = process.pid;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await createLockFile(lockPath, ownPid)) return lockHandle(lockPath, ownPid);
    const holder = await readPid(lockPath);
    if (holder === undefined) continue;   // vanished between our attempt and the read: try again
    if (isAlive(holder)) throw new DatabaseLockedError(absoluteDir, holder);
    await removeStaleLock(lockPath, holder);
  }
  throw new Error(`could not take the lock of data folder ${absoluteDir} after ${MAX_ATTEMPTS} attempts `
    + '(another process keeps racing for it)');
}

/**
 * Writes the pid to a private file, then hard-links it to the lock path: link() fails if the lock exists, like an
 * O_EXCL create, and a reader can never see a lock file whose pid is not written yet.
 */
async function createLockFile(lockPath: string, pid: number): Promise<boolean> {
  const draftPath = `${lockPath}.${pid}.${randomBytes(4).toString('hex')}`;
  await fs.writeFile(draftPath, `${pid}\n`, { flag: 'wx' });
  try {
    await fs.link(draftPath, lockPath);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(draftPath, { force: true });
  }
}

/** The pid in a lock file, or undefined when the file is gone. A file without a pid is not ours to judge: refuse. */
async function readPid(filePath: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fs.readFile(filePath, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new Error(`lock file ${filePath} does not hold a process id (${JSON.stringify(text.slice(0, 40))}); `
      + 'remove it if no process uses the data folder');
  }
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return errorCode(error) !== 'ESRCH';
  }
}

/**
 * Moves the lock aside before deleting it, so that if another process took the stale lock over first, we remove
 * nothing of theirs without looking: the renamed file is checked, and put back when it is not the stale one.
 */
async function removeStaleLock(lockPath: string, stalePid: number): Promise<void> {
  const asidePath = `${lockPath}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(lockPath, asidePath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw error;
  }
  const movedPid = await readPid(asidePath).catch(() => undefined);
  if (movedPid !== undefined && movedPid !== stalePid) {
    await fs.link(asidePath, lockPath).catch((error: unknown) => {
      if (errorCode(error) !== 'EEXIST') throw error;
    });
  }
  await fs.rm(asidePath, { force: true });
}

function lockHandle(lockPath: string, pid: number): { release(): Promise<void> } {
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // Only delete the file if it is still ours (an operator may have removed it and another process locked).
      if (await readPid(lockPath).catch(() => undefined) === pid) await fs.rm(lockPath, { force: true });
    },
  };
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}
