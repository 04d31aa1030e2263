import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RpcFault } from '../../src/rpc/faults.js';
import { RpcI8 } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { okXml, startTestCloud, type TestCloud } from '../support/cloud.js';
import { validateDocument } from '../support/xsd.js';

const AUTH_FAILURE = (m: string) => [false, `[${m}] User couldn't be authenticated, aborting call.`, 256, -1, new RpcI8(-1n)];

for (const backend of backends()) {
  describe(`request pipeline and one.system.* (${backend.name})`, () => {
    let cloud: TestCloud;
    before(async () => { cloud = await startTestCloud(backend); });
    after(async () => { await cloud.stop(); });

    it('one.system.version answers 7.4.0 to any authenticated user', async () => {
      assert.deepEqual(await cloud.call('one.system.version'), [true, '7.4.0', 0]);
      const u = await cloud.user('versionreader');
      assert.deepEqual(await cloud.callAs(u.session, 'one.system.version'), [true, '7.4.0', 0]);
    });

    it('every authentication failure gets the same reply, and only the log tells why', async () => {
      const sessions = ['oneadmin:wrong', 'oneadmin', 'nobody:x', ':x', 'bad name:x', 'serveradmin:x', ''];
      for (const s of sessions) {
        assert.deepEqual(await cloud.callAs(s, 'one.system.version'), AUTH_FAILURE('one.system.version'), s);
      }
      // A session that is not a string, or the stored hash itself, fails the same way.
      assert.deepEqual(await cloud.client.call('one.system.version', 5), AUTH_FAILURE('one.system.version'));
      assert.ok(cloud.log.lines.some((l) => l.includes('[AuM][E]: User is invalid, Invalid NAME, char \' \' is not allowed')));
      assert.ok(!cloud.log.lines.some((l) => l.includes('wrong')), 'passwords never reach the log');
    });

    it('authentication comes before parameter checks', async () => {
      assert.deepEqual(await cloud.callAs('oneadmin:wrong', 'one.backupjob.info', 'not an int'),
        AUTH_FAILURE('one.backupjob.info'));
    });

    it('unknown methods fault -506, also one.backupjob.clone', async () => {
      for (const m of ['one.backupjob.clone', 'one.nosuch', 'system.nosuch']) {
        await assert.rejects(cloud.call(m), (e: unknown) => e instanceof RpcFault && e.code === -506
          && e.message === `Method '${m}' not defined`);
      }
    });

    it('parameter faults use xmlrpc-c texts; extra parameters are ignored', async () => {
      const fault = (code: number, text: string) => (e: unknown) => e instanceof RpcFault && e.code === code && e.message === text;
      await assert.rejects(cloud.call('one.user.info'), fault(-501, 'Not enough parameters'));
      await assert.rejects(cloud.call('one.user.info', 'x'), fault(-501, 'Parameter that is supposed to be integer is not'));
      await assert.rejects(cloud.call('one.group.allocate', 3), fault(-501, 'Parameter that is supposed to be a string is not'));
      await assert.rejects(cloud.call('one.user.enable', 2, 1), fault(-501, 'Parameter that is supposed to be boolean is not'));
      await assert.rejects(cloud.call('one.user.allocate', 'x', 'y', '', 5), fault(-501, 'Parameter that is supposed to be an array is not'));
      await assert.rejects(cloud.client.call('one.system.version'), (e: unknown) => e instanceof RpcFault && e.code === -500);
      assert.deepEqual(await cloud.call('one.system.version', 'extra', 1, true), [true, '7.4.0', 0]);
    });

    it('one.system.config is the OPENNEBULA_CONFIGURATION document, sorted, with the effective values', async () => {
      const xml = okXml(await cloud.call('one.system.config'));
      await validateDocument(xml, 'opennebula_configuration.xsd');
      assert.match(xml, /<API_LIST_ORDER><!\[CDATA\[DESC\]\]><\/API_LIST_ORDER>/);
      assert.match(xml, /<MAX_BACKUPS><!\[CDATA\[5\]\]><\/MAX_BACKUPS><MAX_BACKUPS_HOST><!\[CDATA\[2\]\]><\/MAX_BACKUPS_HOST>/);
      assert.match(xml, /<DEFAULT_UMASK><!\[CDATA\[177\]\]><\/DEFAULT_UMASK>/);
      assert.match(xml, /<ONE_KEY><!\[CDATA\[[0-9a-f]{64}\]\]><\/ONE_KEY>/);
      const names = [...xml.matchAll(/<\/([A-Z_]+)>(?=<[A-Z]|<\/OPENNEBULA)/g)].map((m) => m[1]);
      assert.ok(names.length > 10);
      const u = await cloud.user('configreader');
      await validateDocument(okXml(await cloud.callAs(u.session, 'one.system.config')), 'opennebula_configuration.xsd');
    });

    it('logs requests in oned.log form without sessions', async () => {
      await cloud.call('one.user.info', 0);
      const invoked = cloud.log.lines.find((l) => /\[ReM\]\[D\]: Req:\d{4} UID:0 IP:127\.0\.0\.1 one\.user\.info invoked , 0$/.test(l));
      assert.ok(invoked, 'invoked line');
      assert.ok(cloud.log.lines.some((l) => /\[ReM\]\[D\]: Req:\d{4} UID:0 one\.user\.info result SUCCESS, "<USER><ID>0<\/ID><GID\.\.\."$/.test(l)));
      await cloud.call('one.user.info', 99);
      assert.ok(cloud.log.lines.some((l) => l.endsWith('[ReM][E]: ' + l.split('[ReM][E]: ')[1])
        && l.includes('one.user.info result FAILURE [one.user.info] Error getting user [99].')));
      assert.ok(!cloud.log.lines.some((l) => l.includes('opennebula')), 'the oneadmin password is never logged');
    });
  });
}
