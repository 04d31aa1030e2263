import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';
import { validateDocument } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const between = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1];
const poolIds = (xml: string) => [...xml.matchAll(/<VMTEMPLATE><ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
const cdata = (pairs: Array<[string, string]>) => pairs.map(([k, v]) => `<${k}><![CDATA[${v}]]></${k}>`).join('');

const OWNER_UM = '<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>0</GROUP_U><GROUP_M>0</GROUP_M>'
  + '<GROUP_A>0</GROUP_A><OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>';

const SPEC_TEMPLATE = `NAME = cs-tmpl
CPU = 0.1
MEMORY = 64
DESCRIPTION = "spec test"
DISK = [ IMAGE_ID = 0 ]
GRAPHICS = [ LISTEN = "0.0.0.0", TYPE = "VNC" ]
CONTEXT = [ NETWORK = "YES" ]
SCHED_DS_REQUIREMENTS = "ID=100"`;

const SPEC_BODY = '<TEMPLATE><CONTEXT><NETWORK><![CDATA[YES]]></NETWORK></CONTEXT><CPU><![CDATA[0.1]]></CPU>'
  + '<DESCRIPTION><![CDATA[spec test]]></DESCRIPTION><DISK><IMAGE_ID><![CDATA[0]]></IMAGE_ID></DISK>'
  + '<GRAPHICS><LISTEN><![CDATA[0.0.0.0]]></LISTEN><TYPE><![CDATA[VNC]]></TYPE></GRAPHICS><MEMORY><![CDATA[64]]></MEMORY>'
  + '<SCHED_DS_REQUIREMENTS><![CDATA[ID=100]]></SCHED_DS_REQUIREMENTS></TEMPLATE>';

for (const backend of backends()) {
  describe(`one.template.* (${backend.name})`, () => {
    let cloud: TestCloud;
    let alice: { id: number; session: string };
    let bob: { id: number; session: string };
    let dsId = -1;
    const info = async (id: number, ...more: RpcValue[]) => okXml(await cloud.call('one.template.info', id, ...more));
    const ok = async (reply: Promise<RpcValue[]>) => {
      const r = await reply;
      assert.equal(r[0], true, String(r[1]));
      return r[1] as number;
    };
    const allocate = (template: string, session?: string) =>
      ok(session ? cloud.callAs(session, 'one.template.allocate', template) : cloud.call('one.template.allocate', template));
    const image = (template: string, session?: string) =>
      ok(session ? cloud.callAs(session, 'one.image.allocate', template, dsId) : cloud.call('one.image.allocate', template, dsId));

    before(async () => {
      cloud = await startTestCloud(backend);
      alice = await cloud.user('alice');
      bob = await cloud.user('bob');
      dsId = await ok(cloud.call('one.datastore.allocate', 'NAME=cs-img\nTYPE=IMAGE_DS\nDS_MAD=dummy\nTM_MAD=dummy', -1));
      assert.equal(await image('NAME=cs-disk\nTYPE=DATABLOCK\nSIZE=16'), 0);
    });
    after(async () => { await cloud.stop(); });

    it('allocates the spec template and renders it like oned, in info and pool', async () => {
      assert.deepEqual(await cloud.call('one.template.allocate', SPEC_TEMPLATE), [true, 0, 0]);
      const expected = `<VMTEMPLATE><ID>0</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>cs-tmpl</NAME>`
        + `${OWNER_UM}<REGTIME>${TEST_EPOCH_S}</REGTIME>${SPEC_BODY}</VMTEMPLATE>`;
      const xml = await info(0);
      assert.equal(xml, expected);
      await validateDocument(xml, 'vmtemplate.xsd');
      const pool = okXml(await cloud.call('one.templatepool.info', -2, -1, -1));
      assert.equal(pool, `<VMTEMPLATE_POOL>${expected}</VMTEMPLATE_POOL>`);
      await validateDocument(pool, 'vmtemplate_pool.xsd');
    });

    it('SCHED_ACTION vectors are validated as VM actions and stored verbatim; RAW is validated', async () => {
      const id = await allocate('NAME=sa\nSCHED_ACTION=[ACTION="poweroff", TIME="+60"]\nSCHED_ACTION=[ACTION=backup,TIME=5,ARGS="x"]');
      assert.equal(between(await info(id), 'TEMPLATE'), `<SCHED_ACTION>${cdata([['ACTION', 'poweroff'], ['TIME', '+60']])}</SCHED_ACTION>`
        + `<SCHED_ACTION>${cdata([['ACTION', 'backup'], ['ARGS', 'x'], ['TIME', '5']])}</SCHED_ACTION>`);
      const m = 'one.template.allocate';
      assert.deepEqual(await cloud.call(m, 'NAME=s2\nSCHED_ACTION=[ACTION="x",TIME=1]'), fail(m, 'x is not supported.', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=s2\nSCHED_ACTION=[TIME=1]'), fail(m, 'No ACTION in template for Scheduled Action.', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=s2\nSCHED_ACTION=[ACTION=hold]'),
        fail(m, 'Unable to parse the time value or value is empty: ', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=r\nRAW=[TYPE=xen,DATA="x"]'), fail(m, 'Invalid RAW section: unsupported TYPE', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=r\nRAW=[TYPE=kvm,DATA="<devices>"]'),
        fail(m, 'Invalid RAW section: cannot validate DATA with domain.rng schema', 8192));
      await allocate('NAME=r1\nRAW=[TYPE=KVM,DATA="<devices><serial type=\'pty\'/></devices>"]');
      await allocate('NAME=r2\nRAW=[TYPE=xen,DATA="x",VALIDATE=NO]');
      await allocate('NAME=r3\nRAW=[TYPE=lxc,DATA="<not xml"]');
    });

    it('allocate errors: parse, CREATE, restricted attributes, names', async () => {
      const m = 'one.template.allocate';
      const before = poolIds(okXml(await cloud.call('one.templatepool.info', -2, -1, -1)));
      const parse = await cloud.call(m, 'NAME = [');
      assert.equal(parse[2], 8192);
      assert.match(parse[1] as string, /^\[one\.template\.allocate\] Parse error: syntax error/);
      const outsider = await cloud.user('outsider', [(await cloud.call('one.group.allocate', 'nocreate'))[1] as number]);
      assert.deepEqual(await cloud.callAs(outsider.session, m, 'NAME=x\nNIC=[MAC="00:01"]'),
        fail(m, `User [${outsider.id}] : Not authorized to perform CREATE TEMPLATE.`, 512), 'CREATE comes first');
      assert.deepEqual(await cloud.callAs(alice.session, m, 'NAME=x\nNIC=[NETWORK=a,MAC="00:01",VLAN_ID=3]'),
        fail(m, `User [${alice.id}] : VM Template includes a restricted attribute MAC.`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, m, 'NAME=x\nDISK=[IMAGE_ID=0,TOTAL_IOPS_SEC=1]\nCPU_COST=2'),
        fail(m, `User [${alice.id}] : VM Template includes a restricted attribute CPU_COST.`, 512), 'attributes are checked in name order');
      assert.deepEqual(await cloud.callAs(alice.session, m, 'NAME=x\nDISK=[IMAGE_ID=0,TOTAL_IOPS_SEC=1]'),
        fail(m, `User [${alice.id}] : VM Template includes a restricted attribute TOTAL_IOPS_SEC.`, 512));
      assert.equal((await cloud.callAs(alice.session, m, 'NAME=pci\nPCI=[VENDOR=1]'))[0], true, 'only a single PCI attribute is restricted');
      assert.deepEqual(await cloud.call(m, 'CPU=1'), fail(m, 'Invalid NAME, it cannot be empty', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME="a|b"'), fail(m, "Invalid NAME, char '|' is not allowed", 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=cs-tmpl'), fail(m, 'NAME is already taken by TEMPLATE 0.', 8192));
      const after = poolIds(okXml(await cloud.call('one.templatepool.info', -2, -1, -1)));
      assert.deepEqual(after.filter((id) => !before.includes(id)).length, 1, 'only the PCI template was added');
      assert.equal(await allocate('NAME=admin-nic\nNIC=[MAC="00:02"]'), Math.max(...after) + 1, 'admins may; failed ids are given back');
      assert.equal((await cloud.callAs(alice.session, m, 'NAME=cs-tmpl'))[0], true, 'names are unique per owner');
    });

    it('info: existence before authorization; extended shows DISKs with their image data', async () => {
      const m = 'one.template.info';
      assert.deepEqual(await cloud.callAs(alice.session, m, 404), fail(m, 'Error getting virtual machine template [404].', 1024, 404));
      assert.deepEqual(await cloud.callAs(alice.session, m, -1), fail(m, 'Error getting virtual machine template Pool.', 1024));
      assert.deepEqual(await cloud.callAs(alice.session, m, 0), fail(m, `User [${alice.id}] : Not authorized to perform USE TEMPLATE [0].`, 512));

      const xml = await info(0, true);
      await validateDocument(xml, 'vmtemplate.xsd');
      const disk = cdata([['ALLOW_ORPHANS', 'NO'], ['CLONE', 'YES'], ['CLONE_TARGET', 'SYSTEM'], ['CLUSTER_ID', '0'],
        ['DATASTORE', 'cs-img'], ['DATASTORE_ID', String(dsId)], ['DEV_PREFIX', 'sd'], ['DISK_ID', '0'],
        ['DISK_SNAPSHOT_TOTAL_SIZE', '0'], ['DISK_TYPE', 'FILE'], ['DRIVER', 'raw'], ['FORMAT', 'raw'], ['IMAGE', 'cs-disk'],
        ['IMAGE_ID', '0'], ['IMAGE_STATE', '1'], ['LN_TARGET', 'NONE'], ['ORIGINAL_SIZE', '16'], ['PERSISTENT_SNAPSHOTS', 'YES'],
        ['READONLY', 'NO'], ['SAVE', 'NO'], ['SIZE', '16'], ['SOURCE', 'dummy_path'], ['TM_MAD', 'dummy'], ['TYPE', 'FILE']]);
      assert.equal(xml, (await info(0)).replace('<DISK><IMAGE_ID><![CDATA[0]]></IMAGE_ID></DISK>', `<DISK>${disk}</DISK>`));
      assert.equal(await info(0), (await info(0, false)), 'the stored template is not changed');

      const pers = await image('NAME=pers\nTYPE=DATABLOCK\nSIZE=2\nPERSISTENT=YES\nREADONLY=YES\nTARGET=vdb', alice.session);
      const t = await allocate(`NAME=ext\nDISK=[IMAGE=pers,IMAGE_UNAME=alice]\nDISK=[TYPE=fs,SIZE=5]\nDISK=[IMAGE_ID=0,SIZE=99]`, alice.session);
      assert.deepEqual(await cloud.callAs(alice.session, m, t, true),
        fail(m, `User [${alice.id}] : Not authorized to perform USE IMAGE [0].`, 512), 'extended asks USE on the images');
      await cloud.call('one.template.update', t, 'DISK=[IMAGE=pers,IMAGE_UNAME=alice]\nDISK=[TYPE=fs,SIZE=5]\nDISK=[IMAGE=cs-disk]');
      const ext = okXml(await cloud.callAs(alice.session, m, t, true));
      await validateDocument(ext, 'vmtemplate.xsd');
      const disks = [...ext.matchAll(/<DISK>(.*?)<\/DISK>/g)].map((d) => d[1]);
      assert.equal(disks.length, 3);
      assert.match(disks[0], /<IMAGE_ID><!\[CDATA\[\d+\]\]><\/IMAGE_ID>/);
      assert.ok(disks[0].includes(cdata([['PERSISTENT', 'YES']])) && disks[0].includes(cdata([['SAVE', 'YES']]))
        && disks[0].includes(cdata([['CLONE', 'NO']])) && disks[0].includes(cdata([['READONLY', 'YES']]))
        && disks[0].includes(cdata([['TARGET', 'vdb']])) && disks[0].includes(cdata([['IMAGE_ID', String(pers)]])), disks[0]);
      assert.equal(disks[1], cdata([['DISK_ID', '1'], ['SIZE', '5'], ['TYPE', 'fs']]), 'volatile disks only get DISK_ID');
      assert.equal(disks[2], cdata([['DISK_ID', '2'], ['IMAGE', 'cs-disk']]), "an IMAGE name is looked up among the caller's images");
      assert.equal(okXml(await cloud.call(m, t, true, true)).includes('<IMAGE_UNAME><![CDATA[alice]]></IMAGE_UNAME>'), true);
    });

    it('update: replace/merge, scheduled-action and RAW checks, restricted attributes for users', async () => {
      const m = 'one.template.update';
      const id = await allocate('NAME=upd\nCPU=1\nMEMORY=2');
      assert.deepEqual(await cloud.call(m, id, 'MEMORY=4\nA=1\nA=2', 1), [true, id, 0]);
      assert.equal(between(await info(id), 'TEMPLATE'), cdata([['A', '1'], ['A', '2'], ['CPU', '1'], ['MEMORY', '4']]),
        'VM templates keep repeated names');
      assert.deepEqual(await cloud.call(m, id, 'B=1'), [true, id, 0]);
      assert.equal(between(await info(id), 'TEMPLATE'), cdata([['B', '1']]));
      assert.deepEqual(await cloud.call(m, id, 'SCHED_ACTION=[ACTION=x,TIME=1]'), fail(m, 'Cannot update template. x is not supported.', 8192));
      assert.deepEqual(await cloud.call(m, id, 'RAW=[TYPE=foo]', 1), fail(m, 'Cannot update template. Invalid RAW section: unsupported TYPE', 8192));
      assert.deepEqual(await cloud.call(m, id, 'X=1', 2), fail(m, 'Wrong update type', 4096));
      assert.deepEqual(await cloud.call(m, 404, 'X=1'), fail(m, 'Error getting virtual machine template [404].', 1024, 404));
      assert.equal(between(await info(id), 'TEMPLATE'), cdata([['B', '1']]), 'failed updates change nothing');

      const given = await allocate('NAME=given\nNIC=[NETWORK=n,MAC="00:01"]\nCPU_COST=3\nCPU=1');
      await cloud.call('one.template.chown', given, alice.id, -1);
      assert.deepEqual(await cloud.callAs(alice.session, m, given, 'CPU=2'),
        fail(m, 'Cannot update template. Tried to change restricted attribute: NIC', 8192));
      assert.deepEqual(await cloud.callAs(alice.session, m, given, 'NIC=[NETWORK=n,MAC="00:09"]', 1),
        fail(m, 'Cannot update template. User Template includes a restricted attribute NIC', 8192));
      assert.deepEqual(await cloud.callAs(alice.session, m, given, 'CPU_COST=4', 1),
        fail(m, 'Cannot update template. User Template includes a restricted attribute CPU_COST', 8192));
      assert.deepEqual(await cloud.callAs(alice.session, m, given, 'NIC=[NETWORK=other,MAC="00:01"]\nCPU=2'), [true, given, 0],
        'restricted values unchanged: allowed');
      assert.equal(between(await info(given), 'TEMPLATE'), cdata([['CPU', '2'], ['CPU_COST', '3']])
        + `<NIC>${cdata([['MAC', '00:01'], ['NETWORK', 'other']])}</NIC>`, 'a replace keeps restricted single attributes');
    });

    it('rename, chmod (recursive), chown, lock and unlock', async () => {
      const id = await allocate('NAME=ren\nDISK=[IMAGE_ID=0]');
      const r = 'one.template.rename';
      assert.deepEqual(await cloud.call(r, id, 'cs-tmpl'),
        fail(r, 'virtual machine template cannot be renamed to cs-tmpl because it collides with virtual machine template 0', 2048));
      assert.deepEqual(await cloud.call(r, id, 'ren2'), [true, id, 0]);
      const c = 'one.template.chmod';
      assert.deepEqual(await cloud.call(c, id, -1, -1, -1, 1, -1, -1, -1, -1, -1, true), [true, id, 0]);
      assert.equal(between(await info(id), 'GROUP_U'), '1');
      assert.equal(between(okXml(await cloud.call('one.image.info', 0)), 'GROUP_U'), '1', 'recursive: the image changed too');
      await cloud.call('one.template.chown', id, alice.id, -1);
      assert.deepEqual(await cloud.callAs(alice.session, c, id, -1, -1, -1, -1, 1, -1, -1, -1, -1, true),
        fail(c, 'Cannot chmod image: 0', 2048), 'the template changed, the image could not');
      assert.equal(between(await info(id), 'GROUP_M'), '1');
      assert.deepEqual(await cloud.callAs(alice.session, c, id, -1, -1, -1, -1, 0, -1, -1, -1, -1), [true, id, 0]);

      const ch = 'one.template.chown';
      await allocate('NAME=ren2', bob.session);
      assert.match((await cloud.call(ch, id, bob.id, -1))[1] as string,
        new RegExp(`user \\[${bob.id}\\] already owns virtual machine template \\[\\d+\\] with NAME ren2`));
      assert.deepEqual(await cloud.call(ch, id, -1, 1), [true, id, 0]);
      assert.equal(between(await info(id), 'GNAME'), 'users');

      const l = 'one.template.lock';
      assert.deepEqual(await cloud.call(l, id, 2), [true, id, 0]);
      const locked = await info(id);
      assert.match(locked, /<NAME>ren2<\/NAME><LOCK><LOCKED>2<\/LOCKED><OWNER>0<\/OWNER>/);
      await validateDocument(locked, 'vmtemplate.xsd');
      assert.deepEqual(await cloud.call('one.template.update', id, 'X=1'),
        fail('one.template.update', `User [0] : TEMPLATE is locked. [${id}].`, 512));
      assert.deepEqual(await cloud.call('one.template.unlock', id), [true, id, 0]);
      assert.deepEqual(await cloud.call('one.template.update', id, 'X=1'), [true, id, 0]);
    });

    it('delete, recursive deletes the images it can and succeeds anyway', async () => {
      const m = 'one.template.delete';
      assert.deepEqual(await cloud.call(m, 404), fail(m, 'Error getting virtual machine template [404].', 1024, 404));
      const own = await image('NAME=mine\nSIZE=1', alice.session);
      const t = await allocate(`NAME=rec\nDISK=[IMAGE=mine]\nDISK=[IMAGE_ID=0]\nDISK=[IMAGE_ID=999]`, alice.session);
      assert.deepEqual(await cloud.callAs(bob.session, m, t), fail(m, `User [${bob.id}] : Not authorized to perform MANAGE TEMPLATE [${t}].`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, m, t, true), [true, t, 0]);
      assert.equal((await cloud.call('one.template.info', t))[2], 1024);
      assert.equal((await cloud.call('one.image.info', own))[2], 1024, "alice's image went with the template");
      assert.equal((await cloud.call('one.image.info', 0))[0], true, "oneadmin's image stayed: alice may not delete it");
      assert.ok(cloud.log.lines.some((l) => l.includes(`Template ${t} deleted, unable to recursively delete image: 0,999`)));
      const plain = await allocate('NAME=plain\nDISK=[IMAGE_ID=0]');
      assert.deepEqual(await cloud.call(m, plain), [true, plain, 0]);
      assert.equal((await cloud.call('one.image.info', 0))[0], true, 'without recursive the images stay');
    });

    it('pool: filter flag, ranges, order and visibility', async () => {
      const p = 'one.templatepool.info';
      assert.deepEqual(await cloud.call(p, -5, -1, -1), fail(p, 'Incorrect filter_flag', 4096));
      const all = poolIds(okXml(await cloud.call(p, -2, -1, -1)));
      assert.deepEqual(all, [...all].sort((a, b) => b - a));
      assert.deepEqual(poolIds(okXml(await cloud.call(p, -2, 1, 3))), all.filter((id) => id >= 1 && id <= 3));
      assert.deepEqual(poolIds(okXml(await cloud.call(p, -2, 1, -2))), all.slice(1, 3));
      const hers = poolIds(okXml(await cloud.callAs(alice.session, p, -3, -1, -1)));
      assert.ok(hers.length > 0);
      for (const id of hers) assert.equal(between(await info(id), 'UNAME'), 'alice');
      await validateDocument(okXml(await cloud.call(p, -2, -1, -1)), 'vmtemplate_pool.xsd');
    });
  });
}
