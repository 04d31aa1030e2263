import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FAULT, RpcFault } from '../../src/rpc/faults.js';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { ONEADMIN_PASSWORD, okXml, startTestCloud, TEST_EPOCH_S, type TestCloud } from '../support/cloud.js';
import { validateDocument } from '../support/xsd.js';

const fail = (m: string, text: string, code: number, respId = -1): RpcValue[] => [false, `[${m}] ${text}`, code, respId, new RpcI8(-1n)];
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

for (const backend of backends()) {
  describe(`one.user.* (${backend.name})`, () => {
    let cloud: TestCloud;
    before(async () => { cloud = await startTestCloud(backend); });
    after(async () => { await cloud.stop(); });

    it('a fresh cloud has oneadmin (0) and serveradmin (1); the pool lists them DESC and validates', async () => {
      const pool = okXml(await cloud.call('one.userpool.info'));
      await validateDocument(pool, 'user_pool.xsd');
      assert.match(pool, /^<USER_POOL><USER><ID>1<\/ID><GID>0<\/GID><GROUPS><ID>0<\/ID><\/GROUPS><GNAME>oneadmin<\/GNAME><NAME>serveradmin<\/NAME>/);
      assert.match(pool, /<AUTH_DRIVER><!\[CDATA\[server_cipher\]\]><\/AUTH_DRIVER>/);
      const me = okXml(await cloud.call('one.user.info', -1));
      await validateDocument(me, 'user.xsd');
      assert.ok(me.includes(`<PASSWORD><![CDATA[${sha256(ONEADMIN_PASSWORD)}]]></PASSWORD>`));
      assert.match(me, /<TEMPLATE><TOKEN_PASSWORD><!\[CDATA\[[0-9a-f]{64}\]\]><\/TOKEN_PASSWORD><\/TEMPLATE><DATASTORE_QUOTA>/);
    });

    it('allocate: ids from 2, group users by default, core hashes the password', async () => {
      const reply = await cloud.call('one.user.allocate', 'alice', 'secret', '');
      assert.deepEqual(reply, [true, 2, 0]);
      const xml = okXml(await cloud.call('one.user.info', 2));
      await validateDocument(xml, 'user.xsd');
      assert.ok(xml.startsWith('<USER><ID>2</ID><GID>1</GID><GROUPS><ID>1</ID></GROUPS><GNAME>users</GNAME><NAME>alice</NAME>'));
      assert.ok(xml.includes(`<PASSWORD><![CDATA[${sha256('secret')}]]></PASSWORD><AUTH_DRIVER><![CDATA[core]]></AUTH_DRIVER><ENABLED>1</ENABLED>`));
      assert.deepEqual(await cloud.callAs('alice:secret', 'one.system.version'), [true, '7.4.0', 0]);
      assert.equal((await cloud.callAs(`alice:${sha256('secret')}`, 'one.system.version'))[0], false, 'the hash is not a password');
      const users = okXml(await cloud.call('one.group.info', 1));
      assert.match(users, /<USERS><ID>2<\/ID><\/USERS>/);
    });

    it('allocate errors, in oned order and with its punctuation', async () => {
      const m = 'one.user.allocate';
      assert.deepEqual(await cloud.call(m, 'x', 'y', '', [999]), fail(m, 'Error getting group [999].', 1024, 999));
      const bob = await cloud.user('bob');
      assert.deepEqual(await cloud.callAs(bob.session, m, 'x', 'y', ''), fail(m, `User [${bob.id}] : Not authorized to perform CREATE USER.`, 512));
      assert.deepEqual(await cloud.call(m, 'x', '', ''), fail(m, 'Invalid password, it cannot be empty.', 8192));
      assert.deepEqual(await cloud.call(m, 'x', 'a b', ''), fail(m, "Invalid password, character ' ' is not allowed.", 8192));
      assert.deepEqual(await cloud.call(m, 'x', 'p'.repeat(257), ''),
        fail(m, 'Password is longer than max allowed length. Max allowed length for the driver core : 256 bytes.', 8192));
      assert.deepEqual(await cloud.call(m, 'a b', 'p', ''), fail(m, "Invalid NAME, char ' ' is not allowed.", 8192));
      assert.deepEqual(await cloud.call(m, '', 'p', ''), fail(m, 'Invalid NAME, it cannot be empty.', 8192));
      assert.deepEqual(await cloud.call(m, 'é'.repeat(65), 'p', ''), fail(m, 'Invalid NAME, max length is 128 chars.', 8192));
      assert.equal((await cloud.call(m, 'é'.repeat(64), 'p', ''))[0], true);
      assert.deepEqual(await cloud.call(m, 'oneadmin', 'p', ''), fail(m, 'NAME is already taken by USER 0.', 8192));
      assert.equal((await cloud.call(m, 'ldapuser', '', 'ldap'))[0], true, 'ldap needs no password');
    });

    it('allocate with a group array holding a non-integer: xmlrpc-c\'s -500 fault, and no user', async () => {
      await assert.rejects(cloud.call('one.user.allocate', 'dora', 'pw', '', [1, 'x']), (e: unknown) => e instanceof RpcFault
        && e.code === FAULT.INTERNAL && e.message.endsWith('did not complete at all.  Not integer type.  See type() method'));
      assert.doesNotMatch(okXml(await cloud.call('one.userpool.info')), /<NAME>dora<\/NAME>/);
    });

    it('allocate with a group array: first is primary; a user created by a group member lands in its group', async () => {
      const g = await cloud.call('one.group.allocate', 'devs');
      const gid = g[1] as number;
      const reply = await cloud.call('one.user.allocate', 'carol', 'pw', 'core', [gid, 1]);
      const xml = okXml(await cloud.call('one.user.info', reply[1] as number));
      assert.ok(xml.includes(`<GID>${gid}</GID><GROUPS><ID>1</ID><ID>${gid}</ID></GROUPS><GNAME>devs</GNAME>`));
    });

    it('passwd, login tokens and their rules', async () => {
      const dave = await cloud.user('dave');
      assert.deepEqual(await cloud.callAs(dave.session, 'one.user.passwd', dave.id, 'new'), [true, dave.id, 0]);
      assert.equal((await cloud.callAs(dave.session, 'one.system.version'))[0], false, 'old password fails at once');
      assert.deepEqual(await cloud.call('one.user.passwd', dave.id, ''), fail('one.user.passwd', 'Invalid password, it cannot be empty', 2048));
      const token = await cloud.callAs('dave:new', 'one.user.login', 'dave', '', 3600);
      assert.equal(token[0], true);
      assert.match(token[1] as string, /^[0-9a-f]{64}$/);
      assert.deepEqual(await cloud.callAs(`dave:${token[1] as string}`, 'one.system.version'), [true, '7.4.0', 0]);
      const info = okXml(await cloud.call('one.user.info', dave.id));
      assert.ok(info.includes(`<LOGIN_TOKEN><TOKEN>${token[1] as string}</TOKEN><EXPIRATION_TIME>${TEST_EPOCH_S + 3600}</EXPIRATION_TIME><EGID>-1</EGID></LOGIN_TOKEN><TEMPLATE>`));
      await validateDocument(info, 'user.xsd');
      // A token expires with the (injected) clock.
      cloud.clock.advance(3600 * 1000);
      assert.equal((await cloud.callAs(`dave:${token[1] as string}`, 'one.system.version'))[0], false);
      cloud.clock.advance(-3600 * 1000);
      assert.deepEqual(await cloud.callAs('dave:new', 'one.user.login', 'dave', 'mytok', -1), [true, 'mytok', 0]);
      assert.deepEqual(await cloud.callAs('dave:mytok', 'one.system.version'), [true, '7.4.0', 0]);
      assert.deepEqual(await cloud.callAs('dave:new', 'one.user.login', 'dave', 'nope', 0), fail('one.user.login', 'Could not find token: nope', 4096));
      assert.deepEqual(await cloud.callAs('dave:new', 'one.user.login', 'dave', '', -2), fail('one.user.login', 'Wrong valid period for token', 4096));
      assert.deepEqual(await cloud.callAs('dave:new', 'one.user.login', 'dave', 'x', 10, 0), fail('one.user.login', 'EGID is not in user group list', 4096));
      assert.deepEqual(await cloud.call('one.user.login', 'dave', '', 10),
        fail('one.user.login', 'Cannot create a full token with a specific group token', 4096));
      assert.deepEqual(await cloud.call('one.user.login', 'nobody', '', 10), fail('one.user.login', 'Error getting user Pool.', 1024));
      for (let i = 0; i < 9; i++) await cloud.callAs('dave:new', 'one.user.login', 'dave', `t${i}`, 100);
      assert.deepEqual(await cloud.callAs('dave:new', 'one.user.login', 'dave', 'eleventh', 100),
        fail('one.user.login', 'Max number of tokens limit reached.', 4096));
      assert.deepEqual(await cloud.callAs('dave:new', 'one.user.login', 'dave', '', 0), [true, '', 0]);
      assert.equal((await cloud.callAs('dave:mytok', 'one.system.version'))[0], false, 'reset wipes tokens');
    });

    it('rights on users: self may info/update itself, not delete; others are refused', async () => {
      const erin = await cloud.user('erin');
      const frank = await cloud.user('frank');
      assert.equal((await cloud.callAs(erin.session, 'one.user.info', -1))[0], true);
      assert.deepEqual(await cloud.callAs(erin.session, 'one.user.info', frank.id),
        fail('one.user.info', `User [${erin.id}] : Not authorized to perform USE USER [${frank.id}].`, 512));
      assert.deepEqual(await cloud.callAs(erin.session, 'one.user.info', -5),
        fail('one.user.info', `User [${erin.id}] : Not authorized to perform USE USER.`, 512));
      assert.deepEqual(await cloud.call('one.user.info', -5), fail('one.user.info', 'Error getting user [-5].', 1024, -5));
      assert.deepEqual(await cloud.callAs(erin.session, 'one.user.delete', erin.id),
        fail('one.user.delete', `User [${erin.id}] : Not authorized to perform ADMIN USER [${erin.id}].`, 512));
      assert.deepEqual(await cloud.call('one.user.delete', 0), fail('one.user.delete', 'Cannot delete user. oneadmin cannot be deleted.', 2048));
      assert.deepEqual(await cloud.call('one.user.delete', 777), fail('one.user.delete', 'Error getting user [777].', 1024, 777));
      assert.deepEqual(await cloud.call('one.user.delete', frank.id), [true, frank.id, 0]);
      assert.equal((await cloud.callAs(frank.session, 'one.system.version'))[0], false);
    });

    it('update replaces or merges; restricted attributes need an admin; bad type after authorization', async () => {
      const gina = await cloud.user('gina');
      const m = 'one.user.update';
      assert.deepEqual(await cloud.callAs(gina.session, m, gina.id, 'A = "1"\nB = [ X = "y" ]', 1), [true, gina.id, 0]);
      let xml = okXml(await cloud.call('one.user.info', gina.id));
      assert.match(xml, /<TEMPLATE><A><!\[CDATA\[1\]\]><\/A><B><X><!\[CDATA\[y\]\]><\/X><\/B><TOKEN_PASSWORD>/);
      assert.deepEqual(await cloud.callAs(gina.session, m, gina.id, 'C = 2'), [true, gina.id, 0]);
      xml = okXml(await cloud.call('one.user.info', gina.id));
      assert.match(xml, /<TEMPLATE><C><!\[CDATA\[2\]\]><\/C><\/TEMPLATE>/);
      assert.deepEqual(await cloud.callAs(gina.session, m, gina.id, 'C = 2', 2), fail(m, 'Wrong update type', 4096));
      assert.deepEqual(await cloud.callAs(gina.session, m, gina.id, 'VM_USE_OPERATIONS = "hold"', 1),
        fail(m, 'Cannot update template. User Template includes a restricted attribute VM_USE_OPERATIONS', 8192));
      assert.deepEqual(await cloud.call(m, gina.id, 'VM_USE_OPERATIONS = "fly"', 1),
        fail(m, 'Cannot update template. Unknown vm operation: fly', 8192));
      assert.deepEqual(await cloud.call(m, gina.id, 'X = [', 1).then((r) => [r[0], r[2]]), [false, 8192]);
      assert.match((await cloud.call(m, gina.id, 'X = [', 1))[1] as string, /^\[one\.user\.update\] Cannot update template\. Parse error: /);
    });

    it('chgrp, addgroup, delgroup', async () => {
      const hank = await cloud.user('hank');
      const devs = (await cloud.call('one.group.allocate', 'ops'))[1] as number;
      assert.deepEqual(await cloud.call('one.user.chgrp', hank.id, -3), fail('one.user.chgrp', 'Wrong group ID', 4096));
      assert.deepEqual(await cloud.call('one.user.chgrp', hank.id, 555), fail('one.user.chgrp', 'Error getting group [555].', 1024, 555));
      assert.deepEqual(await cloud.call('one.user.chgrp', 0, 1),
        fail('one.user.chgrp', 'user [0] oneadmin cannot be moved outside of the group [0] oneadmin', 8192));
      assert.deepEqual(await cloud.call('one.user.addgroup', hank.id, devs), [true, hank.id, 0]);
      assert.deepEqual(await cloud.call('one.user.addgroup', hank.id, devs), fail('one.user.addgroup', 'User is already in this group', 2048));
      assert.deepEqual(await cloud.call('one.user.delgroup', hank.id, 1), fail('one.user.delgroup', 'Cannot remove user from the primary group', 2048));
      // chgrp into a group already held keeps the old primary as a secondary group.
      assert.deepEqual(await cloud.call('one.user.chgrp', hank.id, devs), [true, hank.id, 0]);
      let xml = okXml(await cloud.call('one.user.info', hank.id));
      assert.ok(xml.includes(`<GID>${devs}</GID><GROUPS><ID>1</ID><ID>${devs}</ID></GROUPS><GNAME>ops</GNAME>`));
      assert.deepEqual(await cloud.call('one.user.delgroup', hank.id, 1), [true, hank.id, 0]);
      assert.deepEqual(await cloud.call('one.user.delgroup', hank.id, 1), fail('one.user.delgroup', 'User is not part of this group', 2048));
      xml = okXml(await cloud.call('one.group.info', devs));
      assert.ok(xml.includes(`<USERS><ID>${hank.id}</ID></USERS>`));
      assert.deepEqual(await cloud.call('one.group.delete', devs), fail('one.group.delete', `Cannot delete group. Group ${devs} is not empty.`, 2048));
    });

    it('chauth and enable', async () => {
      const ivy = await cloud.user('ivy');
      assert.deepEqual(await cloud.call('one.user.chauth', ivy.id, 'x509', 'CN=ivy'), [true, ivy.id, 0]);
      const xml = okXml(await cloud.call('one.user.info', ivy.id));
      assert.ok(xml.includes('<PASSWORD><![CDATA[CN=ivy]]></PASSWORD><AUTH_DRIVER><![CDATA[x509]]></AUTH_DRIVER>'));
      assert.equal((await cloud.callAs(ivy.session, 'one.system.version'))[0], false);
      assert.deepEqual(await cloud.call('one.user.enable', 0, false), fail('one.user.enable', 'Cannot enable/disable oneadmin user', 2048));
      const jo = await cloud.user('jo');
      assert.deepEqual(await cloud.call('one.user.enable', jo.id, false), [true, jo.id, 0]);
      assert.equal((await cloud.callAs(jo.session, 'one.system.version'))[0], false);
      assert.match(okXml(await cloud.call('one.user.info', jo.id)), /<ENABLED>0<\/ENABLED>/);
    });

    it('a user changed outside the API (SQL, another process) is seen by the very next call', async () => {
      const lee = await cloud.user('lee');
      assert.equal((await cloud.callAs(lee.session, 'one.system.version'))[0], true, 'authenticated, so kept in memory');
      await cloud.db.query(`UPDATE user_pool SET body = jsonb_set(body, '{enabled}', 'false') WHERE name = 'lee'`, []);
      assert.equal((await cloud.callAs(lee.session, 'one.system.version'))[0], false, 'disabled by SQL');
      await cloud.db.query(`UPDATE user_pool SET body = jsonb_set(body, '{enabled}', 'true') WHERE name = 'lee'`, []);
      assert.equal((await cloud.callAs(lee.session, 'one.system.version'))[0], true, 'enabled again');
      await cloud.db.query(`DELETE FROM user_pool WHERE name = 'lee'`, []);
      assert.equal((await cloud.callAs(lee.session, 'one.system.version'))[0], false, 'deleted by SQL');
    });

    it('a user kept in memory only ever says yes: a refusal is checked on the row', async () => {
      const max = await cloud.user('max');
      assert.equal((await cloud.callAs(max.session, 'one.system.version'))[0], true, 'authenticated, so kept in memory');
      // Writes that notify nobody, as another process's would look before its notification arrives.
      await cloud.db.query('ALTER TABLE user_pool DISABLE TRIGGER user_pool_changed', []);
      try {
        const token = { token: 'f'.repeat(40), expiration: TEST_EPOCH_S + 3600, egid: -1 };
        await cloud.db.query(`UPDATE user_pool SET body = jsonb_set(body, '{loginTokens}', $1::jsonb) WHERE name = 'max'`,
          [JSON.stringify([token])]);
        assert.equal((await cloud.callAs(`max:${token.token}`, 'one.system.version'))[0], true, 'a new token works at once');
        await cloud.db.query(`UPDATE user_pool SET body = jsonb_set(body, '{password}', to_jsonb($1::text)) WHERE name = 'max'`,
          [sha256('changed')]);
        assert.equal((await cloud.callAs('max:changed', 'one.system.version'))[0], true, 'a new password works at once');
      } finally {
        await cloud.db.query('ALTER TABLE user_pool ENABLE TRIGGER user_pool_changed', []);
      }
    });

    it('a plain user lists only itself', async () => {
      const kim = await cloud.user('kim');
      const pool = okXml(await cloud.callAs(kim.session, 'one.userpool.info'));
      await validateDocument(pool, 'user_pool.xsd');
      assert.equal([...pool.matchAll(/<USER><ID>(\d+)<\/ID>/g)].map((x) => Number(x[1])).join(','), String(kim.id));
    });
  });
}
