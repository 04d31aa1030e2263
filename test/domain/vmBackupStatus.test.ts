process.env.TZ = 'UTC';

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupFailureTime, lastBackup } from '../../src/domain/vmBackupStatus.js';
import { vmErrorMessage } from '../../src/domain/backupImages.js';
import { ctime } from '../../src/logger.js';

const T = 1695478500; // Sat Sep 23 14:15:00 2023 UTC
const backupError = (at: number, reason = 'disk full') => vmErrorMessage(ctime(at * 1000), `BACKUP: ${reason}`);

describe('a VM\'s last backup, from its newest backup image and its ERROR', () => {
  it('reads the time back from the ERROR a backup failure writes, and only from such an ERROR', () => {
    assert.equal(backupError(T), 'Sat Sep 23 14:15:00 2023: BACKUP: disk full');
    assert.equal(backupFailureTime(backupError(T)), T);
    assert.equal(backupFailureTime(backupError(T + 86400 * 100 + 7)), T + 86400 * 100 + 7);
    assert.equal(backupFailureTime(vmErrorMessage(ctime(T * 1000), 'DEPLOY: no space')), undefined);
    assert.equal(backupFailureTime('BACKUP: disk full'), undefined);
  });

  it('the newer of the last success and the last failure wins; a later success leaves the old ERROR behind', () => {
    assert.deepEqual(lastBackup(T, null), { status: 1, at: T });
    assert.deepEqual(lastBackup(null, backupError(T)), { status: 0, at: T });
    assert.deepEqual(lastBackup(T + 60, backupError(T)), { status: 1, at: T + 60 });
    assert.deepEqual(lastBackup(T, backupError(T + 60)), { status: 0, at: T + 60 });
    assert.equal(lastBackup(null, null), undefined);
    assert.equal(lastBackup(null, 'Sat Sep 23 14:15:00 2023: DEPLOY: failed'), undefined, 'not a backup failure');
  });
});
