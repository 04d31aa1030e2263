/**
 * PostgreSQL adapter over a `pg` pool. Type parsers are set on this pool only (not pg's global registry), so they
 * match what the PGlite adapter returns (see database.ts for the list).
 */
import pg from 'pg';
import {
  abortedTransactionError, ChangeFeed, checkAdvisoryKey, NOTIFY_CHANNELS, parseInt8, TransactionScope,
  type Database, type NotifyChannel, type Queryable, type QueryResult,
} from './database.js';

export interface PostgresOptions {
  url: string; poolSize?: number; statementTimeoutMs?: number;
  /** How long this side waits for a connection to open and for a statement's reply before giving up with an
   *  error: a database that went away (or a network that drops packets) makes calls fail, never hang. */
  waitTimeoutMs?: number;
}

const APPLICATION_NAME = 'oned-emu';
const DEFAULT_POOL_SIZE = 10;
const MAX_TRANSACTION_RETRIES = 10;
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);   // serialization_failure, deadlock_detected

const OID = { int8: 20, int8Array: 1016, textArray: 1009, date: 1082 } as const;

type TypeParser = (text: string) => unknown;

// pg's typings only accept the scalar type ids of its TypeId enum; array ids such as 1009 are valid at runtime.
const builtinParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => TypeParser;

function customTypes(): pg.CustomTypesConfig {
  const textArrayParser = builtinParser(OID.textArray);
  const defaultDateParser = builtinParser(OID.date);
  const parsers = new Map<number, TypeParser>([
    [OID.int8, parseInt8],
    [OID.int8Array, (text) => mapNested(textArrayParser(text), parseInt8)],
    // pg reads a date as local midnight, PGlite as UTC midnight: use PGlite's reading so both agree in any TZ.
    [OID.date, (text) => (/^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : defaultDateParser(text))],
  ]);
  const getTypeParser = (oid: number, format?: 'text' | 'binary'): TypeParser =>
    ((format ?? 'text') === 'text' ? parsers.get(oid) : undefined) ?? builtinParser(oid, format);
  return { getTypeParser: getTypeParser as pg.CustomTypesConfig['getTypeParser'] };
}

function mapNested(value: unknown, parse: (text: string) => unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => mapNested(item, parse));
  return value === null ? null : parse(value as string);
}

export async function openPostgres(opts: PostgresOptions): Promise<Database> {
  const poolSize = opts.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new RangeError(`poolSize must be a positive integer, got ${poolSize}`);
  const timeout = opts.statementTimeoutMs;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 0)) {
    throw new RangeError(`statementTimeoutMs must be a non-negative integer, got ${timeout}`);
  }
  const wait = opts.waitTimeoutMs;
  const connection: ConnectionConfig = { connectionString: opts.url, application_name: APPLICATION_NAME, types: customTypes(),
    connectionTimeoutMillis: wait };
  const changes = new SessionChangeFeed();
  const pool = new pg.Pool({ ...connection, max: poolSize, statement_timeout: timeout, query_timeout: wait,
    onConnect: (client) => changes.listenOn(client) });
  pool.on('remove', (client) => changes.forget(client));
  // pg emits 'error' for idle pooled clients whose connection dropped; the pool discards them itself, and an
  // unhandled 'error' event would kill the process.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresDatabase(pool, connection, timeout, wait, changes);
}

/**
 * Every pooled session LISTENs to every channel before the pool hands it out, so a commit made through the pool
 * delivers its own notification before its promise resolves, and other processes' arrive as soon as PostgreSQL
 * sends them. With no session left (idle ones are closed after a while) notifications are lost: subscribers are
 * told of the gap when the last session goes and when one listens again.
 */
class SessionChangeFeed extends ChangeFeed {
  readonly sessions = new Set<pg.ClientBase>();

  async listenOn(client: pg.ClientBase): Promise<void> {
    client.on('notification', (message) => this.notify(message.channel));
    await client.query(NOTIFY_CHANNELS.map((channel) => `LISTEN ${channel}`).join('; '));
    // Always a gap, not only when no session was counted: the pool counts a session until its close completes, so
    // the last one may already have stopped hearing when this one starts (new sessions are rare).
    this.gap();
    this.sessions.add(client);
  }

  forget(client: pg.ClientBase): void {
    if (this.sessions.delete(client) && this.sessions.size === 0) this.gap();
  }
}

type ConnectionConfig = { connectionString: string; application_name: string; types: pg.CustomTypesConfig; connectionTimeoutMillis?: number };

/**
 * Parameterised statements are prepared once per connection under a name, so PostgreSQL parses and plans the
 * hot ones (a session check, an object read) once instead of on every call. The names are capped: a statement
 * text built from values (a pool filter) must not grow every connection's set of prepared statements forever.
 */
