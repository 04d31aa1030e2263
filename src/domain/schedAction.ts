import { streamInt, streamLong } from './cppParse.js';

/** ScheduledAction::Repeat and ::EndOn. */
export const Repeat = { NONE: -1, WEEKLY: 0, MONTHLY: 1, YEARLY: 2, HOURLY: 3 } as const;
export const EndType = { NONE: -1, NEVER: 0, TIMES: 1, DATE: 2 } as const;

export type SchedParent = 'BACKUPJOB' | 'VM';

/** A scheduled action (ScheduledAction.cc), shared by backup jobs and VMs, ids from one counter. */
export interface SchedAction {
  id: number;
  parentId: number;
  type: SchedParent;
  action: string;
  args: string;
  time: number;
  repeat: number;
  days: string;
  endType: number;
  endValue: number;
  done: number;
  message: string;
  warning: number;
}

export function newSchedAction(type: SchedParent, parentId: number): SchedAction {
  return { id: -1, parentId, type, action: '', args: '', time: -1, repeat: Repeat.NONE, days: '', endType: EndType.NONE,
    endValue: -1, done: -1, message: '', warning: 0 };
}

/** The VM actions a scheduled action may run (ScheduledAction::VM_ACTIONS). */
export const VM_SCHED_ACTIONS = new Set(['terminate', 'terminate-hard', 'undeploy', 'undeploy-hard', 'hold', 'release',
  'stop', 'suspend', 'resume', 'reboot', 'reboot-hard', 'poweroff', 'poweroff-hard', 'snapshot-create',
  'snapshot-revert', 'snapshot-delete', 'disk-snapshot-create', 'disk-snapshot-revert', 'disk-snapshot-delete', 'backup']);

/**
 * VectorAttribute::vector_value for numbers: missing or empty → not found (target untouched); otherwise the
 * stream result is written to the target, and it counts only when the whole text parsed.
 */
function vectorNumber(va: ReadonlyMap<string, string>, key: string, parse: typeof streamInt): { found: boolean; value?: number } {
  const text = va.get(key);
  if (text === undefined || text === '') return { found: false };
  const r = parse(text);
  return { found: r.complete, value: r.value };
}

/** ScheduledAction::parse_time: absolute epoch, or "+seconds" from origin (never for backup jobs). -1 = invalid. */
export function parseSchedTime(type: SchedParent, text: string, origin: number): number {
  let base = 0;
  let rest = text;
  if (text.startsWith('+')) {
    if (type === 'BACKUPJOB') return -1;
    rest = text.slice(1);
    base = origin;
  }
  const r = streamLong(rest);
  return r.complete ? r.value + base : -1;
}

/** ScheduledAction::days_in_range: the error text, or null. */
function daysError(repeat: number, days: string): string | null {
  const set = new Set<number>();
  for (const token of days.split(',')) {
    if (token === '') continue;
    const r = streamInt(token);
    if (r.parsed) set.add(r.value);
  }
  if (set.size === 0 && repeat > Repeat.NONE) return 'Scheduled Action repeat set, but DAYS are empty';
  const sorted = [...set].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const messages = ['Days in a week have to be in [0,6] range', 'Days in a month have to be in [1,31] range',
    'Days in a year have to be in [0,365] range', 'Hours have to be in [0,168] range'];
  const firstDay = [0, 1, 0, 1];
  const lastDay = [7, 32, 366, 168];
  const extra = repeat === Repeat.HOURLY && set.size !== 1;
  if (first < firstDay[repeat] || last >= lastDay[repeat] || extra) return messages[repeat];
  return null;
}

/**
 * ScheduledAction::parse applied to `sa` in place (a new action or, for schedupdate, an existing one: what the
 * vector does not mention keeps its value). Returns the error text, or null.
 */
export function applySchedActionVector(sa: SchedAction, va: ReadonlyMap<string, string>, origin: number): string | null {
  if (sa.type === 'BACKUPJOB') {
    sa.action = 'backup';
  } else {
    const action = va.get('ACTION');
    if (action !== undefined && action !== '') {
      if (!VM_SCHED_ACTIONS.has(action)) return `${action} is not supported.`;
      sa.action = action;
    }
  }
  if (sa.action === '') return 'No ACTION in template for Scheduled Action.';

  let text = va.get('TIME') ?? '';
  if (text !== '') sa.time = parseSchedTime(sa.type, text, origin);
  if (sa.time === -1) return `Unable to parse the time value or value is empty: ${text}`;

  const warning = va.get('WARNING');
  if (warning !== undefined) text = warning;
  if (warning !== undefined && warning !== '') sa.warning = parseSchedTime(sa.type, warning, origin);
  if (sa.warning === -1) return `Unable to parse the warning value: ${text}`;

  const repeat = vectorNumber(va, 'REPEAT', streamInt);
  if (repeat.found) {
    const r = repeat.value!;
    if (r < Repeat.NONE || r > Repeat.HOURLY) return `Wrong REPEAT value: ${r}`;
    sa.repeat = r;
  }
  const days = va.get('DAYS');
  if (sa.repeat === Repeat.NONE) {
    sa.days = '';
  } else if (days !== undefined) {
    sa.days = days;
    const err = daysError(sa.repeat, sa.days);
    if (err) return err;
  } else if (sa.days === '') {
    return 'Repeat set, but DAYS are empty';
  }

  const endType = vectorNumber(va, 'END_TYPE', streamInt);
  if (endType.found) {
    const e = endType.value!;
    if (e < EndType.NONE || e > EndType.DATE) return `Wrong END_TYPE value: ${e}`;
    sa.endType = e;
  }
  if (sa.endType <= EndType.NEVER) {
    sa.endValue = -1;
  } else {
    const endValue = vectorNumber(va, 'END_VALUE', streamLong);
    // A partly parsed END_VALUE still lands in the field, as the C++ stream writes it.
    if (endValue.value !== undefined) sa.endValue = endValue.value;
    if (endValue.found && sa.endType === EndType.TIMES && sa.endValue < 0) {
      return 'Error parsing END_VALUE, times has to be greater or equal to 0';
    }
    // oned notes a missing END_VALUE but does not fail (ScheduledAction.cc), so neither do we.
  }
  const args = va.get('ARGS');
  if (args !== undefined) sa.args = args;
  return null;
}
