process.env.TZ = 'UTC';

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bar, duration, idSet, renderFrame, size } from '../../src/top/frame.js';
import type { TopBackup, TopJob, TopSnapshot } from '../../src/top/snapshot.js';

const T = 1695478500; // 2023-09-23 14:15:00 UTC

const job = (over: Partial<TopJob>): TopJob => ({ id: 0, name: 'nightly', priority: 50, execution: 'SEQUENTIAL', lastBackupTime: 0,
  lastBackupDuration: 0, outdated: [], backingUp: [], updated: [], error: [], ...over });
const backup = (over: Partial<TopBackup>): TopBackup => ({ vmId: 1, vmName: 'web-1', hostId: 0, jobId: 0, sizeMb: 2048, transferredMb: 1024,
  startedAt: T, endsAt: T + 12, remaining: 6, progress: 0.5, ...over });

describe('oned-emu top frames', () => {
  it('formats sizes, times, id sets and bars as the CLI does', () => {
    assert.deepEqual([size(850), size(1700), size(10240), size(2 * 1024 * 1024)], ['850M', '1.7G', '10.0G', '2.0T']);
    assert.deepEqual([duration(0), duration(75), duration(3725)], ['0:00', '1:15', '1:02:05']);
    assert.equal(idSet([], 10), '-');
    assert.equal(idSet([1, 2, 3], 10), '1,2,3');
    assert.equal(idSet([10, 11, 12, 13, 14, 15], 10), '10,11 +4', 'as many as fit, then how many more');
    assert.equal(bar(0.5, 10), '[█████░░░░░]  50%');
    assert.equal(bar(1, 4), '[████] 100%');
  });

  it('shows the emulated time, every job with its four sets, every running backup with a bar and its ETA', () => {
    const snap: TopSnapshot = {
      now: T + 6,
      jobs: [
        job({ id: 0, name: 'hourly', lastBackupTime: T, lastBackupDuration: 0, outdated: [3, 4], backingUp: [1], updated: [2], error: [] }),
        job({ id: 1, name: 'databases-incremental', priority: 60, execution: 'PARALLEL', error: [7] }),
      ],
      backups: [backup({})],
    };
    const frame = renderFrame(snap, { endpoint: 'http://localhost:2633/RPC2', width: 100 });
    assert.equal(frame, [
      'oned-emu top - http://localhost:2633/RPC2 - 2023-09-23 14:15:06',
      'Backup jobs: 2 (VMs: 2 outdated, 1 backing up, 1 updated, 1 error)   Backups running: 1',
      '',
      '   ID NAME             PRIO EXEC       LAST BACKUP     TOOK OUTDATED   BACKING_UP UPDATED    ERROR',
      '    0 hourly             50 SEQUENTIAL 09/23 14:15:00  0:00 3,4        1          2          -',
      '    1 databases-incre…   60 PARALLEL   -                  - -          -          -          7',
      '',
      '   VM NAME              JOB HOST   SIZE PROGRESS                                                 ETA',
      `    1 web-1               0    0   2.0G [${'█'.repeat(22)}${'░'.repeat(22)}]  50%     0:06`,
    ].join('\n'));
  });

  it('says so when there is nothing, and fits a short terminal by saying how many rows it left out', () => {
    const empty = renderFrame({ now: T, jobs: [], backups: [] }, { endpoint: 'e', width: 80 });
    assert.match(empty, /\n {2}\(no backup jobs\)\n/);
    assert.match(empty, /\n {2}\(no backup running\)$/);
    const many: TopSnapshot = { now: T, jobs: Array.from({ length: 30 }, (_, i) => job({ id: i })),
      backups: Array.from({ length: 30 }, (_, i) => backup({ vmId: i })) };
    const lines = renderFrame(many, { endpoint: 'e', width: 80, height: 24 }).split('\n');
    assert.equal(lines.length, 24);
    assert.equal(lines.filter((l) => l === '  … 22 more').length, 2, '8 rows of 30 jobs, 8 rows of 30 backups');
    assert.ok(lines.every((l) => l.length <= 80));
  });
});
