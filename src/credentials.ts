import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { OneadminCredentials } from './store/bootstrap.js';

/**
 * oneadmin's name and password for a fresh cloud, as oned takes them on its first start: ONEADMIN_PASSWORD, else
 * the `user:password` line of the file named by ONE_AUTH, else a generated password written to <data>/one_auth
 * (mode 0600) so the operator can read it.
 */
export function resolveOneadminCredentials(env: NodeJS.ProcessEnv, dataDir: string):
  OneadminCredentials & { source: string } {
  if (env.ONEADMIN_PASSWORD) return { name: 'oneadmin', password: env.ONEADMIN_PASSWORD, source: 'ONEADMIN_PASSWORD' };
  if (env.ONE_AUTH) {
    const line = readFileSync(env.ONE_AUTH, 'utf8').split('\n')[0].trim();
    const colon = line.indexOf(':');
    if (colon <= 0 || colon === line.length - 1) {
      throw new Error(`ONE_AUTH file ${env.ONE_AUTH} must hold one line "user:password"`);
    }
    const name = line.slice(0, colon);
    if (name === 'serveradmin') throw new Error(`ONE_AUTH file ${env.ONE_AUTH}: the oneadmin user cannot be named serveradmin`);
    return { name, password: line.slice(colon + 1), source: env.ONE_AUTH };
  }
  const password = randomBytes(16).toString('hex');
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'one_auth');
  writeFileSync(file, `oneadmin:${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { name: 'oneadmin', password, source: file };
}
