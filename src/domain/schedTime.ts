import { EndType, Repeat, type SchedAction } from './schedAction.js';

/** The calendar fields oned's localtime_r gives, in a named time zone. */
export interface LocalDay { wday: number; mday: number; yday: number; month: number; year: number }

const formatters = new Map<string, Intl.DateTimeFormat>();

export function localDay(epochS: number, timeZone: string): LocalDay {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric', weekday: 'short', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(epochS * 1000)).map((p) => [p.type, p.value]));
  const year = Number(parts.year);
  const month = Number(parts.month) - 1;
  const mday = Number(parts.day);
  const wday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday);
  const yday = Math.round((Date.UTC(year, month, mday) - Date.UTC(year, 0, 1)) / 86400000);
  return { wday, mday, yday, month, year };
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** ScheduledAction::days_in_period: the length of the week, the month or the year `day` is in. */
function daysInPeriod(repeat: number, day: LocalDay): number {
  if (repeat === Repeat.WEEKLY) return 7;
  if (repeat === Repeat.MONTHLY) return [31, isLeap(day.year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][day.month];
  return isLeap(day.year) ? 366 : 365;
}

const dayOf = (repeat: number, day: LocalDay) => (repeat === Repeat.WEEKLY ? day.wday : repeat === Repeat.MONTHLY ? day.mday : day.yday);

/** DAYS as oned reads them: a sorted set of the integers in the list. */
export function daysSet(days: string): number[] {
  const set = new Set<number>();
  for (const token of days.split(',')) {
    const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(token);
    if (m) set.add(Number(m[1]));
  }
  return [...set].sort((a, b) => a - b);
}

export interface NextActionOptions {
  timeZone: string;
  /** oned's behaviour (true) or what users expect (SCHED_ONED_QUIRKS = "NO"). */
  onedQuirks: boolean;
}

/**
 * ScheduledAction::next_action after a successful run at `current` (scheduler.md §3.4): DONE = current, then TIME
 * moves to the next occurrence, or the action ends (returns false). With onedQuirks off: END_TYPE=1 with N runs N
 * times, a late run moves TIME to the next future occurrence on a listed day, and an ended action never fires again.
 */
export function advanceSchedAction(sa: SchedAction, current: number, opts: NextActionOptions): boolean {
  sa.done = current;
  const finish = () => {
    // TIME <= DONE keeps it from being due again; without the quirks make sure of it.
    if (!opts.onedQuirks && sa.time > sa.done) sa.time = sa.done;
    return false;
  };
  if (sa.repeat === Repeat.NONE) return finish();
  const days = daysSet(sa.days);
  if (days.length === 0) return finish();
  if (sa.endType === EndType.TIMES) {
    if (opts.onedQuirks) {
      if (sa.endValue <= 0) return false;
      sa.endValue -= 1;
    } else {
      sa.endValue -= 1;
      if (sa.endValue <= 0) { sa.endValue = 0; return finish(); }
    }
  } else if (sa.endType === EndType.DATE) {
    if (current > sa.endValue) return finish();
  }
  if (sa.repeat === Repeat.HOURLY) {
    do { sa.time += days[0] * 3600; } while (sa.time < current);
    return !opts.onedQuirks && sa.endType === EndType.DATE && sa.time > sa.endValue ? finish() : true;
  }
  const day = localDay(current, opts.timeZone);
  const cday = dayOf(sa.repeat, day);
  const first = days[0];
  const last = days[days.length - 1];
  let delta: number;
  if (cday < first) delta = first - cday;
  else if (cday >= last) delta = daysInPeriod(sa.repeat, day) - cday + first;
  else delta = days.find((d) => d > cday)! - cday;
  sa.time += delta * 86400;
  sa.warning = 0;
  if (!opts.onedQuirks) {
    // Land on the first listed day strictly after the run, at the schedule's own time of day.
    for (let guard = 0; guard < 800 && (sa.time <= current || !days.includes(dayOf(sa.repeat, localDay(sa.time, opts.timeZone)))); guard++) {
      sa.time += 86400;
    }
    if (sa.endType === EndType.DATE && sa.time > sa.endValue) return finish();
  }
  return true;
}
