import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';
import { validateDocument } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const between = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1];
const ids = (xml: string, tag: string) => [...(between(xml, tag) ?? '').matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
const tmplValue = (xml: string, name: string) => xml.match(new RegExp(`<${name}><!\\[CDATA\\[(.*?)\\]\\]></${name}>`))?.[1];

const GUIDE_TEMPLATE = `NAME = "My backup job"
BACKUP_VMS   = "13,15,3"
DATASTORE_ID = 101
FS_FREEZE = "NONE"
KEEP_LAST = "4"
MODE      = "INCREMENT"
PRIORITY  = 7
EXECUTION = "SEQUENTIAL"
SCHED_ACTION = [ REPEAT="0", DAYS="1,5", END_TYPE="0", TIME="1695478500" ]
SCHED_ACTION = [ REPEAT="3", DAYS="1", END_TYPE="0", TIME="1695478500" ]`;

const GUIDE_INFO = '<BACKUPJOB><ID>0</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>My backup job</NAME>'
  + '<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>0</GROUP_U><GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A>'
  + '<OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS><PRIORITY>7</PRIORITY><LAST_BACKUP_TIME>0</LAST_BACKUP_TIME>'
  + '<LAST_BACKUP_DURATION>0</LAST_BACKUP_DURATION><SCHED_ACTIONS><ID>0</ID><ID>1</ID></SCHED_ACTIONS><UPDATED_VMS></UPDATED_VMS>'
  + '<OUTDATED_VMS></OUTDATED_VMS><BACKING_UP_VMS></BACKING_UP_VMS><ERROR_VMS></ERROR_VMS><TEMPLATE>'
  + '<BACKUP_VMS><![CDATA[13,15,3]]></BACKUP_VMS><BACKUP_VOLATILE><![CDATA[NO]]></BACKUP_VOLATILE><DATASTORE_ID><![CDATA[101]]></DATASTORE_ID>'
  + '<EXECUTION><![CDATA[SEQUENTIAL]]></EXECUTION><FS_FREEZE><![CDATA[NONE]]></FS_FREEZE><INCREMENT_MODE><![CDATA[CBT]]></INCREMENT_MODE>'
  + '<KEEP_LAST><![CDATA[4]]></KEEP_LAST><MODE><![CDATA[INCREMENT]]></MODE>'
  + '<SCHED_ACTION><ID>0</ID><PARENT_ID>0</PARENT_ID><TYPE>BACKUPJOB</TYPE><ACTION>backup</ACTION><ARGS></ARGS><TIME>1695478500</TIME>'
  + '<REPEAT>0</REPEAT><DAYS>1,5</DAYS><END_TYPE>0</END_TYPE><END_VALUE>-1</END_VALUE><DONE>-1</DONE><MESSAGE></MESSAGE><WARNING>0</WARNING></SCHED_ACTION>'
  + '<SCHED_ACTION><ID>1</ID><PARENT_ID>0</PARENT_ID><TYPE>BACKUPJOB</TYPE><ACTION>backup</ACTION><ARGS></ARGS><TIME>1695478500</TIME>'
  + '<REPEAT>3</REPEAT><DAYS>1</DAYS><END_TYPE>0</END_TYPE><END_VALUE>-1</END_VALUE><DONE>-1</DONE><MESSAGE></MESSAGE><WARNING>0</WARNING></SCHED_ACTION>'
  + '</TEMPLATE></BACKUPJOB>';

for (const backend of backends()) {
  describe(`one.backupjob.* (${backend.name})`, () => {
    let cloud: TestCloud;
    let alice: { id: number; session: string };
    let bob: { id: number; session: string };
    const info = async (id: number) => okXml(await cloud.call('one.backupjob.info', id));
    const allocate = async (template: string, session?: string) => {
      const reply = session ? await cloud.callAs(session, 'one.backupjob.allocate', template) : await cloud.call('one.backupjob.allocate', template);
      assert.equal(reply[0], true, String(reply[1]));
      return reply[1] as number;
    };
    before(async () => {
      cloud = await startTestCloud(backend);
      alice = await cloud.user('alice');
      bob = await cloud.user('bob');
    });
    after(async () => { await cloud.stop(); });

    it("the Backup Jobs guide's template allocates and renders like oned; pool without SCHED_ACTION", async () => {
      assert.deepEqual(await cloud.call('one.backupjob.allocate', GUIDE_TEMPLATE), [true, 0, 0]);
      const xml = await info(0);
      assert.equal(xml, GUIDE_INFO);
      await validateDocument(xml, 'backupjob.xsd');
      const pool = okXml(await cloud.call('one.backupjobpool.info', -2, -1, -1));
      assert.equal(pool, `<BACKUPJOB_POOL>${GUIDE_INFO.replace(/<SCHED_ACTION>.*<\/SCHED_ACTION>/, '')}</BACKUPJOB_POOL>`);
      await validateDocument(pool, 'backupjob_pool.xsd');
    });

    it('normalises the template: defaults, upper-casing, BACKUP_VMS, DISK_IDS; NAME/PRIORITY moved out', async () => {
      const id = await allocate('NAME=norm\nMODE=increment\nINCREMENT_MODE=snapshot\nEXECUTION=parallel\nFS_FREEZE=agent\n'
        + 'BACKUP_VOLATILE=yes\nKEEP_LAST=-3\nBACKUP_VMS="13, 15 ,x,5abc,1,1,2,1"\nDISK_IDS="3,1,3"\nDESCRIPTION="  hi  "');
      const xml = await info(id);
      await validateDocument(xml, 'backupjob.xsd');
      assert.equal(tmplValue(xml, 'MODE'), 'INCREMENT');
      assert.equal(tmplValue(xml, 'INCREMENT_MODE'), 'SNAPSHOT');
      assert.equal(tmplValue(xml, 'EXECUTION'), 'PARALLEL');
      assert.equal(tmplValue(xml, 'FS_FREEZE'), 'AGENT');
      assert.equal(tmplValue(xml, 'BACKUP_VOLATILE'), 'YES');
      assert.equal(tmplValue(xml, 'KEEP_LAST'), '0');
      assert.equal(tmplValue(xml, 'BACKUP_VMS'), '13,15,5,1,2,1');
      assert.equal(tmplValue(xml, 'DISK_IDS'), '1,3');
      assert.equal(tmplValue(xml, 'DESCRIPTION'), 'hi');
      assert.ok(!xml.includes('<NAME><![CDATA') && !xml.includes('<PRIORITY><![CDATA'));
      const full = await info(await allocate('NAME=full\nMODE=bogus\nINCREMENT_MODE=keepme\nFS_FREEZE=x\nEXECUTION=PARALELL'));
      assert.equal(tmplValue(full, 'MODE'), 'FULL');
      assert.equal(tmplValue(full, 'INCREMENT_MODE'), 'keepme', 'left untouched when MODE is not INCREMENT');
      assert.equal(tmplValue(full, 'FS_FREEZE'), 'NONE');
      assert.equal(tmplValue(full, 'EXECUTION'), 'SEQUENTIAL');
      assert.equal(tmplValue(full, 'BACKUP_VMS'), '');
    });

    it('allocate errors: parse, CREATE, priority, name, duplicates, DISK_IDS, scheduled actions', async () => {
      const m = 'one.backupjob.allocate';
      const parse = await cloud.call(m, 'NAME = [');
      assert.equal(parse[2], 8192);
      assert.match(parse[1] as string, /^\[one\.backupjob\.allocate\] Parse error: syntax error, .* at line \d+, columns \d+:\d+$/);
      const outsider = await cloud.user('outsider', [(await cloud.call('one.group.allocate', 'nocreate'))[1] as number]);
      assert.deepEqual(await cloud.callAs(outsider.session, m, 'NAME=x'), fail(m, `User [${outsider.id}] : Not authorized to perform CREATE BACKUPJOB.`, 512));
      assert.deepEqual(await cloud.call(m, 'NAME=p\nPRIORITY=100'), fail(m, 'Wrong priority value', 8192));
      assert.deepEqual(await cloud.callAs(alice.session, m, 'NAME=p\nPRIORITY=51'), fail(m, `User [${alice.id}] not authorized to perform action on backup job.`, 512));
      const fifty = await allocate('NAME=p50\nPRIORITY=50', alice.session);
      assert.equal(between(await info(fifty), 'PRIORITY'), '50');
      assert.equal(between(await info(await allocate('NAME=pjunk\nPRIORITY=60abc', alice.session)), 'PRIORITY'), '60',
        "oned's stream parse: a partly numeric PRIORITY skips the check and still lands");
      assert.deepEqual(await cloud.call(m, 'DESCRIPTION=x'), fail(m, 'Invalid NAME, it cannot be empty', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME="a/b"'), fail(m, "Invalid NAME, char '/' is not allowed", 8192));
      assert.deepEqual(await cloud.call(m, `NAME="${'n'.repeat(129)}"`), fail(m, 'Invalid NAME, max length is 128 chars', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME="My backup job"'), fail(m, 'NAME is already taken by BACKUP JOB 0.', 8192));
      assert.equal((await cloud.callAs(alice.session, m, 'NAME="My backup job"'))[0], true, 'names are unique per owner');
      assert.deepEqual(await cloud.call(m, 'NAME=d\nDISK_IDS="1,x"'), fail(m, 'Invalid DISK_IDS value: 1,x', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=d\nDISK_IDS="1,,2"'), fail(m, 'Invalid DISK_IDS value: 1,,2', 8192));
      const beforeIds = ids(okXml(await cloud.call('one.backupjobpool.info', -2, -1, -1)), 'BACKUPJOB_POOL');
      const nextBefore = Math.max(...[...okXml(await cloud.call('one.backupjobpool.info', -2, -1, -1)).matchAll(/<BACKUPJOB><ID>(\d+)/g)].map((x) => Number(x[1])));
      assert.deepEqual(await cloud.call(m, 'NAME=s\nSCHED_ACTION=[REPEAT=0, DAYS="1"]'), fail(m, 'Unable to parse the time value or value is empty: ', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=s\nSCHED_ACTION=[TIME="+60"]'), fail(m, 'Unable to parse the time value or value is empty: +60', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=s\nSCHED_ACTION=[TIME=5,REPEAT=0,DAYS="7"]'), fail(m, 'Days in a week have to be in [0,6] range', 8192));
      assert.deepEqual(beforeIds, ids(okXml(await cloud.call('one.backupjobpool.info', -2, -1, -1)), 'BACKUPJOB_POOL'), 'nothing left behind');
      // Like oned, a job dropped for a bad scheduled action used up its id.
      const next = await allocate('NAME=s\nSCHED_ACTION=[TIME=5, ARGS="dropped"]');
      assert.ok(next > nextBefore + 1, `id ${next} skips the ids of the dropped jobs (last was ${nextBefore})`);
      const xml = await info(next);
      assert.match(xml, /<ARGS><\/ARGS><TIME>5<\/TIME><REPEAT>-1<\/REPEAT><DAYS><\/DAYS><END_TYPE>-1<\/END_TYPE>/);
    });

    it('info and pool: NO_EXISTS, permissions, filters, ranges, order', async () => {
      assert.deepEqual(await cloud.call('one.backupjob.info', 999), fail('one.backupjob.info', 'Error getting backup job [999].', 1024, 999));
      assert.deepEqual(await cloud.call('one.backupjob.info', -1), fail('one.backupjob.info', 'Error getting backup job Pool.', 1024));
      assert.deepEqual(await cloud.call('one.backupjob.info', -7), fail('one.backupjob.info', 'Error getting backup job [-7].', 1024, -7));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.info', -7),
        fail('one.backupjob.info', `User [${alice.id}] : Not authorized to perform USE BACKUPJOB.`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.info', 0),
        fail('one.backupjob.info', `User [${alice.id}] : Not authorized to perform USE BACKUPJOB [0].`, 512));
      const mine = await allocate('NAME=alices', alice.session);
      const aliceJobs = okXml(await cloud.callAs(alice.session, 'one.backupjobpool.info', -2, -1, -1));
      await validateDocument(aliceJobs, 'backupjob_pool.xsd');
      const listed = [...aliceJobs.matchAll(/<BACKUPJOB><ID>(\d+)<\/ID><UID>(\d+)/g)];
      assert.ok(listed.every((x) => Number(x[2]) === alice.id) && listed.some((x) => Number(x[1]) === mine));
      assert.equal(okXml(await cloud.callAs(bob.session, 'one.backupjobpool.info', -2, -1, -1)), '<BACKUPJOB_POOL></BACKUPJOB_POOL>');
      assert.deepEqual(await cloud.call('one.backupjobpool.info', -5, -1, -1), fail('one.backupjobpool.info', 'Incorrect filter_flag', 4096));
      const all = [...okXml(await cloud.call('one.backupjobpool.info', -2, -1, -1)).matchAll(/<BACKUPJOB><ID>(\d+)/g)].map((x) => Number(x[1]));
      assert.deepEqual(all, [...all].sort((a, b) => b - a), 'DESC by default');
      const range = [...okXml(await cloud.call('one.backupjobpool.info', -2, 1, 2)).matchAll(/<BACKUPJOB><ID>(\d+)/g)].map((x) => Number(x[1]));
      assert.deepEqual(range, [2, 1]);
      const page = [...okXml(await cloud.call('one.backupjobpool.info', -2, 1, -2)).matchAll(/<BACKUPJOB><ID>(\d+)/g)].map((x) => Number(x[1]));
      assert.deepEqual(page, all.slice(1, 3));
      const byUid = okXml(await cloud.call('one.backupjobpool.info', alice.id, -1, -1));
      assert.ok([...byUid.matchAll(/<UID>(\d+)<\/UID>/g)].every((x) => Number(x[1]) === alice.id));
      // A user's OPENNEBULA/API_LIST_ORDER overrides oned.conf.
      await cloud.call('one.user.update', 0, 'OPENNEBULA = [ API_LIST_ORDER = "ASC" ]', 1);
      const asc = [...okXml(await cloud.call('one.backupjobpool.info', -2, -1, -1)).matchAll(/<BACKUPJOB><ID>(\d+)/g)].map((x) => Number(x[1]));
      assert.deepEqual(asc, [...all].sort((a, b) => a - b));
      await cloud.call('one.user.update', 0, 'OPENNEBULA = [ API_LIST_ORDER = "DESC" ]', 1);
    });

    it('update: replace and merge, PRIORITY/NAME/SCHED_ACTION dropped, errors', async () => {
      const id = await allocate('NAME=upd\nBACKUP_VMS="1,2,3"\nKEEP_LAST=2\nERROR="old"', alice.session);
      const m = 'one.backupjob.update';
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'BACKUP_VMS = "1,2,3,4"', 1), [true, id, 0]);
      let xml = await info(id);
      assert.equal(tmplValue(xml, 'BACKUP_VMS'), '1,2,3,4');
      assert.equal(tmplValue(xml, 'KEEP_LAST'), '2');
      assert.equal((xml.match(/<BACKUP_VMS>/g) ?? []).length, 1);
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'KEEP_LAST=5\nPRIORITY=1\nNAME=zzz\nSCHED_ACTION=[TIME=1]'), [true, id, 0]);
      xml = await info(id);
      assert.equal(tmplValue(xml, 'KEEP_LAST'), '5');
      assert.equal(tmplValue(xml, 'BACKUP_VMS'), '', 'replace without BACKUP_VMS empties it');
      assert.equal(tmplValue(xml, 'ERROR'), undefined);
      assert.equal(between(xml, 'NAME'), 'upd');
      assert.equal(between(xml, 'PRIORITY'), '50');
      assert.deepEqual(ids(xml, 'SCHED_ACTIONS'), []);
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'A=1', 2), fail(m, 'Wrong update type', 4096));
      assert.deepEqual(await cloud.callAs(bob.session, m, id, 'A=1', 2), fail(m, `User [${bob.id}] : Not authorized to perform MANAGE BACKUPJOB [${id}].`, 512));
      assert.deepEqual(await cloud.call(m, 404, 'A=1'), fail(m, 'Error getting backup job [404].', 1024, 404));
      assert.deepEqual(await cloud.call(m, id, 'DISK_IDS="1,x"', 1), fail(m, 'Cannot update template. Invalid DISK_IDS value: 1,x', 8192));
      const parse = await cloud.call(m, id, 'A = [', 1);
      assert.match(parse[1] as string, /^\[one\.backupjob\.update\] Cannot update template\. Parse error: /);
      assert.equal(tmplValue(await info(id), 'KEEP_LAST'), '5', 'failed updates change nothing');
    });

    it('rename, chmod, chown with their check order', async () => {
      const id = await allocate('NAME=ren', alice.session);
      const other = await allocate('NAME=taken', alice.session);
      assert.deepEqual(await cloud.callAs(bob.session, 'one.backupjob.rename', id, 'ren'), [true, id, 0], 'same name: no authorization');
      assert.deepEqual(await cloud.callAs(bob.session, 'one.backupjob.rename', id, 'x'),
        fail('one.backupjob.rename', `User [${bob.id}] : Not authorized to perform MANAGE BACKUPJOB [${id}].`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.rename', id, 'taken'),
        fail('one.backupjob.rename', `backup job cannot be renamed to taken because it collides with backup job ${other}`, 2048));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.rename', id, 'a:b'),
        fail('one.backupjob.rename', "Invalid NAME, char ':' is not allowed", 2048));
      assert.deepEqual(await cloud.call('one.backupjob.rename', 404, 'x'), fail('one.backupjob.rename', 'Error getting backup job [404].', 1024, 404));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.rename', id, 'renamed'), [true, id, 0]);

      const chmod = 'one.backupjob.chmod';
      assert.deepEqual(await cloud.callAs(alice.session, chmod, id, 1, 1, 0, 1, 0, 0, 0, 0, 0), [true, id, 0]);
      assert.match(await info(id), /<GROUP_U>1<\/GROUP_U><GROUP_M>0<\/GROUP_M>/);
      assert.deepEqual(await cloud.callAs(alice.session, chmod, id, 1, 1, 1, 1, 0, 0, 0, 0, 0),
        fail(chmod, `User [${alice.id}] : Not authorized to perform ADMIN BACKUPJOB [${id}].`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, chmod, id, 2, 1, 0, 1, 0, 0, 0, 0, 0),
        fail(chmod, 'New permission values must be -1, 0 or 1', 8192));
      assert.deepEqual(await cloud.call(chmod, 404, 1, 1, 1, 1, 1, 1, 1, 1, 1), fail(chmod, 'Error getting backup job [404].', 1024, 404));
      assert.deepEqual(await cloud.call(chmod, id, 1, 1, 1, 1, 1, 1, 1, 1, 1), [true, id, 0]);

      const chown = 'one.backupjob.chown';
      assert.deepEqual(await cloud.call(chown, id, 999, -1), fail(chown, 'Error getting user [999].', 1024, 999));
      assert.deepEqual(await cloud.call(chown, id, -1, 999), fail(chown, 'Error getting group [999].', 1024, 999));
      assert.deepEqual(await cloud.call(chown, 404, -1, -1), fail(chown, 'Error getting backup job [404].', 1024, 404));
      assert.deepEqual(await cloud.callAs(alice.session, chown, id, bob.id, -1),
        fail(chown, `User [${alice.id}] : Not authorized to perform MANAGE USER [${bob.id}].`, 512));
      await allocate('NAME=renamed', bob.session);
      assert.deepEqual(await cloud.call(chown, id, bob.id, -1),
        fail(chown, `user [${bob.id}] already owns backup job [${id + 2 > 0 ? (await idOf('renamed', bob.id)) : 0}] with NAME renamed`, 8192));
      assert.deepEqual(await cloud.call(chown, id, 1, 0), [true, id, 0]);
      const xml = await info(id);
      assert.ok(xml.includes('<UID>1</UID><GID>0</GID><UNAME>serveradmin</UNAME><GNAME>oneadmin</GNAME>'));
      await validateDocument(xml, 'backupjob.xsd');
    });

    async function idOf(name: string, uid: number): Promise<number> {
      const pool = okXml(await cloud.call('one.backupjobpool.info', uid, -1, -1));
      const m = [...pool.matchAll(/<BACKUPJOB><ID>(\d+)<\/ID>.*?<NAME>(.*?)<\/NAME>/g)].find((x) => x[2] === name);
      return Number(m![1]);
    }

    it('lock levels, test flag, owners, unlock and what a lock blocks', async () => {
      const id = await allocate('NAME=lck', alice.session);
      await cloud.call('one.backupjob.chown', id, -1, 1);
      await cloud.call('one.backupjob.chmod', id, 1, 1, 0, 1, 1, 0, 0, 0, 0);
      const lock = 'one.backupjob.lock';
      assert.deepEqual(await cloud.callAs(alice.session, lock, id, 5), fail(lock, 'Wrong lock level specified', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, lock, id, 4, false), [true, id, 0]);
      let xml = await info(id);
      assert.match(xml, new RegExp(`<NAME>lck</NAME><LOCK><LOCKED>1</LOCKED><OWNER>${alice.id}</OWNER><TIME>${TEST_EPOCH_S}</TIME><REQ_ID>\\d+</REQ_ID></LOCK><PERMISSIONS>`));
      await validateDocument(xml, 'backupjob.xsd');
      assert.deepEqual(await cloud.callAs(alice.session, lock, id, 1, true), fail(lock, String(TEST_EPOCH_S), 2048));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.rename', id, 'x'),
        fail('one.backupjob.rename', `User [${alice.id}] : Not authorized to perform MANAGE BACKUPJOB [${id}].`, 512));
      assert.deepEqual(await cloud.call('one.backupjob.backup', id), fail('one.backupjob.backup', `User [0] : BACKUPJOB is locked. [${id}].`, 512));
      assert.equal((await cloud.callAs(alice.session, 'one.backupjob.info', id))[0], true, 'locks never block info');
      assert.deepEqual(await cloud.callAs(bob.session, lock, id, 2), fail(lock, 'Error trying to lock the resource.', 2048));
      assert.deepEqual(await cloud.callAs(bob.session, 'one.backupjob.unlock', id),
        fail('one.backupjob.unlock', 'Cannot unlock: Lock is owned by another user', 2048));
      assert.deepEqual(await cloud.call(lock, id, 3), [true, id, 0], 'admins override');
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.rename', id, 'lck2'), [true, id, 0], 'level 3 blocks only ADMIN');
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.priority', id, 60),
        fail('one.backupjob.priority', `User [${alice.id}] : Not authorized to perform ADMIN BACKUPJOB [${id}].`, 512));
      assert.deepEqual(await cloud.call('one.backupjob.priority', id, 60), fail('one.backupjob.priority', `User [0] : BACKUPJOB is locked. [${id}].`, 512));
      assert.deepEqual(await cloud.call('one.backupjob.unlock', id), [true, id, 0]);
      xml = await info(id);
      assert.ok(!xml.includes('<LOCK>'));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.unlock', id),
        fail('one.backupjob.unlock', 'Cannot unlock: Lock is owned by another user', 2048), 'an unlocked job has lock owner -1');
      assert.deepEqual(await cloud.call('one.backupjob.unlock', id), [true, id, 0]);
    });

    it('backup, cancel, retry and the four sets', async () => {
      const id = await allocate('NAME=sets\nBACKUP_VMS="5,3,3,9"', alice.session);
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.backup', id), [true, id, 0]);
      let xml = await info(id);
      assert.deepEqual(ids(xml, 'OUTDATED_VMS'), [3, 5, 9]);
      assert.equal(between(xml, 'LAST_BACKUP_TIME'), String(TEST_EPOCH_S));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.backup', id),
        fail('one.backupjob.backup', 'Unable to execute Backup Job, pending backups in progress', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.cancel', id), [true, id, 0]);
      xml = await info(id);
      assert.deepEqual(ids(xml, 'OUTDATED_VMS'), []);
      // retry moves ERROR back to OUTDATED (the scheduler fills ERROR; here the database stands in for it).
      await cloud.db.query(`UPDATE backupjob_pool SET body = jsonb_set(body, '{errorVms}', '[9, 3]') WHERE oid = $1`, [id]);
      await cloud.call('one.backupjob.update', id, 'ERROR = "boom"', 1);
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.retry', id), [true, id, 0]);
      xml = await info(id);
      assert.deepEqual(ids(xml, 'OUTDATED_VMS'), [3, 9]);
      assert.deepEqual(ids(xml, 'ERROR_VMS'), []);
      assert.equal(tmplValue(xml, 'ERROR'), undefined);
      // Removing a VM from BACKUP_VMS removes it from every set.
      await cloud.callAs(alice.session, 'one.backupjob.update', id, 'BACKUP_VMS="5,3"', 1);
      assert.deepEqual(ids(await info(id), 'OUTDATED_VMS'), [3]);
      const empty = await allocate('NAME=emptyvms', alice.session);
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.backup', empty), [true, empty, 0]);
      for (const m of ['one.backupjob.backup', 'one.backupjob.cancel', 'one.backupjob.retry']) {
        assert.deepEqual(await cloud.call(m, 404), fail(m, 'Error getting backup job [404].', 1024, 404));
        assert.deepEqual(await cloud.callAs(bob.session, m, id), fail(m, `User [${bob.id}] : Not authorized to perform MANAGE BACKUPJOB [${id}].`, 512));
      }
    });

    it('priority: range first, ADMIN above 49', async () => {
      const id = await allocate('NAME=prio', alice.session);
      const m = 'one.backupjob.priority';
      assert.deepEqual(await cloud.callAs(bob.session, m, 404, 100), fail(m, 'Wrong priority value', 2048));
      assert.deepEqual(await cloud.call(m, 404, 10), fail(m, 'Error getting backup job [404].', 1024, 404));
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 49), [true, id, 0]);
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 50), fail(m, `User [${alice.id}] : Not authorized to perform ADMIN BACKUPJOB [${id}].`, 512));
      assert.deepEqual(await cloud.call(m, id, 99), [true, id, 0]);
      assert.equal(between(await info(id), 'PRIORITY'), '99');
    });

    it('scheduled actions: add, update in place, delete, shared id counter, errors', async () => {
      const id = await allocate('NAME=sched', alice.session);
      const add = 'one.backupjob.schedadd';
      const sa = await cloud.callAs(alice.session, add, id, 'SCHED_ACTION = [ REPEAT = "3", DAYS = "1", TIME = "1695478500", ARGS = "kept" ]');
      assert.equal(sa[0], true);
      const saId = sa[1] as number;
      let xml = await info(id);
      assert.deepEqual(ids(xml, 'SCHED_ACTIONS'), [saId]);
      assert.ok(xml.includes(`<SCHED_ACTION><ID>${saId}</ID><PARENT_ID>${id}</PARENT_ID><TYPE>BACKUPJOB</TYPE><ACTION>backup</ACTION><ARGS>kept</ARGS><TIME>1695478500</TIME><REPEAT>3</REPEAT><DAYS>1</DAYS>`));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.schedupdate', id, saId, 'SCHED_ACTION = [ DAYS = "5" ]'), [true, saId, 0]);
      xml = await info(id);
      assert.ok(xml.includes('<TIME>1695478500</TIME><REPEAT>3</REPEAT><DAYS>5</DAYS>'), 'merged in place');
      await validateDocument(xml, 'backupjob.xsd');
      assert.deepEqual(await cloud.callAs(alice.session, add, id, 'A=1'), fail(add, 'No SCHED_ACTION attribute in template', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[TIME=1, REPEAT=4]'), fail(add, 'Wrong REPEAT value: 4', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[TIME=1, REPEAT=3, DAYS="1,2"]'), fail(add, 'Hours have to be in [0,168] range', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[TIME=1, REPEAT=1]'), fail(add, 'Repeat set, but DAYS are empty', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[TIME=1, REPEAT=1, DAYS=""]'), fail(add, 'Scheduled Action repeat set, but DAYS are empty', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[TIME=1, END_TYPE=3]'), fail(add, 'Wrong END_TYPE value: 3', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[TIME=1, END_TYPE=1, END_VALUE=-2]'),
        fail(add, 'Error parsing END_VALUE, times has to be greater or equal to 0', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[TIME=1, WARNING="+5"]'), fail(add, 'Unable to parse the warning value: +5', 2048));
      const endless = await cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[TIME=1, END_TYPE=1]');
      assert.equal(endless[0], true, 'a missing END_VALUE is accepted, as oned does');
      assert.equal(endless[1], saId + 1, 'ids come from one counter');
      const up = 'one.backupjob.schedupdate';
      assert.deepEqual(await cloud.callAs(alice.session, up, id, saId, 'A=1'), fail(up, 'No SCHED_ACTION attribute in template', 8192));
      assert.deepEqual(await cloud.callAs(alice.session, up, id, 999, 'SCHED_ACTION=[DAYS=1]'), fail(up, "SCHED_ACTION with id = 999 doesn't exist", 8192));
      assert.deepEqual(await cloud.callAs(alice.session, up, id, saId, 'SCHED_ACTION=[REPEAT=9]'), fail(up, 'Wrong REPEAT value: 9', 8192));
      const del = 'one.backupjob.scheddelete';
      assert.deepEqual(await cloud.callAs(alice.session, del, id, 999), fail(del, 'Error getting scheduled action [999].', 1024, 999));
      assert.deepEqual(await cloud.callAs(alice.session, del, id, saId), [true, saId, 0]);
      assert.deepEqual(ids(await info(id), 'SCHED_ACTIONS'), [saId + 1]);
      assert.deepEqual(await cloud.callAs(bob.session, add, id, 'SCHED_ACTION=[TIME=1]'),
        fail(add, `User [${bob.id}] : Not authorized to perform MANAGE BACKUPJOB [${id}].`, 512));
    });

    it('delete removes the job and its scheduled actions; ids are never reused', async () => {
      const id = await allocate('NAME=gone\nSCHED_ACTION=[TIME=10]', alice.session);
      const saIds = ids(await info(id), 'SCHED_ACTIONS');
      assert.deepEqual(await cloud.callAs(bob.session, 'one.backupjob.delete', id),
        fail('one.backupjob.delete', `User [${bob.id}] : Not authorized to perform MANAGE BACKUPJOB [${id}].`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.backupjob.delete', id), [true, id, 0]);
      assert.deepEqual(await cloud.call('one.backupjob.delete', id), fail('one.backupjob.delete', `Error getting backup job [${id}].`, 1024, id));
      assert.deepEqual(await cloud.call('one.backupjob.delete', -1), fail('one.backupjob.delete', 'Error getting backup job Pool.', 1024));
      const { rows } = await cloud.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schedaction_pool WHERE oid = ANY($1::int[])', [saIds]);
      assert.equal(rows[0].n, 0);
      assert.ok(await allocate('NAME=gone', alice.session) > id);
    });
  });
}
