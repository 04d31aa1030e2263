import type { Queryable } from './database.js';

export async function getSystemAttribute(q: Queryable, name: string): Promise<string | undefined> {
  const { rows } = await q.query<{ value: string }>(`SELECT value FROM system_attributes WHERE name = $1`, [name]);
  return rows[0]?.value;
}

export async function setSystemAttribute(q: Queryable, name: string, value: string): Promise<void> {
  await q.query(
    `INSERT INTO system_attributes (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`,
    [name, value]);
}
