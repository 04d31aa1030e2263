import type { App } from '../api/app.js';
import { currentHistory } from '../domain/vm.js';
import { enterBackup, planVmBackup, startVmBackup, newDatastoreCache, type BackupPlan, type DatastoreCache } from '../api/vmBackup.js';
import { releaseVmFromHost } from '../api/vmPlacement.js';
import { executionOf, executeBackupJob, normaliseBackupVms, type BackupJob } from '../domain/backupJob.js';
import { failureMessage, noExists, OneError } from '../domain/errors.js';
import type { Vm } from '../domain/vm.js';
import { insertBackupRuns, type BackupRun } from './backupDriver.js';
import { advanceSchedAction } from '../domain/schedTime.js';
import type { SchedAction } from '../domain/schedAction.js';
import { applyBackupConfig } from '../domain/vmBackups.js';
import { performVmAction, SCHEDULER_ACTOR } from '../domain/vmLifecycle.js';
import { VmState } from '../domain/vmState.js';
import { ctime } from '../logger.js';
import { backupJobTable } from '../store/backupJobs.js';
import { writeBehind, type Queryable } from '../store/database.js';
import { dueSchedActions, getSchedAction, getSchedActions, saveSchedAction, saveSchedActions } from '../store/schedActions.js';
import { activeBackupsByHost, topPriorityJobs } from '../store/schedulerQueries.js';
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

/** MESSAGE and the next TIME of an action that ran (or failed) at `now`. */
function finishActionInMemory(sa: SchedAction, now: number, error: string | null, opts: SamOptions): void {
  if (error === null) {
    sa.message = '';
    advanceSchedAction(sa, now, opts);
  } else {
    sa.message = `${stamp(now)} : ${error}`;
  }
}