const MAX_PREPARED_STATEMENTS = 256;
const preparedNames = new Map<string, string>();

function statementName(sql: string): string | undefined {
  let name = preparedNames.get(sql);
  if (name === undefined && preparedNames.size < MAX_PREPARED_STATEMENTS) {
    name = `oned_emu_${preparedNames.size}`;
    preparedNames.set(sql, name);
  }
  return name;
}

/** Without a parameter array pg uses the simple protocol (several statements allowed, one result each): keep the last. */
async function runOn(target: pg.Pool | pg.ClientBase, sql: string, params: unknown[] | undefined): Promise<QueryResult<never>> {
  const raw: pg.QueryResult | pg.QueryResult[] = params !== undefined
    ? await target.query({ text: sql, values: params, name: statementName(sql) })
    : await target.query(sql);
  const result = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return { rows: (result?.rows ?? []) as never[], rowCount: result?.rowCount ?? 0 };
}

/**
 * `sql` with each $n outside quoted strings and identifiers replaced by its value as a quoted literal. Only for the
 * plain statements of writeBehind: dollar quoting, escape strings and comments are refused rather than parsed, and
 * each value must be of a kind written the same way as pg writes a parameter.
 */
export function withLiterals(sql: string, params: readonly unknown[]): string {
  if (/\$\$|--|\/\*|\bE'/i.test(sql)) throw new Error(`not a statement to inline values into: ${sql.slice(0, 80)}`);
  let out = '';
  for (let i = 0; i < sql.length;) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      let end = i + 1;
      // A doubled quote is the quote itself; the string ends at a single one.
      for (;;) {
        end = sql.indexOf(c, end);
        if (end < 0) throw new Error(`unterminated ${c} in: ${sql.slice(0, 80)}`);
        if (sql[end + 1] !== c) break;
        end += 2;
      }
      out += sql.slice(i, end + 1);
      i = end + 1;
    } else if (c === '$' && /\d/.test(sql[i + 1] ?? '')) {
      let end = i + 1;
      while (/\d/.test(sql[end] ?? '')) end++;
      const index = Number(sql.slice(i + 1, end)) - 1;
      if (index >= params.length) throw new Error(`${sql.slice(i, end)} has no value`);
      out += literal(params[index]);
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) return pg.escapeLiteral(`{${value.map(arrayElement).join(',')}}`);
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint') return pg.escapeLiteral(String(value));
  if (typeof value === 'number' && Number.isFinite(value)) return pg.escapeLiteral(String(value));
  if (Object.getPrototypeOf(value) === Object.prototype) return pg.escapeLiteral(JSON.stringify(value));
  throw new TypeError(`no literal for a ${Object.prototype.toString.call(value)} value`);
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  throw new TypeError(`no array element literal for a ${Object.prototype.toString.call(value)} value`);
}

/** A handle that refuses use once its transaction or lock has ended, instead of running outside it. */
function scopedHandle(client: pg.ClientBase, what: string): { handle: Queryable; end(): void } {
  let open = true;
  const check = () => { if (!open) throw new Error(`${what} has ended: its handle can no longer be used`); };
  return {
    handle: {
      query: async <R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> => {
        check();
        return runOn(client, sql, params);
      },
      runAll: async (statements) => {
        check();
        // One simple-protocol message: the values go in as quoted literals, which PostgreSQL types from their
        // context exactly as it types untyped parameters.
        await client.query(statements.map(({ sql, params }) => withLiterals(sql, params ?? [])).join('\n;\n'));
      },
    },
    end: () => { open = false; },
  };
}

