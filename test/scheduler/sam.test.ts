process.env.TZ = 'UTC';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, type TestCloud } from '../support/cloud.js';

const ids = (xml: string, tag: string) => [...(xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1] ?? '').matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
const ok = (r: RpcValue[]) => { assert.equal(r[0], true, String(r[1])); return r[1] as number; };

/** A small cloud: hosts, a backup datastore, running VMs placed on chosen hosts. */
async function cloudWith(cloud: TestCloud, hosts: number, vmsPerHost: number[], backupSeconds: number) {
  const hostIds: number[] = [];
  for (let h = 0; h < hosts; h++) hostIds.push(ok(await cloud.call('one.host.allocate', `host-${h}`, 'dummy', 'dummy', -1)));
  const ds = ok(await cloud.call('one.datastore.allocate', 'NAME = "backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"', -1));
  const vms: number[][] = [];
  for (const [h, count] of vmsPerHost.entries()) {
    const here: number[] = [];
    for (let i = 0; i < count; i++) {
      const vm = ok(await cloud.call('one.vm.allocate', `NAME = "vm-${h}-${i}"\nCPU = 0.1\nMEMORY = 64\nDISK = [ SIZE = 1024, TYPE = "fs" ]\nEMU_BACKUP_SECONDS = ${backupSeconds}`, true));
      ok(await cloud.call('one.vm.deploy', vm, hostIds[h]));
      here.push(vm);
    }
    vms.push(here);
  }
  return { hostIds, ds, vms };
}

