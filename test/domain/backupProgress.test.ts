import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backupProgress } from '../../src/domain/backupProgress.js';

describe('progress of an emulated backup', () => {
  const run = { sizeMb: 10240, startedAt: 1000, endsAt: 1060 };

  it('grows at a constant rate from the start to the expected end', () => {
    assert.deepEqual(backupProgress(run, 1000), { fraction: 0, transferredMb: 0, remainingS: 60 });
    assert.deepEqual(backupProgress(run, 1015), { fraction: 0.25, transferredMb: 2560, remainingS: 45 });
    assert.deepEqual(backupProgress(run, 1060), { fraction: 1, transferredMb: 10240, remainingS: 0 });
  });

  it('stays within 0..1 before the start, past a due end not yet completed, and for a zero-length backup', () => {
    assert.equal(backupProgress(run, 900).fraction, 0);
    assert.deepEqual(backupProgress(run, 1100), { fraction: 1, transferredMb: 10240, remainingS: 0 });
    assert.deepEqual(backupProgress({ sizeMb: 5, startedAt: 1000, endsAt: 1000 }, 1000), { fraction: 1, transferredMb: 5, remainingS: 0 });
  });
});
