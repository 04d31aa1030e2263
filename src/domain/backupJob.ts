import { streamInt, streamUnsigned } from './cppParse.js';
import type { PoolObject } from './poolObject.js';
import type { Template } from './template.js';

/** A backup job (BackupJob.h): a pool object with a priority, four VM sets and its scheduled-action ids. */
export interface BackupJob extends PoolObject {
  priority: number;
  lastBackupTime: number;
  lastBackupDuration: number;
  schedActions: number[];
  updatedVms: number[];
  outdatedVms: number[];
  backingUpVms: number[];
  errorVms: number[];
  template: Template;
}

export const DEFAULT_PRIORITY = 50;
export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 99;
/** Highest priority a user without ADMIN rights may set through one.backupjob.priority (BackupJob.cc). */
export const MAX_USER_PRIORITY = 49;

/** The first single attribute of that name; a vector of that name reads as absent (Template::get). */
function firstSingle(t: Template, name: string): string | undefined {
  const first = t.getAll(name)[0];
  return first && first.kind === 'single' ? first.value : undefined;
}

/** PoolObjectSQL::erase_template_attribute: the value oned reads, then every attribute of that name goes. */
function erase(t: Template, name: string): { found: boolean; value: string | undefined } {
  const value = firstSingle(t, name);
  const found = t.erase(name).length > 0;
  return { found, value };
}

/** one_util::split into unsigned ints: empty and non-numeric tokens are skipped, "5abc" reads as 5. */
export function splitVmIds(text: string): number[] {
  const ids: number[] = [];
  for (const token of text.split(',')) {
    if (token === '') continue;
    const r = streamUnsigned(token);
    if (r.parsed) ids.push(r.value);
  }
  return ids;
}

/** BACKUP_VMS as oned rewrites it: order kept, only consecutive duplicates dropped (std::unique). */
export function normaliseBackupVms(text: string): number[] {
  return splitVmIds(text).filter((id, i, all) => i === 0 || all[i - 1] !== id);
}

