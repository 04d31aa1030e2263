import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULTS, loadConfig } from '../src/config.js';

const file = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'oned-emu-conf-')), 'oned.conf');
  writeFileSync(path, text);
  return path;
};

describe('configuration: file, then environment, then flags', () => {
  it('defaults are oned-emu\'s documented ones', () => {
    const { config, warnings } = loadConfig();
    assert.deepEqual(config, DEFAULTS);
    assert.equal(config.PORT, 2633);
    assert.equal(config.LISTEN_ADDRESS, '127.0.0.1');
    assert.equal(config.MESSAGE_SIZE, 16 * 1024 * 1024);
    assert.equal(config.METRICS_PORT, null, 'no second listener unless asked for');
    assert.deepEqual(warnings, []);
  });

  it('reads an oned.conf-style file with comments, vectors and unknown keys (warned)', () => {
    const path = file(`# oned.conf
PORT = 2700
MANAGER_TIMER = 0.5
API_LIST_ORDER = "asc"
DB = [ BACKEND = "postgresql", CONNECTION = "postgres://u@h/db" ]
VM_MAD = [ NAME = "kvm" ]
LOG = [ SYSTEM = "file" ]
`);
    const { config, warnings } = loadConfig({ file: path });
    assert.equal(config.PORT, 2700);
    assert.equal(config.MANAGER_TIMER, 0.5);
    assert.equal(config.API_LIST_ORDER, 'ASC');
    assert.deepEqual(config.DB, { BACKEND: 'postgresql', CONNECTION: 'postgres://u@h/db', DATA: './data' });
    assert.deepEqual(warnings, [`${path}: unknown key VM_MAD ignored`, `${path}: unknown key LOG ignored`]);
  });

  it('environment overrides the file and flags override both; DATABASE_URL and ONE_EMU_DATA', () => {
    const path = file('PORT = 2700\nMAX_BACKUPS = 3\n');
    const { config } = loadConfig({
      file: path, env: { PORT: '2800', MAX_BACKUPS_HOST: '0', DATABASE_URL: 'postgres://x/y', ONE_EMU_DATA: '/tmp/d' },
      flags: { PORT: '2900', DATA: '/tmp/e', METRICS_PORT: '9925' },
    });
    assert.equal(config.PORT, 2900);
    assert.equal(config.METRICS_PORT, 9925);
    assert.equal(config.MAX_BACKUPS, 3);
    assert.equal(config.MAX_BACKUPS_HOST, 0);
    assert.deepEqual(config.DB, { BACKEND: 'postgresql', CONNECTION: 'postgres://x/y', DATA: '/tmp/e' });
  });

  it('an invalid value stops start-up with a message naming the key and the value', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'abc' }, /invalid value for PORT: "abc"/],
      [{ PORT: '70000' }, /invalid value for PORT: "70000"/],
      [{ MAX_BACKUPS: '-1' }, /invalid value for MAX_BACKUPS: "-1"/],
      [{ MANAGER_TIMER: '0' }, /invalid value for MANAGER_TIMER: "0"/],
      [{ API_LIST_ORDER: 'up' }, /invalid value for API_LIST_ORDER: "up"/],
      [{ DEFAULT_UMASK: '999' }, /invalid value for DEFAULT_UMASK: "999"/],
      [{ MESSAGE_SIZE: '10' }, /invalid value for MESSAGE_SIZE: "10"/],
      [{ METRICS_PORT: '65536' }, /invalid value for METRICS_PORT: "65536"/],
    ];
    for (const [env, message] of cases) assert.throws(() => loadConfig({ env }), (e: unknown) => e instanceof ConfigError && message.test(e.message));
    assert.throws(() => loadConfig({ file: file('PORT = [') }), (e: unknown) => e instanceof ConfigError && /Parse error/.test(e.message));
    assert.throws(() => loadConfig({ file: '/nonexistent/oned.conf' }), /cannot read configuration file/);
    assert.throws(() => loadConfig({ file: file('DB = [ BACKEND = "mysql" ]') }), /invalid value for DB\/BACKEND: "mysql"/);
  });
});
