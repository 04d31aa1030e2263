/**
 * One database interface over two adapters: PostgreSQL (through `pg`) when a URL is given, otherwise PGlite
 * (PostgreSQL compiled to WASM, in memory or persisted in a data folder). The same plain SQL runs on both.
 *
 * Value types returned by both adapters (columns):
 *   int2 / int4 / int8 (bigint, count(*)) / oid -> number   (int8 beyond Number.MAX_SAFE_INTEGER throws RangeError)
 *   int8[] -> number[];  float4 / float8 -> number;  numeric -> string (exact)
 *   text / varchar -> string;  boolean -> boolean;  json / jsonb -> parsed JS value
 *   timestamptz / timestamp -> Date (timestamp read as local time);  date -> Date at UTC midnight
 *   bytea -> Uint8Array (a Buffer, its subclass, on PostgreSQL)
 * Parameters use $1..$n on both. For a json/jsonb parameter pass a JSON string (or a plain object): `pg` turns a
 * JS array into a PostgreSQL array literal, so an array meant as JSON must be JSON.stringify'ed by the caller.
 *
 * `query(sql)` WITHOUT a parameter array uses the simple query protocol on both backends, so `sql` may hold several
 * statements; the result is the last statement's. With one (even `[]`), `sql` must be a single statement, and on
 * PostgreSQL it is prepared once per connection: pass `[]` for a hot statement that takes no parameters.
 *
 * Inside `transaction(fn)`, use only the `tx` handle: calling the Database's own query()/transaction() from within
 * fn throws (on PGlite's single connection it would wait for the running transaction forever; on PostgreSQL it
 * would silently run outside the transaction).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export { DatabaseLockedError } from './dataLock.js';

export interface QueryResult<R> { rows: R[]; rowCount: number }

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Runs these statements in order, their results unread; a transaction's handle on PostgreSQL sends them in one
   *  round trip. Absent elsewhere: see writeBehind(). */
  runAll?(statements: ReadonlyArray<Statement>): Promise<void>;
}

export interface Statement { sql: string; params: unknown[] | undefined }

/**
 * A handle that records the writes made through it (each answers no rows) and sends them together on flush(): the
 * closing writes of a transaction cost one round trip instead of one each. Only for statements whose result is
 * not read.
 */
export function writeBehind(tx: Queryable): { writes: Queryable; flush(): Promise<void> } {
  const statements: Statement[] = [];
  return {
    writes: {
      query: async <R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> => {
        statements.push({ sql, params });
        return { rows: [], rowCount: 0 };
      },
    },
    async flush() {
      const pending = statements.splice(0);
      if (pending.length === 0) return;
      if (tx.runAll && pending.length > 1) return tx.runAll(pending);
      for (const { sql, params } of pending) await tx.query(sql, params);
    },
  };
}

export interface Database extends Queryable {
  readonly backend: 'pglite' | 'postgres';
  /** Runs fn in one transaction (BEGIN ... COMMIT, ROLLBACK on throw, rethrows). On PostgreSQL retries the whole fn
   *  (up to 10 times, small jittered backoff) when it fails with serialization_failure 40001 or deadlock_detected 40P01.
   *  A transaction whose statement failed but whose fn returned normally is rolled back and throws (code 25P02). */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Blocks until the advisory lock `key` is held, runs fn, always unlocks. On PostgreSQL fn's handle is the one
   *  dedicated connection holding the lock; other work may still go through the Database meanwhile. */
  withAdvisoryLock<T>(key: number, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Non-blocking: the lock held (on its own connection on PostgreSQL) until release(), or null if someone holds it. */
  tryAdvisoryLock(key: number): Promise<{ release(): Promise<void> } | null>;
  /**
   * Calls onChange after each commit that NOTIFYs `channel` (before that commit's own promise resolves when this
   * Database made it: the notifying session listens too) and whenever one may have been missed. While the returned
   * listening() is false no session is listening, so what onChange keeps fresh must not be trusted.
   */
  subscribe(channel: NotifyChannel, onChange: () => void): { listening(): boolean };
  close(): Promise<void>;
}

/** Channels the schema's triggers NOTIFY on (migration 011); every session of a Database listens to all of them. */
export const NOTIFY_CHANNELS = ['oned_emu_users'] as const;
export type NotifyChannel = typeof NOTIFY_CHANNELS[number];

/** The subscribers of a Database's channels. */
export class ChangeFeed {
  readonly #subscribers = new Map<string, Array<() => void>>();

  subscribe(channel: NotifyChannel, onChange: () => void): void {
    this.#subscribers.set(channel, [...(this.#subscribers.get(channel) ?? []), onChange]);
  }

  notify(channel: string): void {
    for (const onChange of this.#subscribers.get(channel) ?? []) onChange();
  }

  /** Notifications may have been missed on every channel. */
  gap(): void {
    for (const channel of this.#subscribers.keys()) this.notify(channel);
  }
}

export interface OpenOptions { url?: string; dataDir?: string; memory?: boolean; poolSize?: number; statementTimeoutMs?: number; waitTimeoutMs?: number }

/** url → PostgreSQL; memory → in-memory PGlite; else PGlite persisted in dataDir (created if missing). */
export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.url) {
    const { openPostgres } = await import('./postgres.js');
    return openPostgres({ url: opts.url, poolSize: opts.poolSize, statementTimeoutMs: opts.statementTimeoutMs, waitTimeoutMs: opts.waitTimeoutMs });
  }
  const { openPglite } = await import('./pglite.js');
  if (opts.memory) return openPglite({});
  if (!opts.dataDir) throw new Error('openDatabase: give a PostgreSQL url, a PGlite dataDir, or memory: true');
  return openPglite({ dataDir: opts.dataDir });
}

/** Advisory lock keys are PostgreSQL bigints; both adapters accept only safe integers so keys never alias. */
export function checkAdvisoryKey(key: number): void {
  if (!Number.isSafeInteger(key)) throw new RangeError(`advisory lock key must be a safe integer, got ${key}`);
}

/** int8 comes back as text; ids and counters fit in a double, anything larger must not be silently rounded. */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint value ${text} does not fit in a JavaScript number`);
  return value;
}

/**
 * Remembers, per Database, whether the current async call chain is inside one of its transaction callbacks, so a
 * stray call to the Database itself (instead of the tx handle) fails loudly instead of deadlocking or escaping the
 * transaction. The flag is cleared when the transaction ends, so work started inside it may use the Database later.
 */
export class TransactionScope {
  readonly #storage = new AsyncLocalStorage<{ active: boolean }>();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const state = { active: true };
    try {
      return await this.#storage.run(state, fn);
    } finally {
      state.active = false;
    }
  }

  assertOutside(operation: string): void {
    if (this.#storage.getStore()?.active) {
      throw new Error(`${operation} called inside a transaction callback: use the tx handle passed to the callback`);
    }
  }
}

/** Error to throw when COMMIT turned into ROLLBACK because a statement failed earlier in the transaction. */
export function abortedTransactionError(): Error & { code: string } {
  return Object.assign(new Error('transaction was rolled back instead of committed: a statement in it failed'),
    { code: '25P02' });
}

/** True when a statement failed on a unique index (SQLSTATE 23505): two writers raced for one name. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '23505';
}
