import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { backends } from '../support/backends.js';

const temporaryFolders: string[] = [];

/** A temporary migrations folder holding the given files. */
async function migrationsFolder(files: Record<string, string>): Promise<string> {
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'oned-emu-migrations-'));
  temporaryFolders.push(folder);
  for (const [name, sql] of Object.entries(files)) await fs.writeFile(path.join(folder, name), sql);
  return folder;
}

after(async () => {
  await Promise.all(temporaryFolders.map((folder) => fs.rm(folder, { recursive: true, force: true })));
});

// CREATE TABLE without IF NOT EXISTS: applying a file twice would fail.
const FIRST = 'CREATE TABLE first_table (id int PRIMARY KEY);\nINSERT INTO first_table VALUES (1);\n';
const SECOND = '-- two statements and a comment\nCREATE TABLE second_table (x text);\nINSERT INTO second_table VALUES (\'a\');\n';

async function recorded(db: Database): Promise<Array<{ version: number; name: string }>> {
  return (await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version')).rows;
}

async function tableExists(db: Database, name: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [name]);
  return rows[0].found;
}

for (const backend of backends()) {
  describe(`migrate (${backend.name})`, () => {
    let db: Database;
    beforeEach(async () => { db = await backend.open(); });
    afterEach(async () => { await db.close(); });

    it('applies files in numeric order once, skips them on a second run, then applies only new ones', async () => {
      // 10 sorts before 9 as text: numeric order must win.
      const files: Record<string, string> = { '001_first.sql': FIRST, '002_second.sql': SECOND };
      for (let version = 3; version <= 10; version++) {
        files[`${String(version).padStart(3, '0')}_step.sql`] = `INSERT INTO first_table VALUES (${version});`;
      }
      const folder = await migrationsFolder(files);
      const firstRun = await migrate(db, folder);
      assert.deepEqual(firstRun.applied, Object.keys(files).sort());
      assert.equal(firstRun.alreadyApplied, 0);
      assert.deepEqual((await db.query('SELECT count(*) AS n FROM first_table')).rows, [{ n: 9 }]);
      assert.deepEqual((await db.query('SELECT x FROM second_table')).rows, [{ x: 'a' }]);
      const rows = await db.query<{ applied_at: unknown }>('SELECT applied_at FROM schema_migrations');
      assert.ok(rows.rows.every((row) => row.applied_at instanceof Date));

      assert.deepEqual(await migrate(db, folder), { applied: [], alreadyApplied: 10 });

      await fs.writeFile(path.join(folder, '011_more.sql'), 'CREATE TABLE third_table (y int);');
      assert.deepEqual(await migrate(db, folder), { applied: ['011_more.sql'], alreadyApplied: 10 });
      assert.equal((await recorded(db)).length, 11);
    });

    it('applies each file exactly once when two migrate() calls race', async () => {
      const folder = await migrationsFolder({ '001_first.sql': FIRST, '002_second.sql': SECOND });
      const [one, two] = await Promise.all([migrate(db, folder), migrate(db, folder)]);
      assert.deepEqual([...one.applied, ...two.applied].sort(), ['001_first.sql', '002_second.sql']);
      assert.equal(one.alreadyApplied + two.alreadyApplied, 2);
      assert.deepEqual(await recorded(db), [{ version: 1, name: '001_first.sql' }, { version: 2, name: '002_second.sql' }]);
    });

    it('rolls back only the failing file and throws naming it', async () => {
      const folder = await migrationsFolder({
        '001_first.sql': FIRST,
        '002_broken.sql': 'CREATE TABLE half_done (x int);\nINSERT INTO no_such_table VALUES (1);\n',
        '003_later.sql': 'CREATE TABLE later (x int);',
      });
      await assert.rejects(migrate(db, folder), (error: Error & { code?: string }) =>
        /002_broken\.sql/.test(error.message) && error.code === '42P01');
      assert.deepEqual(await recorded(db), [{ version: 1, name: '001_first.sql' }]);
      assert.equal(await tableExists(db, 'first_table'), true);
      assert.equal(await tableExists(db, 'half_done'), false);
      assert.equal(await tableExists(db, 'later'), false);
    });

    it('refuses a version gap, a duplicate version or a misnamed file before applying anything', async () => {
      const gap = await migrationsFolder({ '001_first.sql': FIRST, '003_third.sql': SECOND });
      await assert.rejects(migrate(db, gap), /gap.*003_third\.sql.*expected version 2/);
      const duplicate = await migrationsFolder({ '001_first.sql': FIRST, '001_again.sql': SECOND });
      await assert.rejects(migrate(db, duplicate), /001_again\.sql.*001_first\.sql.*share version 1|001_first\.sql.*001_again\.sql.*share version 1/);
      const misnamed = await migrationsFolder({ '001_first.sql': FIRST, 'second.sql': SECOND });
      await assert.rejects(migrate(db, misnamed), /second\.sql.*NNN_description\.sql/);
      const startsLate = await migrationsFolder({ '002_second.sql': SECOND });
      await assert.rejects(migrate(db, startsLate), /expected version 1/);
      assert.equal(await tableExists(db, 'first_table'), false);
    });

    it('ignores files that are not .sql', async () => {
      const folder = await migrationsFolder({ '001_first.sql': FIRST, 'README.md': 'notes' });
      assert.deepEqual(await migrate(db, folder), { applied: ['001_first.sql'], alreadyApplied: 0 });
    });

    it('refuses a database migrated by a newer program', async () => {
      const newer = await migrationsFolder({ '001_first.sql': FIRST, '002_second.sql': SECOND });
      await migrate(db, newer);
      const older = await migrationsFolder({ '001_first.sql': FIRST });
      await assert.rejects(migrate(db, older), /does not know \(002_second\.sql\)/);
    });

    it('reports a missing folder clearly', async () => {
      await assert.rejects(migrate(db, path.join(os.tmpdir(), 'oned-emu-no-such-folder')), /cannot read the migrations folder/);
    });
  });
}
