/**
 * The database backends tests run against: PGlite in memory always, PostgreSQL too when TEST_DATABASE_URL is set.
 * Every open() gives a fresh, empty database; closing it disposes of it.
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/store/database.js';
import { openPglite } from '../../src/store/pglite.js';

export interface Backend { name: 'pglite' | 'postgres'; open(): Promise<Database> }

export function backends(): Backend[] {
  const list: Backend[] = [{ name: 'pglite', open: async () => openPglite({ template: await pgliteTemplate() }) }];
  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) list.push({ name: 'postgres', open: () => openScratchPostgres(serverUrl) });
  return list;
}

let template: Promise<Blob> | undefined;

/** An empty, initialised PGlite data folder, made once per process: each open() then copies it instead of running
 *  initdb again, which makes a fresh database several times faster. */
function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const pristine = await PGlite.create();
    try {
      return await pristine.dumpDataDir('none');
    } finally {
      await pristine.close();
    }
  })();
  return template;
}

let scratchCounter = 0;

/** Creates a throw-away database on the server of serverUrl; the returned Database's close() drops it. */
async function openScratchPostgres(serverUrl: string): Promise<Database> {
  const name = `oned_emu_t_${process.pid}_${++scratchCounter}_${randomBytes(3).toString('hex')}`;
  await onServer(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let db: Database;
  try {
    db = await openDatabase({ url: url.toString() });
  } catch (error) {
    await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    backend: db.backend,
    query: (sql, params) => db.query(sql, params),
    transaction: (fn) => db.transaction(fn),
    withAdvisoryLock: (key, fn) => db.withAdvisoryLock(key, fn),
    tryAdvisoryLock: (key) => db.tryAdvisoryLock(key),
    subscribe: (channel, onChange) => db.subscribe(channel, onChange),
    close: () => {
      closing ??= (async () => {
        try {
          await db.close();
        } finally {
          // The scratch database cannot be dropped over its own connections: use the original database's.
          await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        }
      })();
      return closing;
    },
  };
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
