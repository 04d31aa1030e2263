/**
 * The child side of serverProcess.ts: an oned-emu server on a fresh database of one test backend, in a process of
 * its own so that tests can watch it stay up and measure its memory. It answers the parent's questions over the IPC
 * channel (database checksum, memory, unexpected errors logged) and stops when the parent disconnects.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ManualClock } from '../../src/clock.js';
import { DEFAULTS, type Config } from '../../src/config.js';
import type { Logger, LogModule } from '../../src/logger.js';
import { startServer } from '../../src/server.js';
import { backends } from './backends.js';
import { ONEADMIN_PASSWORD, TEST_EPOCH_S } from './cloud.js';
import { databaseChecksums } from './dbChecksum.js';
import type { ChildReply, ChildRequest } from './serverProcess.js';

/** Log lines that mean the server hit an exception instead of answering as oned would. */
const UNEXPECTED = /failed unexpectedly|XML-RPC server error|Tick failed|Authentication failed on a database error/;
const KEPT_UNEXPECTED = 20;

/** Discards the oned.log lines (a memory logger would grow with every call) but keeps the unexpected ones. */
function watchingLogger(): Logger & { unexpected: string[]; unexpectedCount: number } {
  const watcher = {
    unexpected: [] as string[],
    unexpectedCount: 0,
    error(module: LogModule, message: string) {
      if (!UNEXPECTED.test(message)) return;
      watcher.unexpectedCount++;
      if (watcher.unexpected.length < KEPT_UNEXPECTED) watcher.unexpected.push(`[${module}] ${message}`);
    },
    warn() {}, info() {}, debug() {},
    close: async () => {},
  };
  return watcher;
}

/**
 * Linux keeps the peak resident set size (VmHWM) and lets a process reset it (clear_refs 5), so the peak can be
 * measured from a chosen moment (by default from when the server is up: PGlite's start-up dominates it otherwise).
 * Elsewhere there is no peak to report.
 */
function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // not Linux: peakRss() has nothing to say
  }
}

function peakRss(): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const backend = backends().find((b) => b.name === process.env.SERVER_CHILD_BACKEND);
  if (!backend) throw new Error(`unknown backend ${process.env.SERVER_CHILD_BACKEND}`);
  const overrides = JSON.parse(process.env.SERVER_CHILD_CONFIG ?? '{}') as Partial<Config>;
  const db = await backend.open();
  const log = watchingLogger();
  const server = await startServer({
    config: { ...DEFAULTS, DB: { ...DEFAULTS.DB }, PORT: 0, ...overrides },
    // A manual clock: nothing runs in the background, so the database changes only through calls.
    clock: new ManualClock(TEST_EPOCH_S * 1000), log, db, env: { ONEADMIN_PASSWORD },
  });
  const send = (reply: ChildReply) => process.send?.(reply);

  process.on('message', (request: ChildRequest) => {
    const answer = async (): Promise<unknown> => {
      switch (request.type) {
        case 'checksum': return databaseChecksums(db);
        case 'resetPeakRss': return resetPeakRss();
        case 'memory':
          // With --expose-gc, heapUsed is measured after a full collection so that it shows what is retained.
          (globalThis as { gc?: () => void }).gc?.();
          return { rss: process.memoryUsage().rss, peakRss: peakRss(), heapUsed: process.memoryUsage().heapUsed };
        // Enumerable keys on Object.prototype would mean a request polluted it.
        case 'unexpected': return { count: log.unexpectedCount, first: log.unexpected, polluted: Object.keys(Object.prototype) };
      }
    };
    answer().then((value) => send({ type: 'reply', id: request.id, value }),
      (err: unknown) => send({ type: 'reply', id: request.id, error: String((err as Error)?.stack ?? err) }));
  });
  process.once('disconnect', () => {
    server.stop().then(() => db.close()).then(() => process.exit(0), (err: unknown) => {
      process.stderr.write(`stopping: ${String((err as Error)?.stack ?? err)}\n`);
      process.exit(1);
    });
  });
  resetPeakRss();
  send({ type: 'ready', port: server.port });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
