import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, type TestCloud } from '../support/cloud.js';

const N = 50;

for (const backend of backends()) {
  describe(`backup jobs under ${N} concurrent calls (${backend.name})`, () => {
    let cloud: TestCloud;
    before(async () => { cloud = await startTestCloud(backend, { MAX_CONN: 64 }); });
    after(async () => { await cloud.stop(); });
    const parallel = (fn: (i: number) => Promise<RpcValue[]>) => Promise.all(Array.from({ length: N }, (_, i) => fn(i)));

    it('allocations never share an id', async () => {
      const replies = await parallel((i) => cloud.call('one.backupjob.allocate', `NAME = "par-${i}"\nBACKUP_VMS = "${i},${i + 1}"`));
      const ids = replies.map((r) => { assert.equal(r[0], true, String(r[1])); return r[1] as number; });
      assert.equal(new Set(ids).size, N);
      const pool = okXml(await cloud.call('one.backupjobpool.info', -2, -1, -1));
      assert.equal([...pool.matchAll(/<BACKUPJOB><ID>/g)].length, N);
    });

    it('one name, fifty allocations: exactly one wins, the rest get oned\'s duplicate reply', async () => {
      const replies = await parallel(() => cloud.call('one.backupjob.allocate', 'NAME = "same"'));
      const winners = replies.filter((r) => r[0] === true);
      assert.equal(winners.length, 1);
      for (const r of replies.filter((x) => x[0] === false)) {
        assert.equal(r[1], `[one.backupjob.allocate] NAME is already taken by BACKUP JOB ${winners[0][1] as number}.`);
        assert.equal(r[2], 8192);
      }
    });

    it('fifty renames to one name: one wins, the rest collide', async () => {
      const pool = okXml(await cloud.call('one.backupjobpool.info', -2, -1, -1));
      const ids = [...pool.matchAll(/<BACKUPJOB><ID>(\d+)<\/ID>.*?<NAME>par-/g)].map((m) => Number(m[1]));
      assert.equal(ids.length, N);
      const replies = await Promise.all(ids.map((id) => cloud.call('one.backupjob.rename', id, 'target')));
      const ok = replies.filter((r) => r[0] === true);
      assert.equal(ok.length, 1);
      const winner = ok[0][1] as number;
      for (const r of replies.filter((x) => x[0] === false)) {
        assert.match(r[1] as string, new RegExp(`because it collides with backup job ${winner}$`));
      }
    });

    it('fifty merges into one job all land; the sets stay sorted and inside BACKUP_VMS', async () => {
      const id = (await cloud.call('one.backupjob.allocate', 'NAME = "merge-target"\nBACKUP_VMS = "1,2,3"'))[1] as number;
      await cloud.call('one.backupjob.backup', id);
      const replies = await parallel((i) => cloud.call('one.backupjob.update', id, `ATTR_${String(i).padStart(2, '0')} = "${i}"`, 1));
      assert.ok(replies.every((r) => r[0] === true));
      const xml = okXml(await cloud.call('one.backupjob.info', id));
      for (let i = 0; i < N; i++) assert.ok(xml.includes(`<ATTR_${String(i).padStart(2, '0')}><![CDATA[${i}]]>`), `attribute ${i}`);
      assert.match(xml, /<OUTDATED_VMS><ID>1<\/ID><ID>2<\/ID><ID>3<\/ID><\/OUTDATED_VMS>/);
      const shrink = await parallel((i) => cloud.call('one.backupjob.update', id, `BACKUP_VMS = "${i % 2 === 0 ? '1,2' : '2,3'}"`, 1));
      assert.ok(shrink.every((r) => r[0] === true));
      const after = okXml(await cloud.call('one.backupjob.info', id));
      const vms = after.match(/<BACKUP_VMS><!\[CDATA\[(.*?)\]\]>/)![1].split(',').map(Number);
      const outdated = [...after.match(/<OUTDATED_VMS>(.*?)<\/OUTDATED_VMS>/)![1].matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
      assert.ok(outdated.every((v) => vms.includes(v)));
      assert.deepEqual(outdated, [...outdated].sort((a, b) => a - b));
    });

    it('fifty backups of one job: one fills OUTDATED, the others see pending backups', async () => {
      const id = (await cloud.call('one.backupjob.allocate', 'NAME = "race"\nBACKUP_VMS = "7"'))[1] as number;
      const replies = await parallel(() => cloud.call('one.backupjob.backup', id));
      assert.equal(replies.filter((r) => r[0] === true).length, 1);
      assert.ok(replies.filter((r) => r[0] === false).every((r) => r[1] === '[one.backupjob.backup] Unable to execute Backup Job, pending backups in progress'));
    });
  });
}
