import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueryResult } from '../../src/store/database.js';
import { UserCache } from '../../src/store/userCache.js';

/** A database of one user that counts its reads, with a change feed the test drives. */
function fakeDatabase() {
  const state = { reads: 0, listening: true, onChange: () => undefined as void };
  const row = { oid: 5, name: 'max', body: { gid: 1, groups: [1], gname: 'users', password: 'p', authDriver: 'core', enabled: true, loginTokens: [], template: [] } };
  const db = {
    query: async <R>(): Promise<QueryResult<R>> => { state.reads++; return { rows: [row as R], rowCount: 1 }; },
    subscribe: (_channel: string, onChange: () => void) => { state.onChange = onChange; return { listening: () => state.listening }; },
  };
  return { db, state };
}

describe('users kept in memory', () => {
  it('are read once, then trusted for 1 s, until a change is notified, and never while nobody listens', async () => {
    const { db, state } = fakeDatabase();
    let clock = 0;
    const cache = new UserCache(db, () => clock);
    assert.deepEqual([(await cache.byName('max')).fromMemory, state.reads], [false, 1]);
    clock = 999;
    assert.deepEqual([(await cache.byName('max')).fromMemory, state.reads], [true, 1]);
    clock = 1000;
    assert.deepEqual([(await cache.byName('max')).fromMemory, state.reads], [false, 2], 'an entry lives less than 1 s');
    assert.equal((await cache.byName('max')).fromMemory, true);
    state.onChange();
    assert.deepEqual([(await cache.byName('max')).fromMemory, state.reads], [false, 3], 'a change empties the cache');
    state.listening = false;
    assert.deepEqual([(await cache.byName('max')).fromMemory, state.reads], [false, 4]);
    assert.deepEqual([(await cache.byName('max')).fromMemory, state.reads], [false, 5], 'nothing kept while nobody listens');
  });

  it('does not keep what a read found when a change came while it was in flight', async () => {
    const { db, state } = fakeDatabase();
    const cache = new UserCache({ ...db, query: async <R>(): Promise<QueryResult<R>> => {
      const result = await db.query<R>();
      state.onChange();
      return result;
    } }, () => 0);
    await cache.byName('max');
    assert.deepEqual([(await cache.byName('max')).fromMemory, state.reads], [false, 2]);
  });
});
