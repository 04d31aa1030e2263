import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiMethod } from '../../src/api/app.js';
import { buildRegistry } from '../../src/api/methods.js';
import { ErrorCode } from '../../src/domain/errors.js';
import { parameterTypes } from '../../src/rpc/registry.js';
import type { RpcValue } from '../../src/rpc/values.js';
import type { Database } from '../../src/store/database.js';
import { backends } from '../support/backends.js';
import { startTestCloud, type TestCloud } from '../support/cloud.js';

/**
 * Every method that takes an object id, called on another user's object: an unauthenticated caller learns nothing
 * (the same reply whether the object exists or not), and a user without rights is refused with AUTHORIZATION and
 * leaves the database exactly as it was.
 */
const OBJECT_METHODS = new Set(['BACKUPJOB', 'VM', 'TEMPLATE', 'IMAGE']);
const MISSING_ID = 987654;

interface Fixture { host: number; backupDs: number }

/** Values oned checks before it authorizes (oned's order): these methods get valid ones, so the call reaches the
 *  authorization of the object. */
const validBeforeAuth = (f: Fixture): Record<string, RpcValue[]> => ({
  'one.backupjob.priority': [10], // BackupJobPriority checks the range first
  'one.vm.backup': [f.backupDs], // the datastore is read before the VM is authorized
  'one.vm.deploy': [f.host], // so is the host
  'one.vm.recover': [1], // and the operation code
  'one.vm.updateconf': ['', 0], // and the update type
});

/** Parameters of the right types: the object id first, then neutral values (-1 for ids, empty text). */
function paramsFor(method: ApiMethod, id: number, fixture?: Fixture): RpcValue[] {
  const given = fixture && validBeforeAuth(fixture)[method.name];
  return parameterTypes(method.signature).slice(1).map((t, i): RpcValue => {
    if (i === 0) return id;
    if (given && i - 1 < given.length) return given[i - 1];
    switch (t) {
      case 'i': return -1;
      case 'b': return false;
      case 'A': return [];
      case 'S': return new Map();
      case 'd': return 0;
      default: return '';
    }
  });
}

/** An md5 of every table's rows: equal before and after means nothing was written. */
async function checksum(db: Database): Promise<string> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`);
  const sums: string[] = [];
  for (const { name } of tables) {
    const { rows } = await db.query<{ sum: string }>(`SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS sum FROM "${name}" x`);
    sums.push(`${name}:${rows[0].sum}`);
  }
  return sums.join(',');
}

/** one.vm.restore reads its backup image (type BACKUP, its chain) before it authorizes the VM: without a real backup
 *  it never gets that far; test/api/restore.test.ts checks its order. */
const REACHES_AUTH_ONLY_WITH_A_BACKUP = new Set(['one.vm.restore']);

const objectMethods = [...buildRegistry().names()].map((n) => buildRegistry().get(n)!)
  .filter((m) => OBJECT_METHODS.has(m.object) && parameterTypes(m.signature)[1] === 'i' && !m.name.includes('pool.')
    && !REACHES_AUTH_ONLY_WITH_A_BACKUP.has(m.name));

for (const backend of backends()) {
  describe(`authorization matrix: another user's object (${backend.name})`, () => {
    let cloud: TestCloud;
    let alice: { id: number; session: string };
    let bob: { id: number; session: string };
    const owned = new Map<string, number>();
    let fixture: Fixture;

    before(async () => {
      cloud = await startTestCloud(backend);
      alice = await cloud.user('alice');
      bob = await cloud.user('bob');
      const made = async (type: string, method: string, ...params: RpcValue[]) => {
        const r = await cloud.callAs(alice.session, method, ...params);
        assert.equal(r[0], true, `${method}: ${String(r[1])}`);
        owned.set(type, r[1] as number);
      };
      await made('BACKUPJOB', 'one.backupjob.allocate', 'NAME = "alice-job"\nSCHED_ACTION = [ TIME = "2000000000" ]');
      await made('VM', 'one.vm.allocate', 'NAME = "alice-vm"\nCPU = 0.1\nMEMORY = 64', true);
      await made('TEMPLATE', 'one.template.allocate', 'NAME = "alice-template"\nCPU = 0.1\nMEMORY = 64');
      await made('IMAGE', 'one.image.allocate', 'NAME = "alice-image"\nTYPE = DATABLOCK\nSIZE = 1', 1);
      const host = (await cloud.call('one.host.allocate', 'matrix-host', 'dummy', 'dummy', -1))[1] as number;
      const backupDs = (await cloud.call('one.datastore.allocate', 'NAME = "matrix-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"', -1))[1] as number;
      fixture = { host, backupDs };
    });
    after(async () => { await cloud.stop(); });

    it(`covers ${objectMethods.length} methods`, () => {
      assert.ok(objectMethods.length >= 40, objectMethods.map((m) => m.name).join(' '));
    });

    it('an unauthenticated caller gets the same reply whether the object exists or not', async () => {
      for (const m of objectMethods) {
        const existing = await cloud.callAs('alice:wrong-password', m.name, ...paramsFor(m, owned.get(m.object)!));
        const missing = await cloud.callAs('alice:wrong-password', m.name, ...paramsFor(m, MISSING_ID));
        assert.deepEqual(existing, missing, m.name);
        assert.deepEqual(existing.slice(0, 3), [false, `[${m.name}] User couldn't be authenticated, aborting call.`, ErrorCode.AUTHENTICATION], m.name);
      }
    });

    it("a user without rights is refused with AUTHORIZATION on the object and writes nothing", async () => {
      const before = await checksum(cloud.db);
      const failures: string[] = [];
      for (const m of objectMethods) {
        const id = owned.get(m.object)!;
        const reply = await cloud.callAs(bob.session, m.name, ...paramsFor(m, id, fixture));
        if (m.name === 'one.image.restore') {
          // oned's ImageRestore answers success carrying the authorization text (kept, see src/api/restore.ts).
          assert.deepEqual(reply.slice(0, 2), [true, `Not authorized to perform USE IMAGE [${id}]`]);
          continue;
        }
        if (reply[2] !== ErrorCode.AUTHORIZATION) { failures.push(`${m.name}: ${String(reply[1])}`); continue; }
        assert.match(String(reply[1]), new RegExp(`^\\[${m.name.replace(/\./g, '\\.')}\\] User \\[${bob.id}\\] : Not authorized to perform `), m.name);
        assert.ok(String(reply[1]).includes(`[${id}]`), `${m.name} names the object: ${String(reply[1])}`);
      }
      assert.deepEqual(failures, []);
      assert.equal(await checksum(cloud.db), before, 'no write from a refused call');
      process.stdout.write(`# authorization matrix (${backend.name}): ${objectMethods.length} methods on another user's objects: `
        + 'refused with AUTHORIZATION naming the object, database unchanged\n');
    });
  });
}
