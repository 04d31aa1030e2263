import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResponse } from '../../src/rpc/codec.js';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { ONEADMIN, startTestCloud, type TestCloud } from '../support/cloud.js';
import { validateDocument } from '../support/xsd.js';

/** The wire forms real clients send (clients.md): Ruby OCA <i4> and <boolean>0</boolean>, goca and pyone <int>;
 *  goca escapes text as &#xA; &#x9; &#34;. */
type Dialect = 'ruby' | 'goca' | 'pyone';
const escapeText = (s: string, dialect: Dialect) => {
  let out = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  if (dialect === 'goca') out = out.replace(/\n/g, '&#xA;').replace(/\t/g, '&#x9;').replace(/"/g, '&#34;');
  return out;
};
function body(dialect: Dialect, method: string, params: Array<string | number | boolean>): string {
  const value = (p: string | number | boolean) => {
    if (typeof p === 'number') return dialect === 'ruby' ? `<i4>${p}</i4>` : `<int>${p}</int>`;
    if (typeof p === 'boolean') return `<boolean>${p ? 1 : 0}</boolean>`;
    return `<string>${escapeText(p, dialect)}</string>`;
  };
  return `<?xml version="1.0"?>\n<methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param><value>${value(p)}</value></param>`).join('')}</params></methodCall>`;
}

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];

for (const backend of backends()) {
  describe(`real clients replayed (${backend.name})`, () => {
    let cloud: TestCloud;
    const send = async (dialect: Dialect, method: string, ...params: Array<string | number | boolean>) => {
      const reply = await cloud.client.raw(body(dialect, method, [ONEADMIN, ...params]));
      assert.equal(reply.status, 200);
      const decoded = decodeResponse(reply.body);
      assert.equal(decoded.fault, undefined, JSON.stringify(decoded.fault));
      return decoded.value as RpcValue[];
    };
    before(async () => { cloud = await startTestCloud(backend); });
    after(async () => { await cloud.stop(); });

    it('the onebackupjob CLI session of traces/ (Ruby OCA forms) answers as oned did, from a fresh cloud', async () => {
      const r = (m: string, ...p: Array<string | number | boolean>) => send('ruby', m, ...p);
      assert.deepEqual(await r('one.backupjob.allocate', 'NAME = "bj-file"\nBACKUP_VMS = ""\nKEEP_LAST = "3"\nSCHED_ACTION = [ REPEAT = "3", DAYS = "1", TIME = "1695480000" ]\n'), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.allocate', 'NAME="bj-opts"\nBACKUP_VMS="1,2,3"\nKEEP_LAST="2"\nMODE="increment"\nNAME="bj-opts"\n'), [true, 1, 0]);
      assert.deepEqual(await r('one.backupjob.allocate', 'NAME="bj-sched"\nBACKUP_VMS="3"\n'), [true, 2, 0]);
      assert.deepEqual(await r('one.backupjob.schedadd', 2, 'SCHED_ACTION = [TIME    = 1795677360, REPEAT = 0, DAYS = "1,3", END_TYPE = 0]'), [true, 1, 0]);
      assert.deepEqual(await r('one.backupjob.allocate', 'NAME = "bj-file"\n'), fail('one.backupjob.allocate', 'NAME is already taken by BACKUP JOB 0.', 8192));
      const list = (await r('one.backupjobpool.info', -2, -1, -1))[1] as string;
      await validateDocument(list, 'backupjob_pool.xsd');
      assert.deepEqual([...list.matchAll(/<BACKUPJOB><ID>(\d+)<\/ID>.*?<NAME>(.*?)<\/NAME>/g)].map((m) => `${m[1]} ${m[2]}`),
        ['2 bj-sched', '1 bj-opts', '0 bj-file']);
      assert.match(list, /<NAME>bj-opts<\/NAME>.*?<TEMPLATE><BACKUP_VMS><!\[CDATA\[1,2,3\]\]><\/BACKUP_VMS><BACKUP_VOLATILE><!\[CDATA\[NO\]\]><\/BACKUP_VOLATILE><EXECUTION><!\[CDATA\[SEQUENTIAL\]\]><\/EXECUTION><FS_FREEZE><!\[CDATA\[NONE\]\]><\/FS_FREEZE><INCREMENT_MODE><!\[CDATA\[CBT\]\]><\/INCREMENT_MODE><KEEP_LAST><!\[CDATA\[2\]\]><\/KEEP_LAST><MODE><!\[CDATA\[INCREMENT\]\]><\/MODE><\/TEMPLATE>/);
      assert.equal((await r('one.backupjobpool.info', -3, -1, -1))[0], true);
      assert.equal((await r('one.userpool.info'))[0], true);
      assert.equal((await r('one.backupjobpool.info', 1, -1, -1))[1], '<BACKUPJOB_POOL></BACKUPJOB_POOL>', 'list serveradmin: empty');
      const show = (await r('one.backupjob.info', 0))[1] as string;
      assert.match(show, /<SCHED_ACTIONS><ID>0<\/ID><\/SCHED_ACTIONS>.*<SCHED_ACTION><ID>0<\/ID><PARENT_ID>0<\/PARENT_ID><TYPE>BACKUPJOB<\/TYPE><ACTION>backup<\/ACTION><ARGS><\/ARGS><TIME>1695480000<\/TIME><REPEAT>3<\/REPEAT><DAYS>1<\/DAYS><END_TYPE>-1<\/END_TYPE>/);
      assert.deepEqual(await r('one.backupjob.update', 0, 'KEEP_LAST = "5"\nBACKUP_VMS = ""\n', 0), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.update', 0, 'KEEP_LAST = "5"\n', 1), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.update', 0, 'BACKUP_VMS=""\nBACKUP_VOLATILE="NO"\nEXECUTION="SEQUENTIAL"\nFS_FREEZE="NONE"\nKEEP_LAST="3"\nMODE="FULL"', 0), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.rename', 0, 'renamed'), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.chmod', 0, 1, 1, 0, 1, 0, 0, 0, 0, 0), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.chown', 0, 1, -1), [true, 0, 0]);
      assert.equal((await r('one.grouppool.info'))[0], true);
      assert.deepEqual(await r('one.backupjob.chown', 0, 1, 1), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.chown', 0, -1, 1), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.lock', 0, 1, false), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.lock', 0, 3, false), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.unlock', 0), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.priority', 0, 20), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.priority', 0, 30), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.priority', 1, 30), [true, 1, 0]);
      assert.deepEqual(await r('one.backupjob.backup', 0), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.schedadd', 1, 'SCHED_ACTION = [TIME    = 1795677900]'), [true, 2, 0]);
      assert.deepEqual(await r('one.backupjob.cancel', 0), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.retry', 0), [true, 0, 0]);
      assert.equal((await r('one.backupjob.info', 0))[0], true);
      assert.deepEqual(await r('one.backupjob.schedupdate', 0, 0, '\nSCHED_ACTION = [REPEAT = "3",DAYS = "5",TIME = "1795680000"]'), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.scheddelete', 0, 0), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.delete', 1), [true, 1, 0]);
      assert.equal((await r('one.backupjobpool.info', -2, -1, -1))[0], true);
      assert.deepEqual(await r('one.backupjob.delete', 0), [true, 0, 0]);
      assert.deepEqual(await r('one.backupjob.info', 99), fail('one.backupjob.info', 'Error getting backup job [99].', 1024, 99));
      const last = (await r('one.backupjobpool.info', -2, -1, -1))[1] as string;
      assert.deepEqual([...last.matchAll(/<BACKUPJOB><ID>(\d+)<\/ID>/g)].map((m) => m[1]), ['2']);
    });

    it("goca's BJSuite, test by test (each allocates and deletes its job)", async () => {
      const suite: Array<[string, (id: number) => Promise<void>]> = [
        ['TestGetByNameAndID', async (id) => {
          const xml = (await send('goca', 'one.backupjob.info', id))[1] as string;
          assert.match(xml, new RegExp(`^<BACKUPJOB><ID>${id}</ID>`));
          assert.match(xml, /<BACKUP_VMS><!\[CDATA\[1,2,3\]\]><\/BACKUP_VMS>/);
          const pool = (await send('goca', 'one.backupjobpool.info', -2, -1, -1))[1] as string;
          assert.equal([...pool.matchAll(/<NAME>test-backupjob<\/NAME>/g)].length, 1, 'ByName needs a unique name');
        }],
        ['TestUpdate', async (id) => {
          assert.deepEqual(await send('goca', 'one.backupjob.update', id, 'BACKUP_VMS = "1,2,3,4"', 1), [true, id, 0]);
          const xml = (await send('goca', 'one.backupjob.info', id))[1] as string;
          assert.equal([...xml.matchAll(/<BACKUP_VMS>/g)].length, 1);
          assert.match(xml, /<BACKUP_VMS><!\[CDATA\[1,2,3,4\]\]><\/BACKUP_VMS>/);
        }],
        ['TestRename', async (id) => {
          await send('goca', 'one.backupjob.rename', id, 'new_name');
          assert.match((await send('goca', 'one.backupjob.info', id))[1] as string, /<NAME>new_name<\/NAME>/);
        }],
        ['TestChown', async (id) => { assert.deepEqual(await send('goca', 'one.backupjob.chown', id, 1, 1), [true, id, 0]); }],
        ['TestChmod', async (id) => {
          await send('goca', 'one.backupjob.chmod', id, 1, 1, 1, 1, 1, 1, 1, 1, 1);
          assert.match((await send('goca', 'one.backupjob.info', id))[1] as string,
            /<PERMISSIONS><OWNER_U>1<\/OWNER_U><OWNER_M>1<\/OWNER_M><OWNER_A>1<\/OWNER_A><GROUP_U>1<\/GROUP_U><GROUP_M>1<\/GROUP_M><GROUP_A>1<\/GROUP_A><OTHER_U>1<\/OTHER_U><OTHER_M>1<\/OTHER_M><OTHER_A>1<\/OTHER_A><\/PERMISSIONS>/);
        }],
        ['TestLock', async (id) => {
          assert.deepEqual(await send('goca', 'one.backupjob.lock', id, 1, false), [true, id, 0]);
          assert.match((await send('goca', 'one.backupjob.info', id))[1] as string, /<LOCK><LOCKED>1<\/LOCKED>/);
          assert.deepEqual(await send('goca', 'one.backupjob.unlock', id), [true, id, 0]);
          assert.doesNotMatch((await send('goca', 'one.backupjob.info', id))[1] as string, /<LOCK>/);
          // goca 7.0 sends two parameters.
          assert.deepEqual(await send('goca', 'one.backupjob.lock', id, 1), [true, id, 0]);
          await send('goca', 'one.backupjob.unlock', id);
        }],
        ['TestBackup', async (id) => { assert.deepEqual(await send('goca', 'one.backupjob.backup', id), [true, id, 0]); }],
        ['TestCancel', async (id) => { assert.deepEqual(await send('goca', 'one.backupjob.cancel', id), [true, id, 0]); }],
        ['TestRetry', async (id) => { assert.deepEqual(await send('goca', 'one.backupjob.retry', id), [true, id, 0]); }],
        ['TestPriority', async (id) => {
          await send('goca', 'one.backupjob.priority', id, 20);
          assert.match((await send('goca', 'one.backupjob.info', id))[1] as string, /<PRIORITY>20<\/PRIORITY>/);
        }],
        ['TestScheduledAction', async (id) => {
          const sa = await send('goca', 'one.backupjob.schedadd', id, 'SCHED_ACTION = [ REPEAT = "3", DAYS = "1", TIME = "1695478500" ]');
          const saId = sa[1] as number;
          let xml = (await send('goca', 'one.backupjob.info', id))[1] as string;
          assert.equal([...xml.matchAll(/<SCHED_ACTION>/g)].length, 1);
          assert.match(xml, /<DAYS>1<\/DAYS>/);
          await send('goca', 'one.backupjob.schedupdate', id, saId, 'SCHED_ACTION = [ DAYS = "5" ]');
          xml = (await send('goca', 'one.backupjob.info', id))[1] as string;
          assert.match(xml, /<TIME>1695478500<\/TIME><REPEAT>3<\/REPEAT><DAYS>5<\/DAYS>/);
          await send('goca', 'one.backupjob.scheddelete', id, saId);
          xml = (await send('goca', 'one.backupjob.info', id))[1] as string;
          assert.equal([...xml.matchAll(/<SCHED_ACTION>/g)].length, 0);
        }],
      ];
      for (const [name, test] of suite) {
        const created = await send('goca', 'one.backupjob.allocate', 'NAME = "test-backupjob"\nBACKUP_VMS = "1,2,3"');
        assert.equal(created[0], true, `${name}: ${String(created[1])}`);
        const id = created[1] as number;
        await test(id);
        assert.deepEqual(await send('goca', 'one.backupjob.delete', id), [true, id, 0], name);
      }
    });

    it('pyone forms: <int>, flat K="V" lines, nested dicts as XML with CDATA', async () => {
      const created = await send('pyone', 'one.backupjob.allocate',
        '<TEMPLATE><NAME><![CDATA[py-job]]></NAME><BACKUP_VMS><![CDATA[4,5]]></BACKUP_VMS><SCHED_ACTION><TIME><![CDATA[1795677360]]></TIME><REPEAT><![CDATA[0]]></REPEAT><DAYS><![CDATA[2]]></DAYS></SCHED_ACTION></TEMPLATE>');
      assert.equal(created[0], true, String(created[1]));
      const id = created[1] as number;
      const xml = (await send('pyone', 'one.backupjob.info', id))[1] as string;
      assert.match(xml, /<BACKUP_VMS><!\[CDATA\[4,5\]\]><\/BACKUP_VMS>/);
      assert.match(xml, /<TIME>1795677360<\/TIME><REPEAT>0<\/REPEAT><DAYS>2<\/DAYS>/);
      assert.deepEqual(await send('pyone', 'one.backupjob.update', id, 'KEEP_LAST="7"\nMODE="INCREMENT"\n', 1), [true, id, 0]);
      assert.deepEqual(await send('pyone', 'one.backupjob.lock', id, 1), [true, id, 0]);
      assert.deepEqual(await send('pyone', 'one.backupjob.unlock', id), [true, id, 0]);
    });
  });
}
