import type { App } from '../api/app.js';
import { ManualClock, nowSeconds } from '../clock.js';
import { completeDueBackups } from './backupDriver.js';
import { schedulerOutlook } from '../store/schedulerQueries.js';
import { placePendingVms } from './placement.js';
import { samTick } from './sam.js';

/** What one tick did, for tests and logs; `skipped` when another process held the tick. */
export interface TickReport { at: number; placed: number; backupsCompleted: number; skipped: boolean }

/** Advisory-lock key: one tick at a time cloud-wide, whichever process runs it. */
const TICK_LOCK = 0x0ed0_0003;

/**
 * The background loop of the emulated cloud: every MANAGER_TIMER seconds a tick (placement of PENDING VMs, the
 * scheduled-action manager's work), and emulated backups completing at their due time. With the system clock it
 * runs on timers; with a manual clock time moves only through advance()/tick(), as a discrete-event simulation.
 */
export class Scheduler {
  private lastTick: number;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly app: App) {
    this.lastTick = nowSeconds(app.clock);
  }

  /** Runs one tick at the clock's current time. Ticks never overlap in this process. */
  tick(): Promise<TickReport> {
    const run = this.running.then(() => this.runTick());
    this.running = run.catch(() => undefined);
    return run;
  }

  private async runTick(): Promise<TickReport> {
    const at = nowSeconds(this.app.clock);
    this.lastTick = at;
    const lock = await this.app.db.tryAdvisoryLock(TICK_LOCK);
    if (!lock) return { at, placed: 0, backupsCompleted: 0, skipped: true };
    const started = performance.now();
    try {
      const backupsCompleted = await completeDueBackups(this.app, at);
      const placed = await placePendingVms(this.app, at);
      await samTick(this.app, at, { timeZone: this.app.config.SCHED_TIMEZONE, onedQuirks: this.app.config.SCHED_ONED_QUIRKS });
      return { at, placed, backupsCompleted, skipped: false };
    } finally {
      await lock.release();
      this.app.onTickDone?.((performance.now() - started) / 1000);
    }
  }

  /**
   * Moves a manual clock forward by `seconds`, running in time order every tick (at MANAGER_TIMER steps from the
   * last one) and every backup completion that falls inside the interval.
   */
  async advance(seconds: number): Promise<number> {
    const clock = this.app.clock;
    if (!(clock instanceof ManualClock)) throw new Error('the clock is not manual');
    const target = nowSeconds(clock) + seconds;
    const step = this.app.config.MANAGER_TIMER;
    for (;;) {
      const outlook = await schedulerOutlook(this.app.db, this.app.config.MAX_BACKUPS);
      const nextBackup = outlook.nextBackupEnd ?? Infinity;
      let nextTick = this.lastTick + step;
      // A tick finds work only when a VM is PENDING, a job has OUTDATED VMs and a free slot, an action came due or a
      // backup ended; the ticks before that would do nothing, so the simulation jumps to the first tick that can act:
      // the one after the next action's TIME (actions are due strictly after it), or the one at or after the next
      // backup's end (so a tick that coincides with it both completes it and launches the next).
      if (!outlook.busy) {
        const afterAction = outlook.nextActionTime === undefined ? Infinity
          : this.lastTick + (Math.floor((outlook.nextActionTime - this.lastTick) / step) + 1) * step;
        const atBackup = nextBackup === Infinity ? Infinity
          : this.lastTick + Math.max(1, Math.ceil((nextBackup - this.lastTick) / step)) * step;
        nextTick = Math.max(nextTick, Math.min(afterAction, atBackup));
      }
      if (Math.min(nextTick, nextBackup) > target) {
        // Keep the tick grid: the last (idle) tick before the target is where the next one counts from.
        this.lastTick += Math.floor((target - this.lastTick) / step) * step;
        break;
      }
      if (nextBackup < nextTick) {
        clock.set(Math.max(clock.now(), nextBackup * 1000));
        await this.running.then(() => completeDueBackups(this.app, nextBackup));
      } else {
        clock.set(Math.max(clock.now(), nextTick * 1000));
        await this.tick();
      }
    }
    clock.set(Math.max(clock.now(), target * 1000));
    return nowSeconds(clock);
  }

  /** Starts the wall-clock timers (system clock only). */
  start(): void {
    if (this.app.clock instanceof ManualClock) return;
    const every = Math.max(50, this.app.config.MANAGER_TIMER * 1000);
    const onError = (err: unknown) => this.app.log.error('SCH', `Tick failed: ${(err as Error)?.stack ?? String(err)}`);
    this.timers.push(setInterval(() => { this.tick().catch(onError); }, every));
    // Backups end on their own time, not on tick boundaries.
    this.timers.push(setInterval(() => {
      this.running = this.running.then(() => completeDueBackups(this.app, nowSeconds(this.app.clock))).catch(onError);
    }, 1000));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
  }
}
