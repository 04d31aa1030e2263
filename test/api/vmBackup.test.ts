// Backup image names carry the server's local time: fix it before anything formats a date.
process.env.TZ = 'UTC';

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { DEFAULTS } from '../../src/config.js';
import { memoryLogger } from '../../src/logger.js';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { startServer } from '../../src/server.js';
import type { Database } from '../../src/store/database.js';
import { openPglite } from '../../src/store/pglite.js';
import { backends, type Backend } from '../support/backends.js';
import { okXml, ONEADMIN, ONEADMIN_PASSWORD, startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';
import { RpcClient } from '../support/rpcClient.js';
import { validateDocument } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const ok = (value: RpcValue): RpcValue[] => [true, value, 0];
const between = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1];
const ids = (xml: string, tag: string) => [...(between(xml, tag) ?? '').matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
const c = (name: string, value: string | number) => `<${name}><![CDATA[${value}]]></${name}>`;
const cdataOf = (xml: string, name: string) => xml.match(new RegExp(`<${name}><!\\[CDATA\\[(.*?)\\]\\]></${name}>`))?.[1];
const section = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>[\\s\\S]*?</${tag}>|<${tag}/>`))?.[0] ?? '';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** "<vm> <dd-Mon HH.MM.SS>" in UTC, the name oned gives a backup image completed at `epochS`. */
function backupName(vm: number, epochS: number): string {
  const d = new Date(epochS * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${vm} ${p2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]} ${p2(d.getUTCHours())}.${p2(d.getUTCMinutes())}.${p2(d.getUTCSeconds())}`;
}

interface Increment { id: number; parent: number; type: string; size: number; date: number }
const increments = (image: string): Increment[] => [...section(image, 'BACKUP_INCREMENTS').matchAll(/<INCREMENT>(.*?)<\/INCREMENT>/g)]
  .map(([, body]) => ({ id: Number(cdataOf(body, 'ID')), parent: Number(cdataOf(body, 'PARENT_ID')), type: cdataOf(body, 'TYPE')!,
    size: Number(cdataOf(body, 'SIZE')), date: Number(cdataOf(body, 'DATE')) }));

/** What the tests need of a cloud: calls, validated documents and emulated time. */
function backupCloud() {
  const ctx = {
    cloud: undefined as unknown as TestCloud,
    async vm(id: number): Promise<string> {
      const xml = okXml(await ctx.cloud.call('one.vm.info', id));
      await validateDocument(xml, 'vm.xsd');
      return xml;
    },
    async image(id: number): Promise<string> {
      const xml = okXml(await ctx.cloud.call('one.image.info', id));
      await validateDocument(xml, 'image.xsd');
      return xml;
    },
    async state(id: number): Promise<[number, number]> {
      const xml = await ctx.vm(id);
      return [Number(between(xml, 'STATE')), Number(between(xml, 'LCM_STATE'))];
    },
    async config(id: number): Promise<Record<string, string>> {
      const xml = section(await ctx.vm(id), 'BACKUP_CONFIG');
      return Object.fromEntries([...xml.matchAll(/<([A-Z_]+)><!\[CDATA\[(.*?)\]\]><\/\1>/g)].map(([, k, v]) => [k, v]));
    },
    async backupIds(id: number): Promise<number[]> { return ids(section(await ctx.vm(id), 'BACKUPS'), 'BACKUP_IDS'); },
    /** A RUNNING VM with one disk of `sizeMb` (volatile, so BACKUP_VOLATILE makes it part of the backup). */
    async runningVm(sizeMb: number, backupConfig = '', extra = ''): Promise<number> {
      const reply = await ctx.cloud.call('one.vm.allocate', `CPU=0.1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=${sizeMb}]\n`
        + `BACKUP_CONFIG=[BACKUP_VOLATILE=YES${backupConfig ? `,${backupConfig}` : ''}]\n${extra}`, true);
      assert.equal(reply[0], true, String(reply[1]));
      const id = reply[1] as number;
      assert.deepEqual(await ctx.cloud.call('one.vm.deploy', id, 0), ok(id));
      return id;
    },
    now: () => Math.floor(ctx.cloud.clock.now() / 1000),
    async advance(seconds: number): Promise<number> {
      const reply = await ctx.cloud.call('emu.clock.advance', seconds);
      assert.equal(reply[0], true, String(reply[1]));
      return reply[1] as number;
    },
    async backup(vm: number, ds: number, reset = false): Promise<void> {
      assert.deepEqual(await ctx.cloud.call('one.vm.backup', vm, ds, reset), ok(vm));
    },
  };
  return ctx;
}

