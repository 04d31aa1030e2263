/**
 * PGlite adapter. PGlite is one PostgreSQL session inside this process: it already runs one statement at a time and
 * makes top-level queries wait while one of its transactions is open, so transactions are serialised by PGlite
 * itself. Differences from the PostgreSQL adapter, inherent to a single session:
 *  - transactions never conflict, so there is nothing to retry;
 *  - advisory locks are re-entrant within one session, so they are kept in this process instead (PGlite is
 *    single-process per data folder, enforced by the data folder lock, so that covers every contender);
 *  - statement_timeout has no effect in PGlite's single-user backend.
 */
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { acquireDataDirLock } from './dataLock.js';
import {
  ChangeFeed, checkAdvisoryKey, NOTIFY_CHANNELS, parseInt8, TransactionScope, type Database, type NotifyChannel, type Queryable,
  type QueryResult,
} from './database.js';

const INT8_OID = 20;

export interface PgliteOptions {
  dataDir?: string;
  /** A dump of an initialised data folder (PGlite's dumpDataDir) to start from instead of running initdb: tests
   *  that open many fresh in-memory databases use it, since initdb dominates PGlite's start-up time. */
  template?: Blob;
}

export async function openPglite(opts: PgliteOptions): Promise<Database> {
  const dataLock = opts.dataDir === undefined ? undefined : await acquireDataDirLock(opts.dataDir);
  try {
    // PGlite derives array parsers (int8[]) from these element parsers.
    const pglite = await PGlite.create(opts.dataDir, { parsers: { [INT8_OID]: parseInt8 }, loadDataDir: opts.template });
    // The one session listens for good: a notification is delivered before the notifying commit's promise resolves.
    const changes = new ChangeFeed();
    for (const channel of NOTIFY_CHANNELS) await pglite.listen(channel, () => changes.notify(channel));
    return new PgliteDatabase(pglite, dataLock, changes);
  } catch (error) {
    await dataLock?.release();
    throw error;
  }
}

type PgliteResults = { rows: unknown[]; rowCount?: number };

/** Without a parameter array the simple protocol is used (several statements allowed), as `pg` does. */
async function runOn(target: PGlite | Transaction, sql: string, params: unknown[] | undefined): Promise<QueryResult<never>> {
  let result: PgliteResults | undefined;
  if (params !== undefined) {
    result = await target.query(sql, params);
  } else {
    const results = await target.exec(sql);
    result = results[results.length - 1];
  }
  return { rows: (result?.rows ?? []) as never[], rowCount: result?.rowCount ?? 0 };
}

class PgliteDatabase implements Database {
  readonly backend = 'pglite' as const;
  readonly #pglite: PGlite;
  readonly #dataLock: { release(): Promise<void> } | undefined;
  readonly #scope = new TransactionScope();
  readonly #advisoryLocks = new AdvisoryLocks();
  #closing: Promise<void> | undefined;

  readonly #changes: ChangeFeed;

  constructor(pglite: PGlite, dataLock: { release(): Promise<void> } | undefined, changes: ChangeFeed) {
    this.#pglite = pglite;
    this.#dataLock = dataLock;
    this.#changes = changes;
  }

  subscribe(channel: NotifyChannel, onChange: () => void): { listening(): boolean } {
    this.#changes.subscribe(channel, onChange);
    return { listening: () => this.#closing === undefined };
  }

  async query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    this.#scope.assertOutside('Database.query()');
    return runOn(this.#pglite, sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.#scope.assertOutside('Database.transaction()');
    return this.#pglite.transaction((pgliteTx) => {
      const tx: Queryable = {
        query: async <R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> => runOn(pgliteTx, sql, params),
      };
      return this.#scope.run(() => fn(tx));
    });
  }

  async withAdvisoryLock<T>(key: number, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    checkAdvisoryKey(key);
    await this.#advisoryLocks.acquire(key);
    try {
      return await fn(this);
    } finally {
      this.#advisoryLocks.release(key);
    }
  }

  async tryAdvisoryLock(key: number): Promise<{ release(): Promise<void> } | null> {
    checkAdvisoryKey(key);
    if (!this.#advisoryLocks.tryAcquire(key)) return null;
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.#advisoryLocks.release(key);
      },
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#pglite.close();
      } finally {
        await this.#dataLock?.release();
      }
    })();
    return this.#closing;
  }
}

/** In-process advisory locks: one holder per key, waiters served in arrival order. */
class AdvisoryLocks {
  readonly #waiters = new Map<number, Array<() => void>>();   // a key is held while it has an entry

  tryAcquire(key: number): boolean {
    if (this.#waiters.has(key)) return false;
    this.#waiters.set(key, []);
    return true;
  }

  acquire(key: number): Promise<void> {
    const queue = this.#waiters.get(key);
    if (!queue) {
      this.#waiters.set(key, []);
      return Promise.resolve();
    }
    return new Promise((resolve) => queue.push(resolve));
  }

  /** Hands the lock straight to the next waiter, so a tryAcquire in between cannot jump the queue. */
  release(key: number): void {
    const next = this.#waiters.get(key)?.shift();
    if (next) next();
    else this.#waiters.delete(key);
  }
}
