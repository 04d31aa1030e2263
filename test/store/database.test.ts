import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, writeBehind, type Database } from '../../src/store/database.js';
import { backends } from '../support/backends.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const backend of backends()) {
  describe(`database (${backend.name})`, () => {
    let db: Database;
    before(async () => { db = await backend.open(); });
    after(async () => { await db.close(); });

    it('reports its backend', () => {
      assert.equal(db.backend, backend.name);
    });

    it('returns documented JS types for each column type', async () => {
      await db.query(`CREATE TABLE typed (
        i4 integer, i8 bigint, t text, j jsonb, b boolean, ts timestamptz, ids bigint[], d date, n numeric, f float8)`);
      const when = new Date('2024-05-06T07:08:09.123Z');
      await db.query('INSERT INTO typed VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        [7, 9007199254740991, 'héllo', JSON.stringify({ a: [1, 'x'], b: null }), true, when, [1, 2], '2024-01-02', '1.50', 2.5]);
      const { rows } = await db.query('SELECT *, (SELECT count(*) FROM typed) AS total FROM typed');
      assert.deepEqual(rows, [{
        i4: 7, i8: 9007199254740991, t: 'héllo', j: { a: [1, 'x'], b: null }, b: true, ts: when, ids: [1, 2],
        d: new Date('2024-01-02T00:00:00Z'), n: '1.50', f: 2.5, total: 1,
      }]);
    });

    it('accepts a plain object as a jsonb parameter and returns nulls as null', async () => {
      const { rows } = await db.query('SELECT $1::jsonb AS j, NULL::bigint AS missing', [{ k: 'v' }]);
      assert.deepEqual(rows, [{ j: { k: 'v' }, missing: null }]);
    });

    it('refuses to round a bigint that does not fit in a number', async () => {
      await assert.rejects(db.query('SELECT 9007199254740993::bigint AS big'), RangeError);
    });

    it('counts affected rows for DML, returned rows for SELECT and 0 for DDL', async () => {
      assert.equal((await db.query('CREATE TABLE counted (x int)')).rowCount, 0);
      assert.equal((await db.query('INSERT INTO counted VALUES ($1), ($2), ($3)', [1, 2, 3])).rowCount, 3);
      assert.equal((await db.query('UPDATE counted SET x = x + 1 WHERE x > $1', [1])).rowCount, 2);
      assert.equal((await db.query('SELECT * FROM counted')).rowCount, 3);
      assert.equal((await db.query('DELETE FROM counted WHERE x = $1', [99])).rowCount, 0);
    });

    it('runs several statements when given no parameters and returns the last result', async () => {
      const result = await db.query('CREATE TABLE multi (x int); INSERT INTO multi VALUES (4), (5); SELECT sum(x) AS s FROM multi');
      assert.deepEqual(result.rows, [{ s: 9 }]);
    });

    it('reports the SQLSTATE of a failed statement as .code', async () => {
      await db.query('CREATE TABLE uniq (k text PRIMARY KEY)');
      await db.query('INSERT INTO uniq VALUES ($1)', ['a']);
      await assert.rejects(db.query('INSERT INTO uniq VALUES ($1)', ['a']),
        (error: Error & { code?: string }) => error instanceof Error && error.code === '23505');
      await assert.rejects(db.query('SELEC 1'), (error: Error & { code?: string }) => error.code === '42601');
    });

    it('commits a transaction and returns its result', async () => {
      await db.query('CREATE TABLE committed (x int)');
      const result = await db.transaction(async (tx) => {
        await tx.query('INSERT INTO committed VALUES ($1)', [1]);
        await tx.query('INSERT INTO committed VALUES ($1)', [2]);
        return (await tx.query<{ n: number }>('SELECT count(*) AS n FROM committed')).rows[0].n;
      });
      assert.equal(result, 2);
      assert.equal((await db.query('SELECT * FROM committed')).rowCount, 2);
    });

    it('rolls back and rethrows when the callback throws', async () => {
      await db.query('CREATE TABLE rolled (x int)');
      const failure = new Error('boom');
      await assert.rejects(db.transaction(async (tx) => {
        await tx.query('INSERT INTO rolled VALUES (1)');
        throw failure;
      }), (error) => error === failure);
      assert.equal((await db.query('SELECT * FROM rolled')).rowCount, 0);
    });

    it('throws 25P02 when a statement failed but the callback swallowed the error', async () => {
      await db.query('CREATE TABLE swallowed (x int)');
      await assert.rejects(db.transaction(async (tx) => {
        await tx.query('INSERT INTO swallowed VALUES (1)');
        await tx.query('SELECT 1/0').catch(() => undefined);
      }), (error: Error & { code?: string }) => error.code === '25P02');
      assert.equal((await db.query('SELECT * FROM swallowed')).rowCount, 0);
    });

    it('ends 50 concurrent SELECT ... FOR UPDATE increments with the right total', async () => {
      await db.query('CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)');
      await db.query('INSERT INTO counter VALUES (1, 0)');
      await Promise.all(Array.from({ length: 50 }, () => db.transaction(async (tx) => {
        const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter WHERE id = 1 FOR UPDATE');
        await sleep(1);   // widen the read-modify-write window so a missing lock would lose updates
        await tx.query('UPDATE counter SET n = $1 WHERE id = 1', [rows[0].n + 1]);
      })));
      assert.deepEqual((await db.query('SELECT n FROM counter')).rows, [{ n: 50 }]);
    });

    it('keeps a query issued outside a running transaction out of it', async () => {
      await db.query('CREATE TABLE isolated (who text)');
      let markStarted!: () => void;
      const started = new Promise<void>((resolve) => { markStarted = resolve; });
      let transactionSettled = false;
      const transaction = db.transaction(async (tx) => {
        await tx.query('INSERT INTO isolated VALUES ($1)', ['inside']);
        markStarted();
        await sleep(50);
        throw new Error('roll back');
      }).catch(() => { transactionSettled = true; });
      await started;
      await db.query('INSERT INTO isolated VALUES ($1)', ['outside']);
      // PGlite has one session: the outside query must have waited for the transaction to end.
      if (backend.name === 'pglite') assert.equal(transactionSettled, true);
      await transaction;
      assert.deepEqual((await db.query('SELECT who FROM isolated')).rows, [{ who: 'outside' }]);
    });

    it('refuses the Database itself inside a transaction callback, and a tx handle after the end', async () => {
      let leaked: { query(sql: string): Promise<unknown> } | undefined;
      await db.transaction(async (tx) => {
        await assert.rejects(db.query('SELECT 1'), /use the tx handle/);
        await assert.rejects(db.transaction(async () => undefined), /use the tx handle/);
        leaked = tx;
      });
      assert.ok(leaked);
      await assert.rejects(leaked.query('SELECT 1'));
      assert.equal((await db.query('SELECT 1 AS one')).rows.length, 1);
    });

    it(backend.name === 'postgres' ? 'retries the whole callback on serialization failure'
      : 'does not retry (PGlite transactions cannot conflict)', async () => {
      let attempts = 0;
      const result = db.transaction(async () => {
        attempts++;
        if (attempts === 1) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
        return 'done';
      });
      if (backend.name === 'postgres') {
        assert.equal(await result, 'done');
        assert.equal(attempts, 2);
      } else {
        await assert.rejects(result, /could not serialize/);
        assert.equal(attempts, 1);
      }
    });

    it('retries a real serialization failure and then succeeds',
      { skip: backend.name === 'postgres' ? false : 'a single PGlite session cannot produce one' }, async () => {
      await db.query('CREATE TABLE account (id int PRIMARY KEY, n int NOT NULL)');
      await db.query('INSERT INTO account VALUES (1, 0)');
      let markRead!: () => void;
      const read = new Promise<void>((resolve) => { markRead = resolve; });
      // Registered outside the transaction, so it runs on another connection once the transaction has read.
      const concurrentWrite = read.then(() => db.query('UPDATE account SET n = n + 100 WHERE id = 1'));
      let attempts = 0;
      await db.transaction(async (tx) => {
        attempts++;
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        const { rows } = await tx.query<{ n: number }>('SELECT n FROM account WHERE id = 1');
        if (attempts === 1) {
          markRead();
          await concurrentWrite;
        }
        await tx.query('UPDATE account SET n = $1 WHERE id = 1', [rows[0].n + 1]);
      });
      assert.equal(attempts, 2);
      assert.deepEqual((await db.query('SELECT n FROM account')).rows, [{ n: 101 }]);
    });

    it(backend.name === 'postgres' ? 'gives up after 10 retries' : 'propagates a conflict code unchanged', async () => {
      let attempts = 0;
      await assert.rejects(db.transaction(async () => {
        attempts++;
        throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      }), /deadlock detected/);
      assert.equal(attempts, backend.name === 'postgres' ? 11 : 1);
    });

    it('does not retry other errors', async () => {
      let attempts = 0;
      await assert.rejects(db.transaction(async () => {
        attempts++;
        throw Object.assign(new Error('unique'), { code: '23505' });
      }), /unique/);
      assert.equal(attempts, 1);
    });

    it('hands out a held advisory lock to one holder at a time', async () => {
      const first = await db.tryAdvisoryLock(4242);
      assert.ok(first);
      assert.equal(await db.tryAdvisoryLock(4242), null);
      const other = await db.tryAdvisoryLock(4243);
      assert.ok(other);
      await first.release();
      await first.release();   // idempotent
      const again = await db.tryAdvisoryLock(4242);
      assert.ok(again);
      await again.release();
      await other.release();
    });

    it('makes withAdvisoryLock wait for the holder, serialise its callers and unlock on throw', async () => {
      const held = await db.tryAdvisoryLock(77);
      assert.ok(held);
      let running = 0;
      let maxRunning = 0;
      let entered = 0;
      const critical = async (fail: boolean) => db.withAdvisoryLock(77, async (conn) => {
        entered++;
        running++;
        maxRunning = Math.max(maxRunning, running);
        assert.deepEqual((await conn.query('SELECT $1::int AS v', [5])).rows, [{ v: 5 }]);
        await sleep(20);
        running--;
        if (fail) throw new Error('inside the lock');
        return 'ok';
      });
      const calls = [critical(false), critical(true), critical(false)];
      await sleep(100);
      assert.equal(entered, 0, 'nobody may enter while the lock is held elsewhere');
      await held.release();
      const outcomes = await Promise.allSettled(calls);
      assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.equal(maxRunning, 1);
      const free = await db.tryAdvisoryLock(77);
      assert.ok(free, 'the lock is free again after a throwing callback');
      await free.release();
    });

    it('tells a subscriber of a notifying commit before the commit resolves, never of a rolled-back one', async () => {
      let changes = 0;
      const feed = db.subscribe('oned_emu_users', () => { changes++; });
      await db.query('SELECT 1', []);
      assert.equal(feed.listening(), true);
      const before = changes;
      await db.transaction(async (tx) => { await tx.query("SELECT pg_notify('oned_emu_users', '')", []); });
      assert.ok(changes > before, 'told before the commit resolved');
      await db.query("SELECT pg_notify('oned_emu_users', '')", []);
      // Other pooled sessions hear the notifications too, a little later: let them settle before counting.
      await sleep(100);
      const settled = changes;
      await assert.rejects(db.transaction(async (tx) => {
        await tx.query("SELECT pg_notify('oned_emu_users', '')", []);
        throw new Error('roll back');
      }), /roll back/);
      await sleep(100);
      assert.equal(changes, settled);
    });

    it('writes behind: values of every kind arrive as given, and a failing write rolls the whole batch back', async () => {
      await db.query('CREATE TABLE behind (i int, b bigint, t text, j jsonb, ok boolean, ids int[], names text[])');
      const awkward = `it's \\ "quoted" {a,b} NULL é 😀 $1 \n end`;
      await db.transaction(async (tx) => {
        const { writes, flush } = writeBehind(tx);
        await writes.query('INSERT INTO behind VALUES ($1, $2, $3, $4::jsonb, $5, $6::int[], $7::text[])',
          [-7, 9007199254740991, awkward, JSON.stringify({ s: awkward, n: [1, null] }), false, [1, -2], [awkward, '', 'NULL', null]]);
        await writes.query('INSERT INTO behind (i, t) VALUES ($1, $2)', [2, null]);
        assert.equal((await tx.query('SELECT count(*)::int AS n FROM behind', [])).rows[0].n, 0, 'nothing sent before flush');
        await flush();
      });
      const { rows } = await db.query('SELECT * FROM behind ORDER BY i', []);
      assert.deepEqual(rows, [
        { i: -7, b: 9007199254740991, t: awkward, j: { s: awkward, n: [1, null] }, ok: false, ids: [1, -2], names: [awkward, '', 'NULL', null] },
        { i: 2, b: null, t: null, j: null, ok: null, ids: null, names: null },
      ]);
      await assert.rejects(db.transaction(async (tx) => {
        const { writes, flush } = writeBehind(tx);
        await writes.query('INSERT INTO behind (i) VALUES ($1)', [3]);
        await writes.query('INSERT INTO behind (i) VALUES ($1)', ['not a number']);
        await flush();
      }), (error: Error & { code?: string }) => error.code === '22P02');
      assert.equal((await db.query('SELECT count(*)::int AS n FROM behind', [])).rows[0].n, 2);
    });

    it('rejects advisory keys that are not safe integers', async () => {
      await assert.rejects(db.tryAdvisoryLock(1.5), RangeError);
      await assert.rejects(db.withAdvisoryLock(2 ** 60, async () => undefined), RangeError);
    });
  });
}

