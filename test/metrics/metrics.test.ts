// A backup failure's time is read back from USER_TEMPLATE/ERROR, written in local time: fix the zone.
process.env.TZ = 'UTC';

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../src/config.js';
import { memoryLogger } from '../../src/logger.js';
import { startSchedulerOnly } from '../../src/server.js';
import { backends } from '../support/backends.js';
import { ONEADMIN_PASSWORD, startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';
import { helpOf, parseExposition, sampleValue, type Sample } from '../support/exposition.js';

const T0 = TEST_EPOCH_S;

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parseExposition(text) };
}

for (const backend of backends()) {
  describe(`Prometheus metrics (${backend.name})`, () => {
    let cloud: TestCloud;
    let metricsUrl: string;
    const vm: Record<string, number> = {};
    let job: number;

    const call = async (method: string, ...params: (string | number | boolean)[]) => {
      const reply = await cloud.call(method, ...params);
      assert.equal(reply[0], true, `${method}: ${String(reply[1])}`);
      return reply[1] as number;
    };
    const runningVm = async (name: string, sizeMb: number, extra = '') => {
      const id = await call('one.vm.allocate', `NAME=${name}\nCPU=0.1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=${sizeMb}]\n`
        + `BACKUP_CONFIG=[BACKUP_VOLATILE=YES]\n${extra}`, true);
      await call('one.vm.deploy', id, 0);
      return id;
    };

    before(async () => {
      cloud = await startTestCloud(backend, { METRICS_PORT: 0, MAX_BACKUPS_HOST: 0 });
      metricsUrl = cloud.url.replace('/RPC2', '/metrics');
      await call('one.host.allocate', 'h1', 'dummy', 'dummy', -1);
      await call('one.datastore.allocate', 'NAME=bk\nTYPE=BACKUP_DS\nDS_MAD=dummy', -1);
      vm.ok = await runningVm('web', 3400);
      vm.failing = await runningVm('db', 1700, 'EMU_BACKUP_SECONDS=5\nEMU_BACKUP_FAIL="disk full"');
      vm.alone = await runningVm('alone', 1700);
      vm.never = await runningVm('never', 1700);
      job = await call('one.backupjob.allocate', `NAME=nightly\nDATASTORE_ID=100\nEXECUTION=PARALLEL\nBACKUP_VOLATILE=YES\nBACKUP_VMS="${vm.ok},${vm.failing}"`);
      await call('one.backupjob.priority', job, 60);
    });
    after(async () => { await cloud.stop(); });

    it('backups in flight: the job\'s sets, the active count and its limit', async () => {
      await call('one.vm.backup', vm.alone, 100);
      await call('one.backupjob.backup', job);
      let { samples } = await scrape(metricsUrl);
      const jobLabels = { one_backupjob_id: job, one_backupjob_name: 'nightly' };
      assert.equal(sampleValue(samples, 'opennebula_backupjob_vms', { ...jobLabels, state: 'outdated' }), 2);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_vms', { ...jobLabels, state: 'backing_up' }), 0);
      assert.equal(sampleValue(samples, 'opennebula_backups_active'), 1);
      assert.equal(sampleValue(samples, 'opennebula_backups_max'), DEFAULTS.MAX_BACKUPS);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_priority', jobLabels), 60);

      await call('emu.scheduler.tick');
      ({ samples } = await scrape(metricsUrl));
      assert.equal(sampleValue(samples, 'opennebula_backupjob_vms', { ...jobLabels, state: 'outdated' }), 0);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_vms', { ...jobLabels, state: 'backing_up' }), 2);
      assert.equal(sampleValue(samples, 'opennebula_backups_active'), 3);
      assert.equal(sampleValue(samples, 'opennebula_vm_backup_last_status', { one_vm_id: vm.alone }), undefined,
        'no backup has finished yet');
    });

    it('after the backups: last status and time per VM as the upstream exporter names them, the job\'s last run', async () => {
      await call('emu.clock.advance', 60);
      const { text, samples } = await scrape(metricsUrl);
      const jobLabels = { one_backupjob_id: job, one_backupjob_name: 'nightly' };
      assert.equal(sampleValue(samples, 'opennebula_backupjob_vms', { ...jobLabels, state: 'updated' }), 1);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_vms', { ...jobLabels, state: 'error' }), 1);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_vms', { ...jobLabels, state: 'backing_up' }), 0);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_last_backup_timestamp_seconds', jobLabels), T0);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_last_backup_duration_seconds', jobLabels), 20, '3400 MB at 170 MB/s');
      assert.equal(sampleValue(samples, 'opennebula_backups_active'), 0);

      const last = (id: number) => ({
        status: sampleValue(samples, 'opennebula_vm_backup_last_status', { one_vm_id: id }),
        at: sampleValue(samples, 'opennebula_vm_backup_last_timestamp', { one_vm_id: id }),
      });
      assert.deepEqual(last(vm.ok), { status: 1, at: T0 + 20 });
      assert.deepEqual(last(vm.failing), { status: 0, at: T0 + 5 });
      assert.deepEqual(last(vm.alone), { status: 1, at: T0 + 10 });
      assert.deepEqual(last(vm.never), { status: undefined, at: undefined });
      assert.equal(sampleValue(samples, 'opennebula_vm_backup_last_status', { one_vm_id: vm.ok, one_vm_name: 'web' }), 1,
        'labelled one_vm_id and one_vm_name');
      assert.equal(helpOf(text, 'opennebula_vm_backup_last_status'), 'Last backup result for VM (1=success, 0=failed)');
      assert.equal(helpOf(text, 'opennebula_vm_backup_last_timestamp'), 'Unix timestamp of last backup event for VM');
      assert.match(text, /^# TYPE opennebula_backupjob_vms gauge$/m);
      assert.match(text, /^# TYPE oned_emu_scheduler_tick_duration_seconds histogram$/m);
      assert.ok(sampleValue(samples, 'oned_emu_scheduler_tick_duration_seconds_count')! >= 1, 'emu.scheduler.tick at least');
    });

    it('XML-RPC calls by method and result: success, the oned error name, fault', async () => {
      assert.equal((await cloud.call('one.vm.info', vm.ok))[0], true);
      assert.equal((await cloud.call('one.vm.info', 999))[0], false);
      assert.equal((await cloud.callAs('oneadmin:wrong', 'one.vm.info', vm.ok))[0], false);
      await assert.rejects(cloud.client.call('one.no.such.method', 'x'));
      const { samples } = await scrape(metricsUrl);
      const count = (method: string, result: string) => sampleValue(samples, 'oned_emu_xmlrpc_requests_total', { method, result });
      assert.equal(count('one.vm.info', 'success'), 1);
      assert.equal(count('one.vm.info', 'NO_EXISTS'), 1);
      assert.equal(count('one.vm.info', 'AUTHENTICATION'), 1);
      assert.equal(count('(unknown)', 'fault'), 1, 'unknown names share one series');
      assert.equal(count('one.vm.allocate', 'success'), 4);
      assert.equal(sampleValue(samples, 'oned_emu_xmlrpc_request_duration_seconds_count', { method: 'one.vm.info' }), 3);
      assert.ok(sampleValue(samples, 'process_resident_memory_bytes')! > 0, 'Node\'s process metrics too');
    });

    it('the metrics port serves the same cloud, /ready, and nothing else', async () => {
      assert.ok(cloud.metricsPort !== undefined && cloud.metricsPort !== 0);
      const base = `http://127.0.0.1:${cloud.metricsPort}`;
      const { samples } = await scrape(`${base}/metrics`);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_vms', { one_backupjob_id: job, state: 'updated' }), 1);
      assert.equal((await fetch(`${base}/ready`)).status, 200);
      assert.equal((await fetch(`${base}/RPC2`, { method: 'POST', body: '' })).status, 404);
      assert.equal((await fetch(metricsUrl, { method: 'POST', body: '' })).status, 405);
    });

    it('a deleted job drops out of the next scrape', async () => {
      await call('one.backupjob.delete', job);
      const { samples } = await scrape(metricsUrl);
      assert.equal(sampleValue(samples, 'opennebula_backupjob_priority', { one_backupjob_id: job }), undefined);
      assert.equal(sampleValue(samples, 'opennebula_vm_backup_last_status', { one_vm_id: vm.ok }), 1, 'VM series stay');
    });

    it('a scheduler-only process serves the same cloud on its metrics port, with its own tick and request series', async () => {
      const scheduler = await startSchedulerOnly({ config: { ...DEFAULTS, DB: { ...DEFAULTS.DB }, METRICS_PORT: 0 },
        clock: cloud.clock, log: memoryLogger(), db: cloud.db, env: { ONEADMIN_PASSWORD } });
      try {
        const { samples } = await scrape(`http://127.0.0.1:${scheduler.metricsPort}/metrics`);
        assert.equal(sampleValue(samples, 'opennebula_vm_backup_last_timestamp', { one_vm_id: vm.alone }), T0 + 10);
        assert.equal(sampleValue(samples, 'oned_emu_scheduler_tick_duration_seconds_count'), 0, 'a manual clock: no tick ran here');
        assert.equal(samples.filter((s) => s.name === 'oned_emu_xmlrpc_requests_total').length, 0);
      } finally {
        await scheduler.stop();
      }
    });
  });
}
