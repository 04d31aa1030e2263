import type { App } from '../api/app.js';
import { currentHistory } from '../domain/vm.js';
import { startVmBackup } from '../api/vmBackup.js';
import { releaseVmFromHost } from '../api/vmPlacement.js';
import { executionOf, executeBackupJob, normaliseBackupVms, type BackupJob } from '../domain/backupJob.js';
import { failureMessage, OneError } from '../domain/errors.js';
import { advanceSchedAction } from '../domain/schedTime.js';
import type { SchedAction } from '../domain/schedAction.js';
import { applyBackupConfig } from '../domain/vmBackups.js';
import { performVmAction } from '../domain/vmLifecycle.js';
import { VmState } from '../domain/vmState.js';
import { ctime } from '../logger.js';
import { backupJobTable } from '../store/backupJobs.js';
import type { Queryable } from '../store/database.js';
import { dueSchedActions, getSchedAction, saveSchedAction } from '../store/schedActions.js';
import { activeBackupsByHost, topPriorityJobIds } from '../store/schedulerQueries.js';
import { vmTable } from '../store/vms.js';

/** Counters of running backups, rebuilt from the database each tick and bumped per launch (update_backup_counters). */
interface Slots { active: number; perHost: Map<number, number> }

export interface SamOptions { timeZone: string; onedQuirks: boolean }

const stamp = (now: number) => ctime(now * 1000);

/** oned's failure text for a call made on the scheduler's behalf (Request::failure_message with "[<action>]"). */
function failureText(action: string, err: unknown): string {
  if (err instanceof OneError) return failureMessage(action, 0, 'VM', err);
  throw err;
}

async function finishAction(tx: Queryable, sa: SchedAction, now: number, error: string | null, opts: SamOptions): Promise<void> {
  if (error === null) {
    sa.message = '';
    advanceSchedAction(sa, now, opts);
  } else {
    sa.message = `${stamp(now)} : ${error}`;
  }
  await saveSchedAction(tx, sa);
}

/** ScheduledActionManager::run_scheduled_action_vm for actions other than backup, as oneadmin. */
async function runVmAction(app: App, saId: number, vmId: number, now: number, opts: SamOptions): Promise<void> {
  await app.db.transaction(async (tx) => {
    const sa = await getSchedAction(tx, saId, true);
    if (!sa) return;
    const vm = await vmTable.get(tx, vmId, true);
    let error: string | null = null;
    if (!vm) {
      error = `[${sa.action}] Error getting virtual machine [${vmId}].`;
    } else {
      const host = currentHistory(vm)?.hid;
      const outcome = performVmAction(vm, sa.action, now, { uid: 0, gid: 0, reqId: -1 });
      if (typeof outcome === 'string') {
        error = `[${sa.action}] Error performing action "${sa.action}": ${outcome}`;
      } else {
        if (outcome.releasesHost && host !== undefined) await releaseVmFromHost(tx, vm, host);
        await vmTable.save(tx, vm);
      }
    }
    app.log.info('SCH', `Executing action '${sa.action}' for VM ${vmId} : ${error ?? 'Success'}.`);
    await finishAction(tx, sa, now, error, opts);
  });
}

/** "<ds_id>[,<reset>]" of a VM backup action (ScheduledActionManager::vm_action_call). */
function backupArgs(args: string): { ds: number; reset: boolean } | undefined {
  const parts = (args.includes(',') ? args : `${args},0`).split(',');
  if (parts.length !== 2 || !/^\s*-?\d+\s*$/.test(parts[0]) || !/^\s*[01]\s*$/.test(parts[1])) return undefined;
  return { ds: Number(parts[0]), reset: parts[1].trim() === '1' };
}


