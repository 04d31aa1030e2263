import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OneError } from '../../src/domain/errors.js';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { checkDatastoreCapacity, datastoreCapacity, type CapacityUse } from '../../src/store/datastores.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, type TestCloud } from '../support/cloud.js';
import { validateDocument, validateXml } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const between = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1];
const ids = (xml: string, tag: string) => [...(between(xml, tag) ?? '').matchAll(/<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));
const c = (name: string, value: string | number) => `<${name}><![CDATA[${value}]]></${name}>`;
const templateOf = (xml: string) => xml.match(/<TEMPLATE>(.*)<\/TEMPLATE><\/DATASTORE>/)?.[1];

const OWNED_BY_ONEADMIN = '<UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME>';
const perms = (bits: string) => `<PERMISSIONS>${['OWNER_U', 'OWNER_M', 'OWNER_A', 'GROUP_U', 'GROUP_M', 'GROUP_A', 'OTHER_U', 'OTHER_M',
  'OTHER_A'].map((n, i) => `<${n}>${bits[i]}</${n}>`).join('')}</PERMISSIONS>`;
const TIB = 1048576;

/** The bootstrap datastores as a fresh oned shows them (§3.6), with the emulated 1 TiB capacity. */
const FRESH_POOL = '<DATASTORE_POOL>'
  + `<DATASTORE><ID>2</ID>${OWNED_BY_ONEADMIN}<NAME>files</NAME>${perms('110100000')}<DS_MAD><![CDATA[fs]]></DS_MAD>`
  + '<TM_MAD><![CDATA[local]]></TM_MAD><BASE_PATH><![CDATA[/var/lib/one//datastores/2]]></BASE_PATH><TYPE>2</TYPE><DISK_TYPE>0</DISK_TYPE>'
  + `<STATE>0</STATE><CLUSTERS><ID>0</ID></CLUSTERS><TOTAL_MB>${TIB}</TOTAL_MB><FREE_MB>${TIB}</FREE_MB><USED_MB>0</USED_MB><IMAGES></IMAGES>`
  + `<TEMPLATE>${c('ALLOW_ORPHANS', 'FORMAT')}${c('CLONE_TARGET', 'SYSTEM')}${c('DS_MAD', 'fs')}${c('LN_TARGET', 'SYSTEM')}`
  + `${c('PERSISTENT_SNAPSHOTS', 'YES')}${c('RESTRICTED_DIRS', '/')}${c('SAFE_DIRS', '/var/tmp')}${c('TM_MAD', 'local')}`
  + `${c('TYPE', 'FILE_DS')}</TEMPLATE></DATASTORE>`
  + `<DATASTORE><ID>1</ID>${OWNED_BY_ONEADMIN}<NAME>default</NAME>${perms('110100000')}<DS_MAD><![CDATA[fs]]></DS_MAD>`
  + '<TM_MAD><![CDATA[local]]></TM_MAD><BASE_PATH><![CDATA[/var/lib/one//datastores/1]]></BASE_PATH><TYPE>0</TYPE><DISK_TYPE>0</DISK_TYPE>'
  + `<STATE>0</STATE><CLUSTERS><ID>0</ID></CLUSTERS><TOTAL_MB>${TIB}</TOTAL_MB><FREE_MB>${TIB}</FREE_MB><USED_MB>0</USED_MB><IMAGES></IMAGES>`
  + `<TEMPLATE>${c('ALLOW_ORPHANS', 'FORMAT')}${c('CLONE_TARGET', 'SYSTEM')}${c('DISK_TYPE', 'FILE')}${c('DS_MAD', 'fs')}`
  + `${c('LN_TARGET', 'SYSTEM')}${c('PERSISTENT_SNAPSHOTS', 'YES')}${c('RESTRICTED_DIRS', '/')}${c('SAFE_DIRS', '/var/tmp')}`
  + `${c('TM_MAD', 'local')}${c('TYPE', 'IMAGE_DS')}</TEMPLATE></DATASTORE>`
  + `<DATASTORE><ID>0</ID>${OWNED_BY_ONEADMIN}<NAME>system</NAME>${perms('110100000')}<DS_MAD><![CDATA[-]]></DS_MAD>`
  + '<TM_MAD><![CDATA[local]]></TM_MAD><BASE_PATH><![CDATA[/var/lib/one//datastores/0]]></BASE_PATH><TYPE>1</TYPE><DISK_TYPE>0</DISK_TYPE>'
  + '<STATE>0</STATE><CLUSTERS><ID>0</ID></CLUSTERS><TOTAL_MB>0</TOTAL_MB><FREE_MB>0</FREE_MB><USED_MB>0</USED_MB><IMAGES></IMAGES>'
  + `<TEMPLATE>${c('ALLOW_ORPHANS', 'FORMAT')}${c('DISK_TYPE', 'FILE')}${c('DS_LIVE_MIGRATE', 'YES')}${c('DS_MIGRATE', 'YES')}`
  + `${c('DS_MIGRATE_SNAP', 'YES')}${c('PERSISTENT_SNAPSHOTS', 'YES')}${c('RESTRICTED_DIRS', '/')}${c('SAFE_DIRS', '/var/tmp')}`
  + `${c('SHARED', 'NO')}${c('TM_MAD', 'local')}${c('TYPE', 'SYSTEM_DS')}</TEMPLATE></DATASTORE>`
  + '</DATASTORE_POOL>';

