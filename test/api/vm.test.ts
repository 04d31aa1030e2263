import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';
import { openNebulaSchemasAvailable, validateDocument, validateXml } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const ok = (value: RpcValue): RpcValue[] => [true, value, 0];
const between = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1];
const ids = (xml: string, tag: string) => [...(between(xml, tag) ?? '').matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
/** A template attribute as oned writes it: value in CDATA. */
const c = (name: string, value: string | number) => `<${name}><![CDATA[${value}]]></${name}>`;
const cdataOf = (xml: string, name: string) => xml.match(new RegExp(`<${name}><!\\[CDATA\\[(.*?)\\]\\]></${name}>`))?.[1];
const section = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>[\\s\\S]*?</${tag}>|<${tag}/>`))?.[0] ?? '';
const poolIds = (pool: string) => [...pool.matchAll(/<VM><ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));

const OWNER_ONLY = '<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>0</GROUP_U><GROUP_M>0</GROUP_M>'
  + '<GROUP_A>0</GROUP_A><OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>';
const UUID = /<UUID><!\[CDATA\[([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\]\]><\/UUID>/;

/** One HISTORY element of a full VM document, numbers as numbers. */
type History = Record<string, number | string>;
function historyRecords(xml: string): History[] {
  return [...(section(xml, 'HISTORY_RECORDS').matchAll(/<HISTORY>(.*?)<\/HISTORY>/g))].map((m) => {
    const record: History = {};
    for (const [, name, value] of m[1].matchAll(/<([A-Z_]+)>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?<\/\1>/g)) {
      record[name] = /^-?\d+$/.test(value) ? Number(value) : value;
    }
    return record;
  });
}

/** What a record holds right after a deploy at `t` on host h1 (id 0) and system DS 0 (TM local). */
const deployed = (vmId: number, seq: number, t: number, planId: number, actionId: number): History => ({
  OID: vmId, SEQ: seq, HOSTNAME: 'h1', HID: 0, CID: 0, STIME: t, ETIME: 0, VM_MAD: 'dummy', TM_MAD: 'local', DS_ID: 0,
  PLAN_ID: planId, ACTION_ID: actionId, PSTIME: t, PETIME: t, RSTIME: t, RETIME: 0, ESTIME: 0, EETIME: 0, ACTION: 0,
  UID: -1, GID: -1, REQUEST_ID: -1,
});

/** The caller fields of a record closed by a request, with its (random) request id taken from the record. */
const byOneadmin = (h: History, action: number) => ({ ...h, ACTION: action, UID: 0, GID: 0 });
const withoutRequestId = (h: History) => { const { REQUEST_ID: _r, ...rest } = h; return rest; };

/** A live cloud with the helpers every VM test uses; every document it reads is validated. */
function vmCloud(backend: ReturnType<typeof backends>[number]) {
  const ctx = {
    cloud: undefined as unknown as TestCloud,
    async info(id: number): Promise<string> {
      const xml = okXml(await ctx.cloud.call('one.vm.info', id));
      await validateDocument(xml, 'vm.xsd');
      return xml;
    },
    async pool(filter = -2, state = -2): Promise<string> {
      const xml = okXml(await ctx.cloud.call('one.vmpool.info', filter, -1, -1, state));
      await validateDocument(xml, 'vm_pool.xsd');
      return xml;
    },
    async extended(filter = -2, state = -2): Promise<string> {
      const xml = okXml(await ctx.cloud.call('one.vmpool.infoextended', filter, -1, -1, state));
      await validateDocument(xml, 'vm_pool_extended.xsd');
      return xml;
    },
    async allocate(template: string, hold = false, session?: string): Promise<number> {
      const reply = session ? await ctx.cloud.callAs(session, 'one.vm.allocate', template, hold)
        : await ctx.cloud.call('one.vm.allocate', template, hold);
      assert.equal(reply[0], true, String(reply[1]));
      return reply[1] as number;
    },
    /** A VM on hold, then deployed by oneadmin on host 0: RUNNING with one history record. */
    async running(template = 'CPU=0.5\nMEMORY=256'): Promise<number> {
      const id = await ctx.allocate(template, true);
      assert.deepEqual(await ctx.cloud.call('one.vm.deploy', id, 0), ok(id));
      return id;
    },
    act: (action: string, id: number) => ctx.cloud.call('one.vm.action', action, id),
    async state(id: number): Promise<[number, number]> {
      const xml = await ctx.info(id);
      return [Number(between(xml, 'STATE')), Number(between(xml, 'LCM_STATE'))];
    },
    async host(id = 0): Promise<{ cpu: number; mem: number; running: number; vms: number[] }> {
      const xml = okXml(await ctx.cloud.call('one.host.info', id));
      return { cpu: Number(between(xml, 'CPU_USAGE')), mem: Number(between(xml, 'MEM_USAGE')),
        running: Number(between(xml, 'RUNNING_VMS')), vms: ids(xml.slice(xml.indexOf('</HOST_SHARE>')), 'VMS') };
    },
    now: () => Math.floor(ctx.cloud.clock.now() / 1000),
    /** Moves the clock without running the scheduler, so that nothing else changes meanwhile. */
    wait: (seconds: number) => ctx.cloud.clock.advance(seconds * 1000),
  };
  return ctx;
}

/** A RUNNING VM as oned 7.4 renders it in one.vm.info (cloud.md §3.6, the "…" filled in from the same capture). */
const LIVE_RECORD = (seq: number, stime: number, etime: number, times: string, action: number, caller: string) =>
  `<HISTORY><OID>5</OID><SEQ>${seq}</SEQ><HOSTNAME>cs-host-1</HOSTNAME><HID>0</HID><CID>0</CID><STIME>${stime}</STIME><ETIME>${etime}</ETIME>`
  + `${c('VM_MAD', 'dummy')}${c('TM_MAD', 'dummy')}<DS_ID>100</DS_ID><PLAN_ID>-1</PLAN_ID><ACTION_ID>0</ACTION_ID>${times}`
  + `<ACTION>${action}</ACTION>${caller}</HISTORY>`;
const LIVE_VM = '<VM><ID>5</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>cs-vm-5</NAME>'
  + `${OWNER_ONLY}<LAST_POLL>1795679232</LAST_POLL><STATE>3</STATE><LCM_STATE>3</LCM_STATE><PREV_STATE>3</PREV_STATE>`
  + '<PREV_LCM_STATE>3</PREV_LCM_STATE><RESCHED>0</RESCHED><STIME>1795679216</STIME><ETIME>0</ETIME><DEPLOY_ID>cs-host-1:cs-vm-5:dummy</DEPLOY_ID>'
  + `<MONITORING>${c('CPU', 0)}${c('DISKRDBYTES', 656)}${c('DISKRDIOPS', 658)}${c('DISKWRBYTES', 633)}${c('DISKWRIOPS', 577)}${c('ID', 5)}`
  + `${c('MEMORY', 15728)}${c('NETRX', 9632)}${c('NETTX', 9282)}${c('TIMESTAMP', 1795679232)}</MONITORING><SCHED_ACTIONS><ID>4</ID></SCHED_ACTIONS>`
  + `<TEMPLATE>${c('AUTOMATIC_DS_REQUIREMENTS', '("CLUSTERS/ID" @> 0)')}${c('AUTOMATIC_NIC_REQUIREMENTS', '("CLUSTERS/ID" @> 0)')}`
  + `${c('AUTOMATIC_REQUIREMENTS', '(CLUSTER_ID = 0) & !(PIN_POLICY = PINNED)')}<CONTEXT>${c('DISK_ID', 1)}${c('NETWORK', 'YES')}${c('TARGET', 'sda')}</CONTEXT>`
  + `${c('CPU', '0.1')}<DISK>${c('ALLOW_ORPHANS', 'NO')}${c('CLONE', 'YES')}${c('CLONE_TARGET', 'SYSTEM')}${c('CLUSTER_ID', 0)}${c('DATASTORE', 'cs-img')}`
  + `${c('DATASTORE_ID', 101)}${c('DEV_PREFIX', 'sd')}${c('DISK_ID', 0)}${c('DISK_SNAPSHOT_TOTAL_SIZE', 16)}${c('DISK_TYPE', 'FILE')}${c('DRIVER', 'raw')}`
  + `${c('FORMAT', 'raw')}${c('IMAGE', 'cs-disk')}${c('IMAGE_ID', 0)}${c('IMAGE_STATE', 2)}${c('LN_TARGET', 'NONE')}${c('ORIGINAL_SIZE', 16)}`
  + `${c('PERSISTENT_SNAPSHOTS', 'YES')}${c('READONLY', 'NO')}${c('SAVE', 'NO')}${c('SIZE', 16)}${c('SOURCE', 'dummy_path')}${c('TARGET', 'sdb')}`
  + `${c('TM_MAD', 'dummy')}${c('TYPE', 'FILE')}</DISK><GRAPHICS>${c('LISTEN', '0.0.0.0')}${c('PORT', 5905)}${c('TYPE', 'VNC')}</GRAPHICS>`
  + `${c('MEMORY', 64)}<OS>${c('MACHINE', 'q35')}${c('UUID', '55460001-6351-4eec-9e71-0825392b20ce')}</OS>`
  + `<SNAPSHOT>${c('HYPERVISOR_ID', 'dummy-snap')}${c('NAME', 'sys-a')}${c('SNAPSHOT_ID', 0)}${c('SYSTEM_DISK_SIZE', 64)}${c('TIME', 1795679232)}</SNAPSHOT>`
  + `${c('TEMPLATE_ID', 0)}${c('TM_MAD_SYSTEM', 'dummy')}${c('VMID', 5)}`
  + '<SCHED_ACTION><ID>4</ID><PARENT_ID>5</PARENT_ID><TYPE>VM</TYPE><ACTION>snapshot-create</ACTION><ARGS></ARGS><TIME>1795765616</TIME>'
  + '<REPEAT>0</REPEAT><DAYS>1,3</DAYS><END_TYPE>1</END_TYPE><END_VALUE>5</END_VALUE><DONE>-1</DONE><MESSAGE></MESSAGE><WARNING>0</WARNING></SCHED_ACTION></TEMPLATE>'
  + `<USER_TEMPLATE>${c('DESCRIPTION', 'spec test')}${c('SCHED_DS_REQUIREMENTS', 'ID=100')}</USER_TEMPLATE><HISTORY_RECORDS>`
  + LIVE_RECORD(0, 1795679217, 1795679218, '<PSTIME>1795679217</PSTIME><PETIME>1795679218</PETIME><RSTIME>1795679218</RSTIME>'
    + '<RETIME>1795679218</RETIME><ESTIME>0</ESTIME><EETIME>0</EETIME>', 50, '<UID>0</UID><GID>0</GID><REQUEST_ID>7824</REQUEST_ID>')
  + LIVE_RECORD(1, 1795679218, 1795679230, '<PSTIME>0</PSTIME><PETIME>0</PETIME><RSTIME>1795679218</RSTIME><RETIME>1795679230</RETIME>'
    + '<ESTIME>0</ESTIME><EETIME>0</EETIME>', 25, '<UID>0</UID><GID>0</GID><REQUEST_ID>2898</REQUEST_ID>')
  + LIVE_RECORD(2, 1795679230, 0, '<PSTIME>0</PSTIME><PETIME>0</PETIME><RSTIME>1795679230</RSTIME><RETIME>0</RETIME><ESTIME>0</ESTIME>'
    + '<EETIME>0</EETIME>', 0, '<UID>-1</UID><GID>-1</GID><REQUEST_ID>-1</REQUEST_ID>')
  + `</HISTORY_RECORDS><SNAPSHOTS>${c('ALLOW_ORPHANS', 'NO')}${c('CURRENT_BASE', -1)}${c('DISK_ID', 0)}${c('NEXT_SNAPSHOT', 1)}`
  + `<SNAPSHOT>${c('ACTIVE', 'YES')}${c('DATE', 1795679230)}${c('ID', 0)}${c('NAME', 'snap-a')}${c('PARENT', -1)}${c('SIZE', 16)}</SNAPSHOT></SNAPSHOTS>`
  + '<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS><ID>9</ID></BACKUP_IDS></BACKUPS></VM>';

/** A stored body exercising the gaps of OpenNebula's vm.xsd: never deployed (no TM_MAD_SYSTEM), TEMPLATE children in
 *  oned's byte order where the XSD wants another (HYPERV_OPTIONS/GRAPHICS, VIDEO/IMPORTED, TPM/MEMORY_ENCRYPTION),
 *  CPU_MODEL, and BACKUP_CONFIG keys the XSD lacks. */
const GAPPY_VM = '<VM><ID>7</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>gaps</NAME>'
  + `${OWNER_ONLY}<LAST_POLL>0</LAST_POLL><STATE>2</STATE><LCM_STATE>0</LCM_STATE><PREV_STATE>2</PREV_STATE><PREV_LCM_STATE>0</PREV_LCM_STATE>`
  + '<RESCHED>0</RESCHED><STIME>1795679216</STIME><ETIME>0</ETIME><DEPLOY_ID></DEPLOY_ID><MONITORING></MONITORING><SCHED_ACTIONS></SCHED_ACTIONS>'
  + `<TEMPLATE>${c('AUTOMATIC_REQUIREMENTS', '!(PIN_POLICY = PINNED)')}${c('CPU', 1)}<CPU_MODEL>${c('MODEL', 'host-passthrough')}</CPU_MODEL>`
  + `<GRAPHICS>${c('LISTEN', '0.0.0.0')}${c('TYPE', 'VNC')}</GRAPHICS>${c('HYPERV_OPTIONS', '<feature/>')}${c('IMPORTED', 'YES')}`
  + `${c('MEMORY', 64)}<MEMORY_ENCRYPTION>${c('TYPE', 'SEV')}</MEMORY_ENCRYPTION><OS>${c('MACHINE', 'q35')}${c('UUID', 'u')}</OS>`
  + `${c('SUBMIT_ON_HOLD', 'YES')}<TPM>${c('MODEL', 'tpm-crb')}</TPM><VIDEO>${c('TYPE', 'virtio')}</VIDEO>${c('VMID', 7)}</TEMPLATE>`
  + '<USER_TEMPLATE></USER_TEMPLATE><HISTORY_RECORDS/><BACKUPS>'
  + `<BACKUP_CONFIG>${c('ACTIVE_FLATTEN', 'NO')}${c('BACKUP_VOLATILE', 'NO')}${c('FS_FREEZE', 'NONE')}${c('INCREMENTAL_BACKUP_ID', 3)}`
  + `${c('INCREMENT_MODE', 'CBT')}${c('INTERACTIVE', 'NO')}${c('KEEP_LAST', 3)}${c('LAST_BACKUP_FORMAT', 'raw')}${c('LAST_BACKUP_ID', 'b-1')}`
  + `${c('LAST_BACKUP_SIZE', 1024)}${c('LAST_DATASTORE_ID', 102)}${c('LAST_INCREMENT_ID', 2)}${c('MODE', 'INCREMENT')}</BACKUP_CONFIG>`
  + '<BACKUP_IDS><ID>3</ID></BACKUP_IDS></BACKUPS></VM>';

/** The short body of the same RUNNING VM in one.vmpool.info (cloud.md §3.7). */
const LIVE_SHORT = '<VM_POOL><VM><ID>5</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>cs-vm-5</NAME>'
  + '<LAST_POLL>0</LAST_POLL><STATE>3</STATE><LCM_STATE>3</LCM_STATE><RESCHED>0</RESCHED><STIME>1795679216</STIME><ETIME>0</ETIME>'
  + '<DEPLOY_ID>cs-host-1:cs-vm-5:dummy</DEPLOY_ID><TEMPLATE><CPU>0.1</CPU><MEMORY>64</MEMORY><VCPU></VCPU>'
  + `<DISK>${c('DISK_ID', 0)}${c('DATASTORE', 'cs-img')}${c('DATASTORE_ID', 101)}${c('IMAGE', 'cs-disk')}${c('IMAGE_ID', 0)}${c('SIZE', 16)}`
  + `${c('TYPE', 'FILE')}${c('CLONE', 'YES')}${c('CLONE_TARGET', 'SYSTEM')}${c('LN_TARGET', 'NONE')}${c('DISK_SNAPSHOT_TOTAL_SIZE', 16)}</DISK>`
  + `<GRAPHICS>${c('LISTEN', '0.0.0.0')}${c('PORT', 5905)}${c('TYPE', 'VNC')}</GRAPHICS></TEMPLATE>`
  + `<MONITORING/><USER_TEMPLATE>${c('SCHED_DS_REQUIREMENTS', 'ID=100')}</USER_TEMPLATE>`
  + `<HISTORY_RECORDS><HISTORY><OID>5</OID><SEQ>2</SEQ>${c('HOSTNAME', 'cs-host-1')}<HID>0</HID><CID>0</CID><DS_ID>100</DS_ID>`
  + `${c('VM_MAD', 'dummy')}${c('TM_MAD', 'dummy')}${c('ACTION', 0)}</HISTORY></HISTORY_RECORDS></VM></VM_POOL>`;

/** Replaces one exact occurrence, failing loudly if the document no longer contains it. */
function mutate(xml: string, from: string, to: string): string {
  const at = xml.indexOf(from);
  assert.notEqual(at, -1, `document does not contain ${from}`);
  assert.equal(xml.indexOf(from, at + 1), -1, `document contains ${from} more than once`);
  return xml.slice(0, at) + to + xml.slice(at + from.length);
}

describe('VM documents oned writes validate against our schemas and OpenNebula\'s (with the documented gaps)', () => {
  const withoutOpenNebula = { skip: !openNebulaSchemasAvailable() && 'OpenNebula XSDs not present' };
  it('one.vm.info of a RUNNING VM with monitoring, snapshots, a scheduled action and three history records', async () => {
    await validateDocument(LIVE_VM, 'vm.xsd');
  });
  it('the stored bodies of one.vmpool.infoextended: the last record, no SCHED_ACTION; oned\'s order and extra keys', async () => {
    const stored = LIVE_VM.replace(/<SCHED_ACTION>.*<\/SCHED_ACTION>/, '').replace(/<HISTORY_RECORDS>.*(<HISTORY><OID>5<\/OID><SEQ>2<\/SEQ>)/, '<HISTORY_RECORDS>$1');
    await validateDocument(`<VM_POOL>${GAPPY_VM}${stored}</VM_POOL>`, 'vm_pool_extended.xsd');
    await validateDocument('<VM_POOL></VM_POOL>', 'vm_pool_extended.xsd');
  });
  it('the short bodies of one.vmpool.info', async () => {
    await validateDocument(LIVE_SHORT, 'vm_pool.xsd');
    await validateDocument(mutate(LIVE_SHORT, '</DEPLOY_ID>', '</DEPLOY_ID><LOCK><LOCKED>2</LOCKED></LOCK>'), 'vm_pool.xsd');
  });
  it('OpenNebula\'s XSD still checks what it can describe', withoutOpenNebula, async () => {
    const broken = mutate(LIVE_VM, '<REQUEST_ID>-1</REQUEST_ID>', '');
    await assert.rejects(validateDocument(broken, 'vm.xsd'), /\[OpenNebula's vm\.xsd\].*REQUEST_ID/s);
    const unknown = mutate(LIVE_VM, c('VMID', 5), `${c('VMID', 5)}${c('ZZZ', 1)}`);
    await assert.rejects(validateDocument(unknown, 'vm.xsd'), /\[OpenNebula's vm\.xsd\].*ZZZ/s, 'an unknown TEMPLATE child is not dropped');
    const badBackup = mutate(GAPPY_VM, c('MODE', 'INCREMENT'), `${c('MODE', 'INCREMENT')}<OOPS>1</OOPS>`);
    await assert.rejects(validateDocument(`<VM_POOL>${badBackup}</VM_POOL>`, 'vm_pool_extended.xsd'), /\[OpenNebula's vm_pool_extended\.xsd\].*OOPS/s);
  });
  it('our schemas reject what oned never writes', async () => {
    const rejected = async (xml: string, schema: string, why: RegExp) => assert.rejects(validateXml(xml, schema), why);
    await rejected(mutate(LIVE_VM, '<PREV_STATE>3</PREV_STATE>', '<PREV_STATE>8</PREV_STATE>'), 'vm.xsd', /prevStateIsState/);
    await rejected(mutate(LIVE_VM, c('VMID', 5), c('VMID', 6)), 'vm.xsd', /templateVmidIsTheVm/);
    await rejected(mutate(mutate(LIVE_VM, c('CPU', '0.1'), ''), c('MEMORY', 64), `${c('MEMORY', 64)}${c('CPU', '0.1')}`), 'vm.xsd', /CPU/);
    await rejected(mutate(LIVE_VM, '<SCHED_ACTIONS><ID>4</ID></SCHED_ACTIONS>', '<SCHED_ACTIONS></SCHED_ACTIONS>'), 'vm.xsd',
      /renderedSchedActionsAreListed/);
    await rejected(mutate(LIVE_VM, `${c('DISK_ID', 0)}${c('DISK_SNAPSHOT_TOTAL_SIZE', 16)}`, c('DISK_SNAPSHOT_TOTAL_SIZE', 16)), 'vm.xsd', /diskIds/);
    await rejected(mutate(LIVE_VM, '<HISTORY><OID>5</OID><SEQ>1</SEQ>', '<HISTORY><OID>5</OID><SEQ>0</SEQ>'), 'vm.xsd', /historySeqsAreDistinct/);
    await rejected(mutate(LIVE_VM, '<STATE>3</STATE>', '<STATE>7</STATE>'), 'vm.xsd', /STATE/);
    await rejected(`<VM_POOL>${LIVE_VM}</VM_POOL>`, 'vm_pool_extended.xsd', /SCHED_ACTION|HISTORY/);
    await rejected(`<VM_POOL>${mutate(GAPPY_VM, c('MODE', 'INCREMENT'), c('MODE', 'DIFF'))}</VM_POOL>`, 'vm_pool_extended.xsd', /MODE/);
    await rejected(mutate(LIVE_SHORT, c('SCHED_DS_REQUIREMENTS', 'ID=100'), c('DESCRIPTION', 'x')), 'vm_pool.xsd', /DESCRIPTION/);
    await rejected(mutate(LIVE_SHORT, '</DEPLOY_ID>', '</DEPLOY_ID><LOCK><LOCKED>1</LOCKED><OWNER>0</OWNER></LOCK>'), 'vm_pool.xsd', /OWNER/);
    await rejected(mutate(LIVE_SHORT, c('LN_TARGET', 'NONE'), ''), 'vm_pool.xsd', /DISK_SNAPSHOT_TOTAL_SIZE|LN_TARGET/);
    await rejected(LIVE_VM, 'vm_pool.xsd', /VM/);
  });
});

for (const backend of backends()) {
  describe(`one.vm.allocate and the VM documents (${backend.name})`, () => {
    const t = vmCloud(backend);
    before(async () => { t.cloud = await startTestCloud(backend); });
    after(async () => { await t.cloud.stop(); });

    it('allocates PENDING; oned-managed attributes go to TEMPLATE, the rest stays in USER_TEMPLATE', async () => {
      const template = 'NAME="web"\nCPU=0.5\nMEMORY=128\nVCPU=2\nOS=[ARCH="x86_64"]\nGRAPHICS=[TYPE="VNC",LISTEN="0.0.0.0"]\n'
        + 'DESCRIPTION="front end"\nLABELS="prod"\nSCHED_REQUIREMENTS="ID=0"\nFOO="bar"';
      assert.deepEqual(await t.cloud.call('one.vm.allocate', template), ok(0));
      const xml = await t.info(0);
      const uuid = xml.match(UUID)?.[1];
      assert.ok(uuid, 'OS/UUID is a random UUID');
      const T = TEST_EPOCH_S;
      const head = `<VM><ID>0</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>web</NAME>`;
      const expected = `${head}${OWNER_ONLY}<LAST_POLL>0</LAST_POLL><STATE>1</STATE><LCM_STATE>0</LCM_STATE><PREV_STATE>1</PREV_STATE>`
        + `<PREV_LCM_STATE>0</PREV_LCM_STATE><RESCHED>0</RESCHED><STIME>${T}</STIME><ETIME>0</ETIME><DEPLOY_ID></DEPLOY_ID>`
        + '<MONITORING></MONITORING><SCHED_ACTIONS></SCHED_ACTIONS>'
        + `<TEMPLATE>${c('AUTOMATIC_REQUIREMENTS', '!(PIN_POLICY = PINNED)')}${c('CPU', '0.5')}`
        + `<GRAPHICS>${c('LISTEN', '0.0.0.0')}${c('TYPE', 'VNC')}</GRAPHICS>${c('MEMORY', '128')}`
        + `<OS>${c('ARCH', 'x86_64')}${c('MACHINE', 'q35')}${c('UUID', uuid)}</OS>${c('VCPU', '2')}${c('VMID', '0')}</TEMPLATE>`
        + `<USER_TEMPLATE>${c('DESCRIPTION', 'front end')}${c('FOO', 'bar')}${c('LABELS', 'prod')}${c('SCHED_REQUIREMENTS', 'ID=0')}</USER_TEMPLATE>`
        + '<HISTORY_RECORDS/><BACKUPS><BACKUP_CONFIG/><BACKUP_IDS></BACKUP_IDS></BACKUPS></VM>';
      assert.equal(xml, expected);
      assert.equal(await t.extended(), `<VM_POOL>${expected}</VM_POOL>`, 'no scheduled actions: the stored body is the info document');
      assert.equal(await t.pool(), `<VM_POOL>${head}<LAST_POLL>0</LAST_POLL><STATE>1</STATE><LCM_STATE>0</LCM_STATE><RESCHED>0</RESCHED>`
        + `<STIME>${T}</STIME><ETIME>0</ETIME><DEPLOY_ID></DEPLOY_ID><TEMPLATE><CPU>0.5</CPU><MEMORY>128</MEMORY><VCPU>2</VCPU>`
        + `<GRAPHICS>${c('LISTEN', '0.0.0.0')}${c('TYPE', 'VNC')}</GRAPHICS></TEMPLATE><MONITORING/>`
        + `<USER_TEMPLATE>${c('LABELS', 'prod')}${c('SCHED_REQUIREMENTS', 'ID=0')}</USER_TEMPLATE><HISTORY_RECORDS/></VM></VM_POOL>`);
    });

    it('hold=true gives HOLD and TEMPLATE/SUBMIT_ON_HOLD; NAME defaults to one-<id>; pools list DESC', async () => {
      assert.deepEqual(await t.cloud.call('one.vm.allocate', 'CPU=1\nMEMORY=64', true), ok(1));
      const xml = await t.info(1);
      assert.equal(between(xml, 'NAME'), 'one-1');
      assert.deepEqual(await t.state(1), [2, 0]);
      assert.equal(between(xml, 'PREV_STATE'), '2');
      assert.equal(cdataOf(xml, 'SUBMIT_ON_HOLD'), 'YES');
      assert.equal(section(xml, 'USER_TEMPLATE'), '<USER_TEMPLATE></USER_TEMPLATE>');
      assert.deepEqual(poolIds(await t.pool()), [1, 0]);
      assert.match(await t.pool(), /<NAME>one-1<\/NAME>.*<USER_TEMPLATE\/>/, 'an empty user template is <USER_TEMPLATE/> in the short body');
      assert.deepEqual(poolIds(await t.extended()), [1, 0]);
      // An explicit false is the same as no flag.
      const pending = await t.allocate('CPU=1\nMEMORY=64\nNAME=p', false);
      assert.deepEqual(await t.state(pending), [1, 0]);
      assert.equal(cdataOf(await t.info(pending), 'SUBMIT_ON_HOLD'), undefined);
      await t.cloud.call('one.vm.recover', pending, 5);
    });

    it('NAME, MEMORY, CPU and VCPU are checked in that order with oned\'s texts; a failed allocate leaves nothing', async () => {
      const m = 'one.vm.allocate';
      const before = poolIds(await t.extended());
      const cases: Array<[string, string]> = [
        ['NAME="a|b"\nCPU=x', "Invalid NAME, char '|' is not allowed"],
        ['CPU=1', 'MEMORY attribute must be a positive integer value.'],
        ['CPU=x\nVCPU=0', 'MEMORY attribute must be a positive integer value.'],
        ['MEMORY=0\nCPU=1', 'MEMORY attribute must be a positive integer value.'],
        ['MEMORY=-64\nCPU=1', 'MEMORY attribute must be a positive integer value.'],
        ['MEMORY=64.5\nCPU=1', 'MEMORY attribute must be a positive integer value.'],
        ['MEMORY=64MB\nCPU=1', 'MEMORY attribute must be a positive integer value.'],
        ['MEMORY=64', 'CPU attribute must be a positive float or integer value.'],
        ['MEMORY=64\nCPU=0', 'CPU attribute must be a positive float or integer value.'],
        ['MEMORY=64\nCPU=-0.5', 'CPU attribute must be a positive float or integer value.'],
        ['MEMORY=64\nCPU=half\nVCPU=0', 'CPU attribute must be a positive float or integer value.'],
        ['MEMORY=64\nCPU=1\nVCPU=0', 'VCPU attribute must be a positive integer value.'],
        ['MEMORY=64\nCPU=1\nVCPU=1.5', 'VCPU attribute must be a positive integer value.'],
        ['MEMORY=64\nCPU=1\nVCPU=two', 'VCPU attribute must be a positive integer value.'],
        ['MEMORY=64\nCPU=1\nDISK=[IMAGE_ID=999]', 'DISK 0: Image with ID: 999 does not exist'],
      ];
      for (const [template, message] of cases) {
        assert.deepEqual(await t.cloud.call(m, template), fail(m, message, 8192), template);
      }
      const parse = await t.cloud.call(m, 'MEMORY = [');
      assert.equal(parse[2], 8192);
      assert.match(parse[1] as string, /^\[one\.vm\.allocate\] Parse error: syntax error/);
      assert.deepEqual(poolIds(await t.extended()), before, 'nothing left behind');
      assert.equal(await t.allocate('CPU=.25\nMEMORY=1\nVCPU=3'), Math.max(...before) + 1, 'no id was used by the failures');
    });

    it('BACKUP_CONFIG is parsed with every default, as a replace; its errors fail the allocate', async () => {
      const m = 'one.vm.allocate';
      const id = await t.allocate('CPU=1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=10]\nDISK=[TYPE=fs,SIZE=20]\n'
        + 'BACKUP_CONFIG=[MODE="increment",KEEP_LAST="-2",FS_FREEZE="agent",BACKUP_VOLATILE="yes",DISK_IDS="1,0,1"]');
      const xml = await t.info(id);
      assert.equal(section(xml, 'BACKUPS'), `<BACKUPS><BACKUP_CONFIG>${c('BACKUP_VOLATILE', 'YES')}${c('DISK_IDS', '0,1')}`
        + `${c('FS_FREEZE', 'AGENT')}${c('INCREMENTAL_BACKUP_ID', -1)}${c('INCREMENT_MODE', 'CBT')}${c('INTERACTIVE', 'NO')}`
        + `${c('KEEP_LAST', 0)}${c('LAST_INCREMENT_ID', -1)}${c('MODE', 'INCREMENT')}</BACKUP_CONFIG><BACKUP_IDS></BACKUP_IDS></BACKUPS>`);
      assert.ok(!section(xml, 'USER_TEMPLATE').includes('BACKUP_CONFIG'), 'BACKUP_CONFIG leaves the user template');
      const plain = await t.info(await t.allocate('CPU=1\nMEMORY=64\nBACKUP_CONFIG=[KEEP_LAST=3]'));
      assert.equal(section(plain, 'BACKUP_CONFIG'), `<BACKUP_CONFIG>${c('BACKUP_VOLATILE', 'NO')}${c('FS_FREEZE', 'NONE')}`
        + `${c('INCREMENTAL_BACKUP_ID', -1)}${c('INCREMENT_MODE', 'CBT')}${c('INTERACTIVE', 'NO')}${c('KEEP_LAST', 3)}`
        + `${c('LAST_INCREMENT_ID', -1)}${c('MODE', 'FULL')}</BACKUP_CONFIG>`);
      const before = poolIds(await t.extended());
      assert.deepEqual(await t.cloud.call(m, 'CPU=1\nMEMORY=64\nBACKUP_CONFIG=[DISK_IDS="0,x"]'), fail(m, 'Invalid DISK_IDS value: 0,x', 8192));
      assert.deepEqual(await t.cloud.call(m, 'CPU=1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=1]\nBACKUP_CONFIG=[DISK_IDS="0"]'),
        fail(m, 'Invalid DISK_IDS, disk 0 cannot be backed up', 8192), 'a volatile disk needs BACKUP_VOLATILE');
      assert.deepEqual(await t.cloud.call(m, 'CPU=1\nMEMORY=64\nBACKUP_CONFIG=[MODE=INCREMENT,INCREMENT_MODE=snapshot,INTERACTIVE=YES]'),
        fail(m, 'Interactive backups do not support SNAPSHOT increment mode.', 8192));
      assert.deepEqual(poolIds(await t.extended()), before);
    });

    it('SCHED_ACTION vectors become scheduled actions with relative TIMEs from STIME; a bad one fails but keeps the VM', async () => {
      const m = 'one.vm.allocate';
      t.wait(100);
      const stime = t.now();
      const id = await t.allocate('CPU=1\nMEMORY=64\nSCHED_ACTION=[ACTION="poweroff",TIME="+3600"]\n'
        + 'SCHED_ACTION=[ACTION="snapshot-create",TIME="1795765616",REPEAT="0",DAYS="1,3",END_TYPE="1",END_VALUE="5",ARGS="x"]', true);
      const xml = await t.info(id);
      const [first, second] = ids(xml, 'SCHED_ACTIONS');
      assert.equal(second, first + 1);
      assert.ok(xml.endsWith(`${c('VMID', id)}<SCHED_ACTION><ID>${first}</ID><PARENT_ID>${id}</PARENT_ID><TYPE>VM</TYPE>`
        + `<ACTION>poweroff</ACTION><ARGS></ARGS><TIME>${stime + 3600}</TIME><REPEAT>-1</REPEAT><DAYS></DAYS><END_TYPE>-1</END_TYPE>`
        + '<END_VALUE>-1</END_VALUE><DONE>-1</DONE><MESSAGE></MESSAGE><WARNING>0</WARNING></SCHED_ACTION>'
        + `<SCHED_ACTION><ID>${second}</ID><PARENT_ID>${id}</PARENT_ID><TYPE>VM</TYPE><ACTION>snapshot-create</ACTION><ARGS>x</ARGS>`
        + '<TIME>1795765616</TIME><REPEAT>0</REPEAT><DAYS>1,3</DAYS><END_TYPE>1</END_TYPE><END_VALUE>5</END_VALUE><DONE>-1</DONE>'
        + `<MESSAGE></MESSAGE><WARNING>0</WARNING></SCHED_ACTION></TEMPLATE><USER_TEMPLATE></USER_TEMPLATE><HISTORY_RECORDS/>`
        + '<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS></BACKUP_IDS></BACKUPS></VM>'), xml);
      const stored = (await t.extended()).match(new RegExp(`<VM><ID>${id}</ID>.*?</VM>`))![0];
      assert.ok(!stored.includes('<SCHED_ACTION>'), 'the stored body has no SCHED_ACTION elements');
      assert.deepEqual(ids(stored, 'SCHED_ACTIONS'), [first, second]);

      const next = id + 1;
      assert.deepEqual(await t.cloud.call(m, 'CPU=1\nMEMORY=64\nSCHED_ACTION=[ACTION="poweroff",TIME="+5"]\nSCHED_ACTION=[ACTION="foo",TIME="+5"]'),
        fail(m, 'foo is not supported.', 8192));
      const kept = await t.info(next);
      assert.deepEqual(await t.state(next), [1, 0], 'the VM of a failed SCHED_ACTION stays, as oned leaves it');
      assert.deepEqual(ids(kept, 'SCHED_ACTIONS'), [], 'without any scheduled action');
      assert.ok(!kept.includes('<SCHED_ACTION>') && !kept.includes('foo'));
      assert.deepEqual(await t.cloud.call(m, 'CPU=1\nMEMORY=64\nSCHED_ACTION=[TIME="+5"]', true),
        fail(m, 'No ACTION in template for Scheduled Action.', 8192));
      assert.deepEqual(await t.state(next + 1), [2, 0]);
      for (const vm of [id, next, next + 1]) await t.cloud.call('one.vm.recover', vm, 5);
    });

    it('vmpool.info/infoextended: state filter (-2 all, -1 not DONE, n exact) and its errors, checked in oned\'s order', async () => {
      const done = await t.allocate('CPU=1\nMEMORY=64\nNAME=gone', true);
      assert.deepEqual(await t.cloud.call('one.vm.action', 'terminate', done), ok(done));
      const all = poolIds(await t.pool(-2, -2));
      assert.ok(all.includes(done));
      const states = await Promise.all(all.map(async (i) => [i, (await t.state(i))[0]] as const));
      assert.deepEqual(poolIds(await t.pool(-2, -1)), states.filter(([, st]) => st !== 6).map(([i]) => i));
      assert.deepEqual(poolIds(await t.extended(-2, -1)), states.filter(([, st]) => st !== 6).map(([i]) => i));
      for (const s of [1, 2, 6]) {
        const expected = states.filter(([, st]) => st === s).map(([i]) => i);
        assert.ok(expected.length > 0, `there is a VM in state ${s}`);
        assert.deepEqual(poolIds(await t.pool(-2, s)), expected);
        assert.deepEqual(poolIds(await t.extended(-2, s)), expected);
      }
      assert.deepEqual(poolIds(await t.pool(-2, 3)), []);
      assert.equal(await t.pool(-2, 11), '<VM_POOL></VM_POOL>');
      for (const m of ['one.vmpool.info', 'one.vmpool.infoextended']) {
        assert.deepEqual(await t.cloud.call(m, -2, -1, -1, 12), fail(m, 'Incorrect state filter 12', 4096));
        assert.deepEqual(await t.cloud.call(m, -2, -1, -1, -3), fail(m, 'Incorrect state filter -3', 4096));
        assert.deepEqual(await t.cloud.call(m, -5, -1, -1, -1), fail(m, 'Incorrect filter_flag', 4096));
        assert.deepEqual(await t.cloud.call(m, -5, -1, -1, 12), fail(m, 'Incorrect state filter 12', 4096), 'state before filter');
        assert.deepEqual(await t.cloud.call(m, -5, -1, -1, 12, 'VM.NAME=x'),
          fail(m, 'JSON query search is not supported by the SQL backend', 8192), 'the JSON query first');
        assert.deepEqual((await t.cloud.call(m, -2, -1, -1, -1, ''))[0], true, 'an empty JSON query is no query');
      }
    });

    it('a user sees only its own VMs; documents name the owner', async () => {
      const alice = await t.cloud.user('alice');
      const id = await t.allocate('CPU=1\nMEMORY=64', true, alice.session);
      const mine = okXml(await t.cloud.callAs(alice.session, 'one.vmpool.info', -2, -1, -1, -2));
      await validateDocument(mine, 'vm_pool.xsd');
      assert.deepEqual(poolIds(mine), [id]);
      const xml = await t.info(id);
      assert.equal(between(xml, 'UID'), String(alice.id));
      assert.equal(between(xml, 'UNAME'), 'alice');
      assert.equal(between(xml, 'GNAME'), 'users');
      assert.deepEqual(await t.cloud.callAs(alice.session, 'one.vm.info', 0),
        fail('one.vm.info', `User [${alice.id}] : Not authorized to perform USE VM [0].`, 512));
      assert.deepEqual(await t.cloud.call('one.vm.info', 999), fail('one.vm.info', 'Error getting virtual machine [999].', 1024, 999));
    });
  });
}

for (const backend of backends()) {
  describe(`one.vm.deploy, placement and one.vm.action (${backend.name})`, () => {
    const t = vmCloud(backend);
    let alice: { id: number; session: string };
    const { running, act } = t;
    before(async () => {
      t.cloud = await startTestCloud(backend);
      alice = await t.cloud.user('alice');
      assert.deepEqual(await t.cloud.call('one.host.allocate', 'h1', 'dummy', 'dummy', -1), ok(0));
      assert.deepEqual(await t.cloud.call('one.host.allocate', 'h2', 'dummy', 'dummy', -1), ok(1));
      assert.deepEqual(await t.cloud.call('one.host.status', 1, 2), ok(1), 'h2 is OFFLINE');
    });
    after(async () => { await t.cloud.stop(); });

    it('deploy checks, in oned\'s order: host, offline host, VM, datastore, authorization, state, capacity', async () => {
      const m = 'one.vm.deploy';
      const vm = await t.allocate('CPU=0.5\nMEMORY=256', true);
      assert.deepEqual(await t.cloud.call(m, 999, 77), fail(m, 'Error getting host [77].', 1024, 77), 'the host first, even for a missing VM');
      assert.deepEqual(await t.cloud.call(m, 999, 1), fail(m, 'Host is offline, cannot use it to deploy VM', 2048));
      assert.deepEqual(await t.cloud.call(m, 999, 0), fail(m, 'Error getting virtual machine [999].', 1024, 999));
      assert.deepEqual(await t.cloud.call(m, vm, 0, false, 555), fail(m, 'Error getting datastore [555].', 1024, 555));
      assert.deepEqual(await t.cloud.call(m, vm, 0, false, 1),
        fail(m, 'Trying to use datastore [1] to deploy the VM, but it is not of type system datastore.', 8192));
      const own = await t.allocate('CPU=0.5\nMEMORY=256', true, alice.session);
      assert.deepEqual(await t.cloud.callAs(alice.session, m, own, 0),
        fail(m, `User [${alice.id}] : Not authorized to perform ADMIN VM [${own}].`, 512));
      const big = await t.allocate('CPU=9\nMEMORY=256', true);
      assert.deepEqual(await t.cloud.call(m, big, 0, true), fail(m, `virtual machine [${big}] does not fit in host [0]. Not enough CPU: 900/800`, 2048));
      const huge = await t.allocate('CPU=1\nMEMORY=17000', true);
      assert.deepEqual(await t.cloud.call(m, huge, 0, true),
        fail(m, `virtual machine [${huge}] does not fit in host [0]. Not enough memory: 17408000/16777216`, 2048));
      assert.deepEqual(await t.state(vm), [2, 0], 'no failed deploy changed the VM');
      assert.deepEqual(await t.host(), { cpu: 0, mem: 0, running: 0, vms: [] });
      assert.deepEqual(await t.cloud.call(m, vm, 0), ok(vm));
      assert.deepEqual(await t.cloud.call(m, vm, 0), fail(m, 'Deploy action is not available for state RUNNING', 2048));
      assert.deepEqual(await t.cloud.call(m, big, 0), ok(big), 'without enforce capacity is not checked');
      assert.deepEqual(await t.host(), { cpu: 950, mem: 2 * 256 * 1024, running: 2, vms: [vm, big] });
      for (const id of [vm, big, own, huge]) assert.deepEqual(await t.cloud.call('one.vm.recover', id, 5), ok(id));
      assert.deepEqual(await t.host(), { cpu: 0, mem: 0, running: 0, vms: [] }, 'recover delete-db gives the capacity back');
    });

    it('deploy adds a HISTORY record with PLAN_ID -2 / ACTION_ID -1, TM_MAD_SYSTEM, the VNC port and the deploy id', async () => {
      const ds = (await t.cloud.call('one.datastore.allocate', 'NAME=sys2\nTYPE=SYSTEM_DS\nTM_MAD=dummy', -1))[1] as number;
      const id = await t.allocate('NAME=db\nCPU=0.25\nMEMORY=512\nGRAPHICS=[TYPE=VNC,LISTEN="0.0.0.0"]', true);
      t.wait(7);
      const at = t.now();
      assert.deepEqual(await t.cloud.call('one.vm.deploy', id, 0, false, ds), ok(id));
      const xml = await t.info(id);
      assert.deepEqual(await t.state(id), [3, 3]);
      assert.equal(between(xml, 'DEPLOY_ID'), 'h1:db:dummy');
      assert.equal(cdataOf(xml, 'TM_MAD_SYSTEM'), 'dummy');
      assert.equal(section(xml, 'GRAPHICS'), `<GRAPHICS>${c('LISTEN', '0.0.0.0')}${c('PORT', 5900 + id)}${c('TYPE', 'VNC')}</GRAPHICS>`);
      assert.deepEqual(historyRecords(xml), [{ ...deployed(id, 0, at, -2, -1), DS_ID: ds, TM_MAD: 'dummy' }]);
      assert.deepEqual(await t.host(), { cpu: 25, mem: 512 * 1024, running: 1, vms: [id] });
      const short = (await t.pool()).match(new RegExp(`<VM><ID>${id}</ID>.*?</VM>`))![0];
      assert.ok(short.endsWith(`<HISTORY_RECORDS><HISTORY><OID>${id}</OID><SEQ>0</SEQ>${c('HOSTNAME', 'h1')}`
        + `<HID>0</HID><CID>0</CID><DS_ID>${ds}</DS_ID>${c('VM_MAD', 'dummy')}${c('TM_MAD', 'dummy')}${c('ACTION', 0)}</HISTORY></HISTORY_RECORDS></VM>`), short);
      assert.deepEqual(await t.cloud.call('one.vm.recover', id, 5), ok(id));
    });

    it('a tick places PENDING VMs in id order on the first host with room: PLAN_ID -1, ACTION_ID = place in the plan', async () => {
      const a = await t.allocate('CPU=2\nMEMORY=1024');
      const b = await t.allocate('CPU=1.5\nMEMORY=2048');
      const tooBig = await t.allocate('CPU=8\nMEMORY=64');
      assert.deepEqual(await t.state(a), [1, 0]);
      t.wait(3);
      const at = t.now();
      assert.deepEqual(await t.cloud.call('emu.scheduler.tick'), ok(at));
      assert.deepEqual(historyRecords(await t.info(a)), [deployed(a, 0, at, -1, 0)]);
      assert.deepEqual(historyRecords(await t.info(b)), [deployed(b, 0, at, -1, 1)]);
      assert.deepEqual(await t.state(tooBig), [1, 0], 'a VM that fits nowhere stays PENDING');
      assert.deepEqual(historyRecords(await t.info(tooBig)), []);
      assert.deepEqual(await t.host(), { cpu: 350, mem: 3072 * 1024, running: 2, vms: [a, b] });
      assert.deepEqual(await act('terminate', a), ok(a));
      assert.deepEqual(await t.host(), { cpu: 150, mem: 2048 * 1024, running: 1, vms: [b] }, 'terminate gives the capacity back');
      assert.deepEqual(await act('terminate', b), ok(b));
      t.wait(1);
      assert.deepEqual(await t.cloud.call('emu.scheduler.tick'), ok(t.now()));
      assert.deepEqual(historyRecords(await t.info(tooBig)), [deployed(tooBig, 0, t.now(), -1, 0)], 'placed once the host is free');
      assert.deepEqual(await t.host(), { cpu: 800, mem: 64 * 1024, running: 1, vms: [tooBig] });
      assert.deepEqual(await act('terminate-hard', tooBig), ok(tooBig));
      assert.deepEqual(await t.host(), { cpu: 0, mem: 0, running: 0, vms: [] });
    });

    it('one.vm.action: every action from the states it accepts, and oned\'s text in every other state', async () => {
      const STATES: Record<string, [number, number]> = { PENDING: [1, 0], HOLD: [2, 0], RUNNING: [3, 3], POWEROFF: [8, 0],
        SUSPENDED: [5, 0], STOPPED: [4, 0], UNDEPLOYED: [9, 0], DONE: [6, 0] };
      const small = 'CPU=0.1\nMEMORY=64';
      const after = async (first: string, ...then: string[]) => {
        const id = await running(small);
        for (const a of [first, ...then]) assert.deepEqual(await act(a, id), ok(id), a);
        return id;
      };
      const make: Record<string, () => Promise<number>> = {
        PENDING: () => t.allocate(small), HOLD: () => t.allocate(small, true), RUNNING: () => running(small),
        POWEROFF: () => after('poweroff'), SUSPENDED: () => after('suspend'), STOPPED: () => after('stop'),
        UNDEPLOYED: () => after('undeploy'), DONE: () => after('terminate'),
      };
      const rawState = async (id: number): Promise<[number, number]> => {
        const xml = okXml(await t.cloud.call('one.vm.info', id));
        return [Number(between(xml, 'STATE')), Number(between(xml, 'LCM_STATE'))];
      };
      const everywhere = (target: string) => Object.fromEntries(Object.keys(STATES).map((s) => [s, target]));
      const allowed: Record<string, Record<string, string>> = {
        terminate: everywhere('DONE'), 'terminate-hard': everywhere('DONE'),
        undeploy: { RUNNING: 'UNDEPLOYED', POWEROFF: 'UNDEPLOYED' }, 'undeploy-hard': { RUNNING: 'UNDEPLOYED', POWEROFF: 'UNDEPLOYED' },
        poweroff: { RUNNING: 'POWEROFF' }, 'poweroff-hard': { RUNNING: 'POWEROFF' },
        hold: { PENDING: 'HOLD' }, release: { HOLD: 'PENDING' }, stop: { RUNNING: 'STOPPED', SUSPENDED: 'STOPPED' },
        suspend: { RUNNING: 'SUSPENDED' },
        resume: { STOPPED: 'PENDING', UNDEPLOYED: 'PENDING', SUSPENDED: 'RUNNING', POWEROFF: 'RUNNING' },
        reboot: { RUNNING: 'RUNNING' }, 'reboot-hard': { RUNNING: 'RUNNING' },
        resched: { RUNNING: 'RUNNING', POWEROFF: 'POWEROFF' }, unresched: { RUNNING: 'RUNNING', POWEROFF: 'POWEROFF' },
      };
      // A refused action changes nothing, so one VM per state serves every refusal.
      const witness: Record<string, number> = {};
      for (const name of Object.keys(STATES)) witness[name] = await make[name]();
      for (const [action, from] of Object.entries(allowed)) {
        for (const [name, expected] of Object.entries(STATES)) {
          const target = from[name];
          if (target === undefined) {
            assert.deepEqual(await act(action, witness[name]),
              fail('one.vm.action', `Error performing action "${action}": This action is not available for state ${name}`, 2048, -1));
            assert.deepEqual(await rawState(witness[name]), expected, `${action} refused in ${name} changes nothing`);
          } else {
            const id = await make[name]();
            assert.deepEqual(await act(action, id), ok(id), `${action} from ${name}`);
            assert.deepEqual(await rawState(id), STATES[target], `${action} from ${name} gives ${target}`);
            await t.cloud.call('one.vm.recover', id, 5);
          }
        }
      }
      const m = 'one.vm.action';
      const vm = witness.RUNNING;
      for (const name of ['foo', 'migrate', 'live-migrate', 'delete', 'deploy', 'backup', 'recover', 'resize', '']) {
        assert.deepEqual(await act(name, vm), fail(m, `Action "${name}" is not supported`, 2048), name);
      }
      assert.deepEqual(await act('foo', 999), fail(m, 'Error getting virtual machine [999].', 1024, 999), 'the VM is looked up first');
      assert.deepEqual(await t.cloud.callAs(alice.session, m, 'foo', vm),
        fail(m, `User [${alice.id}] : Not authorized to perform MANAGE VM [${vm}].`, 512), 'an unknown action needs MANAGE');
      const own = await t.allocate(small, true, alice.session);
      assert.deepEqual(await t.cloud.callAs(alice.session, m, 'release', own), ok(own), 'the owner may MANAGE');
      assert.deepEqual(await t.cloud.callAs(alice.session, m, 'resched', own),
        fail(m, `User [${alice.id}] : Not authorized to perform ADMIN VM [${own}].`, 512), 'resched needs ADMIN');
      assert.deepEqual(await t.cloud.callAs(alice.session, m, 'migrate', own),
        fail(m, `User [${alice.id}] : Not authorized to perform ADMIN VM [${own}].`, 512), 'migrate is authorized as ADMIN before it is refused');
      for (const id of Object.values(witness)) await t.cloud.call('one.vm.recover', id, 5);
      await t.cloud.call('one.vm.recover', own, 5);
      assert.deepEqual(await t.host(), { cpu: 0, mem: 0, running: 0, vms: [] });
    });

    it('RESCHED: resched sets it, unresched and reboot clear it; reboot leaves the history alone', async () => {
      const id = await running();
      assert.deepEqual(await act('resched', id), ok(id));
      assert.equal(between(await t.info(id), 'RESCHED'), '1');
      assert.match(await t.pool(), new RegExp(`<VM><ID>${id}</ID>.*?<RESCHED>1</RESCHED>`));
      assert.deepEqual(await act('unresched', id), ok(id));
      assert.equal(between(await t.info(id), 'RESCHED'), '0');
      await act('resched', id);
      const before = historyRecords(await t.info(id));
      assert.deepEqual(await act('reboot', id), ok(id));
      const xml = await t.info(id);
      assert.equal(between(xml, 'RESCHED'), '0');
      assert.deepEqual(historyRecords(xml), before);
      await act('resched', id);
      await act('poweroff', id);
      assert.equal(between(await t.info(id), 'RESCHED'), '0', 'poweroff cancels a reschedule');
      await act('resched', id);
      assert.equal(between(await t.info(id), 'RESCHED'), '1', 'a POWEROFF VM can be rescheduled');
      assert.deepEqual(await act('terminate', id), ok(id));
      assert.deepEqual(await act('terminate', id), ok(id), 'terminating a DONE VM succeeds and does nothing');
      assert.deepEqual(await t.state(id), [6, 0]);
    });

    it('the life cycle keeps its HISTORY: poweroff, resume, suspend, resume, stop, resume + placement, undeploy, terminate', async () => {
      const id = await running();
      const seq0 = historyRecords(await t.info(id))[0];
      const step = async (action: string, expected: [number, number]) => {
        t.wait(10);
        assert.deepEqual(await act(action, id), ok(id), action);
        assert.deepEqual(await t.state(id), expected, action);
        return t.now();
      };
      const poweroff = await step('poweroff', [8, 0]);
      assert.deepEqual(await t.host(), { cpu: 50, mem: 256 * 1024, running: 1, vms: [id] }, 'POWEROFF keeps the capacity');
      const resume1 = await step('resume', [3, 3]);
      const copy = historyRecords(await t.info(id))[1];
      assert.deepEqual([copy.SEQ, copy.ACTION, copy.UID, copy.GID, copy.ETIME], [1, 11, 0, 0, 0],
        'the record a resume starts carries RESUME and its caller');
      const suspend = await step('suspend', [5, 0]);
      const resume2 = await step('resume', [3, 3]);
      const stop = await step('stop', [4, 0]);
      assert.deepEqual(await t.host(), { cpu: 0, mem: 0, running: 0, vms: [] }, 'STOPPED gives the capacity back');
      await step('resume', [1, 0]);
      t.wait(5);
      const placed = t.now();
      await t.cloud.call('emu.scheduler.tick');
      assert.deepEqual(await t.state(id), [3, 3]);
      const undeploy = await step('undeploy', [9, 0]);
      await step('resume', [1, 0]);
      await t.cloud.call('emu.scheduler.tick');
      const relaunched = t.now();
      const terminate = await step('terminate', [6, 0]);
      const xml = await t.info(id);
      assert.equal(between(xml, 'ETIME'), String(terminate));
      const records = historyRecords(xml);
      for (const r of records) assert.ok(Number(r.REQUEST_ID) >= 0, `record ${r.SEQ} was closed by a request`);
      const closed = (end: number, epilog: boolean) => ({ ETIME: end, RETIME: end, ...(epilog ? { ESTIME: end, EETIME: end } : {}) });
      assert.deepEqual(records.map(withoutRequestId), [
        byOneadmin({ ...seq0, ETIME: resume1, RETIME: poweroff }, 19),
        byOneadmin({ ...seq0, SEQ: 1, STIME: resume1, RSTIME: resume1, PSTIME: 0, PETIME: 0, ETIME: resume2, RETIME: suspend }, 10),
        byOneadmin({ ...seq0, SEQ: 2, STIME: resume2, RSTIME: resume2, PSTIME: 0, PETIME: 0, ...closed(stop, true) }, 9),
        byOneadmin({ ...deployed(id, 3, placed, -1, 0), ...closed(undeploy, true) }, 5),
        byOneadmin({ ...deployed(id, 4, relaunched, -1, 0), ...closed(terminate, true) }, 27),
      ].map(withoutRequestId));
      assert.deepEqual(await t.host(), { cpu: 0, mem: 0, running: 0, vms: [] });
    });
  });
}

for (const backend of backends()) {
  describe(`one.vm.update, updateconf, recover, scheduled actions and locks (${backend.name})`, () => {
    const t = vmCloud(backend);
    let alice: { id: number; session: string };
    const { running, act } = t;
    before(async () => {
      t.cloud = await startTestCloud(backend);
      alice = await t.cloud.user('alice');
      assert.deepEqual(await t.cloud.call('one.host.allocate', 'h1', 'dummy', 'dummy', -1), ok(0));
    });
    after(async () => { await t.cloud.stop(); });

    it('update replaces or merges USER_TEMPLATE and never TEMPLATE; NE/AU, then type, then parse (ACTION)', async () => {
      const m = 'one.vm.update';
      const id = await t.allocate('CPU=1\nMEMORY=64\nDESCRIPTION="d"\nFOO=1', true);
      const template = section(await t.info(id), 'TEMPLATE');
      assert.deepEqual(await t.cloud.call(m, id, 'BAR=2\nFOO=3', 1), ok(id));
      assert.equal(section(await t.info(id), 'USER_TEMPLATE'), `<USER_TEMPLATE>${c('BAR', 2)}${c('DESCRIPTION', 'd')}${c('FOO', 3)}</USER_TEMPLATE>`);
      assert.deepEqual(await t.cloud.call(m, id, 'ONLY="x"\nCPU=4'), ok(id), 'the type defaults to replace');
      const xml = await t.info(id);
      assert.equal(section(xml, 'USER_TEMPLATE'), `<USER_TEMPLATE>${c('CPU', 4)}${c('ONLY', 'x')}</USER_TEMPLATE>`);
      assert.equal(section(xml, 'TEMPLATE'), template, 'TEMPLATE is never touched');
      assert.deepEqual(await t.cloud.call(m, 999, 'A=1', 2), fail(m, 'Error getting virtual machine [999].', 1024, 999));
      assert.deepEqual(await t.cloud.callAs(alice.session, m, id, 'A=1', 2), fail(m, `User [${alice.id}] : Not authorized to perform MANAGE VM [${id}].`, 512));
      assert.deepEqual(await t.cloud.call(m, id, 'A = [', 2), fail(m, 'Wrong update type', 4096));
      const parse = await t.cloud.call(m, id, 'A = [', 0);
      assert.equal(parse[2], 2048, 'a parse error is ACTION for VMs');
      assert.match(parse[1] as string, /^\[one\.vm\.update\] Parse error: syntax error/);
    });

    it('updateconf checks type and parse before the VM; takes only its sections and keys; replace removes what is left out', async () => {
      const m = 'one.vm.updateconf';
      assert.deepEqual(await t.cloud.call(m, 999, 'OS=[ARCH=x]', 2), fail(m, 'Wrong update type', 4096));
      const parse = await t.cloud.call(m, 999, 'OS = [', 0);
      assert.equal(parse[2], 8192);
      assert.match(parse[1] as string, /^\[one\.vm\.updateconf\] Parse error: syntax error/);
      assert.deepEqual(await t.cloud.call(m, 999, 'OS=[ARCH=x]', 0), fail(m, 'Error getting virtual machine [999].', 1024, 999));
      const id = await t.allocate('CPU=1\nMEMORY=64\nOS=[ARCH="x86_64",BOOT="disk0"]\nFEATURES=[ACPI="yes"]\n'
        + 'GRAPHICS=[TYPE="VNC",LISTEN="0.0.0.0"]', true);
      const uuid = (await t.info(id)).match(UUID)![1];
      assert.deepEqual(await t.cloud.callAs(alice.session, m, id, 'OS=[ARCH=x]', 1),
        fail(m, `User [${alice.id}] : Not authorized to perform MANAGE VM [${id}].`, 512));
      assert.deepEqual(await t.cloud.call(m, id, 'GRAPHICS=[KEYMAP="es",PORT="7000"]\nMEMORY=4096\nFOO=1\nOS=[ARCH=""]', 1), ok(id));
      let xml = await t.info(id);
      assert.equal(section(xml, 'GRAPHICS'), `<GRAPHICS>${c('KEYMAP', 'es')}${c('LISTEN', '0.0.0.0')}${c('TYPE', 'VNC')}</GRAPHICS>`,
        'append: listed keys only (PORT is not one), empty values ignored');
      assert.equal(cdataOf(xml, 'MEMORY'), '64');
      assert.ok(!xml.includes('FOO'));
      assert.equal(section(xml, 'OS'), `<OS>${c('ARCH', 'x86_64')}${c('BOOT', 'disk0')}${c('MACHINE', 'q35')}${c('UUID', uuid)}</OS>`);
      assert.deepEqual(await t.cloud.call(m, id, 'OS=[ARCH="aarch64",UUID="u-1"]\nFEATURES=[ACPI="no",FOO="x"]'), ok(id));
      xml = await t.info(id);
      assert.equal(section(xml, 'OS'), `<OS>${c('ARCH', 'aarch64')}${c('UUID', 'u-1')}</OS>`, 'replace: listed keys not given go');
      assert.equal(section(xml, 'FEATURES'), `<FEATURES>${c('ACPI', 'no')}</FEATURES>`);
      assert.equal(section(xml, 'GRAPHICS'), '', 'replace: a section left out is removed');
      assert.deepEqual(await t.cloud.call(m, id, 'CONTEXT=[NETWORK="YES"]', 1),
        fail(m, 'Virtual machine does not have context, cannot add a new one.', 8192));
      assert.equal(section(await t.info(id), 'OS'), `<OS>${c('ARCH', 'aarch64')}${c('UUID', 'u-1')}</OS>`, 'a failure changes nothing');

      const vm = await running('CPU=1\nMEMORY=64\nCONTEXT=[NETWORK="YES"]');
      assert.deepEqual(await t.cloud.call(m, vm, 'GRAPHICS=[TYPE="VNC"]\nCONTEXT=[NETWORK="NO",TOKEN="YES"]', 1), ok(vm));
      xml = await t.info(vm);
      assert.equal(section(xml, 'GRAPHICS'), `<GRAPHICS>${c('PORT', 5900 + vm)}${c('TYPE', 'VNC')}</GRAPHICS>`, 'a deployed VM gets a VNC port');
      assert.equal(section(xml, 'CONTEXT'), `<CONTEXT>${c('NETWORK', 'NO')}${c('TOKEN', 'YES')}</CONTEXT>`);
      for (const [action, name] of [['suspend', 'SUSPENDED'], ['stop', 'STOPPED'], ['terminate', 'DONE']]) {
        assert.deepEqual(await act(action, vm), ok(vm));
        assert.deepEqual(await t.cloud.call(m, vm, 'OS=[ARCH=x]', 1), fail(m, `configuration cannot be updated in state ${name}`, 8192));
      }
    });

    it('updateconf BACKUP_CONFIG: append changes only what is given, replace resets the rest (cloud.md §1.5)', async () => {
      const m = 'one.vm.updateconf';
      const id = await t.allocate('CPU=1\nMEMORY=64\nDISK=[TYPE=fs,SIZE=10]\nOS=[ARCH=x86_64]', true);
      const config = async () => section(await t.info(id), 'BACKUP_CONFIG');
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[MODE="INCREMENT",KEEP_LAST="3"]', 1), ok(id));
      assert.equal(await config(), `<BACKUP_CONFIG>${c('INCREMENTAL_BACKUP_ID', -1)}${c('KEEP_LAST', 3)}${c('LAST_INCREMENT_ID', -1)}`
        + `${c('MODE', 'INCREMENT')}</BACKUP_CONFIG>`);
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[MODE="FULL",KEEP_LAST="2"]\nOS=[ARCH=x86_64]', 0), ok(id));
      const full = `<BACKUP_CONFIG>${c('BACKUP_VOLATILE', 'NO')}${c('FS_FREEZE', 'NONE')}${c('INCREMENTAL_BACKUP_ID', -1)}`
        + `${c('INCREMENT_MODE', 'CBT')}${c('INTERACTIVE', 'NO')}${c('KEEP_LAST', 2)}${c('LAST_INCREMENT_ID', -1)}${c('MODE', 'FULL')}</BACKUP_CONFIG>`;
      assert.equal(await config(), full);
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[BACKUP_JOB_ID="5",LAST_INCREMENT_ID="9",KEEP_LAST=""]', 1), ok(id));
      assert.equal(await config(), full, 'keys updateconf does not take, and empty values, are ignored');
      assert.deepEqual(await t.cloud.call(m, id, 'OS=[ARCH=x86_64]', 0), ok(id));
      assert.equal(await config(), full, 'replace without BACKUP_CONFIG keeps it');
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[FS_FREEZE="suspend",BACKUP_VOLATILE="yes",DISK_IDS="0"]', 1), ok(id));
      assert.equal(await config(), full.replace(c('BACKUP_VOLATILE', 'NO'), `${c('BACKUP_VOLATILE', 'YES')}${c('DISK_IDS', 0)}`)
        .replace(c('FS_FREEZE', 'NONE'), c('FS_FREEZE', 'SUSPEND')));
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[DISK_IDS=""]', 1), ok(id));
      assert.ok(!(await config()).includes('DISK_IDS'), 'an empty DISK_IDS clears the selection');
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[DISK_IDS="a"]', 1), fail(m, 'Invalid DISK_IDS value: a', 8192));
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[DISK_IDS="3"]', 1), fail(m, 'Invalid DISK_IDS, disk 3 cannot be backed up', 8192));
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[BACKUP_VOLATILE="NO",DISK_IDS="0"]', 1),
        fail(m, 'Invalid DISK_IDS, disk 0 cannot be backed up', 8192));
      assert.deepEqual(await t.cloud.call(m, id, 'BACKUP_CONFIG=[MODE="INCREMENT",INCREMENT_MODE="SNAPSHOT",INTERACTIVE="YES"]', 1),
        fail(m, 'Interactive backups do not support SNAPSHOT increment mode.', 8192));
      assert.ok((await config()).includes(c('MODE', 'FULL')), 'a failure changes nothing');
    });

    it('recover: the op code first, then the VM and ADMIN; every op in the states it accepts and refuses', async () => {
      const m = 'one.vm.recover';
      assert.deepEqual(await t.cloud.call(m, 999, 6), fail(m, 'Wrong recovery operation code', 2048));
      assert.deepEqual(await t.cloud.call(m, 999, -1), fail(m, 'Wrong recovery operation code', 2048));
      assert.deepEqual(await t.cloud.call(m, 999, 3), fail(m, 'Error getting virtual machine [999].', 1024, 999));
      const own = await t.allocate('CPU=1\nMEMORY=64', true, alice.session);
      assert.deepEqual(await t.cloud.callAs(alice.session, m, own, 3), fail(m, `User [${alice.id}] : Not authorized to perform ADMIN VM [${own}].`, 512));
      const held = await t.allocate('CPU=1\nMEMORY=64', true);
      assert.deepEqual(await t.cloud.call(m, held, 0), fail(m, `Could not perform a recover operation on VM ${held}, wrong state HOLD.`, 2048));
      assert.deepEqual(await t.cloud.call(m, held, 1), fail(m, `Could not perform a recover operation on VM ${held}, wrong state HOLD.`, 2048));
      assert.deepEqual(await t.cloud.call(m, held, 2), fail(m, `Could not perform a retry on VM ${held}, wrong state HOLD.`, 2048));
      const vm = await running();
      for (const op of [0, 1, 2]) {
        assert.deepEqual(await t.cloud.call(m, vm, op), ok(vm));
        assert.deepEqual(await t.state(vm), [3, 3], `op ${op} on a RUNNING VM changes nothing`);
      }
      assert.deepEqual(await t.cloud.call(m, vm, 4), ok(vm));
      assert.deepEqual(await t.state(vm), [1, 0], 'delete-recreate: PENDING again, same id');
      assert.deepEqual(await t.host(), { cpu: 0, mem: 0, running: 0, vms: [] }, 'and off its host');
      assert.deepEqual(await t.cloud.call(m, vm, 4), ok(vm), 'delete-recreate of a PENDING VM does nothing');
      assert.deepEqual(await t.cloud.call(m, held, 4), ok(held));
      assert.deepEqual(await t.state(held), [1, 0], 'a HOLD VM is recreated PENDING');
      assert.deepEqual(await t.cloud.call(m, held, 3), ok(held));
      assert.deepEqual(await t.state(held), [6, 0], 'delete ends it at once');
      assert.deepEqual(await t.cloud.call(m, held, 3), ok(held), 'delete of a DONE VM does nothing');
      assert.deepEqual(await t.cloud.call(m, held, 5), ok(held));
      assert.deepEqual(await t.cloud.call(m, held, 4), fail(m, 'Cannot delete-recreate a VM already in DONE state', 2048));
      const off = await running();
      await act('poweroff', off);
      assert.deepEqual(await t.host(), { cpu: 50, mem: 256 * 1024, running: 1, vms: [off] });
      assert.deepEqual(await t.cloud.call(m, off, 5), ok(off));
      assert.deepEqual(await t.state(off), [6, 0]);
      assert.deepEqual(await t.host(), { cpu: 0, mem: 0, running: 0, vms: [] }, 'delete-db frees the capacity');
      for (const id of [vm, own]) await t.cloud.call(m, id, 5);
    });

    it('schedadd/schedupdate/scheddelete: ids and return values, relative TIME from STIME, partial update, errors', async () => {
      const id = await t.allocate('CPU=1\nMEMORY=64', true);
      const stime = Number(between(await t.info(id), 'STIME'));
      t.wait(50);
      const add = 'one.vm.schedadd';
      const first = (await t.cloud.call(add, id, 'SCHED_ACTION=[ACTION="poweroff",TIME="+600"]'))[1] as number;
      assert.deepEqual(await t.cloud.call(add, id, 'SCHED_ACTION=[ACTION="resume",TIME="1800000000"]'), ok(first + 1));
      let xml = await t.info(id);
      assert.deepEqual(ids(xml, 'SCHED_ACTIONS'), [first, first + 1]);
      assert.match(xml, new RegExp(`<SCHED_ACTION><ID>${first}</ID><PARENT_ID>${id}</PARENT_ID><TYPE>VM</TYPE><ACTION>poweroff</ACTION>`
        + `<ARGS></ARGS><TIME>${stime + 600}</TIME>`), 'a relative TIME counts from the VM STIME, not from now');
      assert.deepEqual(await t.cloud.call(add, id, 'FOO=1'), fail(add, 'No SCHED_ACTION attribute in template', 2048));
      assert.deepEqual(await t.cloud.call(add, id, 'SCHED_ACTION=[ACTION="foo",TIME="5"]'), fail(add, 'foo is not supported.', 2048));
      assert.deepEqual(await t.cloud.call(add, id, 'SCHED_ACTION=[TIME="5"]'), fail(add, 'No ACTION in template for Scheduled Action.', 2048));
      assert.deepEqual(await t.cloud.call(add, id, 'SCHED_ACTION=[ACTION="hold",TIME="x"]'),
        fail(add, 'Unable to parse the time value or value is empty: x', 2048));
      assert.equal((await t.cloud.call(add, id, 'SCHED_ACTION = ['))[2], 8192);
      assert.deepEqual(await t.cloud.call(add, 999, 'SCHED_ACTION=[ACTION="hold",TIME="5"]'), fail(add, 'Error getting virtual machine [999].', 1024, 999));
      assert.deepEqual(await t.cloud.callAs(alice.session, add, id, 'SCHED_ACTION=[ACTION="hold",TIME="5"]'),
        fail(add, `User [${alice.id}] : Not authorized to perform MANAGE VM [${id}].`, 512));

      const upd = 'one.vm.schedupdate';
      assert.deepEqual(await t.cloud.call(upd, id, first, 'SCHED_ACTION=[TIME="+1200",ARGS="a b"]'), ok(first), 'returns the action id');
      xml = await t.info(id);
      assert.match(xml, new RegExp(`<SCHED_ACTION><ID>${first}</ID><PARENT_ID>${id}</PARENT_ID><TYPE>VM</TYPE><ACTION>poweroff</ACTION>`
        + `<ARGS>a b</ARGS><TIME>${stime + 1200}</TIME>`), 'what is not given keeps its value');
      assert.deepEqual(await t.cloud.call(upd, id, 777, 'SCHED_ACTION=[TIME="5"]'), fail(upd, "SCHED_ACTION with id = 777 doesn't exist", 8192));
      assert.deepEqual(await t.cloud.call(upd, id, first, 'FOO=1'), fail(upd, 'No SCHED_ACTION attribute in template', 8192));
      assert.deepEqual(await t.cloud.call(upd, id, first, 'SCHED_ACTION=[ACTION="foo"]'), fail(upd, 'foo is not supported.', 8192));
      assert.deepEqual(await t.cloud.call(upd, 999, first, 'SCHED_ACTION=[TIME="5"]'), fail(upd, 'Error getting virtual machine [999].', 1024, 999));

      const del = 'one.vm.scheddelete';
      assert.deepEqual(await t.cloud.call(del, id, first), ok(id), 'returns the VM id');
      xml = await t.info(id);
      assert.deepEqual(ids(xml, 'SCHED_ACTIONS'), [first + 1]);
      assert.ok(!xml.includes(`<SCHED_ACTION><ID>${first}</ID>`));
      assert.deepEqual(await t.cloud.call(del, id, first), fail(del, `Error getting scheduled action [${first}].`, 1024, first));
      assert.deepEqual(await t.cloud.call(del, 999, first), fail(del, 'Error getting virtual machine [999].', 1024, 999));

      assert.deepEqual(await act('terminate', id), ok(id));
      assert.deepEqual(await t.cloud.call(add, id, 'SCHED_ACTION = ['),
        fail(add, `Unable to create Scheduled Action for Virtual Machine ${id}, it's in DONE state`, 8192, id), 'DONE is checked before the template');
    });

    it('locks: level 1 blocks every change even for oneadmin, level 3 only ADMIN operations; pools show LOCKED only', async () => {
      const id = await running();
      assert.deepEqual(await t.cloud.call('one.vm.lock', id, 1), ok(id));
      const locked = (m: string) => fail(m, `User [0] : VM is locked. [${id}].`, 512);
      assert.deepEqual(await act('poweroff', id), locked('one.vm.action'));
      assert.deepEqual(await act('foo', id), locked('one.vm.action'), 'authorization (and the lock) come before the action name');
      assert.deepEqual(await t.cloud.call('one.vm.update', id, 'A=1', 1), locked('one.vm.update'));
      assert.deepEqual(await t.cloud.call('one.vm.updateconf', id, 'OS=[ARCH=x]', 1), locked('one.vm.updateconf'));
      assert.deepEqual(await t.cloud.call('one.vm.recover', id, 5), locked('one.vm.recover'));
      assert.deepEqual(await t.cloud.call('one.vm.schedadd', id, 'SCHED_ACTION=[ACTION="hold",TIME="5"]'), locked('one.vm.schedadd'));
      assert.deepEqual(await t.cloud.call('one.vm.rename', id, 'other'), locked('one.vm.rename'));
      const xml = await t.info(id);
      assert.match(xml, /<DEPLOY_ID>h1:one-\d+:dummy<\/DEPLOY_ID><LOCK><LOCKED>1<\/LOCKED><OWNER>0<\/OWNER><TIME>\d+<\/TIME><REQ_ID>-?\d+<\/REQ_ID><\/LOCK><MONITORING>/);
      assert.match(await t.pool(), new RegExp(`<VM><ID>${id}</ID>.*?<DEPLOY_ID>[^<]*</DEPLOY_ID><LOCK><LOCKED>1</LOCKED></LOCK><TEMPLATE>`));
      await t.extended();
      assert.deepEqual(await t.cloud.call('one.vm.unlock', id), ok(id));
      assert.deepEqual(await t.cloud.call('one.vm.lock', id, 3), ok(id));
      assert.deepEqual(await act('resched', id), locked('one.vm.action'), 'resched needs ADMIN');
      assert.deepEqual(await act('poweroff', id), ok(id), 'MANAGE operations pass an ADMIN lock');
      assert.deepEqual(await t.cloud.call('one.vm.unlock', id), ok(id));
      assert.deepEqual(await act('resume', id), ok(id));
      const own = await t.allocate('CPU=1\nMEMORY=64', true, alice.session);
      assert.deepEqual(await t.cloud.callAs(alice.session, 'one.vm.lock', own, 2), ok(own));
      assert.deepEqual(await t.cloud.callAs(alice.session, 'one.vm.action', 'release', own),
        fail('one.vm.action', `User [${alice.id}] : Not authorized to perform MANAGE VM [${own}].`, 512), 'no lock hint for users');
      for (const vm of [id, own]) { await t.cloud.call('one.vm.unlock', vm); await t.cloud.call('one.vm.recover', vm, 5); }
    });

    it('rename: any valid name, even a taken one or on a DONE VM; invalid names are ACTION', async () => {
      const m = 'one.vm.rename';
      const a = await t.allocate('CPU=1\nMEMORY=64\nNAME=twin', true);
      const b = await t.allocate('CPU=1\nMEMORY=64', true);
      assert.deepEqual(await t.cloud.call(m, b, 'twin'), ok(b), 'VM names need not be unique');
      assert.equal(between(await t.info(b), 'NAME'), 'twin');
      assert.deepEqual(await t.cloud.call(m, b, 'a|b'), fail(m, "Invalid NAME, char '|' is not allowed", 2048));
      assert.deepEqual(await t.cloud.call(m, b, ''), fail(m, 'Invalid NAME, it cannot be empty', 2048));
      await act('terminate', a);
      assert.deepEqual(await t.cloud.call(m, a, 'after life'), ok(a));
      assert.match(await t.pool(-2, 6), /<NAME>after life<\/NAME>/);
      await t.cloud.call('one.vm.recover', b, 5);
    });

    it('chown: owner and group change; a DONE VM refuses with ACTION; VM names are not checked', async () => {
      const m = 'one.vm.chown';
      const a = await t.allocate('CPU=1\nMEMORY=64\nNAME=owned', true);
      assert.deepEqual(await t.cloud.call(m, a, alice.id, 1), ok(a));
      assert.match(await t.info(a), new RegExp(`<UID>${alice.id}</UID><GID>1</GID><UNAME>alice</UNAME><GNAME>users</GNAME>`));
      await act('terminate', a);
      assert.deepEqual(await t.cloud.call(m, a, 0, 0), fail(m, 'Could not change VM ownership, wrong state', 2048));
    });
  });
}