/** run_vm_backups: queued VM-level scheduled backups, ahead of the jobs (scheduler.md §1.7). */
async function runVmBackups(app: App, queue: Array<{ saId: number; vmId: number }>, slots: Slots, now: number, opts: SamOptions): Promise<void> {
  const { MAX_BACKUPS, MAX_BACKUPS_HOST } = app.config;
  for (const { saId, vmId } of queue) {
    if (MAX_BACKUPS !== 0 && slots.active >= MAX_BACKUPS) {
      app.log.debug('SCH', `Reached max number of active backups (${MAX_BACKUPS})`);
      break;
    }
    const vm = await vmTable.get(app.db, vmId);
    if (!vm || vm.history.length === 0) continue;
    const bj = vm.backups.config.BACKUP_JOB_ID;
    if (bj !== undefined && bj !== '-1') {
      await app.db.transaction(async (tx) => {
        const current = await vmTable.get(tx, vmId, true);
        if (!current) return;
        current.userTemplate.replace('ERROR', `${stamp(now)}: Unable to launch scheduled backup for VM ${vmId}, the VM is part of Backup Job ID ${bj}`);
        await vmTable.save(tx, current);
      });
      continue;
    }
    const hid = currentHistory(vm)!.hid;
    if (MAX_BACKUPS_HOST !== 0 && (slots.perHost.get(hid) ?? 0) >= MAX_BACKUPS_HOST) {
      app.log.debug('SCH', `Reached max number of active backups for host ${hid} (${MAX_BACKUPS_HOST})`);
      break;
    }
    const sa = await getSchedAction(app.db, saId);
    if (!sa) continue;
    const args = backupArgs(sa.args);
    let error: string | null = null;
    if (!args) error = 'Missing or malformed ARGS for: backup. Format: datastore-id, reset';
    else {
      try {
        // The action is marked done in the transaction that starts the backup: a crash cannot launch it twice.
        await startVmBackup(app, { jobId: -1 }, vmId, args.ds, args.reset, async (tx) => {
          const current = await getSchedAction(tx, saId, true);
          if (current) await finishAction(tx, current, now, null, opts);
        });
      } catch (err) { error = failureText('backup', err); }
    }
    app.log.info('SCH', `Executing action 'backup' for VM ${vmId} : ${error ?? 'Success'}.`);
    if (error !== null) {
      await app.db.transaction(async (tx) => {
        const current = await getSchedAction(tx, saId, true);
        if (current) await finishAction(tx, current, now, error, opts);
      });
    }
    // A slot is used whether or not the call worked, as oned counts it.
    slots.active++;
    slots.perHost.set(hid, (slots.perHost.get(hid) ?? 0) + 1);
  }
}

/** scheduled_backup_jobs: one due schedule per job per tick runs BackupJob::execute (scheduler.md §1.8). */
async function runJobSchedules(app: App, due: SchedAction[], now: number, opts: SamOptions): Promise<void> {
  const processed = new Set<number>();
  for (const candidate of due) {
    if (processed.has(candidate.parentId)) continue;
    processed.add(candidate.parentId);
    await app.db.transaction(async (tx) => {
      const sa = await getSchedAction(tx, candidate.id, true);
      const job = await backupJobTable.get(tx, candidate.parentId, true);
      if (!sa || !job) return;
      const error = executeBackupJob(job, now);
      app.log.info('SCH', `Executing action 'backup' for Backup Job ${job.id} : ${error ?? 'Success'}.`);
      await finishAction(tx, sa, now, error, opts);
      await backupJobTable.save(tx, job);
    });
  }
}

/** BackupJob::get_backup_config: the job's settings every VM it backs up takes. */
function jobBackupConfig(job: BackupJob): Map<string, string> {
  const cfg = new Map<string, string>();
  for (const key of ['KEEP_LAST', 'BACKUP_VOLATILE', 'FS_FREEZE', 'MODE', 'INCREMENT_MODE', 'DISK_IDS']) {
    const v = job.template.get(key);
    if (v !== undefined) cfg.set(key, v);
  }
  return cfg;
}

