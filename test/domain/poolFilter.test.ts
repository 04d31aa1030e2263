import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AclSelector, type AclRule, type Caller } from '../../src/domain/authorization.js';
import { aclResourceBit } from '../../src/domain/objectTypes.js';
import { poolWhere } from '../../src/domain/poolFilter.js';

const caller = (uid: number, groups: number[]): Caller => ({ uid, gid: groups[0], groups: new Set(groups), uname: '', gname: '', umask: 0o177 });

describe('pool filters (PoolSQL::usr_filter / oid_filter)', () => {
  const user = caller(5, [1, 100]);
  it('admins see everything for -2, with only the id range applied', () => {
    assert.equal(poolWhere(caller(0, [0]), 'BACKUPJOB', [], -2), 'TRUE');
    assert.equal(poolWhere(caller(7, [1, 0]), 'BACKUPJOB', [], -2, 3, 9), '(oid >= 3 AND oid <= 9)');
  });
  it('mine, all, mine+group, primary group, by uid', () => {
    assert.equal(poolWhere(user, 'BACKUPJOB', [], -3), '(uid = 5)');
    assert.equal(poolWhere(user, 'BACKUPJOB', [], -2),
      '(uid = 5 OR other_u = 1 OR ( gid = 1 AND group_u = 1 ) OR ( gid = 100 AND group_u = 1 ))');
    assert.equal(poolWhere(user, 'BACKUPJOB', [], -1),
      '(uid = 5 OR ( ( ( gid = 1 ) OR ( gid = 100 )) AND ( other_u = 1 OR ( gid = 1 AND group_u = 1 ) OR ( gid = 100 AND group_u = 1 ))))');
    assert.equal(poolWhere(user, 'BACKUPJOB', [], -4),
      '(gid = 1 AND ( other_u = 1 OR ( uid = 5 ) OR ( gid = 1 AND group_u = 1 )))');
    assert.equal(poolWhere(user, 'BACKUPJOB', [], 5), '(uid = 5)');
    assert.equal(poolWhere(user, 'BACKUPJOB', [], 8),
      '(uid = 8 AND ( other_u = 1 OR ( gid = 1 AND group_u = 1 ) OR ( gid = 100 AND group_u = 1 )))');
  });
  it('ACL USE grants widen the filter', () => {
    const rules: AclRule[] = [
      { id: 1, user: AclSelector.INDIVIDUAL | 5n, resource: aclResourceBit('BACKUPJOB') | AclSelector.INDIVIDUAL | 42n, rights: 1n, zone: AclSelector.ALL },
      { id: 2, user: AclSelector.GROUP | 100n, resource: aclResourceBit('BACKUPJOB') | AclSelector.GROUP | 300n, rights: 3n, zone: AclSelector.ALL },
      { id: 3, user: AclSelector.ALL, resource: aclResourceBit('VM') | AclSelector.ALL, rights: 1n, zone: AclSelector.ALL },
    ];
    assert.equal(poolWhere(user, 'BACKUPJOB', rules, -3), '(uid = 5)');
    assert.match(poolWhere(user, 'BACKUPJOB', rules, -2), / OR oid = 42 OR gid = 300\)$/);
    assert.equal(poolWhere(user, 'VM', rules, -2), 'TRUE');
  });
  it('id ranges: start -1 disables the range; end < -1 is pagination (no id filter)', () => {
    const admin = caller(0, [0]);
    assert.equal(poolWhere(admin, 'BACKUPJOB', [], -2, 4, -1), '(oid >= 4)');
    assert.equal(poolWhere(admin, 'BACKUPJOB', [], -2, -1, 9), 'TRUE');
    assert.equal(poolWhere(admin, 'BACKUPJOB', [], -2, 0, -10), 'TRUE');
  });
});
