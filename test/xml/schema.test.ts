import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BACKUPJOB_INFO,
  BACKUPJOB_INFO_INCREMENT,
  BACKUPJOB_INFO_LOCKED,
  BACKUPJOB_POOL,
  BACKUPJOB_POOL_EMPTY,
  GROUP_ONEADMIN,
  GROUP_POOL_FRESH,
  GROUP_USERS,
  OPENNEBULA_CONFIGURATION,
  OPENNEBULA_CONFIGURATION_MASKED,
  USER_ONEADMIN,
  USER_POOL_FRESH,
  USER_WITH_QUOTAS,
  USER_WITH_TOKENS,
} from '../fixtures/documents.js';
import { openNebulaSchemasAvailable, validateDocument, validateXml } from '../support/xsd.js';

/** Replaces one exact occurrence, failing loudly if the fixture no longer contains it. */
function mutate(xml: string, from: string, to: string): string {
  const at = xml.indexOf(from);
  assert.notEqual(at, -1, `fixture does not contain ${from}`);
  assert.equal(xml.indexOf(from, at + 1), -1, `fixture contains ${from} more than once`);
  return xml.slice(0, at) + to + xml.slice(at + from.length);
}

const withoutOpenNebula = { skip: !openNebulaSchemasAvailable() && 'OpenNebula XSDs not present' };

describe('spec documents validate against our schemas and OpenNebula\'s', () => {
  const documents: Array<[string, string, string]> = [
    ['fresh oneadmin USER', USER_ONEADMIN, 'user.xsd'],
    ['USER with login tokens', USER_WITH_TOKENS, 'user.xsd'],
    ['USER with quotas', USER_WITH_QUOTAS, 'user.xsd'],
    ['fresh USER_POOL', USER_POOL_FRESH, 'user_pool.xsd'],
    ['GROUP 0', GROUP_ONEADMIN, 'group.xsd'],
    ['GROUP 1', GROUP_USERS, 'group.xsd'],
    ['fresh GROUP_POOL', GROUP_POOL_FRESH, 'group_pool.xsd'],
    ['BACKUPJOB with a scheduled action', BACKUPJOB_INFO, 'backupjob.xsd'],
    ['locked BACKUPJOB', BACKUPJOB_INFO_LOCKED, 'backupjob.xsd'],
    ['BACKUPJOB_POOL', BACKUPJOB_POOL, 'backupjob_pool.xsd'],
    ['empty BACKUPJOB_POOL', BACKUPJOB_POOL_EMPTY, 'backupjob_pool.xsd'],
  ];
  for (const [name, xml, schema] of documents) {
    test(name, async () => {
      await validateDocument(xml, schema);
    });
  }

  test('configuration excerpt without FEDERATION/MASTER_ONED_GRPC', async () => {
    await validateDocument(
      mutate(OPENNEBULA_CONFIGURATION, '<MASTER_ONED_GRPC><![CDATA[]]></MASTER_ONED_GRPC>', ''),
      'opennebula_configuration.xsd',
    );
  });
});

