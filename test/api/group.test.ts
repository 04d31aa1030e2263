import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, type TestCloud } from '../support/cloud.js';
import { validateDocument } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];

for (const backend of backends()) {
  describe(`one.group.* (${backend.name})`, () => {
    let cloud: TestCloud;
    before(async () => { cloud = await startTestCloud(backend); });
    after(async () => { await cloud.stop(); });

    it('fresh groups 0 and 1 render like oned', async () => {
      const g0 = okXml(await cloud.call('one.group.info', 0));
      await validateDocument(g0, 'group.xsd');
      assert.ok(g0.startsWith('<GROUP><ID>0</ID><NAME>oneadmin</NAME><TEMPLATE></TEMPLATE><USERS><ID>0</ID><ID>1</ID></USERS><ADMINS></ADMINS><DATASTORE_QUOTA></DATASTORE_QUOTA>'));
      assert.ok(g0.includes('<VLAN_RULES><ID><![CDATA[0]]></ID></VLAN_RULES><DEFAULT_GROUP_QUOTAS>'));
      const g1 = okXml(await cloud.call('one.group.info', 1));
      assert.ok(g1.includes('<TEMPLATE><SUNSTONE><DEFAULT_VIEW><![CDATA[cloud]]></DEFAULT_VIEW><GROUP_ADMIN_DEFAULT_VIEW><![CDATA[groupadmin]]></GROUP_ADMIN_DEFAULT_VIEW><GROUP_ADMIN_VIEWS><![CDATA[groupadmin,cloud]]></GROUP_ADMIN_VIEWS><VIEWS><![CDATA[cloud]]></VIEWS></SUNSTONE></TEMPLATE>'));
      const pool = okXml(await cloud.call('one.grouppool.info'));
      await validateDocument(pool, 'group_pool.xsd');
      assert.match(pool, /^<GROUP_POOL><GROUP><ID>1<\/ID>.*<GROUP><ID>0<\/ID>/);
    });

    it('allocate: ids from 100, names checked without a final dot, duplicates refused', async () => {
      const m = 'one.group.allocate';
      assert.deepEqual(await cloud.call(m, 'team'), [true, 100, 0]);
      assert.deepEqual(await cloud.call(m, 'team'), fail(m, 'NAME is already taken by GROUP 100.', 8192));
      assert.deepEqual(await cloud.call(m, 'Team'), [true, 101, 0]);
      assert.deepEqual(await cloud.call(m, 'a b'), fail(m, "Invalid NAME, char ' ' is not allowed", 8192));
      assert.deepEqual(await cloud.call(m, ''), fail(m, 'Invalid NAME, it cannot be empty', 8192));
      const u = await cloud.user('plain');
      assert.deepEqual(await cloud.callAs(u.session, m, 'mine'), fail(m, `User [${u.id}] : Not authorized to perform CREATE GROUP.`, 512));
    });

    it('members see their group; others do not; info(-1) is the caller\'s group', async () => {
      const u = await cloud.user('member');
      assert.match(okXml(await cloud.callAs(u.session, 'one.group.info', -1)), /^<GROUP><ID>1<\/ID>/);
      assert.deepEqual(await cloud.callAs(u.session, 'one.group.info', 0),
        fail('one.group.info', `User [${u.id}] : Not authorized to perform USE GROUP [0].`, 512));
      assert.deepEqual(await cloud.call('one.group.info', 404), fail('one.group.info', 'Error getting group [404].', 1024, 404));
      const pool = okXml(await cloud.callAs(u.session, 'one.grouppool.info'));
      assert.deepEqual([...pool.matchAll(/<GROUP><ID>(\d+)<\/ID>/g)].map((x) => Number(x[1])), [1]);
    });

    it('update needs ADMIN on the group; delete rules', async () => {
      const u = await cloud.user('updater');
      assert.deepEqual(await cloud.callAs(u.session, 'one.group.update', 1, 'A=1'),
        fail('one.group.update', `User [${u.id}] : Not authorized to perform ADMIN GROUP [1].`, 512));
      assert.deepEqual(await cloud.call('one.group.update', 100, 'DESCRIPTION = "the team"', 1), [true, 100, 0]);
      assert.match(okXml(await cloud.call('one.group.info', 100)), /<TEMPLATE><DESCRIPTION><!\[CDATA\[the team\]\]><\/DESCRIPTION><\/TEMPLATE>/);
      assert.deepEqual(await cloud.call('one.group.delete', 1),
        fail('one.group.delete', 'Cannot delete group. System Groups (ID < 100) cannot be deleted.', 2048));
      assert.deepEqual(await cloud.call('one.group.delete', 101), [true, 101, 0]);
      assert.deepEqual(await cloud.call('one.group.delete', 101), fail('one.group.delete', 'Error getting group [101].', 1024, 101));
      assert.deepEqual(await cloud.call('one.group.allocate', 'after'), [true, 102, 0], 'ids are not reused');
    });

    it('a new group gets the default VDC rules, so its members can create backup jobs only through group users', async () => {
      const { rows } = await cloud.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM acl WHERE user_sel = ${0x200000000 + 100}`);
      assert.equal(rows[0].n, 3);
      const { rows: all } = await cloud.db.query<{ n: number }>('SELECT count(*)::int AS n FROM acl');
      assert.ok(all[0].n >= 9);
    });
  });
}