/** One VM of a job: checks §1.9 steps 3-9. Returns 'break' when a limit stops the job for this tick. */
async function launchJobVm(app: App, jobId: number, vmId: number, slots: Slots, now: number): Promise<'break' | 'next'> {
  const { MAX_BACKUPS_HOST } = app.config;
  const removeVm = async () => app.db.transaction(async (tx) => {
    const job = await backupJobTable.get(tx, jobId, true);
    if (!job) return;
    job.outdatedVms = job.outdatedVms.filter((v) => v !== vmId);
    const listed = normaliseBackupVms(job.template.get('BACKUP_VMS') ?? '').filter((v) => v !== vmId);
    job.template.replace('BACKUP_VMS', listed.join(','));
    await backupJobTable.save(tx, job);
  });
  const vm = await vmTable.get(app.db, vmId);
  if (!vm || vm.state === VmState.DONE) { await removeVm(); return 'next'; }
  if (vm.history.length === 0) return 'next';
  const hid = currentHistory(vm)!.hid;
  if (MAX_BACKUPS_HOST !== 0 && (slots.perHost.get(hid) ?? 0) >= MAX_BACKUPS_HOST) {
    app.log.debug('SCH', `Reached max number of active backups for host ${hid} (${MAX_BACKUPS_HOST})`);
    return 'break';
  }
  const recordError = async (text: string) => app.db.transaction(async (tx) => {
    const job = await backupJobTable.get(tx, jobId, true);
    if (!job) return;
    job.outdatedVms = job.outdatedVms.filter((v) => v !== vmId);
    job.errorVms = [...job.errorVms, vmId];
    job.template.replace('ERROR', `${stamp(now)} : ${text}`);
    await backupJobTable.save(tx, job);
  });
  // The job's configuration overwrites the VM's for good, even when the backup then fails (§4.7).
  const job = await backupJobTable.get(app.db, jobId);
  if (!job) return 'break';
  const configError = await app.db.transaction(async (tx) => {
    const current = await vmTable.get(tx, vmId, true);
    if (!current) return null;
    const error = applyBackupConfig(current, jobBackupConfig(job), true);
    if (!error) await vmTable.save(tx, current);
    return error;
  });
  if (configError) { await recordError(configError); return 'next'; }
  const dsText = job.template.get('DATASTORE_ID');
  const ds = dsText !== undefined && /^\s*-?\d+\s*$/.test(dsText) ? Number(dsText) : -1;
  const reset = (job.template.get('RESET') ?? '').toUpperCase() === 'YES';
  try {
    // OUTDATED → BACKING_UP commits with the VM entering BACKUP.
    await startVmBackup(app, { jobId }, vmId, ds, reset, async (tx) => {
      const current = await backupJobTable.get(tx, jobId, true);
      if (!current) return;
      current.outdatedVms = current.outdatedVms.filter((v) => v !== vmId);
      current.backingUpVms = [...current.backingUpVms, vmId];
      await backupJobTable.save(tx, current);
    });
  } catch (err) {
    await recordError(failureText('backup', err));
    return 'next';
  }
  app.log.info('SCH', `Backup Job ${jobId} executing backup for VM ${vmId}`);
  slots.active++;
  slots.perHost.set(hid, (slots.perHost.get(hid) ?? 0) + 1);
  return 'next';
}

/** backup_jobs: the OUTDATED VMs of the top-priority jobs, in BACKUP_VMS order (scheduler.md §1.9). */
async function runBackupJobs(app: App, slots: Slots, now: number): Promise<void> {
  const { MAX_BACKUPS } = app.config;
  // With every slot taken each job's loop would stop at its first VM: nothing to do this tick.
  if (MAX_BACKUPS !== 0 && slots.active >= MAX_BACKUPS) {
    app.log.debug('SCH', `Reached max number of active backups (${MAX_BACKUPS})`);
    return;
  }
  for (const jobId of await topPriorityJobIds(app.db)) {
    const job = await backupJobTable.get(app.db, jobId);
    if (!job) continue;
    const sequential = executionOf(job.template.get('EXECUTION')) === 'SEQUENTIAL';
    for (const vmId of normaliseBackupVms(job.template.get('BACKUP_VMS') ?? '')) {
      const current = await backupJobTable.get(app.db, jobId);
      if (!current || !current.outdatedVms.includes(vmId)) continue;
      if (sequential && current.backingUpVms.length >= 1) break;
      if (MAX_BACKUPS !== 0 && slots.active >= MAX_BACKUPS) {
        app.log.debug('SCH', `Reached max number of active backups (${MAX_BACKUPS})`);
        break;
      }
      if (await launchJobVm(app, jobId, vmId, slots, now) === 'break') break;
    }
  }
}

/** One timer_action of the scheduled-action manager (scheduler.md §1.3), at `now`. */
export async function samTick(app: App, now: number, opts: SamOptions): Promise<void> {
  const vmQueue: Array<{ saId: number; vmId: number }> = [];
  const seenVms = new Set<number>();
  for (const sa of await dueSchedActions(app.db, 'VM', now)) {
    if (seenVms.has(sa.parentId)) continue;
    seenVms.add(sa.parentId);
    if (sa.action === 'backup') vmQueue.push({ saId: sa.id, vmId: sa.parentId });
    else await runVmAction(app, sa.id, sa.parentId, now, opts);
  }
  const slots: Slots = { active: 0, perHost: await activeBackupsByHost(app.db) };
  for (const n of slots.perHost.values()) slots.active += n;
  await runVmBackups(app, vmQueue, slots, now, opts);
  await runJobSchedules(app, await dueSchedActions(app.db, 'BACKUPJOB', now), now, opts);
  await runBackupJobs(app, slots, now);
}