/** Backups::parse_disk_ids: non-negative integers, sorted and unique; the reason they are refused, or the ids. */
export function parseDiskIds(text: string): number[] | string {
  if (text === '') return [];
  const ids: number[] = [];
  for (const token of text.split(',')) {
    const r = streamInt(token);
    if (!r.complete || r.value < 0) return `Invalid DISK_IDS value: ${text}`;
    ids.push(r.value);
  }
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** BackupJob::str_to_execution. */
export const executionOf = (text: string | undefined) => ((text ?? '').toUpperCase() === 'PARALLEL' ? 'PARALLEL' : 'SEQUENTIAL');

export interface ParsedBackupJob {
  /** PRIORITY found in the template, when it was in range (allocate only; update strips it before). */
  priority?: number;
  backupVms: number[];
  /** BACKUP_VMS_OLD as given (allocate honours a user-supplied one), to tell added from removed VMs. */
  oldBackupVms: string;
}

/**
 * BackupJob::parse: normalises the template in place (defaults, upper-casing, BACKUP_VMS, DISK_IDS) and returns
 * what the caller needs to finish: the priority and the old/new VM lists. A string is the error text.
 */
export function parseBackupJobTemplate(t: Template): ParsedBackupJob | string {
  const keep = erase(t, 'KEEP_LAST');
  const keepValue = keep.value === undefined ? 0 : streamInt(keep.value).value;
  t.add({ kind: 'single', name: 'KEEP_LAST', value: String(!keep.found || keepValue < 0 ? 0 : keepValue) });

  const vol = erase(t, 'BACKUP_VOLATILE');
  t.add({ kind: 'single', name: 'BACKUP_VOLATILE', value: vol.found && (vol.value ?? '').toUpperCase() === 'YES' ? 'YES' : 'NO' });

  const upperOr = (name: string, allowed: string[], fallback: string) => {
    const { found, value } = erase(t, name);
    const up = (value ?? '').toUpperCase();
    return !found || value === undefined || value === '' || !allowed.includes(up) ? fallback : up;
  };
  t.add({ kind: 'single', name: 'FS_FREEZE', value: upperOr('FS_FREEZE', ['NONE', 'AGENT', 'SUSPEND'], 'NONE') });
  const mode = upperOr('MODE', ['FULL', 'INCREMENT'], 'FULL');
  t.add({ kind: 'single', name: 'MODE', value: mode });
  if (mode === 'INCREMENT') {
    t.add({ kind: 'single', name: 'INCREMENT_MODE', value: upperOr('INCREMENT_MODE', ['CBT', 'SNAPSHOT'], 'CBT') });
  }
  const exec = erase(t, 'EXECUTION');
  t.add({ kind: 'single', name: 'EXECUTION', value: executionOf(exec.value) });

  const result: ParsedBackupJob = { backupVms: [], oldBackupVms: '' };
  const prio = erase(t, 'PRIORITY');
  if (prio.found) {
    // The stream value counts even when junk follows ("60abc" is 60; "abc" is 0).
    const p = prio.value === undefined ? 0 : streamInt(prio.value).value;
    if (p >= MIN_PRIORITY && p <= MAX_PRIORITY) result.priority = p;
  }

  const disks = erase(t, 'DISK_IDS');
  if (disks.found) {
    const ids = parseDiskIds(disks.value ?? '');
    if (typeof ids === 'string') return ids;
    t.add({ kind: 'single', name: 'DISK_IDS', value: ids.join(',') });
  }

  const vms = erase(t, 'BACKUP_VMS');
  result.backupVms = vms.found ? normaliseBackupVms(vms.value ?? '') : [];
  t.add({ kind: 'single', name: 'BACKUP_VMS', value: result.backupVms.join(',') });
  result.oldBackupVms = erase(t, 'BACKUP_VMS_OLD').value ?? '';
  return result;
}

/** one_util::split_unique into a set of unsigned ints. */
export const vmIdSet = (text: string) => new Set(splitVmIds(text));

const sortedUnique = (ids: Iterable<number>) => [...new Set(ids)].sort((a, b) => a - b);

/** The four sets keep only VMs still listed in BACKUP_VMS (ObjectCollection::del_not_present). */
export function keepListedVms(job: BackupJob, listed: ReadonlySet<number>): void {
  job.updatedVms = job.updatedVms.filter((id) => listed.has(id));
  job.outdatedVms = job.outdatedVms.filter((id) => listed.has(id));
  job.backingUpVms = job.backingUpVms.filter((id) => listed.has(id));
  job.errorVms = job.errorVms.filter((id) => listed.has(id));
}

/** BackupJob::execute: the error text, or null after filling OUTDATED. */
export function executeBackupJob(job: BackupJob, nowS: number): string | null {
  if (job.backingUpVms.length > 0 || job.outdatedVms.length > 0) return 'Unable to execute Backup Job, pending backups in progress';
  job.errorVms = [];
  job.updatedVms = [];
  const vms = firstSingle(job.template, 'BACKUP_VMS');
  if (vms === undefined) return 'Wrong BACKUP_VMS attribute or not defined';
  job.outdatedVms = sortedUnique(splitVmIds(vms));
  job.lastBackupTime = nowS;
  job.template.erase('ERROR');
  return null;
}

/** BackupJob::cancel: returns the VMs whose running backups are to be cancelled. */
export function cancelBackupJob(job: BackupJob): number[] {
  const running = job.backingUpVms;
  job.outdatedVms = [];
  job.backingUpVms = [];
  return running;
}

/** BackupJob::retry. */
export function retryBackupJob(job: BackupJob): void {
  job.outdatedVms = sortedUnique([...job.outdatedVms, ...job.errorVms]);
  job.errorVms = [];
  job.template.erase('ERROR');
}
