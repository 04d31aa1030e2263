/**
 * Schema migrations: plain SQL files named NNN_description.sql, applied once each in version order, every file in
 * its own transaction, and recorded in schema_migrations. An advisory lock makes processes that start together
 * take turns, so none applies a file another one is applying.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

export interface MigrationReport { applied: string[]; alreadyApplied: number }

/** Advisory lock key reserved for migrations (other subsystems must pick different keys). */
export const MIGRATION_LOCK_KEY = 0x0e_d0_0001;

const MIGRATION_FILE = /^(\d+)_(.+)\.sql$/;

interface MigrationFile { version: number; fileName: string }

export async function migrate(db: Database, dir?: string): Promise<MigrationReport> {
  const folder = dir ?? defaultMigrationsDir();
  const migrations = await listMigrations(folder);
  return db.withAdvisoryLock(MIGRATION_LOCK_KEY, async (lockConnection) => {
    await lockConnection.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const recorded = await lockConnection.query<{ version: number; name: string }>(
      'SELECT version, name FROM schema_migrations ORDER BY version');
    const known = new Set(migrations.map((migration) => migration.version));
    const unknown = recorded.rows.filter((row) => !known.has(row.version));
    if (unknown.length > 0) {
      throw new Error(`the database has migrations this program does not know (${unknown.map((row) => row.name).join(', ')}): `
        + `it was upgraded by a newer version than the one whose migrations are in ${folder}`);
    }
    const done = new Set(recorded.rows.map((row) => row.version));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      await applyMigration(db, folder, migration);
      applied.push(migration.fileName);
    }
    return { applied, alreadyApplied: migrations.length - applied.length };
  });
}

async function applyMigration(db: Database, folder: string, migration: MigrationFile): Promise<void> {
  const sql = await fs.readFile(path.join(folder, migration.fileName), 'utf8');
  try {
    await db.transaction(async (tx) => {
      await tx.query(sql);   // no parameters: the simple protocol runs every statement of the file
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.fileName]);
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown } | null)?.code;
    throw Object.assign(new Error(`migration ${migration.fileName} failed and was rolled back: ${reason}`, { cause: error }),
      typeof code === 'string' ? { code } : {});
  }
}

/** The migration files of a folder in version order; versions must run 1, 2, 3... with no gap or duplicate. */
export async function listMigrations(folder: string): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(folder);
  } catch (error) {
    throw new Error(`cannot read the migrations folder ${folder}: ${(error as Error).message}`, { cause: error });
  }
  const migrations: MigrationFile[] = [];
  for (const fileName of entries) {
    if (!fileName.endsWith('.sql')) continue;
    const match = MIGRATION_FILE.exec(fileName);
    if (!match) throw new Error(`migration file ${fileName} in ${folder} is not named NNN_description.sql`);
    migrations.push({ version: Number(match[1]), fileName });
  }
  migrations.sort((a, b) => a.version - b.version || a.fileName.localeCompare(b.fileName));
  migrations.forEach((migration, index) => {
    const previous = migrations[index - 1];
    if (previous && previous.version === migration.version) {
      throw new Error(`migrations ${previous.fileName} and ${migration.fileName} in ${folder} share version ${migration.version}`);
    }
    if (migration.version !== index + 1) {
      const after = previous ? `after ${previous.fileName}` : 'as the first migration';
      throw new Error(`migration version gap in ${folder}: ${migration.fileName} comes ${after}, `
        + `expected version ${index + 1}`);
    }
  });
  return migrations;
}

/**
 * The project's sql/ folder, whether this module runs compiled (dist/src/store) or from source (src/store): the
 * project root is the ancestor holding package.json.
 */
function defaultMigrationsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const roots = [path.resolve(here, '../../..'), path.resolve(here, '../..')];
  const root = roots.find((candidate) => existsSync(path.join(candidate, 'package.json'))
    && existsSync(path.join(candidate, 'sql')));
  if (!root) throw new Error(`no migrations folder found (looked for sql/ beside package.json in ${roots.join(' and ')})`);
  return path.join(root, 'sql');
}