describe('documents only our schemas describe', () => {
  test('configuration excerpt, admin and masked', async () => {
    await validateXml(OPENNEBULA_CONFIGURATION, 'opennebula_configuration.xsd');
    await validateXml(OPENNEBULA_CONFIGURATION_MASKED, 'opennebula_configuration.xsd');
  });

  test('incremental BACKUPJOB with a user attribute and two scheduled actions', async () => {
    await validateXml(BACKUPJOB_INFO_INCREMENT, 'backupjob.xsd');
  });

  // These pin the known gaps between OpenNebula's XSDs and oned's real output.
  test('OpenNebula\'s XSD lacks FEDERATION/MASTER_ONED_GRPC, which oned 7.4 emits', withoutOpenNebula, async () => {
    await assert.rejects(validateDocument(OPENNEBULA_CONFIGURATION, 'opennebula_configuration.xsd'), (error: Error) => {
      assert.match(error.message, /\[OpenNebula's opennebula_configuration\.xsd\].*MASTER_ONED_GRPC/);
      assert.doesNotMatch(error.message, /\[schema\//);
      return true;
    });
  });

  test('INCREMENT_MODE and user attributes, which OpenNebula\'s backupjob.xsd does not list, are checked by ours only', async () => {
    await validateDocument(BACKUPJOB_INFO_INCREMENT, 'backupjob.xsd');
    await assert.rejects(validateDocument(BACKUPJOB_INFO_INCREMENT.replace('<MODE><![CDATA[INCREMENT]]></MODE>', '<MODE><![CDATA[x]]></MODE>'),
      'backupjob.xsd'), /MODE/);
  });
});

/** Asserts that our schema refuses `xml`, with a message matching `reason`. */
async function refused(xml: string, schema: string, reason: RegExp): Promise<void> {
  await assert.rejects(validateXml(xml, schema), reason);
}

describe('our BACKUPJOB schemas are strict', () => {
  test('wrong element order', async () => {
    const swapped = mutate(
      BACKUPJOB_INFO,
      '<PRIORITY>50</PRIORITY><LAST_BACKUP_TIME>0</LAST_BACKUP_TIME>',
      '<LAST_BACKUP_TIME>0</LAST_BACKUP_TIME><PRIORITY>50</PRIORITY>',
    );
    await refused(swapped, 'backupjob.xsd', /'LAST_BACKUP_TIME': This element is not expected\. Expected is \( PRIORITY \)/);
  });

  test('non-integer ID', async () => {
    await refused(mutate(BACKUPJOB_INFO, '<BACKUPJOB><ID>0</ID>', '<BACKUPJOB><ID>zero</ID>'), 'backupjob.xsd', /'ID'.*'zero'/);
    await refused(mutate(BACKUPJOB_INFO, '<BACKUPJOB><ID>0</ID>', '<BACKUPJOB><ID>-3</ID>'), 'backupjob.xsd', /'ID'.*'-3'/);
  });

  test('lowercase MODE', async () => {
    await refused(
      mutate(BACKUPJOB_INFO, '<MODE><![CDATA[FULL]]></MODE>', '<MODE><![CDATA[full]]></MODE>'),
      'backupjob.xsd',
      /'MODE'.*'full' is not an element of the set/,
    );
  });

  test('other normalised template values', async () => {
    await refused(
      mutate(BACKUPJOB_INFO, '<KEEP_LAST><![CDATA[0]]></KEEP_LAST>', '<KEEP_LAST><![CDATA[-1]]></KEEP_LAST>'),
      'backupjob.xsd',
      /'KEEP_LAST'.*'-1'/,
    );
    await refused(
      mutate(BACKUPJOB_INFO, '<BACKUP_VMS><![CDATA[3,1]]></BACKUP_VMS>', '<BACKUP_VMS><![CDATA[3, 1]]></BACKUP_VMS>'),
      'backupjob.xsd',
      /'BACKUP_VMS'.*'3, 1'/,
    );
    await refused(
      mutate(BACKUPJOB_INFO_INCREMENT, '<INCREMENT_MODE><![CDATA[SNAPSHOT]]>', '<INCREMENT_MODE><![CDATA[snapshot]]>'),
      'backupjob.xsd',
      /'INCREMENT_MODE'.*'snapshot'/,
    );
  });

  test('LOCK with missing children', async () => {
    await refused(
      mutate(
        BACKUPJOB_INFO_LOCKED,
        '<LOCK><LOCKED>2</LOCKED><OWNER>2</OWNER><TIME>1718123456</TIME><REQ_ID>4711</REQ_ID></LOCK>',
        '<LOCK><LOCKED>2</LOCKED></LOCK>',
      ),
      'backupjob.xsd',
      /'LOCK': Missing child element\(s\)\. Expected is \( OWNER \)/,
    );
  });

  test('unknown element outside TEMPLATE', async () => {
    await refused(
      mutate(BACKUPJOB_INFO, '<NAME>bj1</NAME>', '<NAME>bj1</NAME><COLOR>red</COLOR>'),
      'backupjob.xsd',
      /'COLOR': This element is not expected/,
    );
  });

  test('a normalised attribute missing from or repeated in TEMPLATE', async () => {
    await refused(
      mutate(BACKUPJOB_INFO, '<KEEP_LAST><![CDATA[0]]></KEEP_LAST>', ''),
      'backupjob.xsd',
      /key identity-constraint 'templateHasOneKeepLast'/,
    );
    await refused(
      mutate(BACKUPJOB_INFO, '<MODE><![CDATA[FULL]]></MODE>', '<MODE><![CDATA[FULL]]></MODE><MODE><![CDATA[FULL]]></MODE>'),
      'backupjob.xsd',
      /'templateHasOneMode' evaluates to a node-set with more than one member/,
    );
  });

  test('scheduled actions: listed, owned, absolute', async () => {
    await refused(
      mutate(BACKUPJOB_INFO, '<SCHED_ACTIONS><ID>0</ID></SCHED_ACTIONS>', '<SCHED_ACTIONS><ID>5</ID></SCHED_ACTIONS>'),
      'backupjob.xsd',
      /'SCHED_ACTION': No match found for key-sequence \['0'\] of keyref 'renderedSchedActionsAreListed'/,
    );
    await refused(
      mutate(BACKUPJOB_INFO, '<PARENT_ID>0</PARENT_ID>', '<PARENT_ID>7</PARENT_ID>'),
      'backupjob.xsd',
      /keyref 'schedActionsBelongToTheJob'/,
    );
    await refused(
      mutate(BACKUPJOB_INFO, '<TIME>1700000000</TIME>', '<TIME>+3600</TIME>'),
      'backupjob.xsd',
      /'TIME'.*'\+3600'/,
    );
  });

  test('duplicate VM in a set, PRIORITY out of range', async () => {
    await refused(
      mutate(BACKUPJOB_INFO_LOCKED, '<OUTDATED_VMS><ID>7</ID><ID>9</ID>', '<OUTDATED_VMS><ID>7</ID><ID>7</ID>'),
      'backupjob.xsd',
      /'outdatedVmIdsAreDistinct'/,
    );
    await refused(mutate(BACKUPJOB_INFO, '<PRIORITY>50</PRIORITY>', '<PRIORITY>100</PRIORITY>'), 'backupjob.xsd', /'PRIORITY'.*'100'/);
  });

  test('SCHED_ACTION never appears in a pool body', async () => {
    await refused(`<BACKUPJOB_POOL>${BACKUPJOB_INFO}</BACKUPJOB_POOL>`, 'backupjob_pool.xsd', /'SCHED_ACTION': Element content is not allowed/);
  });

  test('the root must be the schema\'s document', async () => {
    await refused(BACKUPJOB_INFO, 'backupjob_pool.xsd', /root element BACKUPJOB is not one of BACKUPJOB_POOL/);
    await refused('<MODE>FULL</MODE>', 'backupjob.xsd', /root element MODE is not one of BACKUPJOB/);
  });
});

describe('our USER and GROUP schemas are strict', () => {
  test('USER: name with a blank, bad ENABLED, no groups, missing default quotas', async () => {
    await refused(mutate(USER_ONEADMIN, '<NAME>oneadmin</NAME>', '<NAME>one admin</NAME>'), 'user.xsd', /'NAME'.*'one admin'/);
    await refused(mutate(USER_ONEADMIN, '<ENABLED>1</ENABLED>', '<ENABLED>true</ENABLED>'), 'user.xsd', /'ENABLED'.*'true'/);
    await refused(mutate(USER_ONEADMIN, '<GROUPS><ID>0</ID></GROUPS>', '<GROUPS></GROUPS>'), 'user.xsd', /'GROUPS': Missing child element/);
    await refused(USER_ONEADMIN.replace(/<DEFAULT_USER_QUOTAS>.*<\/DEFAULT_USER_QUOTAS>/, ''), 'user.xsd', /'USER': Missing child element\(s\)\. Expected is \( DEFAULT_USER_QUOTAS \)/);
  });

  test('USER: duplicate login token, quota value not in fixed notation', async () => {
    const sameToken = USER_WITH_TOKENS.replace('fd679dd2e43ca273f27f05fc2b3f365d30e4f56ce690e18e62c801f6cba4987d', 'b80d787ea7208444184eec31f67e4e16d7208eceb1aff3245250b5e3098dddbc');
    assert.notEqual(sameToken, USER_WITH_TOKENS);
    await refused(sameToken, 'user.xsd', /'loginTokensAreDistinct'/);
    await refused(mutate(USER_WITH_QUOTAS, '<SIZE><![CDATA[100]]></SIZE>', '<SIZE><![CDATA[1e+09]]></SIZE>'), 'user.xsd', /'SIZE'.*'1e\+09'/);
  });

  test('USER_POOL: each USER is followed by its QUOTAS', async () => {
    const firstQuotas = USER_POOL_FRESH.match(/<QUOTAS><ID>1<\/ID>.*?<\/QUOTAS>/)?.[0];
    assert.ok(firstQuotas !== undefined);
    await refused(mutate(USER_POOL_FRESH, firstQuotas, ''), 'user_pool.xsd', /'USER': This element is not expected\. Expected is \( QUOTAS \)/);
    await refused(mutate(USER_POOL_FRESH, '<QUOTAS><ID>1</ID>', '<QUOTAS><ID>7</ID>'), 'user_pool.xsd', /'quotasBelongToListedUsers'/);
  });

  test('GROUP: VLAN_RULES present and the group\'s own', async () => {
    await refused(
      mutate(GROUP_USERS, '<VLAN_RULES><ID><![CDATA[1]]></ID></VLAN_RULES>', ''),
      'group.xsd',
      /'DEFAULT_GROUP_QUOTAS': This element is not expected\. Expected is \( VLAN_RULES \)/,
    );
    await refused(
      mutate(GROUP_USERS, '<VLAN_RULES><ID><![CDATA[1]]></ID>', '<VLAN_RULES><ID><![CDATA[0]]></ID>'),
      'group.xsd',
      /'vlanRulesBelongToTheGroup'/,
    );
    await refused(
      mutate(GROUP_POOL_FRESH, '<VLAN_RULES><ID><![CDATA[0]]></ID></VLAN_RULES>', ''),
      'group_pool.xsd',
      /'DEFAULT_GROUP_QUOTAS': This element is not expected\. Expected is \( VLAN_RULES \)/,
    );
  });
});

describe('our configuration schema is strict', () => {
  test('children out of order, unknown key, non-integer PORT', async () => {
    const port = '<PORT><![CDATA[2634]]></PORT>';
    const unsorted = mutate(mutate(OPENNEBULA_CONFIGURATION, port, ''), '<ONE_KEY>', `${port}<ONE_KEY>`);
    await refused(unsorted, 'opennebula_configuration.xsd', /'ONE_KEY': This element is not expected/);
    await refused(
      mutate(OPENNEBULA_CONFIGURATION, port, `${port}<PORTS><![CDATA[1]]></PORTS>`),
      'opennebula_configuration.xsd',
      /'PORTS': This element is not expected/,
    );
    await refused(
      mutate(OPENNEBULA_CONFIGURATION, port, '<PORT><![CDATA[http]]></PORT>'),
      'opennebula_configuration.xsd',
      /'PORT'.*'http'/,
    );
  });
});

describe('validation helper', () => {
  test('malformed XML is reported, not accepted', async () => {
    await refused('<BACKUPJOB_POOL>', 'backupjob_pool.xsd', /parser error/);
  });

  test('an unknown schema file is an error', async () => {
    await assert.rejects(validateXml(BACKUPJOB_POOL_EMPTY, 'no_such.xsd'), /No schema no_such\.xsd/);
  });

  test('every violation is listed', async () => {
    const twoFaults = mutate(
      mutate(BACKUPJOB_INFO, '<MODE><![CDATA[FULL]]></MODE>', '<MODE><![CDATA[full]]></MODE>'),
      '<PRIORITY>50</PRIORITY>',
      '<PRIORITY>500</PRIORITY>',
    );
    await assert.rejects(validateXml(twoFaults, 'backupjob.xsd'), (error: Error) => {
      assert.match(error.message, /'PRIORITY'/);
      assert.match(error.message, /'MODE'/);
      return true;
    });
  });
});