describe('persisted PGlite', () => {
  let dataDir: string;
  before(async () => { dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'oned-emu-pglite-')); });
  after(async () => { await fs.rm(dataDir, { recursive: true, force: true }); });

  it('keeps its data across close and reopen, and frees the data folder on close', async () => {
    const folder = path.join(dataDir, 'nested', 'data');   // created if missing
    const first = await openDatabase({ dataDir: folder });
    await first.query('CREATE TABLE kept (x int)');
    await first.query('INSERT INTO kept VALUES ($1)', [42]);
    await first.close();
    const second = await openDatabase({ dataDir: folder });
    try {
      assert.deepEqual((await second.query('SELECT x FROM kept')).rows, [{ x: 42 }]);
    } finally {
      await second.close();
    }
  });
});

const serverUrl = process.env.TEST_DATABASE_URL;
describe('PostgreSQL connection settings', { skip: serverUrl ? false : 'TEST_DATABASE_URL is not set' }, () => {
  it('names the application and applies statement_timeout', async () => {
    const db = await openDatabase({ url: serverUrl, statementTimeoutMs: 100, poolSize: 2 });
    try {
      assert.deepEqual((await db.query("SELECT current_setting('application_name') AS a")).rows, [{ a: 'oned-emu' }]);
      await assert.rejects(db.query('SELECT pg_sleep(1)'), (error: Error & { code?: string }) => error.code === '57014');
      // A blocked lock wait is not cut by the timeout, but work under the lock is.
      const held = await db.tryAdvisoryLock(91);
      assert.ok(held);
      const waiting = db.withAdvisoryLock(91, async (conn) => conn.query('SELECT pg_sleep(1)'));
      await sleep(300);
      await held.release();
      await assert.rejects(waiting, (error: Error & { code?: string }) => error.code === '57014');
    } finally {
      await db.close();
    }
  });

  it('delivers a notification committed by another process to a subscriber', async () => {
    const listener = await openDatabase({ url: serverUrl });
    const other = await openDatabase({ url: serverUrl });
    try {
      let heard = 0;
      listener.subscribe('oned_emu_users', () => { heard++; });
      await listener.query('SELECT 1', []);
      await sleep(50);
      const before = heard;
      await other.query("SELECT pg_notify('oned_emu_users', '')", []);
      for (let waited = 0; heard === before && waited < 2000; waited += 10) await sleep(10);
      assert.ok(heard > before, 'the other process\'s commit was heard');
    } finally {
      await listener.close();
      await other.close();
    }
  });

  it('refuses a pool size below one', async () => {
    await assert.rejects(openDatabase({ url: serverUrl, poolSize: 0 }), RangeError);
  });
});
