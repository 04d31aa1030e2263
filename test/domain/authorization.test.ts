import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AclSelector, authorize, isAdmin, Op, type AclRule, type Caller, type ObjectAuth } from '../../src/domain/authorization.js';
import { aclResourceBit } from '../../src/domain/objectTypes.js';
import { defaultPermissions, permissionsFromOctal, permissionsToOctal } from '../../src/domain/permissions.js';
import { LockLevel, storedLockLevel } from '../../src/domain/lock.js';

const caller = (uid: number, groups: number[]): Caller => ({ uid, gid: groups[0], groups: new Set(groups), uname: `u${uid}`, gname: `g${groups[0]}`, umask: 0o177 });
const oneadmin = caller(0, [0]);
const alice = caller(2, [1]);
const bob = caller(3, [1, 100]);
const job = (over: Partial<ObjectAuth> = {}): ObjectAuth => ({ type: 'BACKUPJOB', oid: 7, uid: 2, gid: 1, permissions: permissionsFromOctal(0o600), locked: 0, ...over });
const CREATE_RULE: AclRule = { id: 0, user: AclSelector.GROUP | 1n, resource: aclResourceBit('BACKUPJOB') | aclResourceBit('VM') | AclSelector.ALL, rights: BigInt(Op.CREATE), zone: AclSelector.ALL };

describe('permissions', () => {
  it('octal round trip and oned defaults (umask 177)', () => {
    assert.equal(permissionsToOctal(permissionsFromOctal(0o754)), 0o754);
    assert.equal(permissionsToOctal(defaultPermissions(2, 1, 0o177, true)), 0o600);
    assert.equal(permissionsToOctal(defaultPermissions(0, 0, 0o177, true)), 0o600);
    assert.equal(permissionsToOctal(defaultPermissions(2, 1, 0o022, true)), 0o644);
    assert.equal(permissionsToOctal(defaultPermissions(2, 1, 0o022, false)), 0o640);
    assert.equal(permissionsToOctal(defaultPermissions(0, 1, 0o022, false)), 0o755);
  });
});

describe('authorization', () => {
  it('admins are oneadmin or any member of group 0', () => {
    assert.equal(isAdmin(oneadmin), true);
    assert.equal(isAdmin(caller(5, [1, 0])), true);
    assert.equal(isAdmin(alice), false);
  });

  it('owner bits grant exactly their operation (MANAGE does not imply USE)', () => {
    assert.equal(authorize(alice, [{ op: Op.MANAGE, object: job() }], []), null);
    assert.equal(authorize(alice, [{ op: Op.USE, object: job({ permissions: permissionsFromOctal(0o200) }) }], []),
      'Not authorized to perform USE BACKUPJOB [7]');
    assert.equal(authorize(alice, [{ op: Op.ADMIN, object: job() }], []), 'Not authorized to perform ADMIN BACKUPJOB [7]');
  });

  it('group and other bits', () => {
    assert.equal(authorize(bob, [{ op: Op.USE, object: job() }], []), 'Not authorized to perform USE BACKUPJOB [7]');
    assert.equal(authorize(bob, [{ op: Op.USE, object: job({ permissions: permissionsFromOctal(0o640) }) }], []), null);
    assert.equal(authorize(bob, [{ op: Op.USE, object: job({ gid: 100, permissions: permissionsFromOctal(0o640) }) }], []), null);
    assert.equal(authorize(caller(9, [200]), [{ op: Op.MANAGE, object: job({ permissions: permissionsFromOctal(0o602) }) }], []), null);
  });

  it('CREATE comes from the ACL table; the denial has no id', () => {
    const create = { type: 'BACKUPJOB' as const, oid: -1, uid: 2, gid: 1 };
    assert.equal(authorize(alice, [{ op: Op.CREATE, object: create }], [CREATE_RULE]), null);
    assert.equal(authorize(caller(4, [100]), [{ op: Op.CREATE, object: { ...create, gid: 100 } }], [CREATE_RULE]),
      'Not authorized to perform CREATE BACKUPJOB');
  });

  it('ACL rules on one object or on a group of objects', () => {
    const byId: AclRule = { id: 9, user: AclSelector.INDIVIDUAL | 3n, resource: aclResourceBit('BACKUPJOB') | AclSelector.INDIVIDUAL | 7n, rights: 3n, zone: AclSelector.INDIVIDUAL };
    const byGroup: AclRule = { id: 10, user: AclSelector.ALL, resource: aclResourceBit('BACKUPJOB') | AclSelector.GROUP | 1n, rights: 1n, zone: AclSelector.ALL };
    assert.equal(authorize(bob, [{ op: Op.MANAGE, object: job() }], [byId]), null);
    assert.equal(authorize(bob, [{ op: Op.MANAGE, object: job({ oid: 8 }) }], [byId]), 'Not authorized to perform MANAGE BACKUPJOB [8]');
    assert.equal(authorize(caller(9, [300]), [{ op: Op.USE, object: job() }], [byGroup]), null);
    assert.equal(authorize(caller(9, [300]), [{ op: Op.MANAGE, object: job() }], [byGroup]), 'Not authorized to perform MANAGE BACKUPJOB [7]');
  });

  it('several denials are joined with "; "', () => {
    const user: ObjectAuth = { type: 'USER', oid: 9, uid: 9, gid: 1, permissions: permissionsFromOctal(0o600) };
    assert.equal(authorize(bob, [{ op: Op.MANAGE, object: job() }, { op: Op.MANAGE, object: user }], []),
      'Not authorized to perform MANAGE BACKUPJOB [7]; Not authorized to perform MANAGE USER [9]');
  });

  // The lock matrix of api.md §3.4: a lock at level L blocks every operation whose value is >= L.
  const matrix: Array<[number, number, boolean]> = [
    [LockLevel.USE, Op.USE, false], [LockLevel.USE, Op.MANAGE, false], [LockLevel.USE, Op.ADMIN, false], [LockLevel.USE, Op.CREATE, false],
    [LockLevel.MANAGE, Op.USE, true], [LockLevel.MANAGE, Op.MANAGE, false], [LockLevel.MANAGE, Op.ADMIN, false],
    [LockLevel.ADMIN, Op.USE, true], [LockLevel.ADMIN, Op.MANAGE, true], [LockLevel.ADMIN, Op.ADMIN, false],
    [LockLevel.USE, Op.USE_NO_LCK, true], [LockLevel.USE, Op.MANAGE_NO_LCK, true],
  ];
  for (const [locked, op, granted] of matrix) {
    it(`lock ${locked} ${granted ? 'lets' : 'blocks'} op ${op} (admin and owner)`, () => {
      const all = permissionsFromOctal(0o777);
      const admin = authorize(oneadmin, [{ op, object: job({ locked, permissions: all }) }], []);
      const owner = authorize(alice, [{ op, object: job({ locked, permissions: all }) }], []);
      assert.equal(admin, granted ? null : 'BACKUPJOB is locked. [7]');
      assert.equal(owner === null, granted);
      if (!granted) assert.match(owner!, /^Not authorized to perform (USE|MANAGE|ADMIN|CREATE) BACKUPJOB \[7\]$/);
    });
  }

  it('API lock level 4 is stored as USE; other levels are refused', () => {
    assert.deepEqual([1, 2, 3, 4, 0, 5, -1].map(storedLockLevel), [1, 2, 3, 1, null, null, null]);
  });
});
