import { isAdmin } from '../domain/authorization.js';
import { actionError, authorizationError } from '../domain/errors.js';
import { ManualClock, nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
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
      return scheduler(req).advance(seconds);
    },
  },
  {
    name: 'emu.scheduler.tick', signature: 'A:s', object: 'ZONE',
    async run(req) { requireOneadmin(req); await scheduler(req).tick(); return nowSeconds(req.app.clock); },
  },
];
