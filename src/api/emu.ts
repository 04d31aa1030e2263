import { isAdmin } from '../domain/authorization.js';
import { backupProgress } from '../domain/backupProgress.js';
import { actionError, authorizationError } from '../domain/errors.js';
import { ManualClock, nowSeconds } from '../clock.js';
import { INT32_MAX, RpcDouble, type RpcValue } from '../rpc/values.js';
import { runningBackups, type RunningBackup } from '../store/runningBackups.js';
import type { ApiMethod, Request } from './app.js';

/** Extension methods outside oned's namespace, oneadmin only, with oned's reply shape. */
function requireOneadmin(req: Request): void {
  if (!isAdmin(req.caller)) throw authorizationError('Only oneadmin may use the emulator methods');
}

function manualClock(req: Request): ManualClock {
  if (!(req.app.clock instanceof ManualClock)) throw actionError('The clock is not manual: start oned-emu with --clock manual');
  return req.app.clock;
}

function scheduler(req: Request) {
  if (!req.app.scheduler) throw actionError('This process runs no scheduler');
  return req.app.scheduler;
}

const num = (v: RpcValue) => v as number;

/** One running backup as emu.backup.progress describes it. */
function progressStruct(run: RunningBackup, now: number): Map<string, RpcValue> {
  const p = backupProgress(run, now);
  return new Map<string, RpcValue>([
    ['VM_ID', run.vmId], ['VM_NAME', run.vmName], ['HOST_ID', run.hostId], ['BACKUPJOB_ID', run.jobId],
    ['DATASTORE_ID', run.datastoreId], ['SIZE_MB', run.sizeMb], ['TRANSFERRED_MB', p.transferredMb],
    ['STARTED', run.startedAt], ['ENDS', run.endsAt], ['REMAINING', p.remainingS], ['PROGRESS', new RpcDouble(p.fraction)],
  ]);
}

export const emuMethods: ApiMethod[] = [
  {
    name: 'emu.clock.get', signature: 'A:s', object: 'ZONE',
    async run(req) { requireOneadmin(req); return nowSeconds(req.app.clock); },
  },
  {
    name: 'emu.clock.set', signature: 'A:si', object: 'ZONE',
    async run(req, p) {
      requireOneadmin(req);
      const clock = manualClock(req);
      const target = num(p[1]);
      const now = nowSeconds(clock);
      if (target < now) throw actionError(`The emulated clock only moves forward (now ${now})`);
      return scheduler(req).advance(target - now);
    },
  },
  {
    name: 'emu.clock.advance', signature: 'A:si', object: 'ZONE',
    async run(req, p) {
      requireOneadmin(req);
      manualClock(req);
      const seconds = num(p[1]);
      if (seconds < 0) throw actionError('The emulated clock only moves forward');
      // Epochs travel as <i4>: past this one emu.clock.* could not answer at all.
      if (nowSeconds(req.app.clock) + seconds > INT32_MAX) {
        throw actionError(`The emulated clock cannot go past ${INT32_MAX} (2038-01-19 03:14:07 UTC), the last epoch XML-RPC carries`);
      }
      return scheduler(req).advance(seconds);
    },
  },
  {
    name: 'emu.backup.progress', signature: 'A:s', object: 'ZONE',
    async run(req) {
      requireOneadmin(req);
      const now = nowSeconds(req.app.clock);
      const runs = await runningBackups(req.app.db);
      return new Map<string, RpcValue>([['NOW', now], ['BACKUPS', runs.map((r) => progressStruct(r, now))]]);
    },
  },
  {
    name: 'emu.scheduler.tick', signature: 'A:s', object: 'ZONE',
    async run(req) { requireOneadmin(req); await scheduler(req).tick(); return nowSeconds(req.app.clock); },
  },
];
