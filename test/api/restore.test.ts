process.env.TZ = 'UTC';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, type TestCloud } from '../support/cloud.js';
import { validateDocument } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const ok = (r: RpcValue[]) => { assert.equal(r[0], true, String(r[1])); return r[1] as number; };

for (const backend of backends()) {
  describe(`restores: one.image.restore and one.vm.restore (${backend.name})`, () => {
    let cloud: TestCloud;
    let vm: number;
    let backupImage: number;
    let incrementImage: number;
    let bds: number;
    before(async () => {
      cloud = await startTestCloud(backend);
      const host = ok(await cloud.call('one.host.allocate', 'r-host', 'dummy', 'dummy', -1));
      bds = ok(await cloud.call('one.datastore.allocate', 'NAME = "r-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "rsync"\nRSYNC_HOST = "localhost"\nRSYNC_USER = "oneadmin"', -1));
      const img = ok(await cloud.call('one.image.allocate', 'NAME = "r-os"\nPATH = "/tmp/os.img"\nSIZE = 2048', 1));
      const data = ok(await cloud.call('one.image.allocate', 'NAME = "r-data"\nTYPE = "DATABLOCK"\nSIZE = 512', 1));
      vm = ok(await cloud.call('one.vm.allocate', `NAME = "r-vm"\nCPU = 0.5\nMEMORY = 256\nDISK = [ IMAGE_ID = ${img} ]\n`
        + `DISK = [ IMAGE_ID = ${data} ]\nDISK = [ TYPE = "fs", SIZE = 64 ]\nNIC = [ IP = "10.0.0.5", MAC = "02:00:0a:00:00:05", NETWORK_ID = 0 ]\n`
        + 'GRAPHICS = [ TYPE = "VNC", LISTEN = "0.0.0.0" ]\nDESCRIPTION = "restore me"\nEMU_BACKUP_SECONDS = 10', true));
      ok(await cloud.call('one.vm.deploy', vm, host));
      ok(await cloud.call('one.vm.backup', vm, bds, false));
      await cloud.call('emu.clock.advance', 11);
      const info = okXml(await cloud.call('one.vm.info', vm));
      backupImage = Number(info.match(/<BACKUP_IDS><ID>(\d+)<\/ID><\/BACKUP_IDS>/)![1]);
      // An incremental chain on a second VM.
      const vm2 = ok(await cloud.call('one.vm.allocate', 'NAME = "r-inc"\nCPU = 0.1\nMEMORY = 64\nDISK = [ TYPE = "fs", SIZE = 100 ]\n'
        + 'BACKUP_CONFIG = [ MODE = "INCREMENT", BACKUP_VOLATILE = "YES" ]\nEMU_BACKUP_SECONDS = 5', true));
      ok(await cloud.call('one.vm.deploy', vm2, host));
      for (let i = 0; i < 3; i++) { ok(await cloud.call('one.vm.backup', vm2, bds, false)); await cloud.call('emu.clock.advance', 6); }
      incrementImage = Number(okXml(await cloud.call('one.vm.info', vm2)).match(/<BACKUP_IDS><ID>(\d+)<\/ID>/)![1]);
    });
    after(async () => { await cloud.stop(); });

    it('the full restore: a VM template and one image per disk, named <VM_ID>-<BACKUP_ID>-disk-<N>', async () => {
      const image = okXml(await cloud.call('one.image.info', backupImage));
      const source = image.match(/<SOURCE><!\[CDATA\[(.*?)\]\]><\/SOURCE>/)![1];
      const reply = await cloud.call('one.image.restore', backupImage, 1, '');
      assert.equal(reply[0], true, String(reply[1]));
      const [templateId, ...imageIds] = (reply[1] as string).split(' ').map(Number);
      assert.equal(imageIds.length, 2);
      const disk0 = okXml(await cloud.call('one.image.info', imageIds[0]));
      assert.match(disk0, new RegExp(`<NAME>${vm}-${source}-disk-0</NAME>`));
      assert.match(disk0, /<TYPE>0<\/TYPE>/);
      assert.match(disk0, /<SIZE>1024<\/SIZE>/, "the backed-up disk's size (the dummy stat made the source 1024 MB)");
      assert.match(okXml(await cloud.call('one.image.info', imageIds[1])), new RegExp(`<NAME>${vm}-${source}-disk-1</NAME>.*<TYPE>2</TYPE>`));
      const t = okXml(await cloud.call('one.template.info', templateId));
      await validateDocument(t, 'vmtemplate.xsd');
      assert.match(t, new RegExp(`<NAME>${vm}-${source}</NAME>`));
      assert.match(t, new RegExp(`<DISK><DEV_PREFIX><!\\[CDATA\\[sd\\]\\]></DEV_PREFIX><IMAGE_ID><!\\[CDATA\\[${imageIds[0]}\\]\\]></IMAGE_ID><PERSISTENT_SNAPSHOTS>`),
        'backed-up disks point at their restored images and lose what only the original VM had');
      assert.match(t, /<NIC><IP><!\[CDATA\[10\.0\.0\.5\]\]><\/IP><\/NIC>/, 'a NIC keeps IP over MAC, loses its network keys');
      assert.match(t, /<DESCRIPTION><!\[CDATA\[restore me\]\]><\/DESCRIPTION>/);
      assert.match(t, /<DISK><SIZE><!\[CDATA\[64\]\]><\/SIZE><TYPE><!\[CDATA\[fs\]\]><\/TYPE><\/DISK>/, 'a volatile disk outside the backup stays as it was');
      assert.doesNotMatch(t, /VMID|AUTOMATIC_REQUIREMENTS|TM_MAD_SYSTEM|<PORT>|<UUID>/);
    });

    it('options: NAME, NO_NIC, NO_IP, DISK_ID, INCREMENT_ID', async () => {
      const named = await cloud.call('one.image.restore', backupImage, 1, 'NAME = "copy"\nNO_NIC = "yes"');
      const [tid] = (named[1] as string).split(' ').map(Number);
      const t = okXml(await cloud.call('one.template.info', tid));
      assert.match(t, /<NAME>copy<\/NAME>/);
      assert.doesNotMatch(t, /<NIC>/);
      const noIp = await cloud.call('one.image.restore', backupImage, 1, 'NAME = "noip"\nNO_IP = "YES"');
      assert.match(okXml(await cloud.call('one.template.info', Number((noIp[1] as string).split(' ')[0]))), /<TEMPLATE>(?:(?!<NIC>).)*<\/TEMPLATE>|<NIC><\/NIC>|^(?:(?!<IP>).)*$/s);
      const single = await cloud.call('one.image.restore', backupImage, 1, 'NAME = "single"\nDISK_ID = 1');
      assert.match(single[1] as string, /^-1 \d+$/, 'a disk restore makes no template');
      assert.match(okXml(await cloud.call('one.image.info', Number((single[1] as string).split(' ')[1]))), /<NAME>single-disk-1<\/NAME>/);
      const inc = await cloud.call('one.image.restore', incrementImage, 1, 'NAME = "inc1"\nINCREMENT_ID = 1');
      assert.equal(inc[0], true, String(inc[1]));
      const clash = await cloud.call('one.image.restore', backupImage, 1, 'NAME = "copy"');
      assert.equal(clash[2], 2048);
      assert.match(clash[1] as string, /^\[one\.image\.restore\] Error restoring disk image: .*NAME is already taken by IMAGE \d+\.$/);
    });

    it('check order and oned\'s odd replies', async () => {
      const m = 'one.image.restore';
      assert.deepEqual(await cloud.call(m, 9999, 1, ''), [true, '', 0], 'a missing image "succeeds"');
      const u = await cloud.user('restorer');
      assert.deepEqual(await cloud.callAs(u.session, m, backupImage, 1, ''), [true, `Not authorized to perform USE IMAGE [${backupImage}]`, 0]);
      assert.deepEqual(await cloud.call(m, backupImage, 555, ''), fail(m, 'Error getting image [555].', 1024, 555));
      assert.match((await cloud.call(m, backupImage, 1, 'X = ['))[1] as string, /^\[one\.image\.restore\] Parse error: /);
      assert.deepEqual(await cloud.call(m, backupImage, 1, 'DISK_ID = 7'), fail(m, 'Cannot restore disk 7, it is not part of the backup', 2048));
      assert.deepEqual(await cloud.call(m, -1, 1, ''), fail(m, 'Image does not exist', 2048));
      const plain = ok(await cloud.call('one.image.allocate', 'NAME = "plain"\nPATH = "/tmp/p.img"', 1));
      assert.deepEqual(await cloud.call(m, plain, 1, ''), fail(m, 'Can only restore images of type BACKUP', 2048));
      assert.deepEqual(await cloud.call(m, backupImage, bds, ''), fail(m, 'Destination can be only an image datastore', 2048));
    });

    it('one.vm.restore: POWEROFF only, increment and disk checks, chain reset', async () => {
      const m = 'one.vm.restore';
      assert.deepEqual(await cloud.call(m, 9999, backupImage, -1, -1), fail(m, 'Error getting virtual machine [9999].', 1024, 9999));
      assert.deepEqual(await cloud.call(m, vm, backupImage, -1, 9), fail(m, 'VM disk does not exist', 2048));
      assert.deepEqual(await cloud.call(m, vm, 9999, -1, -1), fail(m, 'Error getting image [9999].', 1024, 9999));
      assert.deepEqual(await cloud.call(m, vm, backupImage, 0, -1), fail(m, 'Wrong increment', 2048), 'a FULL image has no increments');
      assert.deepEqual(await cloud.call(m, vm, backupImage, -1, -1), fail(m, 'Could not restore VM, it must be in poweroff', 2048));
      ok(await cloud.call('one.vm.action', 'poweroff', vm));
      assert.deepEqual(await cloud.call(m, vm, backupImage, -1, -1), [true, vm, 0]);
      const info = okXml(await cloud.call('one.vm.info', vm));
      assert.match(info, /<STATE>8<\/STATE><LCM_STATE>0<\/LCM_STATE>/);
      assert.match(info, /<ACTION>60<\/ACTION>/, 'the closed history record shows restore');
    });
  });
}
