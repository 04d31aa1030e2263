process.env.TZ = 'UTC';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, type TestCloud } from '../support/cloud.js';

const ids = (xml: string, tag: string) => [...(xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1] ?? '').matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
const ok = (r: RpcValue[]) => { assert.equal(r[0], true, String(r[1])); return r[1] as number; };
/** Mon 2024-01-08 01:00:00 UTC, TV-10/TV-11's start. */
const MONDAY_0100 = 1704675600;

for (const backend of backends()) {
  describe(`scheduler.md §8 vectors through XML-RPC (${backend.name})`, () => {
    let cloud: TestCloud;
    let host: number;
    let ds: number;
    const vm = async (name: string, seconds: number, extra = '') => {
      const id = ok(await cloud.call('one.vm.allocate', `NAME = ${name}\nCPU = 0.1\nMEMORY = 64\nDISK = [ TYPE = "fs", SIZE = 10 ]\nEMU_BACKUP_SECONDS = ${seconds}\n${extra}`, true));
      ok(await cloud.call('one.vm.deploy', id, host));
      return id;
    };
    before(async () => {
      cloud = await startTestCloud(backend, { MAX_BACKUPS: 2, MAX_BACKUPS_HOST: 0, MANAGER_TIMER: 15 });
      await cloud.call('emu.clock.set', MONDAY_0100 - 600);
      host = ok(await cloud.call('one.host.allocate', 'tv-host', 'dummy', 'dummy', -1));
      ds = ok(await cloud.call('one.datastore.allocate', 'NAME = "tv-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "dummy"\nTM_MAD = "-"', -1));
    });
    after(async () => { await cloud.stop(); });

    it('TV-11: two schedules on one job: one per tick, the other retried while the job is busy, then a second run', async () => {
      const v = await vm('tv11', 7185);
      const j = ok(await cloud.call('one.backupjob.allocate', `NAME = tv11\nPRIORITY = 99\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${v}"\n`
        + `SCHED_ACTION = [ REPEAT = 0, DAYS = "1", TIME = "${MONDAY_0100}" ]\nSCHED_ACTION = [ REPEAT = 3, DAYS = "24", TIME = "${MONDAY_0100 + 10}" ]`));
      const now = (await cloud.call('emu.clock.get'))[1] as number;
      await cloud.call('emu.clock.advance', MONDAY_0100 + 15 - now);
      let xml = okXml(await cloud.call('one.backupjob.info', j));
      assert.match(xml, new RegExp(`<TIME>${MONDAY_0100 + 7 * 86400}</TIME><REPEAT>0</REPEAT>`), 'the earlier action ran and moved a week on');
      assert.deepEqual(ids(xml, 'BACKING_UP_VMS'), [v], 'its VM launched in the same tick');
      await cloud.call('emu.clock.advance', 15);
      xml = okXml(await cloud.call('one.backupjob.info', j));
      assert.match(xml, /<TIME>\d+<\/TIME><REPEAT>3<\/REPEAT><DAYS>24<\/DAYS><END_TYPE>-1<\/END_TYPE><END_VALUE>-1<\/END_VALUE><DONE>-1<\/DONE><MESSAGE>Mon Jan  8 01:00:30 2024 : Unable to execute Backup Job, pending backups in progress<\/MESSAGE>/);
      // The backup ends at 03:00:00; the next tick runs the hourly action: a second full run of the job.
      await cloud.call('emu.clock.advance', 7200);
      xml = okXml(await cloud.call('one.backupjob.info', j));
      assert.match(xml, new RegExp(`<TIME>${MONDAY_0100 + 10 + 24 * 3600}</TIME><REPEAT>3</REPEAT><DAYS>24</DAYS><END_TYPE>-1</END_TYPE><END_VALUE>-1</END_VALUE><DONE>\\d+</DONE><MESSAGE></MESSAGE>`));
      assert.deepEqual(ids(xml, 'BACKING_UP_VMS'), [v]);
      ok(await cloud.call('one.backupjob.cancel', j));
    });

    it('TV-15: VM-level scheduled backups take slots first; a failing one uses a slot each tick', async () => {
      await cloud.call('emu.clock.advance', 7200);
      const start = (await cloud.call('emu.clock.get'))[1] as number;
      const stopped = await vm('tv15-42', 30);
      ok(await cloud.call('one.vm.action', 'stop', stopped));
      const v40 = await vm('tv15-40', 20);
      const v41 = await vm('tv15-41', 20);
      for (const [id, offset] of [[stopped, 1], [v40, 2], [v41, 3]]) {
        ok(await cloud.call('one.vm.schedadd', id, `SCHED_ACTION = [ ACTION = "backup", ARGS = "${ds}", TIME = "${start + offset}" ]`));
      }
      const v50 = await vm('tv15-50', 20);
      const v51 = await vm('tv15-51', 20);
      const j = ok(await cloud.call('one.backupjob.allocate', `NAME = tv15\nPRIORITY = 99\nEXECUTION = PARALLEL\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${v50},${v51}"`));
      ok(await cloud.call('one.backupjob.backup', j));
      await cloud.call('emu.clock.advance', 15);
      const state = async (id: number) => okXml(await cloud.call('one.vm.info', id)).match(/<LCM_STATE>(\d+)<\/LCM_STATE>/)![1];
      assert.equal(await state(v40), '69');
      assert.equal(await state(v41), '3', 'the failing action used the second slot');
      assert.deepEqual(ids(okXml(await cloud.call('one.backupjob.info', j)), 'BACKING_UP_VMS'), []);
      const failing = okXml(await cloud.call('one.vm.info', stopped));
      assert.match(failing, new RegExp(`<MESSAGE>\\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4} : \\[backup\\] Could not create a new backup for VM ${stopped}, wrong state STOPPED\\.</MESSAGE>`));
      await cloud.call('emu.clock.advance', 30);
      assert.equal(await state(v41), '69', 'tick 2: 42 fails again, 41 starts');
      await cloud.call('emu.clock.advance', 60);
      const job = okXml(await cloud.call('one.backupjob.info', j));
      assert.ok(ids(job, 'BACKING_UP_VMS').length + ids(job, 'UPDATED_VMS').length >= 1, 'the job gets slots once the VM actions are served');
      ok(await cloud.call('one.vm.scheddelete', stopped, Number(failing.match(/<SCHED_ACTION><ID>(\d+)<\/ID>/)![1])));
    });

    it('TV-16: the job\'s config overwrites the VM\'s at launch; FULL retention removes the lowest image ids', async () => {
      await cloud.call('emu.clock.advance', 600);
      const v = await vm('tv16', 10, 'BACKUP_CONFIG = [ KEEP_LAST = "4", MODE = "INCREMENT", FS_FREEZE = "AGENT" ]');
      const j = ok(await cloud.call('one.backupjob.allocate', `NAME = tv16\nPRIORITY = 99\nKEEP_LAST = 2\nMODE = FULL\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${v}"`));
      for (let i = 0; i < 3; i++) {
        ok(await cloud.call('one.backupjob.backup', j));
        await cloud.call('emu.clock.advance', 30);
      }
      const info = okXml(await cloud.call('one.vm.info', v));
      const config = info.match(/<BACKUP_CONFIG>(.*?)<\/BACKUP_CONFIG>/)![1];
      assert.match(config, /<FS_FREEZE><!\[CDATA\[NONE\]\]><\/FS_FREEZE>/);
      assert.match(config, /<KEEP_LAST><!\[CDATA\[2\]\]><\/KEEP_LAST>/);
      assert.match(config, /<MODE><!\[CDATA\[FULL\]\]><\/MODE>/);
      assert.match(config, /<INCREMENT_MODE><!\[CDATA\[CBT\]\]><\/INCREMENT_MODE>/, 'kept from the VM');
      assert.match(config, /<INCREMENTAL_BACKUP_ID><!\[CDATA\[-1\]\]><\/INCREMENTAL_BACKUP_ID>/);
      assert.doesNotMatch(config, /LAST_DATASTORE_ID/);
      const backupIds = ids(info, 'BACKUP_IDS');
      assert.equal(backupIds.length, 2);
      const images = okXml(await cloud.call('one.imagepool.info', -2, -1, -1));
      const names = [...images.matchAll(/<IMAGE><ID>(\d+)<\/ID>.*?<NAME>(.*?)<\/NAME>.*?<TYPE>6<\/TYPE>/g)].filter((m) => backupIds.includes(Number(m[1])));
      assert.equal(names.length, 2);
      for (const [, , name] of names) assert.match(name, new RegExp(`^${v} \\d\\d-\\w{3} \\d\\d\\.\\d\\d\\.\\d\\d$`));
      assert.match(images, new RegExp(`<BACKUP_JOB_ID><!\\[CDATA\\[${j}\\]\\]></BACKUP_JOB_ID>`));
      assert.deepEqual(ids(okXml(await cloud.call('one.backupjob.info', j)), 'UPDATED_VMS'), [v]);
    });

    it('a week of hourly schedules for several jobs simulates in order and ends with nothing stuck', async () => {
      const start = (await cloud.call('emu.clock.get'))[1] as number;
      const vms = [await vm('wk-a', 600), await vm('wk-b', 600), await vm('wk-c', 600)];
      for (const [i, v] of vms.entries()) {
        ok(await cloud.call('one.backupjob.allocate', `NAME = week${i}\nDATASTORE_ID = ${ds}\nBACKUP_VMS = "${v}"\nKEEP_LAST = 3\n`
          + `SCHED_ACTION = [ REPEAT = 3, DAYS = "4", TIME = "${start + 60 + i}" ]`));
      }
      const t0 = Date.now();
      await cloud.call('emu.clock.advance', 7 * 86400);
      const elapsedMs = Date.now() - t0;
      for (const v of vms) {
        const info = okXml(await cloud.call('one.vm.info', v));
        assert.match(info, /<STATE>3<\/STATE><LCM_STATE>(3|69)<\/LCM_STATE>/);
        assert.equal(ids(info, 'BACKUP_IDS').length, 3, 'KEEP_LAST=3 over 42 runs');
        assert.ok((info.match(/<ACTION>50<\/ACTION>/g) ?? []).length >= 40, 'about every four hours for a week');
      }
      assert.ok(elapsedMs > 0);
    });
  });
}
