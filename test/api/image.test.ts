import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ImageState, ImageType, newImage } from '../../src/domain/image.js';
import { permissionsFromOctal } from '../../src/domain/permissions.js';
import { Template } from '../../src/domain/template.js';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { allocateImageRow, imageTable } from '../../src/store/images.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';
import { validateDocument } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const between = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}>(.*?)</${tag}>`))?.[1];
const cdataOf = (xml: string, tag: string) => xml.match(new RegExp(`<${tag}><!\\[CDATA\\[(.*?)\\]\\]></${tag}>`))?.[1];
const poolIds = (xml: string) => [...xml.matchAll(/<IMAGE><ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]));

const OWNER_UM = '<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>0</GROUP_U><GROUP_M>0</GROUP_M>'
  + '<GROUP_A>0</GROUP_A><OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>';
const EMPTY_SNAPSHOTS = '<SNAPSHOTS><ALLOW_ORPHANS><![CDATA[NO]]></ALLOW_ORPHANS><CURRENT_BASE><![CDATA[-1]]></CURRENT_BASE>'
  + '<NEXT_SNAPSHOT><![CDATA[0]]></NEXT_SNAPSHOT></SNAPSHOTS>';

for (const backend of backends()) {
  describe(`one.image.* (${backend.name})`, () => {
    let cloud: TestCloud;
    let alice: { id: number; session: string };
    let bob: { id: number; session: string };
    /** Datastores made for the tests: dummy drivers, a 100 MB one, a qcow2 one, a persistent-only one, lvm, backup. */
    const ds = { dummy: -1, small: -1, qcow2: -1, dev: -1, lvm: -1, backup: -1 };
    const info = async (id: number) => okXml(await cloud.call('one.image.info', id));
    const allocate = async (template: string, dsId = ds.dummy, session?: string) => {
      const reply = session ? await cloud.callAs(session, 'one.image.allocate', template, dsId)
        : await cloud.call('one.image.allocate', template, dsId);
      assert.equal(reply[0], true, String(reply[1]));
      return reply[1] as number;
    };
    const newDatastore = async (template: string) => {
      const reply = await cloud.call('one.datastore.allocate', template, -1);
      assert.equal(reply[0], true, String(reply[1]));
      return reply[1] as number;
    };
    /** Puts an image straight into a state the API cannot reach (no driver or VM runs here). */
    const setImage = async (id: number, change: (i: Awaited<ReturnType<typeof imageTable.get>> & object) => void) => {
      await cloud.db.transaction(async (tx) => {
        const image = await imageTable.get(tx, id, true);
        assert.ok(image);
        change(image);
        await imageTable.save(tx, image);
      });
    };

    before(async () => {
      cloud = await startTestCloud(backend);
      alice = await cloud.user('alice');
      bob = await cloud.user('bob');
      ds.dummy = await newDatastore('NAME=cs-img\nTYPE=IMAGE_DS\nDS_MAD=dummy\nTM_MAD=dummy');
      ds.small = await newDatastore('NAME=small\nTYPE=IMAGE_DS\nDS_MAD=dummy\nTM_MAD=dummy\nTOTAL_MB=100');
      ds.qcow2 = await newDatastore('NAME=q\nTYPE=IMAGE_DS\nDS_MAD=fs\nTM_MAD=qcow2');
      ds.dev = await newDatastore('NAME=dev\nTYPE=IMAGE_DS\nDS_MAD=dev\nTM_MAD=dev\nDISK_TYPE=BLOCK');
      ds.lvm = await newDatastore('NAME=lvm\nTYPE=IMAGE_DS\nDS_MAD=lvm\nTM_MAD=lvm');
      ds.backup = await newDatastore('NAME=bk\nTYPE=BACKUP_DS\nDS_MAD=rsync\nRSYNC_HOST=h\nRSYNC_USER=u');
    });
    after(async () => { await cloud.stop(); });

    it('an empty DATABLOCK (mkfs) is READY right after allocate, with the document oned shows', async () => {
      const id = await allocate('NAME=cs-disk\nTYPE=DATABLOCK\nSIZE=16');
      assert.equal(id, 0);
      const xml = await info(id);
      assert.equal(xml, `<IMAGE><ID>0</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>cs-disk</NAME>`
        + `${OWNER_UM}<TYPE>2</TYPE><DISK_TYPE>0</DISK_TYPE><PERSISTENT>0</PERSISTENT><REGTIME>${TEST_EPOCH_S}</REGTIME>`
        + `<MODTIME>${TEST_EPOCH_S}</MODTIME><SOURCE><![CDATA[dummy_path]]></SOURCE><PATH><![CDATA[]]></PATH>`
        + '<FORMAT><![CDATA[raw]]></FORMAT><FS><![CDATA[]]></FS><SIZE>16</SIZE><STATE>1</STATE><PREV_STATE>1</PREV_STATE>'
        + '<RUNNING_VMS>0</RUNNING_VMS><CLONING_OPS>0</CLONING_OPS><CLONING_ID>-1</CLONING_ID><TARGET_SNAPSHOT>-1</TARGET_SNAPSHOT>'
        + `<DATASTORE_ID>${ds.dummy}</DATASTORE_ID><DATASTORE>cs-img</DATASTORE><VMS></VMS><CLONES></CLONES><APP_CLONES></APP_CLONES>`
        + `<TEMPLATE><DEV_PREFIX><![CDATA[sd]]></DEV_PREFIX></TEMPLATE>${EMPTY_SNAPSHOTS}`
        + '<BACKUP_INCREMENTS></BACKUP_INCREMENTS><BACKUP_DISK_IDS></BACKUP_DISK_IDS></IMAGE>');
      await validateDocument(xml, 'image.xsd');
      const pool = okXml(await cloud.call('one.imagepool.info', -2, -1, -1));
      assert.equal(pool, `<IMAGE_POOL>${xml}</IMAGE_POOL>`);
      await validateDocument(pool, 'image_pool.xsd');
      const dsXml = okXml(await cloud.call('one.datastore.info', ds.dummy));
      assert.equal(between(dsXml, 'IMAGES'), '<ID>0</ID>', 'the datastore lists the image');
      assert.equal(between(dsXml, 'USED_MB'), '16', 'and counts its size');
    });

    it('PATH, SOURCE, driver formats, types, DEV_PREFIX and the moved attributes', async () => {
      const path = await info(await allocate('NAME=p\nPATH="/tmp/disk.img"\nDESCRIPTION="x y"\nFS=ext4\nDRIVER=qcow2'));
      assert.equal(between(path, 'SIZE'), '1024', 'the dummy stat answers 1024 MB');
      assert.equal(between(path, 'STATE'), '1');
      assert.equal(cdataOf(path, 'SOURCE'), 'dummy_path');
      assert.equal(cdataOf(path, 'FORMAT'), 'dummy_format');
      assert.equal(cdataOf(path, 'PATH'), '/tmp/disk.img');
      assert.equal(cdataOf(path, 'FS'), 'ext4');
      assert.equal(between(path, 'TEMPLATE'), '<DESCRIPTION><![CDATA[x y]]></DESCRIPTION><DEV_PREFIX><![CDATA[sd]]></DEV_PREFIX>',
        'NAME, TYPE, PERSISTENT, SIZE, FS, DRIVER, PATH, SOURCE, FORMAT leave the template');
      await validateDocument(path, 'image.xsd');

      const source = await info(await allocate('NAME=s\nSOURCE=/var/x\nFORMAT=qcow2\nSIZE=5\nDEV_PREFIX=vd\nPERSISTENT=yes'));
      assert.deepEqual([cdataOf(source, 'SOURCE'), cdataOf(source, 'FORMAT'), between(source, 'SIZE'), between(source, 'PERSISTENT')],
        ['/var/x', 'qcow2', '5', '1']);
      assert.equal(between(source, 'TEMPLATE'), '<DEV_PREFIX><![CDATA[vd]]></DEV_PREFIX>');

      const qcow = await info(await allocate('NAME=q\nTYPE=OS\nSIZE=10\nFORMAT=raw', ds.qcow2));
      assert.equal(cdataOf(qcow, 'FORMAT'), 'qcow2', "the datastore's DRIVER wins over FORMAT for mkfs images");
      assert.equal(between(qcow, 'TEMPLATE'), '<DEV_PREFIX><![CDATA[sd]]></DEV_PREFIX><DRIVER><![CDATA[qcow2]]></DRIVER>');
      assert.equal(cdataOf(await info(await allocate('NAME=f\nTYPE=DATABLOCK\nSIZE=1\nFORMAT=vmdk')), 'FORMAT'), 'vmdk');

      const cd = await info(await allocate('NAME=cd\nTYPE=cdrom\nPATH=/iso\nPERSISTENT=YES\nDEV_PREFIX=hd'));
      assert.deepEqual([between(cd, 'TYPE'), between(cd, 'PERSISTENT'), between(cd, 'TEMPLATE')], ['1', '0', ''],
        'CDROM images are never persistent and lose DEV_PREFIX');
      const kernel = await info(await allocate('NAME=k\nTYPE=KERNEL\nPATH=/vmlinuz', 2));
      assert.deepEqual([between(kernel, 'TYPE'), between(kernel, 'DATASTORE')], ['3', 'files']);
      const fs = await info(await allocate('NAME=fs\nTYPE=FILESYSTEM\nPATH=/data\nPERSISTENT=YES'));
      assert.deepEqual([between(fs, 'TYPE'), between(fs, 'PERSISTENT'), between(fs, 'SIZE')], ['7', '1', '1024']);
      const inDefault = await info(await allocate('NAME=d\nSIZE=3', 1));
      assert.deepEqual([between(inDefault, 'DATASTORE'), between(inDefault, 'TYPE')], ['default', '0']);
    });

    it('persistency follows PERSISTENT, else the OPENNEBULA/DEFAULT_IMAGE_PERSISTENT_NEW of the user or group', async () => {
      const carol = await cloud.user('carol');
      await cloud.call('one.user.update', carol.id, 'OPENNEBULA = [ DEFAULT_IMAGE_PERSISTENT_NEW = "yes" ]', 1);
      assert.equal(between(await info(await allocate('NAME=dp\nSIZE=1', ds.dummy, carol.session)), 'PERSISTENT'), '1');
      assert.equal(between(await info(await allocate('NAME=dp2\nSIZE=1\nPERSISTENT=NO', ds.dummy, carol.session)), 'PERSISTENT'), '0');
      const group = (await cloud.call('one.group.allocate', 'persistent-group'))[1] as number;
      await cloud.call('one.group.update', group, 'OPENNEBULA = [ DEFAULT_IMAGE_PERSISTENT_NEW = "YES" ]', 1);
      // Primary group first: its OPENNEBULA vector counts; `users` (secondary) lets dave create images.
      const dave = await cloud.user('dave', [group, 1]);
      assert.equal(between(await info(await allocate('NAME=gp\nSIZE=1', ds.dummy, dave.session)), 'PERSISTENT'), '1');
      assert.equal(between(await info(await allocate('NAME=np\nSIZE=1', ds.dummy, alice.session)), 'PERSISTENT'), '0');
    });

    it('allocate errors in oned order with their codes', async () => {
      const m = 'one.image.allocate';
      const before = poolIds(okXml(await cloud.call('one.imagepool.info', -2, -1, -1)));
      const parse = await cloud.call(m, 'NAME = [', ds.dummy);
      assert.equal(parse[2], 8192);
      assert.match(parse[1] as string, /^\[one\.image\.allocate\] Parse error: syntax error/);
      assert.deepEqual(await cloud.call(m, 'NAME=x\nSIZE=1', 999), fail(m, 'Error getting datastore [999].', 1024, 999));
      const onlyFiles = 'Error allocating a new image. New images can only be allocated in a files or image datastore.';
      assert.deepEqual(await cloud.call(m, 'NAME=x\nSIZE=1', 0), fail(m, onlyFiles, 16384));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nSIZE=1', ds.backup), fail(m, onlyFiles, 16384));

      const size = (why: string) => fail(m, `Cannot parse image SIZE: ${why}`, 8192);
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=DATABLOCK', ds.dummy), size('Wrong number or missing SIZE attribute.'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nSIZE=12abc', ds.dummy), size('Wrong number or missing SIZE attribute.'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nSOURCE=/s\nFORMAT=raw', ds.dummy), size('Wrong number or missing SIZE attribute.'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=cdrom', ds.dummy), size('Either PATH or SOURCE are required for CDROM'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=context', 2), size('Either PATH or SOURCE are required for CONTEXT'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=FILESYSTEM', ds.dummy), size('Missing PATH attribute.'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=BACKUP', ds.dummy), size(''));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=BACKUP\nSIZE=big', ds.dummy), size('big'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nFROM_APP=3', ds.dummy), fail(m, 'Cannot determine image SIZE.', 8192));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nFROM_BACKUP_DS=999\nPATH=/p', ds.dummy),
        fail(m, 'Could not get associated backup datastore.', 8192));

      assert.deepEqual(await cloud.call(m, 'NAME=x\nSIZE=101', ds.small), fail(m, 'Not enough space in datastore', 2048));
      assert.deepEqual(await cloud.callAs(alice.session, m, 'NAME=x\nSIZE=101', ds.small, true),
        fail(m, 'Not enough space in datastore', 2048), 'only admins may skip the capacity check');
      assert.deepEqual(await cloud.callAs(alice.session, m, 'NAME=x\nSOURCE=/s\nFORMAT=raw\nSIZE=1', ds.dummy),
        fail(m, `User [${alice.id}] : Template includes a restricted attribute SOURCE.`, 512));
      const outsider = await cloud.user('outsider', [(await cloud.call('one.group.allocate', 'nothing'))[1] as number]);
      assert.deepEqual(await cloud.callAs(outsider.session, m, 'NAME=x\nSIZE=1', ds.dummy),
        fail(m, `User [${outsider.id}] : Not authorized to perform CREATE IMAGE.`, 512), 'new groups may USE the datastores of the default VDC');
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=DATABLOCK\nSIZE=1', ds.dev),
        fail(m, 'Error allocating a new image. This Datastore only accepts persistent images.', 16384));

      const al = (msg: string) => fail(m, `Error allocating a new image. ${msg}`, 16384);
      assert.deepEqual(await cloud.call(m, 'SIZE=1', ds.dummy), al('Invalid NAME, it cannot be empty'));
      assert.deepEqual(await cloud.call(m, 'NAME="a/b"\nSIZE=1', ds.dummy), al("Invalid NAME, char '/' is not allowed"));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=KERNEL\nPATH=/k', ds.dummy),
        al('IMAGES of type KERNEL, RAMDISK and CONTEXT cannot be registered in an IMAGE_DS datastore'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nSIZE=1', 2),
        al('Only IMAGES of type KERNEL, RAMDISK and CONTEXT can be registered in a FILE_DS datastore'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=BACKUP\nSIZE=5', ds.dummy),
        al('IMAGES of type BACKUP can only be registered in an BACKUP_DS datastore'));
      assert.deepEqual(await cloud.call(m, 'NAME=cs-disk\nSIZE=1', ds.dummy), al('NAME is already taken by IMAGE 0.'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nTYPE=foo\nSIZE=1', ds.dummy), al('Unknown type '),
        'the shifted text of Image::set_type, for a type still OS');
      assert.deepEqual(await cloud.call(m, 'NAME=x\nPATH=/p\nSOURCE=/s\nFORMAT=raw\nSIZE=1', ds.dummy), al('PATH and SOURCE cannot be both set.'));
      assert.deepEqual(await cloud.call(m, 'NAME=x\nSOURCE=/s\nSIZE=1', ds.dummy), al('SOURCE needs FORMAT to be set.'));

      assert.deepEqual(before, poolIds(okXml(await cloud.call('one.imagepool.info', -2, -1, -1))), 'nothing left behind');
      const next = await allocate('NAME=next\nSIZE=1');
      assert.equal(next, Math.max(...before) + 1, 'failed allocations give their ids back');
      assert.equal((await cloud.call(m, 'NAME=big\nSIZE=101', ds.small, true))[0], true, 'admins may skip the capacity check');
      assert.equal((await cloud.callAs(alice.session, m, 'NAME=cs-disk\nSIZE=1', ds.dummy))[0], true, 'names are unique per owner');
      assert.equal((await cloud.call(m, 'NAME=pers\nTYPE=DATABLOCK\nSIZE=1\nPERSISTENT=YES', ds.dev))[0], true);
    });

    it('info and pool: existence, authorization, filters, ranges, order', async () => {
      const m = 'one.image.info';
      assert.deepEqual(await cloud.call(m, 404), fail(m, 'Error getting image [404].', 1024, 404));
      assert.deepEqual(await cloud.call(m, -1), fail(m, 'Error getting image Pool.', 1024));
      assert.deepEqual(await cloud.callAs(alice.session, m, -1), fail(m, `User [${alice.id}] : Not authorized to perform USE IMAGE.`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, m, 0), fail(m, `User [${alice.id}] : Not authorized to perform USE IMAGE [0].`, 512));

      const p = 'one.imagepool.info';
      assert.deepEqual(await cloud.call(p, -5, -1, -1), fail(p, 'Incorrect filter_flag', 4096));
      const all = poolIds(okXml(await cloud.call(p, -2, -1, -1)));
      assert.deepEqual(all, [...all].sort((a, b) => b - a), 'DESC by id');
      assert.deepEqual(poolIds(okXml(await cloud.call(p, -2, 2, 4))), [4, 3, 2]);
      assert.deepEqual(poolIds(okXml(await cloud.call(p, -2, 0, -2))), all.slice(0, 2));
      const hers = await allocate('NAME=hers\nSIZE=1', ds.dummy, alice.session);
      const mine = poolIds(okXml(await cloud.callAs(alice.session, p, -2, -1, -1)));
      assert.ok(mine.includes(hers));
      for (const id of mine) assert.equal(between(await info(id), 'UID'), String(alice.id), 'alice sees only her images');
      await validateDocument(okXml(await cloud.call(p, -2, -1, -1)), 'image_pool.xsd');
    });

    it('update replaces or merges TEMPLATE only, SOURCE is restricted for users', async () => {
      const id = await allocate('NAME=upd\nSIZE=1\nNOTE=a');
      const m = 'one.image.update';
      assert.deepEqual(await cloud.call(m, id, 'NOTE2="m"'), [true, id, 0]);
      assert.equal(between(await info(id), 'TEMPLATE'), '<NOTE2><![CDATA[m]]></NOTE2>', 'replace drops DEV_PREFIX too');
      assert.deepEqual(await cloud.call(m, id, 'NOTE3=x\nNOTE3=y', 1), [true, id, 0]);
      assert.equal(between(await info(id), 'TEMPLATE'), '<NOTE2><![CDATA[m]]></NOTE2><NOTE3><![CDATA[y]]></NOTE3>',
        'image templates keep the last of repeated names');
      assert.equal(between(await info(id), 'NAME'), 'upd', 'fields do not change');
      assert.deepEqual(await cloud.call(m, id, 'X=1', 2), fail(m, 'Wrong update type', 4096));
      assert.deepEqual(await cloud.call(m, 404, 'X=1'), fail(m, 'Error getting image [404].', 1024, 404));
      const own = await allocate('NAME=alices\nSIZE=1', ds.dummy, alice.session);
      assert.deepEqual(await cloud.callAs(alice.session, m, own, 'SOURCE=/x'),
        fail(m, 'Cannot update template. Tried to change restricted attribute: SOURCE', 8192));
      assert.deepEqual(await cloud.callAs(alice.session, m, own, 'SOURCE=/x', 1),
        fail(m, 'Cannot update template. User Template includes a restricted attribute SOURCE', 8192));
      assert.deepEqual(await cloud.callAs(alice.session, m, id, 'X=1'), fail(m, `User [${alice.id}] : Not authorized to perform MANAGE IMAGE [${id}].`, 512));
      assert.deepEqual(await cloud.call(m, own, 'SOURCE=/x'), [true, own, 0], 'admins may');
    });

    it('rename, chmod, chown, lock and unlock use the shared rules', async () => {
      const id = await allocate('NAME=ren\nSIZE=1');
      const r = 'one.image.rename';
      assert.deepEqual(await cloud.call(r, id, 'cs-disk'), fail(r, 'image cannot be renamed to cs-disk because it collides with image 0', 2048));
      assert.deepEqual(await cloud.call(r, id, 'a&b'), fail(r, "Invalid NAME, char '&' is not allowed", 2048));
      assert.deepEqual(await cloud.call(r, id, 'ren2'), [true, id, 0]);
      assert.equal(between(await info(id), 'NAME'), 'ren2');
      assert.deepEqual(await cloud.call('one.image.chmod', id, -1, -1, -1, 1, -1, -1, -1, -1, -1), [true, id, 0]);
      assert.equal(between(await info(id), 'GROUP_U'), '1');
      const c = 'one.image.chown';
      await allocate('NAME=ren2\nSIZE=1', ds.dummy, bob.session);
      assert.match((await cloud.call(c, id, bob.id, -1))[1] as string, new RegExp(`user \\[${bob.id}\\] already owns image \\[\\d+\\] with NAME ren2`));
      assert.deepEqual(await cloud.call(c, id, alice.id, 1), [true, id, 0]);
      const xml = await info(id);
      assert.deepEqual([between(xml, 'UID'), between(xml, 'UNAME'), between(xml, 'GNAME')], [String(alice.id), 'alice', 'users']);

      const l = 'one.image.lock';
      assert.deepEqual(await cloud.callAs(alice.session, l, id, 1), [true, id, 0]);
      const locked = await info(id);
      assert.match(locked, new RegExp(`<NAME>ren2</NAME><LOCK><LOCKED>1</LOCKED><OWNER>${alice.id}</OWNER><TIME>${TEST_EPOCH_S}</TIME><REQ_ID>\\d+</REQ_ID></LOCK><PERMISSIONS>`));
      await validateDocument(locked, 'image.xsd');
      assert.deepEqual(await cloud.call('one.image.delete', id), fail('one.image.delete', `User [0] : IMAGE is locked. [${id}].`, 512));
      assert.deepEqual(await cloud.call('one.image.enable', id, false), fail('one.image.enable', `User [0] : IMAGE is locked. [${id}].`, 512));
      assert.deepEqual(await cloud.callAs(alice.session, 'one.image.unlock', id), [true, id, 0]);
      assert.equal(between(await info(id), 'LOCK'), undefined);
    });

    it('enable / disable follow the image state machine', async () => {
      const id = await allocate('NAME=en\nSIZE=1');
      const m = 'one.image.enable';
      assert.deepEqual(await cloud.call(m, id, false), [true, id, 0]);
      assert.equal(between(await info(id), 'STATE'), '3');
      assert.deepEqual(await cloud.call(m, id, false), [true, id, 0], 'disabling a DISABLED image does nothing');
      assert.deepEqual(await cloud.call(m, id, true), [true, id, 0]);
      assert.equal(between(await info(id), 'STATE'), '1');
      assert.deepEqual(await cloud.call(m, id, true), [true, id, 0]);
      await setImage(id, (i) => { i.state = ImageState.USED_PERS; i.runningVms = 1; i.vms = [7]; });
      assert.deepEqual(await cloud.call(m, id, false), fail(m, 'Could not disable image: Image cannot be in state USED.', 8192),
        'USED_PERS prints USED');
      await setImage(id, (i) => { i.state = ImageState.ERROR; i.persistent = 1; });
      assert.deepEqual(await cloud.call(m, id, true), [true, id, 0]);
      assert.equal(between(await info(id), 'STATE'), '8', 'ERROR with running VMs goes back to USED_PERS');
      await setImage(id, (i) => { i.state = ImageState.LOCKED_USED_PERS; });
      assert.deepEqual(await cloud.call(m, id, true), fail(m, 'Could not enable image: Image cannot be in state LOCKED_USED.', 8192));
      assert.deepEqual(await cloud.call(m, 404, true), fail(m, 'Error getting image [404].', 1024, 404));
      assert.deepEqual(await cloud.callAs(alice.session, m, id, true), fail(m, `User [${alice.id}] : Not authorized to perform MANAGE IMAGE [${id}].`, 512));
    });

    it('persistent: same value first, then datastore, type, datastore mode and state', async () => {
      const m = 'one.image.persistent';
      const id = await allocate('NAME=pe\nSIZE=1');
      assert.deepEqual(await cloud.call(m, id, true), [true, id, 0]);
      assert.equal(between(await info(id), 'PERSISTENT'), '1');
      assert.deepEqual(await cloud.call(m, id, false), [true, id, 0]);
      const kernel = await allocate('NAME=pk\nTYPE=KERNEL\nPATH=/k', 2);
      assert.deepEqual(await cloud.call(m, kernel, false), [true, kernel, 0], 'the current value succeeds before any check');
      assert.deepEqual(await cloud.call(m, kernel, true), fail(m, 'KERNEL, RAMDISK and CONTEXT must be non-persistent', 2048));
      const cd = await allocate('NAME=pcd\nTYPE=CDROM\nPATH=/iso');
      assert.deepEqual(await cloud.call(m, cd, true), [true, cd, 0], 'CDROM can be made persistent');
      const lvm = await allocate('NAME=pl\nSIZE=1', ds.lvm);
      assert.deepEqual(await cloud.call(m, lvm, true), fail(m, "lvm datastores doesn't support change of image persistency.", 8192));
      const dev = await allocate('NAME=pd\nSIZE=1\nPERSISTENT=YES', ds.dev);
      assert.deepEqual(await cloud.call(m, dev, false), fail(m, 'This Datastore only accepts persistent images.', 8192));
      await setImage(id, (i) => { i.state = ImageState.USED; i.runningVms = 1; });
      assert.deepEqual(await cloud.call(m, id, true), fail(m, 'Could not make image persistent: Image cannot be in state USED.', 8192));
      await setImage(id, (i) => {
        i.state = ImageState.READY; i.runningVms = 0; i.persistent = 1;
        i.snapshots.add({ kind: 'vector', name: 'SNAPSHOT', value: new Map([['ID', '0'], ['DATE', '1'], ['PARENT', '-1'], ['SIZE', '1']]) });
      });
      assert.deepEqual(await cloud.call(m, id, false), fail(m, 'Could not make image non-persistent: Image has snapshots.', 8192));
      await validateDocument(await info(id), 'image.xsd');
    });

    it('chtype keeps to compatible types and prints the shifted unknown-type text', async () => {
      const m = 'one.image.chtype';
      const id = await allocate('NAME=ct\nSIZE=1');
      assert.deepEqual(await cloud.call(m, id, 'cdrom'), [true, id, 0]);
      assert.equal(between(await info(id), 'TYPE'), '1');
      assert.deepEqual(await cloud.call(m, id, 'foo'), fail(m, 'nknown type ', 8192), 'shifted by CDROM (1)');
      assert.deepEqual(await cloud.call(m, id, 'KERNEL'),
        fail(m, 'Cannot change image type to an incompatible type for the current datastore.', 2048));
      assert.deepEqual(await cloud.call(m, id, ''), [true, id, 0], 'an empty type is the default type, OS');
      assert.equal(between(await info(id), 'TYPE'), '0');
      const kernel = await allocate('NAME=ctk\nTYPE=KERNEL\nPATH=/k', 2);
      assert.deepEqual(await cloud.call(m, kernel, 'ramdisk'), [true, kernel, 0]);
      assert.deepEqual(await cloud.call(m, kernel, 'OS'),
        fail(m, 'Cannot change image type to an incompatible type for the current datastore.', 2048));
      const fs = await allocate('NAME=ctf\nTYPE=FILESYSTEM\nPATH=/d');
      assert.deepEqual(await cloud.call(m, fs, 'OS'), fail(m, 'Cannot change type forFILESYSTEM images.', 2048));
    });

    it('delete: LOCKED state needs force, FORCE_DELETE is written first, images in use stay', async () => {
      const m = 'one.image.delete';
      const id = await allocate('NAME=del\nSIZE=1');
      assert.deepEqual(await cloud.callAs(alice.session, m, id, true), fail(m, `User [${alice.id}] : Not authorized to perform MANAGE IMAGE [${id}].`, 512));
      assert.equal(cdataOf(await info(id), 'FORCE_DELETE'), 'YES', 'oned marks the image before it authorizes');
      await setImage(id, (i) => { i.state = ImageState.LOCKED; });
      assert.deepEqual(await cloud.callAs(alice.session, m, id),
        fail(m, 'Image locked, use --force flag to remove the image. Force delete may leave some files on Datastore', 8192, id));
      await cloud.call('one.image.chown', id, alice.id, -1);
      assert.deepEqual(await cloud.callAs(alice.session, m, id, true),
        fail(m, `User [${alice.id}] : Not authorized to perform ADMIN IMAGE [${id}].`, 512), 'a LOCKED-state image needs ADMIN');
      assert.deepEqual(await cloud.call(m, id, true), [true, id, 0]);
      assert.deepEqual(await cloud.call('one.image.info', id), fail('one.image.info', `Error getting image [${id}].`, 1024, id));

      const used = await allocate('NAME=used\nSIZE=1');
      await setImage(used, (i) => { i.state = ImageState.USED; i.runningVms = 2; i.vms = [3, 4]; });
      assert.deepEqual(await cloud.call(m, used), fail(m, 'Cannot delete image. There are 2 VMs using it.', 2048));
      await setImage(used, (i) => { i.state = ImageState.CLONE; i.cloningOps = 1; });
      assert.deepEqual(await cloud.call(m, used), fail(m, 'Cannot delete image. There are 1 active clone operations.', 2048));
      await setImage(used, (i) => { i.state = ImageState.READY; i.runningVms = 0; i.vms = []; i.cloningOps = 0; });
      const dsBefore = between(okXml(await cloud.call('one.datastore.info', ds.dummy)), 'IMAGES');
      assert.deepEqual(await cloud.call(m, used), [true, used, 0]);
      const dsAfter = between(okXml(await cloud.call('one.datastore.info', ds.dummy)), 'IMAGES');
      assert.ok(dsBefore?.includes(`<ID>${used}</ID>`) && !dsAfter?.includes(`<ID>${used}</ID>`), 'the image leaves its datastore');
      assert.deepEqual(await cloud.call(m, 404), fail(m, 'Error getting image [404].', 1024, 404));
    });

    it('BACKUP images: created by the backup code, refused by enable/persistent/chtype, deletable unless backing up', async () => {
      const vm = await cloud.call('one.vm.allocate', 'NAME=bvm\nCPU=1\nMEMORY=64', true);
      assert.equal(vm[0], true, String(vm[1]));
      const vmId = vm[1] as number;
      const image = newImage({ uid: 0, gid: 0, uname: 'oneadmin', gname: 'oneadmin', permissions: permissionsFromOctal(0o600), now: TEST_EPOCH_S });
      image.name = `${vmId} 23-Sep 14.15.00`;
      image.template = Template.parse(`TYPE=BACKUP\nSOURCE=dummy-backup-id\nFORMAT=raw\nSIZE=1024\nVM_ID=${vmId}\nBACKUP_JOB_ID=3`);
      image.template.set('NAME', image.name);
      const { insertImage } = await import('../../src/domain/image.js');
      assert.equal(insertImage(image, { id: ds.backup, name: 'bk', diskType: 0, driver: '' }), null);
      image.backupDiskIds = [0];
      const id = await cloud.db.transaction(async (tx) => {
        const newId = await allocateImageRow(tx, image);
        await tx.query(`UPDATE vm_pool SET body = jsonb_set(body, '{backups,ids}', $2::jsonb) WHERE oid = $1`, [vmId, JSON.stringify([newId])]);
        return newId;
      });
      const xml = await info(id);
      assert.deepEqual([between(xml, 'TYPE'), between(xml, 'PERSISTENT'), between(xml, 'STATE'), between(xml, 'RUNNING_VMS'), between(xml, 'VMS')],
        ['6', '1', '1', '1', `<ID>${vmId}</ID>`]);
      assert.equal(between(xml, 'TEMPLATE'), '<BACKUP_JOB_ID><![CDATA[3]]></BACKUP_JOB_ID>');
      await validateDocument(xml, 'image.xsd');

      assert.deepEqual(await cloud.call('one.image.enable', id, true),
        fail('one.image.enable', 'Could not enable image: Backup images cannot be enabled or disabled.', 8192));
      assert.deepEqual(await cloud.call('one.image.persistent', id, false), fail('one.image.persistent', 'BACKUP images must be persistent', 2048));
      assert.deepEqual(await cloud.call('one.image.chtype', id, 'OS'), fail('one.image.chtype', 'Cannot change type forBACKUP images.', 2048));

      const m = 'one.image.delete';
      await cloud.db.query(`UPDATE vm_pool SET state = 3, lcm_state = 69 WHERE oid = $1`, [vmId]);
      assert.deepEqual(await cloud.call(m, id),
        fail(m, 'Cannot delete image. Active backup on the associated VM. Wait till it finish to delete the backup Image', 2048));
      await cloud.db.query(`UPDATE vm_pool SET state = 2, lcm_state = 0 WHERE oid = $1`, [vmId]);
      assert.deepEqual(await cloud.call(m, id), [true, id, 0], 'RUNNING_VMS does not block backup images');
      const { rows } = await cloud.db.query<{ ids: number[] }>(`SELECT body->'backups'->'ids' AS ids FROM vm_pool WHERE oid = $1`, [vmId]);
      assert.deepEqual(rows[0].ids, [], "the image leaves the VM's BACKUP_IDS");
      assert.equal(image.type, ImageType.BACKUP);
    });
  });
}
