import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../src/api/app.js';
import { ManualClock } from '../../src/clock.js';
import { DEFAULTS } from '../../src/config.js';
import { ImageType } from '../../src/domain/image.js';
import { Lcm, VmState } from '../../src/domain/vmState.js';
import { memoryLogger } from '../../src/logger.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { CloudNotEmptyError, seedDemoCloud, type DemoCloud } from '../../src/seed/demoCloud.js';
import { backupJobTable } from '../../src/store/backupJobs.js';
import { bootstrap } from '../../src/store/bootstrap.js';
import type { Database } from '../../src/store/database.js';
import { hostTable } from '../../src/store/hosts.js';
import { imageTable } from '../../src/store/images.js';
import { migrate } from '../../src/store/migrate.js';
import { vmTable } from '../../src/store/vms.js';
import { backends } from '../support/backends.js';
import { TEST_EPOCH_S } from '../support/cloud.js';

const T0 = TEST_EPOCH_S;

async function freshCloud(db: Database): Promise<App> {
  await migrate(db);
  await bootstrap(db, async () => ({ name: 'oneadmin', password: 'pw' }));
  return { db, config: { ...DEFAULTS, DB: { ...DEFAULTS.DB } }, clock: new ManualClock(T0 * 1000), log: memoryLogger() };
}

for (const backend of backends()) {
  describe(`oned-emu seed --demo (${backend.name})`, () => {
    let db: Database;
    let app: App;
    let demo: DemoCloud;
    before(async () => {
      db = await backend.open();
      app = await freshCloud(db);
      demo = await seedDemoCloud(app);
    });
    after(async () => { await db.close(); });

    it('two monitored hosts, a 1 TiB backup datastore, eight RUNNING VMs on both hosts with disks of several sizes', async () => {
      assert.equal(demo.hosts.length, 2);
      for (const id of demo.hosts) assert.equal((await hostTable.get(db, id))?.state, 2, 'MONITORED');
      assert.equal(demo.vms.length, 8);
      const sizes = new Set<number>();
      for (const { id, host } of demo.vms) {
        const vm = (await vmTable.get(db, id))!;
        assert.deepEqual([vm.state, vm.lcmState], [VmState.ACTIVE, Lcm.RUNNING], vm.name);
        assert.equal(vm.history.at(-1)?.hid, host);
        sizes.add(vm.template.getVectors('DISK').reduce((s, d) => s + Number(d.get('SIZE')), 0));
      }
      assert.deepEqual(new Set(demo.vms.map((v) => v.host)), new Set(demo.hosts));
      assert.ok(sizes.size >= 4, `sizes ${[...sizes].join(', ')}`);
      const { rows } = await db.query<{ total: string }>(`SELECT body->'template' AS total FROM datastore_pool WHERE oid = $1`, [demo.datastore]);
      assert.match(JSON.stringify(rows[0].total), /\["TOTAL_MB","1048576"\]/);
    });

    it('two minutes of emulated time later both jobs have backed up VMs and the BACKUP images exist', async () => {
      const scheduler = new Scheduler(app);
      app.scheduler = scheduler;
      await scheduler.advance(120);
      const [hourly, databases] = await Promise.all(demo.jobs.map(async (j) => (await backupJobTable.get(db, j.id))!));
      assert.equal(hourly.template.get('EXECUTION'), 'SEQUENTIAL');
      assert.deepEqual([databases.template.get('EXECUTION'), databases.template.get('MODE'), databases.template.get('KEEP_LAST')],
        ['PARALLEL', 'INCREMENT', '4']);
      for (const [job, { firstRun }] of [[hourly, demo.jobs[0]], [databases, demo.jobs[1]]] as const) {
        assert.ok(job.lastBackupTime >= firstRun && job.lastBackupTime <= T0 + 60, `${job.name} ran within the first minute`);
      }
      assert.deepEqual(demo.jobs.map((j) => j.firstRun), [T0 + 30, T0 + 45]);
      assert.ok(hourly.updatedVms.length >= 1, `hourly updated ${hourly.updatedVms.join(',')}`);
      assert.ok(databases.updatedVms.length >= 1, `databases updated ${databases.updatedVms.join(',')}`);
      assert.deepEqual([...hourly.errorVms, ...databases.errorVms], []);
      const images = (await imageTable.list(db, 'true', 'ASC')).filter((i) => i.type === ImageType.BACKUP);
      assert.ok(images.every((i) => i.datastoreId === demo.datastore));
      const backedUp = new Set(images.flatMap((i) => i.vms));
      for (const vm of [...hourly.updatedVms, ...databases.updatedVms]) assert.ok(backedUp.has(vm), `a BACKUP image of VM ${vm}`);
    });

    it('refuses a cloud in use, saying what it holds', async () => {
      await assert.rejects(seedDemoCloud(app), (err: unknown) => err instanceof CloudNotEmptyError
        && /already holds a cloud \(hosts: 2, VMs: 8, images: \d+, backup jobs: 2, datastores: 1\)/.test(err.message));
      const other = await backend.open();
      try {
        const used = await freshCloud(other);
        await other.query(`INSERT INTO user_pool SELECT 2, 'alice', body, uid, gid, owner_u, group_u, other_u FROM user_pool WHERE oid = 0`);
        await assert.rejects(seedDemoCloud(used), /\(users: 1\)/);
      } finally {
        await other.close();
      }
    });
  });
}