async function finishAction(tx: Queryable, sa: SchedAction, now: number, error: string | null, opts: SamOptions): Promise<void> {
  finishActionInMemory(sa, now, error, opts);
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
      const outcome = performVmAction(vm, sa.action, now, SCHEDULER_ACTOR);
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

/** Due schedules executed per transaction: a burst of due jobs commits in a few statements, not one per job. */
const EXECUTE_CHUNK = 200;

/** scheduled_backup_jobs: one due schedule per job per tick runs BackupJob::execute (scheduler.md §1.8). */
async function runJobSchedules(app: App, due: SchedAction[], now: number, opts: SamOptions): Promise<void> {
  const seenJobs = new Set<number>();
  const first = due.filter((sa) => !seenJobs.has(sa.parentId) && seenJobs.add(sa.parentId));
  for (let i = 0; i < first.length; i += EXECUTE_CHUNK) {
    const chunk = first.slice(i, i + EXECUTE_CHUNK);
    await app.db.transaction(async (tx) => {
      const actions = await getSchedActions(tx, chunk.map((sa) => sa.id), true);
      const jobs = await backupJobTable.getMany(tx, chunk.map((sa) => sa.parentId), true);
      const executed: BackupJob[] = [];
      const finished: SchedAction[] = [];
      for (const candidate of chunk) {
        const sa = actions.find((a) => a.id === candidate.id);
        const job = jobs.get(candidate.parentId);
        if (!sa || !job) continue;
        const error = executeBackupJob(job, now);
        app.log.info('SCH', `Executing action 'backup' for Backup Job ${job.id} : ${error ?? 'Success'}.`);
        finishActionInMemory(sa, now, error, opts);
        finished.push(sa);
        executed.push(job);
      }
      await saveSchedActions(tx, finished);
      await backupJobTable.saveMany(tx, executed);
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

/**
 * What the tick decided for one VM of a job from unlocked reads (§1.9 steps 3-9); applied in order under locks when
 * the tick's launches commit. `backupError` and `launch` first give the VM the job's configuration.
 */
type JobStep = { jobId: number; vmId: number } & (
  | { kind: 'remove' }
  | { kind: 'configError'; text: string }
  | { kind: 'backupError'; text: string }
  | { kind: 'launch'; plan: BackupPlan; hid: number });

interface JobSettings { config: Map<string, string>; ds: number; reset: boolean }

function jobSettings(job: BackupJob): JobSettings {
  const dsText = job.template.get('DATASTORE_ID');
  return {
    config: jobBackupConfig(job),
    ds: dsText !== undefined && /^\s*-?\d+\s*$/.test(dsText) ? Number(dsText) : -1,
    reset: (job.template.get('RESET') ?? '').toUpperCase() === 'YES',
  };
}

/** One VM of a job, decided on unlocked reads. 'break' when the host's limit stops the job for this tick. */
async function planJobVm(app: App, job: BackupJob, settings: JobSettings, vmId: number, slots: Slots,
  datastores: DatastoreCache, prefetched: Map<number, Vm>): Promise<JobStep | 'break' | 'skip'> {
  const { MAX_BACKUPS_HOST } = app.config;
  const vm = prefetched.get(vmId) ?? await vmTable.get(app.db, vmId);
  if (!vm || vm.state === VmState.DONE) return { jobId: job.id, vmId, kind: 'remove' };
  if (vm.history.length === 0) return 'skip';
  const hid = currentHistory(vm)!.hid;
  if (MAX_BACKUPS_HOST !== 0 && (slots.perHost.get(hid) ?? 0) >= MAX_BACKUPS_HOST) {
    app.log.debug('SCH', `Reached max number of active backups for host ${hid} (${MAX_BACKUPS_HOST})`);
    return 'break';
  }
  // The job's configuration overwrites the VM's for good, even when the backup then fails (§4.7).
  const configError = applyBackupConfig(vm, settings.config, true);
  if (configError) return { jobId: job.id, vmId, kind: 'configError', text: configError };
  try {
    const plan = await planVmBackup(app.db, vm, settings.ds, settings.reset, datastores);
    return { jobId: job.id, vmId, kind: 'launch', plan, hid };
  } catch (err) {
    return { jobId: job.id, vmId, kind: 'backupError', text: failureText('backup', err) };
  }
}

/**
 * The tick's decisions in one transaction: VMs then jobs locked, each step applied in order on the fresh rows (a
 * VM that changed meanwhile fails its launch with oned's text), OUTDATED → BACKING_UP committed with the VM entering
 * BACKUP. Returns the launches that happened.
 */
async function commitJobSteps(app: App, steps: JobStep[], settings: Map<number, JobSettings>, now: number): Promise<JobStep[]> {
  if (steps.length === 0) return [];
  return app.db.transaction(async (tx) => {
    const vms = await vmTable.getMany(tx, steps.filter((st) => st.kind === 'launch' || st.kind === 'backupError').map((st) => st.vmId), true);
    const jobs = await backupJobTable.getMany(tx, [...new Set(steps.map((st) => st.jobId))], true);
    const changedVms = new Set<Vm>();
    const runs: BackupRun[] = [];
    const launched: JobStep[] = [];
    for (const step of steps) {
      const job = jobs.get(step.jobId);
      if (!job) continue;
      const recordError = (text: string) => {
        job.outdatedVms = job.outdatedVms.filter((v) => v !== step.vmId);
        job.errorVms = [...job.errorVms, step.vmId];
        job.template.replace('ERROR', `${stamp(now)} : ${text}`);
      };
      if (step.kind === 'remove') {
        job.outdatedVms = job.outdatedVms.filter((v) => v !== step.vmId);
        const listed = normaliseBackupVms(job.template.get('BACKUP_VMS') ?? '').filter((v) => v !== step.vmId);
        job.template.replace('BACKUP_VMS', listed.join(','));
        continue;
      }
      if (step.kind === 'configError') { recordError(step.text); continue; }
      const vm = vms.get(step.vmId);
      if (!vm) { recordError(failureText('backup', noExists('VM', step.vmId))); continue; }
      const configError = applyBackupConfig(vm, settings.get(step.jobId)!.config, true);
      if (configError) { recordError(configError); continue; }
      changedVms.add(vm);
      if (step.kind === 'backupError') { recordError(step.text); continue; }
      try {
        runs.push(enterBackup(app, vm, step.plan, step.jobId, settings.get(step.jobId)!.reset, SCHEDULER_ACTOR, now));
      } catch (err) {
        recordError(failureText('backup', err));
        continue;
      }
      job.outdatedVms = job.outdatedVms.filter((v) => v !== step.vmId);
      job.backingUpVms = [...job.backingUpVms, step.vmId];
      launched.push(step);
    }
    const { writes, flush } = writeBehind(tx);
    await insertBackupRuns(writes, runs);
    await vmTable.saveMany(writes, [...changedVms]);
    await backupJobTable.saveMany(writes, [...jobs.values()]);
    await flush();
    return launched;
  });
}

/** Jobs read per query while walking the top-priority list (most ticks stop at the first few: the slots fill). */
const JOB_CHUNK = 32;

/** VMs of a job read ahead in one query. */
const PREFETCH_LIMIT = 64;

/** backup_jobs: the OUTDATED VMs of the top-priority jobs, in BACKUP_VMS order (scheduler.md §1.9). */
async function runBackupJobs(app: App, slots: Slots, now: number): Promise<void> {
  const { MAX_BACKUPS } = app.config;
  const full = () => MAX_BACKUPS !== 0 && slots.active >= MAX_BACKUPS;
  // With every slot taken each job's loop would stop at its first VM: nothing to do this tick.
  if (full()) {
    app.log.debug('SCH', `Reached max number of active backups (${MAX_BACKUPS})`);
    return;
  }
  const steps: JobStep[] = [];
  const settings = new Map<number, JobSettings>();
  const datastores = newDatastoreCache();
  let after: { priority: number; id: number } | undefined;
  for (let more = true; more && !full();) {
    const page = await topPriorityJobs(app.db, after, JOB_CHUNK);
    more = page.jobs.length === JOB_CHUNK;
    for (const job of page.jobs) {
      const id = job.id;
      after = { priority: page.priority!, id };
      settings.set(id, jobSettings(job));
      const sequential = executionOf(job.template.get('EXECUTION')) === 'SEQUENTIAL';
      const outdated = new Set(job.outdatedVms);
      let backingUp = job.backingUpVms.length;
      const listed = normaliseBackupVms(job.template.get('BACKUP_VMS') ?? '');
      // The VMs this job will most likely look at, read in one query: as many as there are free slots.
      const wanted = sequential ? 1 : MAX_BACKUPS === 0 ? PREFETCH_LIMIT : Math.min(PREFETCH_LIMIT, MAX_BACKUPS - slots.active);
      const prefetched = await vmTable.getMany(app.db, listed.filter((v) => outdated.has(v)).slice(0, wanted));
      for (const vmId of listed) {
        if (!outdated.has(vmId)) continue;
        if (sequential && backingUp >= 1) break;
        if (full()) {
          app.log.debug('SCH', `Reached max number of active backups (${MAX_BACKUPS})`);
          break;
        }
        const step = await planJobVm(app, job, settings.get(id)!, vmId, slots, datastores, prefetched);
        if (step === 'break') break;
        if (step === 'skip') continue;
        outdated.delete(vmId);
        steps.push(step);
        if (step.kind !== 'launch') continue;
        backingUp++;
        slots.active++;
        slots.perHost.set(step.hid, (slots.perHost.get(step.hid) ?? 0) + 1);
      }
    }
  }
  for (const step of await commitJobSteps(app, steps, settings, now)) {
    app.log.info('SCH', `Backup Job ${step.jobId} executing backup for VM ${step.vmId}`);
  }
}

/** One timer_action of the scheduled-action manager (scheduler.md §1.3), at `now`. */
export async function samTick(app: App, now: number, opts: SamOptions): Promise<void> {
  const vmQueue: Array<{ saId: number; vmId: number }> = [];
  const seenVms = new Set<number>();
  // Both lists in one read: nothing the VM actions do changes which job schedules are due.
  const due = await dueSchedActions(app.db, now);
  for (const sa of due.VM) {
    if (seenVms.has(sa.parentId)) continue;
    seenVms.add(sa.parentId);
    if (sa.action === 'backup') vmQueue.push({ saId: sa.id, vmId: sa.parentId });
    else await runVmAction(app, sa.id, sa.parentId, now, opts);
  }
  const slots: Slots = { active: 0, perHost: await activeBackupsByHost(app.db) };
  for (const n of slots.perHost.values()) slots.active += n;
  await runVmBackups(app, vmQueue, slots, now, opts);
  await runJobSchedules(app, due.BACKUPJOB, now, opts);
  await runBackupJobs(app, slots, now);
}