const DUMMY_IMAGE_DS = `<DATASTORE><ID>100</ID>${OWNED_BY_ONEADMIN}<NAME>cs-img</NAME>${perms('110100000')}`
  + '<DS_MAD><![CDATA[dummy]]></DS_MAD><TM_MAD><![CDATA[dummy]]></TM_MAD><BASE_PATH><![CDATA[/var/lib/one//datastores/100]]></BASE_PATH>'
  + `<TYPE>0</TYPE><DISK_TYPE>0</DISK_TYPE><STATE>0</STATE><CLUSTERS><ID>0</ID></CLUSTERS><TOTAL_MB>${TIB}</TOTAL_MB>`
  + `<FREE_MB>${TIB}</FREE_MB><USED_MB>0</USED_MB><IMAGES></IMAGES><TEMPLATE>${c('ALLOW_ORPHANS', 'NO')}${c('CLONE_TARGET', 'SYSTEM')}`
  + `${c('DISK_TYPE', 'FILE')}${c('DS_MAD', 'dummy')}${c('LN_TARGET', 'NONE')}${c('PERSISTENT_SNAPSHOTS', 'YES')}`
  + `${c('RESTRICTED_DIRS', '/')}${c('SAFE_DIRS', '/var/tmp')}${c('TM_MAD', 'dummy')}</TEMPLATE></DATASTORE>`;