for (const backend of backends()) {
  describe(`scheduled-action manager: limits, priority, SEQUENTIAL/PARALLEL (${backend.name})`, () => {
    let cloud: TestCloud;
    before(async () => { cloud = await startTestCloud(backend, { MAX_BACKUPS: 5, MAX_BACKUPS_HOST: 2, MANAGER_TIMER: 15 }); });
    after(async () => { await cloud.stop(); });
    const job = async (id: number) => okXml(await cloud.call('one.backupjob.info', id));

    it('TV-13: top priority only, host limit breaks the job, PARALLEL, lower priority waits', async () => {
      const { ds, vms } = await cloudWith(cloud, 4, [3, 2, 2, 1], 100);
      const [h0, h1, h2, h3] = vms;
      const j1 = ok(await cloud.call('one.backupjob.allocate', `NAME = j1\nPRIORITY = 60\nEXECUTION = PARALLEL\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${[...h0, ...h1].join(',')}"`));
      const j2 = ok(await cloud.call('one.backupjob.allocate', `NAME = j2\nPRIORITY = 60\nEXECUTION = PARALLEL\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${h2.join(',')}"`));
      const j3 = ok(await cloud.call('one.backupjob.allocate', `NAME = j3\nPRIORITY = 40\nEXECUTION = PARALLEL\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${h3.join(',')}"`));
      for (const j of [j1, j2, j3]) ok(await cloud.call('one.backupjob.backup', j));
      await cloud.call('emu.scheduler.tick');
      assert.deepEqual(ids(await job(j1), 'BACKING_UP_VMS'), [h0[0], h0[1]], 'host 0 holds two; the third VM breaks j1');
      assert.deepEqual(ids(await job(j2), 'BACKING_UP_VMS'), h2);
      assert.deepEqual(ids(await job(j3), 'BACKING_UP_VMS'), [], 'priority 40 waits');
      await cloud.call('emu.scheduler.tick');
      assert.deepEqual(ids(await job(j1), 'BACKING_UP_VMS'), [h0[0], h0[1]]);
      // The backups last 100 s; the tick after their completion (ticks every 15 s) launches the rest.
      await cloud.call('emu.clock.advance', 106);
      assert.deepEqual(ids(await job(j1), 'UPDATED_VMS'), [h0[0], h0[1]]);
      assert.deepEqual(ids(await job(j1), 'BACKING_UP_VMS'), [h0[2], ...h1]);
      assert.deepEqual(ids(await job(j2), 'UPDATED_VMS'), h2);
      assert.deepEqual(ids(await job(j3), 'BACKING_UP_VMS'), [], 'j1 still has OUTDATED VMs until h0[2] starts');
      await cloud.call('emu.clock.advance', 400);
      for (const j of [j1, j2, j3]) {
        const xml = await job(j);
        assert.deepEqual(ids(xml, 'OUTDATED_VMS'), []);
        assert.deepEqual(ids(xml, 'BACKING_UP_VMS'), []);
      }
      assert.deepEqual(ids(await job(j3), 'UPDATED_VMS'), h3);
      assert.match(await job(j1), /<LAST_BACKUP_DURATION>\d+<\/LAST_BACKUP_DURATION>/);
    });

    it('TV-14 like: SEQUENTIAL, a launch error goes to ERROR_VMS with the job ERROR text, a VM without history stays OUTDATED', async () => {
      const host = ok(await cloud.call('one.host.allocate', 'seq-host', 'dummy', 'dummy', -1));
      const backupDs = ok(await cloud.call('one.datastore.allocate', 'NAME = "seq-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"', -1));
      const mk = async (name: string) => ok(await cloud.call('one.vm.allocate', `NAME = ${name}\nCPU = 0.1\nMEMORY = 64\nDISK = [ SIZE = 10, TYPE = "fs" ]\nEMU_BACKUP_SECONDS = 30`, true));
      const vm5 = await mk('v5'); ok(await cloud.call('one.vm.deploy', vm5, host));
      const vm6 = await mk('v6'); ok(await cloud.call('one.vm.deploy', vm6, host)); ok(await cloud.call('one.vm.action', 'stop', vm6));
      const vm7 = await mk('v7');
      const vm8 = await mk('v8'); ok(await cloud.call('one.vm.deploy', vm8, host)); ok(await cloud.call('one.vm.action', 'poweroff', vm8));
      const j = ok(await cloud.call('one.backupjob.allocate', `NAME = seq\nPRIORITY = 99\nDATASTORE_ID = ${backupDs}\nBACKUP_VMS = "${vm5},${vm6},${vm7},${vm8}"`));
      ok(await cloud.call('one.backupjob.backup', j));
      await cloud.call('emu.scheduler.tick');
      assert.deepEqual(ids(await job(j), 'BACKING_UP_VMS'), [vm5]);
      await cloud.call('emu.clock.advance', 45);
      const xml = await job(j);
      assert.deepEqual(ids(xml, 'UPDATED_VMS'), [vm5]);
      assert.deepEqual(ids(xml, 'ERROR_VMS'), [vm6]);
      assert.deepEqual(ids(xml, 'OUTDATED_VMS'), [vm7]);
      assert.deepEqual(ids(xml, 'BACKING_UP_VMS'), [vm8]);
      assert.match(xml, new RegExp(`<ERROR><!\\[CDATA\\[\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4} : \\[backup\\] Could not create a new backup for VM ${vm6}, wrong state STOPPED\\.\\]\\]></ERROR>`));
      const v8 = okXml(await cloud.call('one.vm.info', vm8));
      assert.match(v8, /<STATE>3<\/STATE><LCM_STATE>70<\/LCM_STATE>/);
      await cloud.call('emu.clock.advance', 60);
      assert.match(okXml(await cloud.call('one.vm.info', vm8)), /<STATE>8<\/STATE><LCM_STATE>0<\/LCM_STATE>/);
      assert.deepEqual(ids(await job(j), 'UPDATED_VMS'), [vm5, vm8]);
      // A job whose OUTDATED never empties refuses new runs.
      assert.equal((await cloud.call('one.backupjob.backup', j))[0], false);
    });

    it('a due schedule fires the job within a tick and advances TIME; a busy job records MESSAGE and retries', async () => {
      const host = ok(await cloud.call('one.host.allocate', 'sched-host', 'dummy', 'dummy', -1));
      const ds = ok(await cloud.call('one.datastore.allocate', 'NAME = "sched-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"', -1));
      const vm = ok(await cloud.call('one.vm.allocate', 'NAME = s1\nCPU = 0.1\nMEMORY = 64\nDISK = [ SIZE = 10, TYPE = "fs" ]\nEMU_BACKUP_SECONDS = 7200', true));
      ok(await cloud.call('one.vm.deploy', vm, host));
      const now = (await cloud.call('emu.clock.get'))[1] as number;
      const j = ok(await cloud.call('one.backupjob.allocate', `NAME = hourly\nPRIORITY = 99\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${vm}"\nSCHED_ACTION = [ TIME = "${now + 60}", REPEAT = 3, DAYS = "1" ]`));
      await cloud.call('emu.clock.advance', 75);
      let xml = await job(j);
      assert.deepEqual(ids(xml, 'BACKING_UP_VMS'), [vm]);
      assert.match(xml, new RegExp(`<LAST_BACKUP_TIME>${now + 75}</LAST_BACKUP_TIME>`));
      assert.match(xml, new RegExp(`<TIME>${now + 60 + 3600}</TIME><REPEAT>3</REPEAT><DAYS>1</DAYS><END_TYPE>-1</END_TYPE><END_VALUE>-1</END_VALUE><DONE>${now + 75}</DONE><MESSAGE></MESSAGE>`));
      // The backup takes two hours: the next hourly run finds it busy.
      await cloud.call('emu.clock.advance', 3600);
      xml = await job(j);
      assert.match(xml, /<MESSAGE>\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} : Unable to execute Backup Job, pending backups in progress<\/MESSAGE>/);
    });
  });
}