function sqlState(error: unknown): string | undefined {
  const withCode = error as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = withCode?.code ?? withCode?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

function retryDelayMs(attempt: number): number {
  const ceiling = Math.min(200, 5 * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

class PostgresDatabase implements Database {
  readonly backend = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #connection: ConnectionConfig;
  readonly #statementTimeoutMs: number | undefined;
  readonly #scope = new TransactionScope();
  readonly #lockClients = new Set<pg.Client>();
  readonly #idleTryLockClients: pg.Client[] = [];
  #closing: Promise<void> | undefined;

  readonly #waitTimeoutMs: number | undefined;

  readonly #changes: SessionChangeFeed;

  constructor(pool: pg.Pool, connection: ConnectionConfig, statementTimeoutMs: number | undefined, waitTimeoutMs: number | undefined,
    changes: SessionChangeFeed) {
    this.#pool = pool;
    this.#connection = connection;
    this.#statementTimeoutMs = statementTimeoutMs;
    this.#waitTimeoutMs = waitTimeoutMs;
    this.#changes = changes;
  }

  subscribe(channel: NotifyChannel, onChange: () => void): { listening(): boolean } {
    this.#changes.subscribe(channel, onChange);
    return { listening: () => this.#changes.sessions.size > 0 };
  }

  async query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    this.#scope.assertOutside('Database.query()');
    return runOn(this.#pool, sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    this.#scope.assertOutside('Database.transaction()');
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#transactionOnce(fn);
      } catch (error) {
        const code = sqlState(error);
        if (attempt >= MAX_TRANSACTION_RETRIES || code === undefined || !RETRYABLE_SQLSTATES.has(code)) throw error;
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
      }
    }
  }

  async #transactionOnce<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    let brokenConnection: Error | undefined;
    try {
      await client.query('BEGIN');
      const tx = scopedHandle(client, 'the transaction');
      let result: T;
      try {
        result = await this.#scope.run(() => fn(tx.handle));
      } catch (error) {
        tx.end();
        await client.query('ROLLBACK').catch((rollbackError: Error) => { brokenConnection = rollbackError; });
        throw error;
      }
      tx.end();
      const commit = await client.query('COMMIT');
      // COMMIT of a transaction in which a statement failed succeeds with the tag ROLLBACK; PGlite throws here.
      if (commit.command === 'ROLLBACK') throw abortedTransactionError();
      return result;
    } finally {
      // Passing an error destroys the connection instead of returning a possibly mid-transaction one to the pool.
      client.release(brokenConnection);
    }
  }

  async withAdvisoryLock<T>(key: number, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    checkAdvisoryKey(key);
    const client = await this.#openLockClient();
    try {
      await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
      await this.#applyStatementTimeout(client);
      const lockHandle = scopedHandle(client, 'the advisory lock');
      try {
        return await fn(lockHandle.handle);
      } finally {
        lockHandle.end();
        // If unlocking fails the connection is broken; closing it below ends the session, which frees the lock.
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
      }
    } finally {
      await this.#closeLockClient(client);
    }
  }

  async tryAdvisoryLock(key: number): Promise<{ release(): Promise<void> } | null> {
    checkAdvisoryKey(key);
    // A tick tries this lock every MANAGER_TIMER: its session is kept for the next try instead of connecting anew
    // (a new PostgreSQL backend costs milliseconds). It never has a statement_timeout, so it can be reused as is.
    const reused = this.#idleTryLockClients.pop();
    // Its statements never wait on anyone, so they may time out like the pool's: a tick never hangs on a dead link.
    const open = () => this.#openLockClient(this.#waitTimeoutMs);
    let client = reused ?? await open();
    let acquired = false;
    const tryLock = async () => (await client.query<{ acquired: boolean }>(
      'SELECT pg_try_advisory_lock($1::bigint) AS acquired', [key])).rows[0]?.acquired === true;
    try {
      acquired = await tryLock();
    } catch (error) {
      await this.#closeLockClient(client);
      // A kept session may have died while idle (server restart): one more try on a new one.
      if (!reused) throw error;
      client = await open();
      try {
        acquired = await tryLock();
      } catch (retryError) {
        await this.#closeLockClient(client);
        throw retryError;
      }
    }
    if (!acquired) {
      this.#keepTryLockClient(client);
      return null;
    }
    let releasing: Promise<void> | undefined;
    return {
      release: () => {
        releasing ??= (async () => {
          // As in withAdvisoryLock: a failed unlock means a dead session, whose locks are already gone.
          const unlocked = await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).then(() => true, () => false);
          if (unlocked) this.#keepTryLockClient(client);
          else await this.#closeLockClient(client);
        })();
        return releasing;
      },
    };
  }

  #keepTryLockClient(client: pg.Client): void {
    if (this.#closing) void this.#closeLockClient(client);
    else this.#idleTryLockClients.push(client);
  }

  /**
   * Advisory locks get their own connection, outside the pool, so a long-held lock never starves the pool and a
   * blocking lock wait is not cut short by statement_timeout (applied only once the lock is held).
   */
  async #openLockClient(queryTimeoutMs?: number): Promise<pg.Client> {
    if (this.#closing) throw new Error('the database is closed');
    const client = new pg.Client({ ...this.#connection, query_timeout: queryTimeoutMs });
    // A dropped connection emits 'error'; the session (and its lock) is gone, and the next query on it rejects.
    client.on('error', () => undefined);
    await client.connect();
    this.#lockClients.add(client);
    return client;
  }

  async #applyStatementTimeout(client: pg.Client): Promise<void> {
    // Validated as an integer in openPostgres, so it is safe to inline (SET takes no parameters).
    if (this.#statementTimeoutMs !== undefined) await client.query(`SET statement_timeout = ${this.#statementTimeoutMs}`);
  }

  async #closeLockClient(client: pg.Client): Promise<void> {
    if (!this.#lockClients.delete(client)) return;
    await client.end().catch(() => undefined);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#lockClients].map((client) => this.#closeLockClient(client)));
      await this.#pool.end();
    })();
    return this.#closing;
  }
}
