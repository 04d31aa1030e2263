import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { INT32_MAX, RpcDouble, RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';

const T0 = TEST_EPOCH_S;

/** emu.backup.progress's struct as plain objects (PROGRESS unwrapped from its <double>). */
function plain(value: RpcValue): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof RpcDouble) return value.value;
  return value;
}

for (const backend of backends()) {
  describe(`emu.backup.progress (${backend.name})`, () => {
    let cloud: TestCloud;
    const call = async (method: string, ...params: (string | number | boolean)[]) => {
      const reply = await cloud.call(method, ...params);
      assert.equal(reply[0], true, `${method}: ${String(reply[1])}`);
      return reply[1];
    };
    const progress = async () => plain(await call('emu.backup.progress')) as { NOW: number; BACKUPS: Array<Record<string, number | string>> };

    before(async () => {
      cloud = await startTestCloud(backend);
      await call('one.host.allocate', 'h1', 'dummy', 'dummy', -1);
      await call('one.datastore.allocate', 'NAME=bk\nTYPE=BACKUP_DS\nDS_MAD=dummy', -1);
    });
    after(async () => { await cloud.stop(); });

    it('is for oneadmin only, with oned\'s reply shape', async () => {
      const alice = await cloud.user('alice');
      assert.deepEqual(await cloud.callAs(alice.session, 'emu.backup.progress'),
        [false, `[emu.backup.progress] User [${alice.id}] : Only oneadmin may use the emulator methods.`, 512, -1, new RpcI8(-1n)]);
      assert.deepEqual(await progress(), { NOW: T0, BACKUPS: [] });
    });

    it('each running backup: its VM, job, size, start and expected end, and progress that grows with the clock', async () => {
      const vm = await call('one.vm.allocate', 'NAME=web-1\nCPU=0.1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=1700]\nBACKUP_CONFIG=[BACKUP_VOLATILE=YES]', true) as number;
      await call('one.vm.deploy', vm, 0);
      await call('one.vm.backup', vm, 100);
      const running = { VM_ID: vm, VM_NAME: 'web-1', HOST_ID: 0, BACKUPJOB_ID: -1, DATASTORE_ID: 100, SIZE_MB: 1700,
        STARTED: T0, ENDS: T0 + 10 };
      assert.deepEqual(await progress(), { NOW: T0, BACKUPS: [{ ...running, TRANSFERRED_MB: 0, REMAINING: 10, PROGRESS: 0 }] });
      await call('emu.clock.advance', 4);
      assert.deepEqual(await progress(), { NOW: T0 + 4, BACKUPS: [{ ...running, TRANSFERRED_MB: 680, REMAINING: 6, PROGRESS: 0.4 }] });
      await call('emu.clock.advance', 6);
      assert.deepEqual(await progress(), { NOW: T0 + 10, BACKUPS: [] }, 'a completed backup is gone');
    });

    it('a backup a job launched names the job', async () => {
      const vm = await call('one.vm.allocate', 'NAME=db-1\nCPU=0.1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=3400]', true) as number;
      await call('one.vm.deploy', vm, 0);
      const job = await call('one.backupjob.allocate', `NAME=j\nDATASTORE_ID=100\nBACKUP_VOLATILE=YES\nBACKUP_VMS="${vm}"`) as number;
      await call('one.backupjob.backup', job);
      await call('emu.scheduler.tick');
      const { BACKUPS } = await progress();
      assert.deepEqual(BACKUPS.map((b) => [b.VM_ID, b.BACKUPJOB_ID, b.SIZE_MB, b.ENDS as number - (b.STARTED as number)]), [[vm, job, 3400, 20]]);
    });
  });

  describe(`emu.* clock methods (${backend.name})`, () => {
    let cloud: TestCloud;
    before(async () => { cloud = await startTestCloud(backend); });
    after(async () => { await cloud.stop(); });

    it('emu.clock.advance stops at the last epoch an <i4> carries, so emu.clock.* can always answer', async () => {
      const tooFar = [false, `[emu.clock.advance] The emulated clock cannot go past ${INT32_MAX} (2038-01-19 03:14:07 UTC), `
        + 'the last epoch XML-RPC carries', 0x800, -1, new RpcI8(-1n)];
      assert.deepEqual(await cloud.call('emu.clock.advance', INT32_MAX), tooFar);
      assert.deepEqual(await cloud.call('emu.clock.get'), [true, T0, 0], 'the clock did not move');
      assert.deepEqual(await cloud.call('emu.clock.advance', INT32_MAX - T0), [true, INT32_MAX, 0]);
      assert.deepEqual(await cloud.call('emu.scheduler.tick'), [true, INT32_MAX, 0]);
      assert.deepEqual(await cloud.call('emu.clock.advance', 1), tooFar);
      assert.deepEqual(await cloud.call('emu.clock.get'), [true, INT32_MAX, 0]);
    });
  });
}
