import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applySchedActionVector, newSchedAction } from '../../src/domain/schedAction.js';

const parse = (type: 'BACKUPJOB' | 'VM', fields: Record<string, string>, origin = 0) => {
  const sa = newSchedAction(type, 1);
  const error = applySchedActionVector(sa, new Map(Object.entries(fields)), origin);
  return { sa, error };
};

describe('scheduled-action validation: scheduler.md TV-12', () => {
  const table: Array<[Record<string, string>, string | null]> = [
    [{ TIME: '+3600' }, 'Unable to parse the time value or value is empty: +3600'],
    [{ TIME: '10', REPEAT: '0', DAYS: '7' }, 'Days in a week have to be in [0,6] range'],
    [{ TIME: '10', REPEAT: '1', DAYS: '0,15' }, 'Days in a month have to be in [1,31] range'],
    [{ TIME: '10', REPEAT: '2', DAYS: '366' }, 'Days in a year have to be in [0,365] range'],
    [{ TIME: '10', REPEAT: '3', DAYS: '168' }, 'Hours have to be in [0,168] range'],
    [{ TIME: '10', REPEAT: '3', DAYS: '0' }, 'Hours have to be in [0,168] range'],
    [{ TIME: '10', REPEAT: '3', DAYS: '2,4' }, 'Hours have to be in [0,168] range'],
    [{ TIME: '10', REPEAT: '3', DAYS: '167' }, null],
    [{ TIME: '10', REPEAT: '0' }, 'Repeat set, but DAYS are empty'],
    [{ TIME: '10', REPEAT: '4' }, 'Wrong REPEAT value: 4'],
    [{ TIME: '10', END_TYPE: '1' }, null],
    [{ TIME: '-1' }, 'Unable to parse the time value or value is empty: -1'],
    [{ TIME: '12abc' }, 'Unable to parse the time value or value is empty: 12abc'],
    [{ TIME: '10', REPEAT: 'x', DAYS: '9' }, null],
  ];
  for (const [fields, expected] of table) {
    it(`${JSON.stringify(fields)} → ${expected ?? 'accepted'}`, () => assert.equal(parse('BACKUPJOB', fields).error, expected));
  }

  it('END_TYPE=1 without END_VALUE keeps END_VALUE -1 (one run); REPEAT -1 clears DAYS; ACTION forced to backup', () => {
    assert.equal(parse('BACKUPJOB', { TIME: '10', END_TYPE: '1' }).sa.endValue, -1);
    assert.equal(parse('BACKUPJOB', { TIME: '10', DAYS: '1,2' }).sa.days, '');
    assert.equal(parse('BACKUPJOB', { TIME: '10', ACTION: 'terminate' }).sa.action, 'backup');
  });

  it('VM actions: relative TIME from the VM start, unknown actions refused', () => {
    assert.equal(parse('VM', { ACTION: 'poweroff', TIME: '+60' }, 1000).sa.time, 1060);
    assert.equal(parse('VM', { ACTION: 'fly', TIME: '5' }).error, 'fly is not supported.');
    assert.equal(parse('VM', { TIME: '5' }).error, 'No ACTION in template for Scheduled Action.');
  });

  it('an update keeps what the vector does not mention', () => {
    const { sa } = parse('BACKUPJOB', { TIME: '100', REPEAT: '0', DAYS: '1', END_TYPE: '1', END_VALUE: '3' });
    assert.equal(applySchedActionVector(sa, new Map([['DAYS', '5']]), 0), null);
    assert.deepEqual([sa.time, sa.repeat, sa.days, sa.endType, sa.endValue], [100, 0, '5', 1, 3]);
  });
});