for (const backend of backends()) {
  describe(`one.datastore.*, one.datastorepool.info (${backend.name})`, () => {
    let cloud: TestCloud;
    let alice: { id: number; session: string };
    let nextImage = 0;
    const info = async (id: number) => okXml(await cloud.call('one.datastore.info', id));
    const allocate = async (template: string, cluster = -1) => {
      const reply = await cloud.call('one.datastore.allocate', template, cluster);
      assert.equal(reply[0], true, String(reply[1]));
      return reply[1] as number;
    };
    /** The image developer's rows: a body with "datastoreId" and "size" (MB). */
    const addImage = async (dsId: number, size: number) => {
      const id = nextImage++;
      await cloud.db.query(
        `INSERT INTO image_pool (oid, name, body, uid, gid, owner_u, group_u, other_u) VALUES ($1, $2, $3, 0, 0, 1, 1, 0)`,
        [id, `img-${id}`, JSON.stringify({ datastoreId: dsId, size })]);
      return id;
    };
    const dropImages = (dsId: number) =>
      cloud.db.query(`DELETE FROM image_pool WHERE body @> jsonb_build_object('datastoreId', $1::int)`, [dsId]);
    const capacityError = async (dsId: number, size: number, use?: CapacityUse) => {
      try {
        await checkDatastoreCapacity(cloud.db, dsId, size, use);
        return null;
      } catch (err) {
        assert.ok(err instanceof OneError);
        return [err.code, err.detail, err.respId, err.object];
      }
    };
    before(async () => {
      cloud = await startTestCloud(backend);
      alice = await cloud.user('alice');
    });
    after(async () => { await cloud.stop(); });

    it('the bootstrap datastores; a dummy image datastore allocates at id 100, normalised as oned does', async () => {
      const fresh = okXml(await cloud.call('one.datastorepool.info'));
      assert.equal(fresh, FRESH_POOL);
      await validateDocument(fresh, 'datastore_pool.xsd');
      assert.deepEqual(await cloud.call('one.datastore.allocate', 'NAME = "cs-img"\nDS_MAD = dummy\nTM_MAD = dummy', -1), [true, 100, 0]);
      const xml = await info(100);
      assert.equal(xml, DUMMY_IMAGE_DS);
      await validateDocument(xml, 'datastore.xsd');
      await assert.rejects(validateXml(xml.replace('<DISK_TYPE>0</DISK_TYPE>', '<DISK_TYPE>1</DISK_TYPE>'), 'datastore.xsd'),
        /DISK_TYPE/, 'a datastore is never of a CD-ROM disk type');
      assert.deepEqual(ids(okXml(await cloud.call('one.cluster.info', 0)), 'DATASTORES'), [0, 1, 2, 100]);
      const pool = okXml(await cloud.call('one.datastorepool.info'));
      assert.equal(pool, FRESH_POOL.replace('<DATASTORE_POOL>', `<DATASTORE_POOL>${DUMMY_IMAGE_DS}`));
      const users = okXml(await cloud.callAs(alice.session, 'one.datastorepool.info'));
      assert.equal(users, pool, 'the default VDC gives group users USE on every datastore');
      assert.equal((await cloud.callAs(alice.session, 'one.datastore.info', 100))[1], xml);
    });

    it('system, backup, file and virtiofs datastores get their TM_MAD_CONF / DS_MAD_CONF attributes', async () => {
      const system = await info(await allocate('NAME = cs-sys\nTYPE = system_ds\nTM_MAD = dummy'));
      assert.equal(between(system, 'TYPE'), '1');
      assert.ok(system.includes('<DS_MAD><![CDATA[-]]></DS_MAD><TM_MAD><![CDATA[dummy]]></TM_MAD>'));
      assert.equal(templateOf(system), `${c('ALLOW_ORPHANS', 'NO')}${c('DISK_TYPE', 'FILE')}${c('DS_LIVE_MIGRATE', 'YES')}`
        + `${c('DS_MIGRATE', 'YES')}${c('DS_MIGRATE_SNAP', 'YES')}${c('PERSISTENT_SNAPSHOTS', 'YES')}${c('RESTRICTED_DIRS', '/')}`
        + `${c('SAFE_DIRS', '/var/tmp')}${c('SHARED', 'YES')}${c('TM_MAD', 'dummy')}${c('TYPE', 'system_ds')}`);
      assert.ok(system.includes(`<TOTAL_MB>${TIB}</TOTAL_MB><FREE_MB>${TIB}</FREE_MB><USED_MB>0</USED_MB>`), 'a shared system DS is monitored');
      await validateDocument(system, 'datastore.xsd');
      const backup = await info(await allocate('NAME = cs-bk\nTYPE = BACKUP_DS\nDS_MAD = rsync\nRSYNC_HOST = h\nRSYNC_USER = u\nSAFE_DIRS = "/x"'));
      assert.ok(backup.includes('<DS_MAD><![CDATA[rsync]]></DS_MAD><TM_MAD><![CDATA[-]]></TM_MAD>'));
      assert.ok(backup.includes('<TYPE>3</TYPE><DISK_TYPE>0</DISK_TYPE>'));
      assert.equal(templateOf(backup), `${c('DS_MAD', 'rsync')}${c('RSYNC_HOST', 'h')}${c('RSYNC_USER', 'u')}${c('SAFE_DIRS', '/x')}`
        + `${c('TYPE', 'BACKUP_DS')}`);
      await validateDocument(backup, 'datastore.xsd');
      const restic = await info(await allocate('NAME = cs-restic\nTYPE = BACKUP_DS\nDS_MAD = restic\nRESTIC_PASSWORD = p\nTM_MAD = shared'));
      assert.ok(restic.includes('<TM_MAD><![CDATA[-]]></TM_MAD>'));
      assert.equal(between(restic, 'TM_MAD><!\\[CDATA\\[shared\\]\\]></TM_MAD'), undefined);
      assert.ok(templateOf(restic)!.includes(c('TM_MAD', 'shared')), 'a given TM_MAD stays in the template');
      const files = await info(await allocate('NAME = cs-files\nTYPE = FILE_DS\nDS_MAD = fs\nTM_MAD = ssh\nDISK_TYPE = BLOCK'));
      assert.ok(files.includes('<TYPE>2</TYPE><DISK_TYPE>0</DISK_TYPE>'));
      assert.equal(templateOf(files)!.includes('DISK_TYPE'), false, 'FILE_DS keeps no DISK_TYPE');
      const virtiofs = await info(await allocate('NAME = cs-vfs\nDS_MAD = virtiofs\nTM_MAD = virtiofs'));
      assert.ok(virtiofs.includes('<DISK_TYPE>10</DISK_TYPE>'));
      assert.equal(templateOf(virtiofs), `${c('ALLOW_ORPHANS', 'NO')}${c('CLONE_TARGET', 'NONE')}${c('DATASTORE_CAPACITY_CHECK', 'NO')}`
        + `${c('DISK_TYPE', 'FILESYSTEM')}${c('DRIVER', 'virtiofs')}${c('DS_MAD', 'virtiofs')}${c('LN_TARGET', 'NONE')}`
        + `${c('PERSISTENT_SNAPSHOTS', 'YES')}${c('RESTRICTED_DIRS', '/')}${c('SAFE_DIRS', '/var/tmp')}${c('TM_MAD', 'virtiofs')}`);
      const qcow2 = await info(await allocate('NAME = cs-qcow2\nDS_MAD = fs\nTM_MAD = qcow2\nTYPE = FOO'));
      assert.equal(between(qcow2, 'TYPE'), '0', 'an unknown TYPE is an image datastore');
      for (const [name, value] of [['TM_MAD_SYSTEM', 'ssh'], ['LN_TARGET_SSH', 'SYSTEM'], ['CLONE_TARGET_SSH', 'SYSTEM'],
        ['DISK_TYPE_SSH', 'FILE'], ['DRIVER', 'qcow2'], ['ALLOW_ORPHANS', 'FORMAT'], ['TYPE', 'FOO']]) {
        assert.ok(templateOf(qcow2)!.includes(c(name, value)), `${name}=${value}`);
      }
      await validateDocument(qcow2, 'datastore.xsd');
    });

    it('allocate errors in oned order: parse, cluster, authorization, name, drivers, disk types; no id used', async () => {
      const m = 'one.datastore.allocate';
      const before = okXml(await cloud.call('one.datastorepool.info'));
      const parse = await cloud.call(m, 'NAME = [', -1);
      assert.equal(parse[2], 8192);
      assert.match(parse[1] as string, /^\[one\.datastore\.allocate\] Parse error: syntax error, /);
      assert.deepEqual(await cloud.call(m, 'NAME=x\nDS_MAD=dummy\nTM_MAD=dummy', 3), fail(m, 'Error getting cluster [3].', 1024, 3));
      assert.deepEqual(await cloud.callAs(alice.session, m, 'NAME=x', -1),
        fail(m, `User [${alice.id}] : Not authorized to perform CREATE DATASTORE; Not authorized to perform ADMIN CLUSTER [0].`, 512));
      const internal = (template: string, text: string) => async () => assert.deepEqual(await cloud.call(m, template, -1), fail(m, text, 8192));
      await internal('DS_MAD=dummy', 'Invalid NAME, it cannot be empty')();
      await internal('NAME="a/b"', "Invalid NAME, char '/' is not allowed")();
      await internal('NAME=default\nDS_MAD=dummy\nTM_MAD=dummy', 'NAME is already taken by DATASTORE 1.')();
      await internal('NAME=x\nTYPE=SYSTEM_DS\nDS_MAD=dummy\nTM_MAD=dummy', 'SYSTEM datastores cannot have DS_MAD defined.')();
      await internal('NAME=x\nTM_MAD=dummy', 'No DS_MAD in template.')();
      await internal('NAME=x\nDS_MAD=nosuch\nTM_MAD=dummy', 'DS_MAD named "nosuch" is not defined in oned.conf')();
      await internal('NAME=x\nTYPE=BACKUP_DS\nDS_MAD=rsync\nRSYNC_USER=u', 'Datastore template is missing the "RSYNC_HOST" attribute or it\'s empty.')();
      await internal('NAME=x\nTYPE=BACKUP_DS\nDS_MAD=rsync\nRSYNC_HOST=h\nRSYNC_USER=""', 'Datastore template is missing the "RSYNC_USER" attribute or it\'s empty.')();
      await internal('NAME=x\nTYPE=BACKUP_DS\nDS_MAD=restic', 'Datastore template is missing the "RESTIC_PASSWORD" attribute or it\'s empty.')();
      await internal('NAME=x\nDS_MAD=dummy', 'No TM_MAD in template.')();
      await internal('NAME=x\nDS_MAD=dummy\nTM_MAD=nosuch', 'TM_MAD named "nosuch" is not defined in oned.conf')();
      await internal('NAME=x\nDS_MAD=dummy\nTM_MAD=dummy\nDISK_TYPE=cdrom', 'Invalid DISK_TYPE for an Image Datastore.')();
      await internal('NAME=x\nTYPE=SYSTEM_DS\nTM_MAD=dummy\nDISK_TYPE=ISCSI', 'Invalid DISK_TYPE for a System Datastore.')();
      await internal('NAME=x\nDS_MAD=dummy\nTM_MAD=dummy\nDISK_TYPE=FOO', 'Unknown DISK_TYPE in template.')();
      assert.equal(okXml(await cloud.call('one.datastorepool.info')), before, 'nothing left behind');
      const next = await allocate('NAME=next\nDS_MAD=dummy\nTM_MAD=dummy');
      assert.equal(next, Math.max(...[...before.matchAll(/<DATASTORE><ID>(\d+)/g)].map((x) => Number(x[1]))) + 1);
    });

    it('update: TYPE written back, drivers re-applied or written back, DS 0 and BACKUP_DS keep their type, errors', async () => {
      const m = 'one.datastore.update';
      const id = await allocate('NAME=upd\nDS_MAD=dummy\nTM_MAD=dummy');
      assert.deepEqual(await cloud.call(m, id, 'NOTE = n1', 1), [true, id, 0]);
      let xml = await info(id);
      assert.ok(templateOf(xml)!.includes(c('NOTE', 'n1')) && templateOf(xml)!.includes(c('TYPE', 'IMAGE_DS')));
      assert.ok(templateOf(xml)!.includes(c('LN_TARGET', 'NONE')), 'merge keeps the rest');
      assert.deepEqual(await cloud.call(m, id, 'DS_MAD = dummy'), [true, id, 0]);
      xml = await info(id);
      assert.equal(templateOf(xml), `${c('DS_MAD', 'dummy')}${c('TM_MAD', 'dummy')}${c('TYPE', 'IMAGE_DS')}`,
        'replace re-adds no TM_MAD_CONF attribute unless TM_MAD is given');
      assert.equal(between(xml, 'DISK_TYPE'), '0');
      assert.deepEqual(await cloud.call(m, id, 'TM_MAD = qcow2\nDISK_TYPE = block'), [true, id, 0]);
      xml = await info(id);
      assert.equal(between(xml, 'TM_MAD'), '<![CDATA[qcow2]]>');
      assert.equal(between(xml, 'DISK_TYPE'), '2');
      for (const attr of ['LN_TARGET', 'CLONE_TARGET', 'DRIVER', 'DISK_TYPE', 'DS_MAD', 'ALLOW_ORPHANS']) {
        assert.ok(templateOf(xml)!.includes(`<${attr}>`), attr);
      }
      await validateDocument(xml, 'datastore.xsd');
      const unchanged = templateOf(await info(id));
      assert.deepEqual(await cloud.call(m, id, 'TM_MAD = nosuch', 1),
        fail(m, 'Cannot update template. TM_MAD named "nosuch" is not defined in oned.conf', 8192));
      assert.deepEqual(await cloud.call(m, id, 'DISK_TYPE = CDROM', 1), fail(m, 'Cannot update template. Invalid DISK_TYPE for an Image Datastore.', 8192));
      assert.deepEqual(await cloud.call(m, id, 'DS_MAD = nosuch', 1), fail(m, 'Cannot update template. DS_MAD named "nosuch" is not defined in oned.conf', 8192));
      assert.equal(templateOf(await info(id)), unchanged, 'failed updates change nothing');
      assert.equal(between(await info(id), 'DISK_TYPE'), '2');
      assert.deepEqual(await cloud.call(m, id, 'TYPE = SYSTEM_DS', 1), [true, id, 0]);
      xml = await info(id);
      assert.ok(xml.includes('<DS_MAD><![CDATA[-]]></DS_MAD>') && xml.includes('<TYPE>1</TYPE>'));
      assert.equal(templateOf(xml)!.includes('<DS_MAD>'), false);

      assert.deepEqual(await cloud.call(m, 0, 'TYPE = IMAGE_DS', 1), [true, 0, 0]);
      assert.equal(between(await info(0), 'TYPE'), '1', 'DS 0 is always a system datastore');
      const bk = await allocate('NAME=bk-upd\nTYPE=BACKUP_DS\nDS_MAD=rsync\nRSYNC_HOST=h\nRSYNC_USER=u');
      assert.deepEqual(await cloud.call(m, bk, 'TYPE = IMAGE_DS\nTM_MAD = dummy', 1), [true, bk, 0]);
      xml = await info(bk);
      assert.equal(between(xml, 'TYPE'), '3');
      assert.ok(templateOf(xml)!.includes(c('TYPE', 'BACKUP_DS')) && templateOf(xml)!.includes(c('TM_MAD', '-')));
      assert.deepEqual(await cloud.call(m, bk, 'RSYNC_USER = u'),
        fail(m, 'Cannot update template. Datastore template is missing the "RSYNC_HOST" attribute or it\'s empty.', 8192));

      await addImage(id, 10);
      assert.deepEqual(await cloud.call(m, id, 'LVM_THIN_ENABLE = YES', 1),
        fail(m, 'Cannot update template. Cannot update option LVM_THIN_ENABLE in a datastore with existing images', 8192));
      await dropImages(id);
      assert.deepEqual(await cloud.call(m, id, 'LVM_THIN_ENABLE = YES', 1), [true, id, 0]);

      assert.deepEqual(await cloud.call(m, id, 'A=1', 2), fail(m, 'Wrong update type', 4096));
      assert.deepEqual(await cloud.call(m, 404, 'A=1'), fail(m, 'Error getting datastore [404].', 1024, 404));
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'A=1'),
        fail(m, `User [${alice.id}] : Not authorized to perform MANAGE DATASTORE [${id}].`, 512));
    });

    it('rename, chmod and chown; names are global, chown does not look at them', async () => {
      const id = await allocate('NAME=ren\nDS_MAD=dummy\nTM_MAD=dummy');
      const m = 'one.datastore.rename';
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'ren'), [true, id, 0], 'same name: no authorization');
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'x'), fail(m, `User [${alice.id}] : Not authorized to perform MANAGE DATASTORE [${id}].`, 512));
      assert.deepEqual(await cloud.call(m, id, 'default'), fail(m, 'datastore cannot be renamed to default because it collides with datastore 1', 2048));
      assert.deepEqual(await cloud.call(m, id, 'a:b'), fail(m, "Invalid NAME, char ':' is not allowed", 2048));
      assert.deepEqual(await cloud.call(m, 404, 'x'), fail(m, 'Error getting datastore [404].', 1024, 404));

      const chown = 'one.datastore.chown';
      assert.deepEqual(await cloud.call(chown, id, 999, -1), fail(chown, 'Error getting user [999].', 1024, 999));
      assert.deepEqual(await cloud.callAs(alice.session, chown, id, alice.id, -1),
        fail(chown, `User [${alice.id}] : Not authorized to perform MANAGE DATASTORE [${id}].`, 512));
      assert.deepEqual(await cloud.call(chown, id, alice.id, 1), [true, id, 0]);
      let xml = await info(id);
      assert.ok(xml.includes(`<UID>${alice.id}</UID><GID>1</GID><UNAME>alice</UNAME><GNAME>users</GNAME><NAME>ren</NAME>`));
      const image = await addImage(id, 1);
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'alices ds'), [true, id, 0], 'the owner manages it');
      const { rows } = await cloud.db.query<{ ds: string }>(`SELECT body->>'datastore' AS ds FROM image_pool WHERE oid = $1`, [image]);
      assert.equal(rows[0].ds, 'alices ds', "its images' DATASTORE follows");
      await dropImages(id);

      const chmod = 'one.datastore.chmod';
      assert.deepEqual(await cloud.callAs(alice.session, chmod, id, -1, -1, 1, -1, -1, -1, -1, -1, -1),
        fail(chmod, `User [${alice.id}] : Not authorized to perform ADMIN DATASTORE [${id}].`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, chmod, id, -1, -1, -1, -1, 1, -1, 1, -1, -1), [true, id, 0]);
      xml = await info(id);
      assert.ok(xml.includes(perms('110110100')));
      assert.deepEqual(await cloud.call(chmod, 404, 1, 1, 1, 1, 1, 1, 1, 1, 1), fail(chmod, 'Error getting datastore [404].', 1024, 404));
      await validateDocument(xml, 'datastore.xsd');
    });

    it('enable: only system datastores', async () => {
      const m = 'one.datastore.enable';
      assert.deepEqual(await cloud.call(m, 1, false), fail(m, 'Only SYSTEM_DS can be disabled or enabled', 8192));
      assert.deepEqual(await cloud.call(m, 0, false), [true, 0, 0]);
      assert.equal(between(await info(0), 'STATE'), '1');
      await validateDocument(await info(0), 'datastore.xsd');
      assert.deepEqual(await cloud.call(m, 0, true), [true, 0, 0]);
      assert.deepEqual(await cloud.call(m, 0, true), [true, 0, 0], 'enabling an enabled datastore succeeds');
      assert.equal(between(await info(0), 'STATE'), '0');
      assert.deepEqual(await cloud.call(m, 404, true), fail(m, 'Error getting datastore [404].', 1024, 404));
      assert.deepEqual(await cloud.callAs(alice.session, m, 0, true), fail(m, `User [${alice.id}] : Not authorized to perform MANAGE DATASTORE [0].`, 512));
    });

    it('capacity follows the images: USED/FREE/IMAGES, TOTAL_MB and LIMIT_MB, the capacity check texts', async () => {
      const id = await allocate('NAME=cap\nDS_MAD=dummy\nTM_MAD=dummy\nTOTAL_MB=1000');
      const [a, b] = [await addImage(id, 300), await addImage(id, 200)];
      await addImage(1, 7);
      let xml = await info(id);
      assert.ok(xml.includes(`<TOTAL_MB>1000</TOTAL_MB><FREE_MB>500</FREE_MB><USED_MB>500</USED_MB><IMAGES><ID>${a}</ID><ID>${b}</ID></IMAGES>`));
      await validateDocument(xml, 'datastore.xsd');
      const pool = okXml(await cloud.call('one.datastorepool.info'));
      assert.ok(pool.includes(`<USED_MB>500</USED_MB><IMAGES><ID>${a}</ID><ID>${b}</ID></IMAGES>`));
      assert.ok(pool.includes(`<TOTAL_MB>${TIB}</TOTAL_MB><FREE_MB>${TIB - 7}</FREE_MB><USED_MB>7</USED_MB>`), 'datastore 1');
      assert.deepEqual(await datastoreCapacity(cloud.db, id), { totalMb: 1000, freeMb: 500, usedMb: 500 });
      assert.deepEqual(await datastoreCapacity(cloud.db, 0), { totalMb: 0, freeMb: 0, usedMb: 0 });
      assert.equal(await capacityError(id, 500), null);
      assert.deepEqual(await capacityError(id, 501), [2048, 'Not enough space in datastore', -1, undefined]);
      assert.deepEqual(await capacityError(id, 501, 'backup'), [2048, 'Not enough free space on target datastore', -1, undefined]);
      assert.deepEqual(await capacityError(404, 1), [1024, '', 404, 'DATASTORE']);
      await cloud.call('one.datastore.update', id, 'LIMIT_MB = 600', 1);
      assert.equal(await capacityError(id, 100), null);
      assert.deepEqual(await capacityError(id, 101), [2048, 'Not enough space in datastore', -1, undefined]);
      await cloud.call('one.datastore.update', id, 'LIMIT_MB = 100', 1);
      assert.deepEqual(await capacityError(id, 1), [2048, 'Not enough space in datastore', -1, undefined], 'never below 0');
      assert.equal(await capacityError(id, 0), null);
      await cloud.call('one.datastore.update', id, 'DATASTORE_CAPACITY_CHECK = no', 1);
      assert.equal(await capacityError(id, 10 ** 9), null, 'the check is off');
      const vfs = await allocate('NAME=cap-vfs\nDS_MAD=virtiofs\nTM_MAD=virtiofs\nTOTAL_MB=1');
      assert.equal(await capacityError(vfs, 5), null, 'virtiofs turns the check off through DS_MAD_CONF');

      const m = 'one.datastore.delete';
      assert.deepEqual(await cloud.call(m, id), fail(m, `Cannot delete datastore. Datastore ${id} is not empty.`, 2048));
      assert.deepEqual(await cloud.callAs(alice.session, m, id), fail(m, `User [${alice.id}] : Not authorized to perform MANAGE DATASTORE [${id}].`, 512));
      await dropImages(id);
      xml = await info(id);
      assert.ok(xml.includes('<TOTAL_MB>1000</TOTAL_MB><FREE_MB>1000</FREE_MB><USED_MB>0</USED_MB><IMAGES></IMAGES>'));
      assert.deepEqual(await cloud.call(m, id), [true, id, 0]);
      assert.deepEqual(await cloud.call(m, id), fail(m, `Error getting datastore [${id}].`, 1024, id));
      assert.deepEqual(await cloud.call(m, -1), fail(m, 'Error getting datastore Pool.', 1024));
      assert.ok(!ids(okXml(await cloud.call('one.cluster.info', 0)), 'DATASTORES').includes(id), 'the cluster forgets it');
      assert.ok(await allocate('NAME=cap\nDS_MAD=dummy\nTM_MAD=dummy') > id, 'ids are never reused');
    });

    it('info: NO_EXISTS and the pool element for negative ids', async () => {
      const m = 'one.datastore.info';
      assert.deepEqual(await cloud.call(m, 999), fail(m, 'Error getting datastore [999].', 1024, 999));
      assert.deepEqual(await cloud.call(m, -1), fail(m, 'Error getting datastore Pool.', 1024));
      // The default VDC rule DATASTORE/* USE also covers the id-less request, so a user gets NO_EXISTS too.
      assert.deepEqual(await cloud.callAs(alice.session, m, -1), fail(m, 'Error getting datastore Pool.', 1024));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.datastore.update', -1, 'A=1'),
        fail('one.datastore.update', `User [${alice.id}] : Not authorized to perform MANAGE DATASTORE.`, 512));
      const all = [...okXml(await cloud.call('one.datastorepool.info')).matchAll(/<DATASTORE><ID>(\d+)/g)].map((x) => Number(x[1]));
      assert.deepEqual(all, [...all].sort((x, y) => y - x), 'DESC by default');
    });
  });
}
