import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newSchedAction, type SchedAction } from '../../src/domain/schedAction.js';
import { advanceSchedAction, localDay } from '../../src/domain/schedTime.js';

const UTC = { timeZone: 'UTC', onedQuirks: true };
const EXPECTED = { timeZone: 'UTC', onedQuirks: false };

function sa(fields: Partial<SchedAction>): SchedAction {
  return { ...newSchedAction('BACKUPJOB', 1), action: 'backup', ...fields };
}

/** Runs the action at each tick where it is due (TIME < now && TIME > DONE), as the SAM does; returns TIMEs after runs. */
function runTicks(action: SchedAction, ticks: number[], opts = UTC): number[] {
  const times: number[] = [];
  for (const t of ticks) {
    if (action.time < t && action.time > action.done) {
      advanceSchedAction(action, t, opts);
      times.push(action.time);
    }
  }
  return times;
}

describe('next_action arithmetic: scheduler.md §8 test vectors (oned behaviour, UTC)', () => {
  it('TV-1 weekly on two days', () => {
    const a = sa({ repeat: 0, days: '1,5', endType: 0, time: 1704103200 });
    assert.deepEqual(runTicks(a, [1704103215, 1704448810, 1704708010]), [1704448800, 1704708000, 1705053600]);
    assert.equal(a.done, 1704708010);
  });

  it('TV-2 monthly on day 31 drifts', () => {
    const a = sa({ repeat: 1, days: '31', time: 1738288800 });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) { advanceSchedAction(a, a.time + 10, UTC); times.push(a.time); }
    assert.deepEqual(times, [1740967200, 1743386400, 1746064800, 1748656800, 1751335200]);
  });

  it('TV-3 monthly 1,15 across February', () => {
    const a = sa({ repeat: 1, days: '1,15', time: 1736910000 });
    const times: number[] = [];
    for (let i = 0; i < 4; i++) { advanceSchedAction(a, a.time + 10, UTC); times.push(a.time); }
    assert.deepEqual(times, [1738378800, 1739588400, 1740798000, 1742007600]);
  });

  it('TV-4 yearly across a leap year', () => {
    const a = sa({ repeat: 2, days: '0', time: 1704069000 });
    advanceSchedAction(a, 1704069010, UTC);
    assert.equal(a.time, 1735691400);
    advanceSchedAction(a, 1735691410, UTC);
    assert.equal(a.time, 1767227400);
  });

  it('TV-5 hourly after downtime runs once, then catches up', () => {
    const a = sa({ repeat: 3, days: '6', time: 1710028800 });
    assert.deepEqual(runTicks(a, [1710101100]), [1710115200]);
    assert.equal(a.done, 1710101100);
    assert.deepEqual(runTicks(a, [1710115215]), [1710136800]);
  });

  it('TV-6 a weekly schedule missed during downtime dies', () => {
    const a = sa({ repeat: 0, days: '1', time: 1704103200 });
    assert.deepEqual(runTicks(a, [1705492815, 1706745600]), [1704535200]);
    assert.equal(a.done, 1705492815);
  });

  it('TV-7 a tick across midnight adds a Sunday', () => {
    const a = sa({ repeat: 0, days: '1', time: 1704758395 });
    assert.deepEqual(runTicks(a, [1704758405, 1705276798, 1705363198]), [1705276795, 1705363195, 1705967995]);
  });

  it('TV-8 END_TYPE=TIMES with END_VALUE=2 runs three times', () => {
    const a = sa({ repeat: 3, days: '1', endType: 1, endValue: 2, time: 1714550400 });
    const runs: Array<[number, number]> = [];
    for (const t of [1714550415, 1714554015, 1714557615, 1714561215]) {
      if (a.time < t && a.time > a.done) { advanceSchedAction(a, t, UTC); runs.push([a.time, a.endValue]); }
    }
    assert.deepEqual(runs, [[1714554000, 1], [1714557600, 0], [1714557600, 0]]);
  });

  it('TV-9 END_TYPE=DATE runs once past the end date', () => {
    const a = sa({ repeat: 0, days: '1', endType: 2, endValue: 1715212800, time: 1714982400 });
    assert.deepEqual(runTicks(a, [1714982415, 1715587215, 1716192015]), [1715587200, 1715587200]);
    assert.equal(a.done, 1715587215);
  });

  it('TV-10 a late success kills the schedule; TV-10b lands on a day not in DAYS', () => {
    const a = sa({ repeat: 0, days: '1,3,5', time: 1704675600 });
    advanceSchedAction(a, 1704776415, UTC);
    assert.equal(a.time, 1704762000);
    assert.ok(a.time < a.done);
    const b = sa({ repeat: 0, days: '1,2', time: 1704675600 });
    advanceSchedAction(b, 1704776415, UTC);
    assert.equal(b.time, 1705194000);
    advanceSchedAction(b, 1705194015, UTC);
    assert.equal(b.time, 1705280400);
  });
});

describe('SCHED_ONED_QUIRKS = NO: what users expect', () => {
  it('END_TYPE=TIMES with N runs N times', () => {
    const a = sa({ repeat: 3, days: '1', endType: 1, endValue: 2, time: 1714550400 });
    const ran = [1714550415, 1714554015, 1714557615, 1714561215].filter((t) => {
      if (!(a.time < t && a.time > a.done)) return false;
      advanceSchedAction(a, t, EXPECTED);
      return true;
    });
    assert.equal(ran.length, 2);
  });

  it('a schedule that lands in the past moves to its next future listed day (TV-6 and TV-10b)', () => {
    const a = sa({ repeat: 0, days: '1', time: 1704103200 });
    advanceSchedAction(a, 1705492815, EXPECTED);
    assert.equal(a.time, 1705917600, 'Mon 2024-01-22 10:00');
    assert.equal(localDay(a.time, 'UTC').wday, 1);
    const b = sa({ repeat: 0, days: '1,2', time: 1704675600 });
    advanceSchedAction(b, 1704776415, EXPECTED);
    assert.equal(b.time, 1705280400, 'Mon 2024-01-15 01:00, not the Sunday');
  });

  it('an END_TYPE=DATE schedule does not run past its end date, and a finished schedule never fires again', () => {
    const a = sa({ repeat: 0, days: '1', endType: 2, endValue: 1715212800, time: 1714982400 });
    assert.equal(advanceSchedAction(a, 1714982415, EXPECTED), false, 'the next Monday is after END_VALUE');
    for (const t of [1715587215, 1716192015, 1800000000]) assert.ok(!(a.time < t && a.time > a.done));
  });

  it('day arithmetic follows the configured time zone, DST included', () => {
    // Weekly on Monday 09:00 Europe/Madrid across the end of DST (2024-10-27): oned adds fixed days (UTC offset moves).
    const a = sa({ repeat: 0, days: '1', time: 1729494000 });
    advanceSchedAction(a, 1729494010, { timeZone: 'Europe/Madrid', onedQuirks: true });
    assert.equal(a.time, 1729494000 + 7 * 86400);
    assert.equal(localDay(a.time, 'Europe/Madrid').wday, 1);
  });
});