async function bootstrapHostAndDatastores(cloud: TestCloud): Promise<void> {
  assert.deepEqual(await cloud.call('one.host.allocate', 'h1', 'dummy', 'dummy', -1), ok(0));
  assert.deepEqual(await cloud.call('one.datastore.allocate', 'NAME=bk\nTYPE=BACKUP_DS\nDS_MAD=dummy', -1), ok(100));
  assert.deepEqual(await cloud.call('one.datastore.allocate', 'NAME=bk2\nTYPE=BACKUP_DS\nDS_MAD=dummy', -1), ok(101));
}

for (const backend of backends()) {
  describe(`one.vm.backup and the emulated backup driver (${backend.name})`, () => {
    const t = backupCloud();
    let alice: { id: number; session: string };
    before(async () => {
      t.cloud = await startTestCloud(backend);
      alice = await t.cloud.user('alice');
      await bootstrapHostAndDatastores(t.cloud);
    });
    after(async () => { await t.cloud.stop(); });

    it('checks in oned\'s order: VM, backup job, FILESYSTEM disks, datastore, its type, space, authorization, state', async () => {
      const m = 'one.vm.backup';
      assert.deepEqual(await t.cloud.call(m, 999, 100), fail(m, 'Error getting virtual machine [999].', 1024, 999));
      const held = (await t.cloud.call('one.vm.allocate', 'CPU=1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=10]\nBACKUP_CONFIG=[BACKUP_VOLATILE=YES]', true))[1] as number;
      assert.deepEqual(await t.cloud.call(m, held), fail(m, 'Error getting datastore Pool.', 1024), 'no datastore given means -1');
      assert.deepEqual(await t.cloud.call(m, held, 999), fail(m, 'Error getting datastore [999].', 1024, 999));
      assert.deepEqual(await t.cloud.call(m, held, 1), fail(m, 'Datastore needs to be of type BACKUP', 2048));
      const small = (await t.cloud.call('one.datastore.allocate', 'NAME=tiny\nTYPE=BACKUP_DS\nDS_MAD=dummy\nTOTAL_MB=5', -1))[1] as number;
      assert.deepEqual(await t.cloud.call(m, held, small), fail(m, 'Not enough free space on target datastore', 2048));
      assert.deepEqual(await t.cloud.call(m, held, 100), fail(m, `Could not create a new backup for VM ${held}, wrong state HOLD.`, 8192),
        'the state comes last');
      const own = (await t.cloud.call('one.vm.allocate', 'CPU=1\nMEMORY=64', true, alice.session))[1] as number;
      assert.deepEqual(await t.cloud.callAs(alice.session, m, own, 100),
        fail(m, `User [${alice.id}] : Not authorized to perform ADMIN VM [${own}].`, 512), 'even the owner needs ADMIN');
      const fsVm = (await t.cloud.call('one.vm.allocate', 'CPU=1\nMEMORY=64\nDISK=[TYPE=FILESYSTEM,SIZE=10]', true))[1] as number;
      assert.deepEqual(await t.cloud.call(m, fsVm, 999), fail(m, 'Cannot backup VM with FILESYSTEM disks', 2048), 'before the datastore');
      const job = (await t.cloud.call('one.backupjob.allocate', `NAME=j\nBACKUP_VMS="${fsVm}"`))[1] as number;
      assert.deepEqual(await t.cloud.call(m, fsVm, 999),
        fail(m, 'Unable to start an individual backup for the Virtual Machine, it is part of Backup Job ID -1', 8192), 'the job first');
      assert.deepEqual(await t.cloud.call('one.backupjob.delete', job), ok(job));
      for (const vm of [held, own, fsVm]) await t.cloud.call('one.vm.recover', vm, 5);
      await t.cloud.call('one.datastore.delete', small);
    });

    it('RUNNING goes to BACKUP (69) until size / EMU_BACKUP_MBPS seconds pass; then a BACKUP image named after the clock', async () => {
      const vm = await t.runningVm(1700);
      const deployedRecord = (await t.vm(vm)).match(/<HISTORY>.*?<\/HISTORY>/)![0];
      t.cloud.clock.set((TEST_EPOCH_S + 600) * 1000);
      const started = t.now();
      await t.backup(vm, 100);
      assert.deepEqual(await t.state(vm), [3, 69]);
      let xml = await t.vm(vm);
      assert.equal(cdataOf(xml, 'LAST_DATASTORE_ID'), '100', 'the target datastore is recorded while the backup runs');
      const records = [...xml.matchAll(/<HISTORY>(.*?)<\/HISTORY>/g)].map((h) => h[1]);
      assert.equal(records.length, 2, 'a backup closes the current record and starts a copy');
      assert.match(records[0], new RegExp(`<ETIME>${started}</ETIME>.*<RETIME>${started}</RETIME>.*<ACTION>50</ACTION><UID>0</UID><GID>0</GID><REQUEST_ID>\\d+</REQUEST_ID>$`));
      assert.ok(deployedRecord.includes('<SEQ>0</SEQ>') && records[0].startsWith(`<OID>${vm}</OID><SEQ>0</SEQ>`));
      assert.match(records[1], new RegExp(`<SEQ>1</SEQ>.*<STIME>${started}</STIME><ETIME>0</ETIME>.*<PSTIME>0</PSTIME><PETIME>0</PETIME>`
        + `<RSTIME>${started}</RSTIME><RETIME>0</RETIME><ESTIME>0</ESTIME><EETIME>0</EETIME><ACTION>0</ACTION><UID>-1</UID><GID>-1</GID><REQUEST_ID>-1</REQUEST_ID>$`));
      assert.deepEqual(await t.cloud.call('one.vm.backup', vm, 100),
        fail('one.vm.backup', `Could not create a new backup for VM ${vm}, wrong state BACKUP.`, 8192));
      assert.deepEqual(await t.cloud.call('one.vm.action', 'terminate', vm),
        fail('one.vm.action', `Error performing action "terminate": Could not terminate VM ${vm}, wrong state BACKUP.`, 2048));
      assert.deepEqual(await t.cloud.call('one.vm.action', 'poweroff', vm),
        fail('one.vm.action', 'Error performing action "poweroff": This action is not available for state BACKUP', 2048));
      assert.deepEqual(await t.cloud.call('one.vm.updateconf', vm, 'OS=[ARCH=x86_64]', 1),
        fail('one.vm.updateconf', 'configuration cannot be updated in state BACKUP', 8192));

      assert.equal(await t.advance(9), started + 9);
      assert.deepEqual(await t.state(vm), [3, 69], '1700 MB at 170 MB/s take 10 s');
      assert.equal(await t.advance(1), started + 10);
      assert.deepEqual(await t.state(vm), [3, 3]);
      xml = await t.vm(vm);
      assert.equal(cdataOf(xml, 'LAST_DATASTORE_ID'), undefined, 'LAST_* are erased at the end');
      const [image] = await t.backupIds(vm);
      assert.ok(image !== undefined);
      const doc = await t.image(image);
      assert.equal(between(doc, 'NAME'), `${vm} 23-Sep 14.25.10`);
      assert.equal(between(doc, 'NAME'), backupName(vm, started + 10));
      for (const [tag, value] of [['TYPE', '6'], ['PERSISTENT', '1'], ['STATE', '1'], ['PREV_STATE', '1'], ['RUNNING_VMS', '1'],
        ['SIZE', '1700'], ['DATASTORE_ID', '100'], ['DATASTORE', 'bk'], ['REGTIME', String(started + 10)], ['UID', '0']]) {
        assert.equal(between(doc, tag), value, tag);
      }
      assert.equal(cdataOf(doc, 'FORMAT'), 'raw');
      assert.notEqual(cdataOf(doc, 'SOURCE'), '');
      assert.deepEqual(ids(doc, 'VMS'), [vm]);
      assert.deepEqual(ids(doc, 'BACKUP_DISK_IDS'), [0]);
      assert.equal(section(doc, 'TEMPLATE'), '<TEMPLATE></TEMPLATE>');
      assert.equal(section(doc, 'BACKUP_INCREMENTS'), '<BACKUP_INCREMENTS></BACKUP_INCREMENTS>', 'FULL mode has no increments');
      assert.match(doc, /<PERMISSIONS><OWNER_U>1<\/OWNER_U><OWNER_M>1<\/OWNER_M><OWNER_A>0<\/OWNER_A><GROUP_U>0<\/GROUP_U>/);
      const ds = okXml(await t.cloud.call('one.datastore.info', 100));
      assert.ok(ids(ds, 'IMAGES').includes(image));
      assert.equal(between(ds, 'USED_MB'), '1700');
      assert.deepEqual(await t.cloud.call('one.vm.action', 'terminate', vm), ok(vm));
      const kept = await t.image(image);
      assert.equal(between(kept, 'RUNNING_VMS'), '1', 'a backup image keeps its VM for ever');
      assert.deepEqual(ids(kept, 'VMS'), [vm]);
    });

    it('POWEROFF goes to BACKUP_POWEROFF (70) and back; EMU_BACKUP_SECONDS sets the duration; selected disks mark the image', async () => {
      const vm = await t.runningVm(10, 'DISK_IDS="1"', 'DISK=[TYPE=fs,SIZE=20]\nEMU_BACKUP_SECONDS=30');
      assert.deepEqual(await t.cloud.call('one.vm.action', 'poweroff', vm), ok(vm));
      const off = t.now();
      await t.advance(5);
      const started = t.now();
      await t.backup(vm, 101);
      assert.deepEqual(await t.state(vm), [3, 70]);
      const records = [...(await t.vm(vm)).matchAll(/<HISTORY>(.*?)<\/HISTORY>/g)].map((h) => h[1]);
      assert.match(records[0], new RegExp(`<RETIME>${off}</RETIME>.*<ACTION>50</ACTION>`), 'the POWEROFF record keeps its RETIME');
      assert.match(records[1], new RegExp(`<RSTIME>${started}</RSTIME><RETIME>${started}</RETIME><ESTIME>0</ESTIME><EETIME>0</EETIME><ACTION>19</ACTION>`),
        'the copy is not running and keeps the previous action (poweroff) as an internal one');
      await t.advance(29);
      assert.deepEqual(await t.state(vm), [3, 70]);
      await t.advance(1);
      assert.deepEqual(await t.state(vm), [8, 0]);
      const [image] = await t.backupIds(vm);
      const doc = await t.image(image);
      assert.equal(between(doc, 'NAME'), backupName(vm, started + 30));
      assert.equal(between(doc, 'SIZE'), '20', 'only the selected disk');
      assert.deepEqual(ids(doc, 'BACKUP_DISK_IDS'), [1]);
      assert.equal(section(doc, 'TEMPLATE'), `<TEMPLATE>${c('BACKUP_SELECTED_DISKS', 'YES')}</TEMPLATE>`);
      await t.cloud.call('one.vm.recover', vm, 5);
    });

    it('FULL with KEEP_LAST: the lowest image ids beyond KEEP_LAST are removed', async () => {
      const vm = await t.runningVm(170, 'KEEP_LAST=2');
      const made: number[] = [];
      for (let i = 0; i < 3; i++) {
        await t.backup(vm, 100);
        await t.advance(1);
        made.push((await t.backupIds(vm)).at(-1)!);
      }
      assert.deepEqual(await t.backupIds(vm), made.slice(1));
      assert.deepEqual(await t.cloud.call('one.image.info', made[0]), fail('one.image.info', `Error getting image [${made[0]}].`, 1024, made[0]));
      assert.ok(!ids(okXml(await t.cloud.call('one.datastore.info', 100)), 'IMAGES').includes(made[0]));
      assert.deepEqual(await t.config(vm), { BACKUP_VOLATILE: 'YES', FS_FREEZE: 'NONE', INCREMENTAL_BACKUP_ID: '-1', INCREMENT_MODE: 'CBT',
        INTERACTIVE: 'NO', KEEP_LAST: '2', LAST_INCREMENT_ID: '-1', MODE: 'FULL' });
      await t.cloud.call('one.vm.recover', vm, 5);
    });

    it('INCREMENT: one image per chain, increments appended, KEEP_LAST flattens, the chain\'s datastore wins, RESET starts over', async () => {
      const vm = await t.runningVm(340, 'MODE=INCREMENT,KEEP_LAST=3');
      await t.backup(vm, 100);
      const first = t.now();
      await t.advance(2);
      const [chain] = await t.backupIds(vm);
      assert.deepEqual(await t.config(vm), { BACKUP_VOLATILE: 'YES', FS_FREEZE: 'NONE', INCREMENTAL_BACKUP_ID: String(chain),
        INCREMENT_MODE: 'CBT', INTERACTIVE: 'NO', KEEP_LAST: '3', LAST_INCREMENT_ID: '0', MODE: 'INCREMENT' });
      let doc = await t.image(chain);
      assert.deepEqual(increments(doc), [{ id: 0, parent: -1, type: 'FULL', size: 340, date: first + 2 }]);
      const name = between(doc, 'NAME');
      assert.equal(name, backupName(vm, first + 2));

      // The chain's datastore is used whatever the call asks for, even one that does not exist.
      await t.backup(vm, 999);
      await t.advance(2);
      doc = await t.image(chain);
      assert.deepEqual(increments(doc).map((i) => [i.id, i.parent, i.type]), [[0, -1, 'FULL'], [1, 0, 'INCREMENT']]);
      assert.equal(between(doc, 'SIZE'), '680', 'the image size is the sum of its increments');
      assert.equal(between(doc, 'NAME'), name, 'name and REGTIME stay');
      assert.equal(between(doc, 'DATASTORE_ID'), '100');
      assert.deepEqual(await t.backupIds(vm), [chain]);
      assert.equal((await t.config(vm)).LAST_INCREMENT_ID, '1');
      await t.backup(vm, -1);
      await t.advance(2);
      await t.backup(vm, 101);
      await t.advance(2);
      doc = await t.image(chain);
      assert.deepEqual(increments(doc).map((i) => [i.id, i.parent, i.type, i.size]),
        [[1, -1, 'FULL', 680], [2, 1, 'INCREMENT', 340], [3, 2, 'INCREMENT', 340]], 'the K highest ids stay, the lowest becomes FULL');
      assert.equal(between(doc, 'SIZE'), '1360');
      assert.equal((await t.config(vm)).LAST_INCREMENT_ID, '3');
      assert.equal((await t.config(vm)).ACTIVE_FLATTEN ?? 'NO', 'NO', 'the emulated flatten is over once the backup completes');

      await t.backup(vm, 101, true);
      assert.deepEqual([(await t.config(vm)).INCREMENTAL_BACKUP_ID, (await t.config(vm)).LAST_INCREMENT_ID], ['-1', '-1'], 'reset clears the chain at once');
      await t.advance(2);
      const [, fresh] = await t.backupIds(vm);
      assert.ok(fresh > chain);
      doc = await t.image(fresh);
      assert.equal(between(doc, 'DATASTORE_ID'), '101', 'a new chain goes where the call says');
      assert.deepEqual(increments(doc).map((i) => [i.id, i.parent, i.type]), [[0, -1, 'FULL']]);
      assert.deepEqual(await t.config(vm), { BACKUP_VOLATILE: 'YES', FS_FREEZE: 'NONE', INCREMENTAL_BACKUP_ID: String(fresh),
        INCREMENT_MODE: 'CBT', INTERACTIVE: 'NO', KEEP_LAST: '3', LAST_INCREMENT_ID: '0', MODE: 'INCREMENT' });
      assert.deepEqual(await t.backupIds(vm), [chain, fresh], 'the old chain stays');

      assert.deepEqual(await t.cloud.call('one.image.delete', fresh), ok(fresh));
      await t.advance(1);
      assert.deepEqual(await t.cloud.call('one.vm.backup', vm, 100),
        fail('one.vm.backup', `Error getting image [${fresh}].`, 1024, fresh), 'a chain whose image is gone cannot grow');
      await t.cloud.call('one.vm.recover', vm, 5);
    });

    it('backupcancel: NE, ADMIN, no backup in progress; a cancelled backup fails at once and leaves no image', async () => {
      const m = 'one.vm.backupcancel';
      const vm = await t.runningVm(1700);
      assert.deepEqual(await t.cloud.call(m, 999), fail(m, 'Error getting virtual machine [999].', 1024, 999));
      assert.deepEqual(await t.cloud.call(m, vm), fail(m, `Could not cancel backup for VM ${vm}, no backup in progress`, 8192));
      const own = (await t.cloud.call('one.vm.allocate', 'CPU=1\nMEMORY=64', true, alice.session))[1] as number;
      assert.deepEqual(await t.cloud.callAs(alice.session, m, own), fail(m, `User [${alice.id}] : Not authorized to perform ADMIN VM [${own}].`, 512));
      await t.backup(vm, 100);
      await t.advance(3);
      assert.deepEqual(await t.cloud.call(m, vm), ok(vm));
      assert.deepEqual(await t.state(vm), [3, 3]);
      const xml = await t.vm(vm);
      assert.equal(cdataOf(xml, 'ERROR'), `Sat Sep 23 ${new Date(t.now() * 1000).toISOString().slice(11, 19)} 2023: BACKUP: backup cancelled`);
      assert.deepEqual(await t.backupIds(vm), []);
      assert.equal(cdataOf(xml, 'LAST_DATASTORE_ID'), undefined);
      await t.advance(20);
      assert.deepEqual(await t.backupIds(vm), [], 'nothing completes later');
      for (const id of [vm, own]) await t.cloud.call('one.vm.recover', id, 5);
    });

    it('EMU_BACKUP_FAIL: the backup fails at its due time, USER_TEMPLATE/ERROR says why (cut at 100 characters)', async () => {
      const vm = await t.runningVm(170, '', 'EMU_BACKUP_FAIL="rsync: connection refused"');
      await t.cloud.call('one.vm.action', 'poweroff', vm);
      await t.backup(vm, 100);
      await t.advance(1);
      assert.deepEqual(await t.state(vm), [8, 0], 'back to POWEROFF');
      let xml = await t.vm(vm);
      assert.equal(cdataOf(xml, 'ERROR'), `Sat Sep 23 ${new Date(t.now() * 1000).toISOString().slice(11, 19)} 2023: BACKUP: rsync: connection refused`);
      assert.deepEqual(await t.backupIds(vm), []);
      assert.match(await okXml(await t.cloud.call('one.vmpool.info', -2, -1, -1, -1)), /<ERROR><!\[CDATA\[Sat Sep 23 .*BACKUP: rsync/,
        'the short body shows ERROR');
      const long = 'x'.repeat(120);
      assert.deepEqual(await t.cloud.call('one.vm.update', vm, `EMU_BACKUP_FAIL="${long}"`, 1), ok(vm));
      await t.backup(vm, 100);
      await t.advance(1);
      xml = await t.vm(vm);
      assert.equal(cdataOf(xml, 'ERROR')!.replace(/^.*? 2023: /, ''), `${`BACKUP: ${long}`.slice(0, 100)}... see more details in VM log`);
      await t.cloud.call('one.vm.recover', vm, 5);
    });

    it('a backup datastore fills up (TOTAL_MB): refused at start when full, failed at completion when filled meanwhile', async () => {
      const ds = (await t.cloud.call('one.datastore.allocate', 'NAME=small\nTYPE=BACKUP_DS\nDS_MAD=dummy\nTOTAL_MB=3000', -1))[1] as number;
      const a = await t.runningVm(1700);
      const b = await t.runningVm(1700, '', 'EMU_BACKUP_SECONDS=20');
      await t.backup(a, ds);
      await t.backup(b, ds);
      await t.advance(10);
      assert.deepEqual(await t.state(a), [3, 3]);
      assert.equal((await t.backupIds(a)).length, 1);
      const info = okXml(await t.cloud.call('one.datastore.info', ds));
      assert.deepEqual([between(info, 'TOTAL_MB'), between(info, 'FREE_MB'), between(info, 'USED_MB')], ['3000', '1300', '1700']);
      assert.deepEqual(await t.cloud.call('one.vm.backup', a, ds), fail('one.vm.backup', 'Not enough free space on target datastore', 2048));
      await t.advance(10);
      assert.deepEqual(await t.state(b), [3, 3]);
      assert.deepEqual(await t.backupIds(b), [], 'the second backup found no room when it ended');
      assert.match(cdataOf(await t.vm(b), 'ERROR')!, /^Sat Sep 23 \d\d:\d\d:\d\d 2023: BACKUP: Not enough free space on target datastore$/);
      for (const vm of [a, b]) await t.cloud.call('one.vm.recover', vm, 5);
    });

    it('backup jobs own their VMs: BACKUP_JOB_ID follows allocate/update/delete, duplicates are refused, INCREMENT chains restart', async () => {
      const vm = await t.runningVm(170, 'MODE=INCREMENT');
      const other = await t.runningVm(170);
      await t.backup(vm, 100);
      await t.advance(1);
      const [chain] = await t.backupIds(vm);
      assert.equal((await t.config(vm)).INCREMENTAL_BACKUP_ID, String(chain));
      const job = (await t.cloud.call('one.backupjob.allocate', `NAME=nightly\nBACKUP_VMS="${vm},${other}"\nDATASTORE_ID=100`))[1] as number;
      assert.equal((await t.config(vm)).BACKUP_JOB_ID, String(job));
      assert.equal((await t.config(other)).BACKUP_JOB_ID, String(job));
      assert.equal((await t.config(vm)).INCREMENTAL_BACKUP_ID, String(chain), 'joining keeps the chain');
      assert.deepEqual(await t.cloud.call('one.vm.backup', vm, 100),
        fail('one.vm.backup', 'Unable to start an individual backup for the Virtual Machine, it is part of Backup Job ID -1', 8192));
      const m = 'one.backupjob.allocate';
      assert.deepEqual(await t.cloud.call(m, `NAME=second\nBACKUP_VMS="${other}"`),
        fail(m, `Unable to add VM ${other} to Backup Job ${job + 1}. It's already in Backup Job ${job}`, 8192));
      assert.equal((await t.config(other)).BACKUP_JOB_ID, String(job), 'the refused job changed nothing');
      assert.deepEqual(await t.cloud.call('one.backupjob.update', job, `BACKUP_VMS="${other}"`, 1), ok(job));
      const left = await t.config(vm);
      assert.equal(left.BACKUP_JOB_ID, undefined, 'a VM removed from BACKUP_VMS leaves the job');
      assert.deepEqual([left.INCREMENTAL_BACKUP_ID, left.LAST_INCREMENT_ID], ['-1', '-1'], 'and its INCREMENT chain restarts');
      assert.deepEqual(await t.backupIds(vm), [chain], 'its images stay');
      await t.backup(vm, 100);
      await t.advance(1);
      assert.equal((await t.backupIds(vm)).length, 2, 'individual backups work again: a new chain');
      assert.deepEqual(await t.cloud.call('one.backupjob.delete', job), ok(job));
      assert.equal((await t.config(other)).BACKUP_JOB_ID, undefined, 'deleting the job frees its VMs');
      assert.equal((await t.config(other)).MODE, 'FULL');
      for (const id of [vm, other]) await t.cloud.call('one.vm.recover', id, 5);
    });
  });
}

/** A server on `db` with its own clock, as a restarted oned-emu process would be. */
async function serverOn(db: Database, clockMs: number) {
  const clock = new ManualClock(clockMs);
  const server = await startServer({ config: { ...DEFAULTS, DB: { ...DEFAULTS.DB }, PORT: 0 }, clock, log: memoryLogger(), db,
    env: { ONEADMIN_PASSWORD } });
  const client = new RpcClient(`http://127.0.0.1:${server.port}/RPC2`);
  const call = async (method: string, ...params: RpcValue[]) => (await client.call(method, ONEADMIN, ...params)) as RpcValue[];
  return { clock, call, async stop() { client.close(); await server.stop(); } };
}

/** A database that outlives a server: a PGlite data folder, or the backend's own database for PostgreSQL. */
async function durableDatabase(backend: Backend): Promise<{ open(): Promise<Database>; reopen(db: Database): Promise<Database>; dispose(db: Database): Promise<void> }> {
  if (backend.name === 'postgres') {
    return { open: () => backend.open(), reopen: async (db) => db, dispose: (db) => db.close() };
  }
  const folder = await mkdtemp(join(tmpdir(), 'oned-emu-restart-'));
  return {
    open: () => openPglite({ dataDir: folder }),
    async reopen(db) { await db.close(); return openPglite({ dataDir: folder }); },
    async dispose(db) { await db.close(); await rm(folder, { recursive: true, force: true }); },
  };
}

for (const backend of backends()) {
  describe(`a backup in flight survives a restart (${backend.name})`, () => {
    it('starts a backup, stops the server, starts a new one on the same data: the backup completes on time', async () => {
      const store = await durableDatabase(backend);
      let db = await store.open();
      try {
        const first = await serverOn(db, TEST_EPOCH_S * 1000);
        let vm = -1;
        try {
          assert.deepEqual(await first.call('one.host.allocate', 'h1', 'dummy', 'dummy', -1), ok(0));
          assert.deepEqual(await first.call('one.datastore.allocate', 'NAME=bk\nTYPE=BACKUP_DS\nDS_MAD=dummy', -1), ok(100));
          vm = (await first.call('one.vm.allocate', 'CPU=0.1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=100]\nBACKUP_CONFIG=[BACKUP_VOLATILE=YES]\n'
            + 'EMU_BACKUP_SECONDS=60', true))[1] as number;
          assert.deepEqual(await first.call('one.vm.deploy', vm, 0), ok(vm));
          assert.deepEqual(await first.call('one.vm.backup', vm, 100), ok(vm));
          assert.deepEqual(await first.call('emu.clock.advance', 30), ok(TEST_EPOCH_S + 30));
        } finally {
          await first.stop();
        }
        db = await store.reopen(db);
        const second = await serverOn(db, (TEST_EPOCH_S + 40) * 1000);
        try {
          const state = async () => {
            const xml = okXml(await second.call('one.vm.info', vm));
            return [Number(between(xml, 'STATE')), Number(between(xml, 'LCM_STATE'))];
          };
          assert.deepEqual(await state(), [3, 69], 'still in BACKUP after the restart');
          assert.deepEqual(await second.call('emu.clock.advance', 19), ok(TEST_EPOCH_S + 59));
          assert.deepEqual(await state(), [3, 69]);
          assert.deepEqual(await second.call('emu.clock.advance', 1), ok(TEST_EPOCH_S + 60));
          assert.deepEqual(await state(), [3, 3], 'no VM stays in BACKUP');
          const xml = okXml(await second.call('one.vm.info', vm));
          const [image] = ids(section(xml, 'BACKUPS'), 'BACKUP_IDS');
          const doc = okXml(await second.call('one.image.info', image));
          assert.equal(between(doc, 'NAME'), backupName(vm, TEST_EPOCH_S + 60));
          const pool = okXml(await second.call('one.vmpool.info', -2, -1, -1, 3));
          assert.ok(!/<LCM_STATE>(69|70)<\/LCM_STATE>/.test(pool));
        } finally {
          await second.stop();
        }
      } finally {
        await store.dispose(db);
      }
    });
  });
}
