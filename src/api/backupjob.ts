import { AclSelector, isAdmin, Op } from '../domain/authorization.js';
import {
  cancelBackupJob, executeBackupJob, keepListedVms, MAX_PRIORITY, MAX_USER_PRIORITY, MIN_PRIORITY, parseBackupJobTemplate, retryBackupJob,
  vmIdSet, DEFAULT_PRIORITY, type BackupJob,
} from '../domain/backupJob.js';
import { streamInt } from '../domain/cppParse.js';
import { actionError, authorizationError, internalError, noExists, rpcApiError } from '../domain/errors.js';
import { UNLOCKED } from '../domain/lock.js';
import { invalidNameReason } from '../domain/names.js';
import { aclResourceBit } from '../domain/objectTypes.js';
import { defaultPermissions } from '../domain/permissions.js';
import { objectAuth } from '../domain/poolObject.js';
import { PoolFilter, poolWhere } from '../domain/poolFilter.js';
import { applySchedActionVector, newSchedAction, type SchedAction } from '../domain/schedAction.js';
import type { Template } from '../domain/template.js';
import { parseTemplateOr } from './parseTemplate.js';
import { nowSeconds } from '../clock.js';
import { RpcEscapedString, type RpcValue } from '../rpc/values.js';
import { deleteAclRulesWhere, listAclRules } from '../store/acl.js';
import { backupJobExists, backupJobPoolBodies, backupJobTable, backupJobWithSchedActions } from '../store/backupJobs.js';
import { isUniqueViolation, writeBehind, type Queryable } from '../store/database.js';
import { nextOid, reserveOidsBelow } from '../store/poolControl.js';
import { deleteSchedActions, getSchedAction, insertSchedAction, saveSchedAction } from '../store/schedActions.js';
import { backupJobOf, lockVmBackupConfig, saveVmBackupConfig, type VmBackupLink } from '../store/vmBackupConfig.js';
import { renderBackupJob } from '../xml/backupJob.js';
import type { ApiMethod, Request } from './app.js';
import { requireAuthorization } from './authorize.js';
import { listOrder } from './listOrder.js';
import {
  authorizedObject, chmodObject, chownObject, lockedObject, lockObject, renameObject, unlockObject, type PoolKind,
} from './shared.js';
import { updateTemplate } from './templateUpdate.js';

const kind: PoolKind<BackupJob> = { type: 'BACKUPJOB', table: backupJobTable };
const int = (v: RpcValue) => v as number;
const str = (v: RpcValue) => v as string;

interface MembershipPlan { joining: VmBackupLink[]; taken?: { vmId: number; job: number }; leaving: VmBackupLink[] }

/**
 * BackupJob::process_backup_vms, first half, reads and locks only: the VMs new in BACKUP_VMS and the first one
 * another existing job has (a refusal), then the VMs no longer listed that are this job's. VMs that do not exist are
 * skipped. `jobId` is undefined for a job that has no id yet.
 */
async function planVmMembership(tx: Queryable, jobId: number | undefined, newVms: string, oldVms: string): Promise<MembershipPlan> {
  const now = vmIdSet(newVms);
  const before = vmIdSet(oldVms);
  const added = [...now].filter((id) => !before.has(id)).sort((a, b) => a - b);
  const removed = [...before].filter((id) => !now.has(id)).sort((a, b) => a - b);
  const joining: VmBackupLink[] = [];
  for (const vmId of added) {
    const link = await lockVmBackupConfig(tx, vmId);
    if (!link) continue;
    const current = backupJobOf(link);
    if (current !== -1 && current !== jobId && await backupJobExists(tx, current)) return { joining, taken: { vmId, job: current }, leaving: [] };
    joining.push(link);
  }
  const leaving: VmBackupLink[] = [];
  for (const vmId of removed) {
    const link = await lockVmBackupConfig(tx, vmId);
    if (link && jobId !== undefined && backupJobOf(link) === jobId) leaving.push(link);
  }
  return { joining, leaving };
}

/**
 * Second half, writes only: the refusal's text, or the VMs join the job and the ones no longer listed leave it.
 * Runs in the caller's transaction, so a refusal rolls every change back.
 */
async function applyVmMembership(writes: Queryable, jobId: number, plan: MembershipPlan): Promise<string | null> {
  if (plan.taken) return `Unable to add VM ${plan.taken.vmId} to Backup Job ${jobId}. It's already in Backup Job ${plan.taken.job}`;
  for (const link of plan.joining) {
    link.config.BACKUP_JOB_ID = String(jobId);
    await saveVmBackupConfig(writes, link);
  }
  for (const link of plan.leaving) {
    leaveJob(link);
    await saveVmBackupConfig(writes, link);
  }
  return null;
}

/** A VM's backup configuration once it leaves its job: incremental chains of INCREMENT VMs restart. */
function leaveJob(link: VmBackupLink): void {
  delete link.config.BACKUP_JOB_ID;
  if (link.config.MODE === 'INCREMENT') {
    link.config.INCREMENTAL_BACKUP_ID = '-1';
    link.config.LAST_INCREMENT_ID = '-1';
  }
}

/** BackupJob::remove_id_from_vms: VMs leave the job; incremental chains of INCREMENT VMs restart. */
async function releaseVms(tx: Queryable, jobId: number, vmIds: Iterable<number>): Promise<void> {
  for (const vmId of [...vmIds].sort((a, b) => a - b)) {
    const link = await lockVmBackupConfig(tx, vmId);
    if (!link || backupJobOf(link) !== jobId) continue;
    leaveJob(link);
    await saveVmBackupConfig(tx, link);
  }
}

/**
 * BackupJob::parse plus the VM membership step, in two halves: the reads and locks (before an allocation takes its
 * id, so that allocations wait on each other for as short as possible), then the checks' verdict and the writes.
 */
async function prepareJob(tx: Queryable, job: BackupJob, jobId: number | undefined) {
  const parsed = parseBackupJobTemplate(job.template);
  if (typeof parsed === 'string') return parsed;
  return { parsed, plan: await planVmMembership(tx, jobId, parsed.backupVms.join(','), parsed.oldBackupVms) };
}

/** Normalises `job.template` or returns the error text. */
async function finishJob(tx: Queryable, job: BackupJob, prepared: Awaited<ReturnType<typeof prepareJob>>): Promise<{ priority?: number } | string> {
  if (typeof prepared === 'string') return prepared;
  const error = await applyVmMembership(tx, job.id, prepared.plan);
  if (error) return error;
  keepListedVms(job, new Set(prepared.parsed.backupVms));
  return { priority: prepared.parsed.priority };
}

const allocate: ApiMethod = {
  name: 'one.backupjob.allocate', signature: 'A:ss', object: 'BACKUPJOB',
  async run(req, p) {
    const template = parseTemplateOr(str(p[1]));
    const { caller } = req;
    await requireAuthorization(req, [{ op: Op.CREATE, object: { type: 'BACKUPJOB', oid: -1, uid: caller.uid, gid: caller.gid } }]);

    const schedVectors = template.getAll('SCHED_ACTION').filter((a) => a.kind === 'vector');
    const singles = template.erase('SCHED_ACTION').filter((a) => a.kind === 'single');
    for (const s of singles) template.add(s);
    const prioText = template.get('PRIORITY');
    if (prioText !== undefined && streamInt(prioText).complete) {
      const prio = streamInt(prioText).value;
      if (prio < MIN_PRIORITY || prio > MAX_PRIORITY) throw internalError('Wrong priority value');
      if (!isAdmin(caller) && prio > 50) throw authorizationError();
    }
    const name = template.get('NAME') ?? '';
    const bad = invalidNameReason(name);
    if (bad) throw internalError(bad);

    const db = req.app.db;
    let consumed = { jobs: 0, schedActions: 0 };
    try {
      return await db.transaction(async (tx) => {
        consumed = { jobs: 0, schedActions: 0 };
        const taken = await backupJobTable.idByNameAndOwner(tx, name, caller.uid);
        if (taken !== undefined) throw internalError(`NAME is already taken by BACKUP JOB ${taken}.`);
        const jobTemplate = template.clone();
        jobTemplate.erase('NAME');
        const job: BackupJob = {
          id: -1, uid: caller.uid, gid: caller.gid, uname: caller.uname, gname: caller.gname, name,
          permissions: defaultPermissions(caller.uid, caller.gid, caller.umask, req.app.config.ENABLE_OTHER_PERMISSIONS),
          lock: { ...UNLOCKED }, priority: DEFAULT_PRIORITY, lastBackupTime: 0, lastBackupDuration: 0, schedActions: [],
          updatedVms: [], outdatedVms: [], backingUpVms: [], errorVms: [], template: jobTemplate,
        };
        const prepared = await prepareJob(tx, job, undefined);
        // From here to the commit other allocations wait for this one: only writes and id-dependent checks follow.
        const id = await nextOid(tx, 'backupjob_pool');
        job.id = id;
        const writes = writeBehind(tx);
        const normalised = await finishJob(writes.writes, job, prepared);
        if (typeof normalised === 'string') throw internalError(normalised);
        if (normalised.priority !== undefined) job.priority = normalised.priority;
        consumed.jobs = id + 1;
        for (const attr of schedVectors) {
          const vector = new Map(attr.value as Map<string, string>);
          vector.delete('ARGS');
          const sa = newSchedAction('BACKUPJOB', id);
          const error = applySchedActionVector(sa, vector, 0);
          if (error) throw internalError(error);
          job.schedActions.push(await insertSchedAction(tx, sa));
          consumed.schedActions = sa.id + 1;
        }
        await backupJobTable.insert(writes.writes, job);
        await writes.flush();
        return id;
      });
    } catch (err) {
      // oned has already stored the job (and earlier actions) when a scheduled action fails, and drops them
      // again: nothing remains, but their ids are used up. Do the same to the id counters.
      const duplicate = isUniqueViolation(err);
      if (consumed.jobs > 0 && !duplicate) {
        await db.transaction(async (tx) => {
          await reserveOidsBelow(tx, 'backupjob_pool', consumed.jobs);
          if (consumed.schedActions > 0) await reserveOidsBelow(tx, 'schedaction_pool', consumed.schedActions);
        });
      }
      if (duplicate) {
        const taken = await backupJobTable.idByNameAndOwner(db, name, caller.uid);
        if (taken !== undefined) throw internalError(`NAME is already taken by BACKUP JOB ${taken}.`);
      }
      throw err;
    }
  },
};

const info: ApiMethod = {
  name: 'one.backupjob.info', signature: 'A:sib', required: 2, object: 'BACKUPJOB',
  async run(req, p) {
    let schedActions: SchedAction[] = [];
    const job = await authorizedObject(req, kind, int(p[1]), Op.USE_NO_LCK, req.app.db, async (q, id) => {
      const found = await backupJobWithSchedActions(q, id);
      schedActions = found?.schedActions ?? [];
      return found?.job;
    });
    return renderBackupJob(job, schedActions);
  },
};

const update: ApiMethod = {
  name: 'one.backupjob.update', signature: 'A:sisi', required: 3, object: 'BACKUPJOB',
  async run(req, p) {
    const id = int(p[1]);
    const text = str(p[2]);
    const type = p.length > 3 ? int(p[3]) : 0;
    await authorizedObject(req, kind, id, Op.MANAGE);
    if (type !== 0 && type !== 1) throw rpcApiError('Wrong update type');
    await req.app.db.transaction(async (tx) => {
      const job = await lockedObject(tx, kind, id);
      const oldVms = job.template.get('BACKUP_VMS') ?? '';
      job.template = updateTemplate(job.template, text, type === 1, {
        restricted: [], restrictedLabel: 'Template', replaceMode: true,
        prepare: (given) => given.replace('BACKUP_VMS_OLD', oldVms),
      });
      // BackupJob::post_update_template: these can only be set on allocate (or by their own methods).
      for (const name of ['NAME', 'PRIORITY', 'SCHED_ACTION']) job.template.erase(name);
      const normalised = await finishJob(tx, job, await prepareJob(tx, job, job.id));
      if (typeof normalised === 'string') throw internalError(`Cannot update template. ${normalised}`);
      await backupJobTable.save(tx, job);
    });
    return id;
  },
};

const rename: ApiMethod = {
  name: 'one.backupjob.rename', signature: 'A:sis', object: 'BACKUPJOB',
  run: (req, p) => renameObject(req, kind, int(p[1]), str(p[2])),
};

const chmod: ApiMethod = {
  name: 'one.backupjob.chmod', signature: 'A:siiiiiiiiii', object: 'BACKUPJOB',
  run: (req, p) => chmodObject(req, kind, int(p[1]), p.slice(2, 11).map(int)),
};

const chown: ApiMethod = {
  name: 'one.backupjob.chown', signature: 'A:siii', object: 'BACKUPJOB',
  run: (req, p) => chownObject(req, kind, int(p[1]), int(p[2]), int(p[3])),
};

const lock: ApiMethod = {
  name: 'one.backupjob.lock', signature: 'A:siib', required: 3, object: 'BACKUPJOB',
  run: (req, p) => lockObject(req, kind, int(p[1]), int(p[2]), p.length > 3 ? (p[3] as boolean) : false),
};

const unlock: ApiMethod = {
  name: 'one.backupjob.unlock', signature: 'A:si', object: 'BACKUPJOB',
  run: (req, p) => unlockObject(req, kind, int(p[1])),
};

const remove: ApiMethod = {
  name: 'one.backupjob.delete', signature: 'A:si', object: 'BACKUPJOB',
  async run(req, p) {
    const id = int(p[1]);
    const job = await backupJobTable.get(req.app.db, id);
    if (!job) throw noExists('BACKUPJOB', id);
    await requireAuthorization(req, [{ op: Op.MANAGE, object: objectAuth('BACKUPJOB', job) }]);
    await req.app.db.transaction(async (tx) => {
      const current = await lockedObject(tx, kind, id);
      // Running VM backups are not cancelled: they finish and find no job to report to.
      await releaseVms(tx, id, vmIdSet(current.template.get('BACKUP_VMS') ?? ''));
      await backupJobTable.delete(tx, id);
      await deleteSchedActions(tx, current.schedActions);
      const resource = (aclResourceBit('BACKUPJOB') | AclSelector.INDIVIDUAL | BigInt(id)).toString();
      await deleteAclRulesWhere(tx, 'resource = $1', [resource]);
    });
    return id;
  },
};

/** backup / cancel / retry: MANAGE, then a change of the four sets. */
function jobAction(name: string, change: (req: Request, job: BackupJob) => string | null): ApiMethod {
  return {
    name, signature: 'A:si', object: 'BACKUPJOB',
    async run(req, p) {
      const id = int(p[1]);
      await authorizedObject(req, kind, id, Op.MANAGE);
      await req.app.db.transaction(async (tx) => {
        const job = await lockedObject(tx, kind, id);
        const error = change(req, job);
        if (error) throw actionError(error);
        await backupJobTable.save(tx, job);
      });
      return id;
    },
  };
}

const backup = jobAction('one.backupjob.backup', (req, job) => executeBackupJob(job, nowSeconds(req.app.clock)));
const cancel = jobAction('one.backupjob.cancel', (_req, job) => { cancelBackupJob(job); return null; });
const retry = jobAction('one.backupjob.retry', (_req, job) => { retryBackupJob(job); return null; });

const priority: ApiMethod = {
  name: 'one.backupjob.priority', signature: 'A:sii', object: 'BACKUPJOB',
  async run(req, p) {
    const id = int(p[1]);
    const value = int(p[2]);
    if (value < MIN_PRIORITY || value > MAX_PRIORITY) throw actionError('Wrong priority value');
    await authorizedObject(req, kind, id, value > MAX_USER_PRIORITY ? Op.ADMIN : Op.MANAGE);
    await req.app.db.transaction(async (tx) => {
      const job = await lockedObject(tx, kind, id);
      job.priority = value;
      await backupJobTable.save(tx, job);
    });
    return id;
  },
};

/** The first SCHED_ACTION vector of a template (extra ones are ignored), or undefined. */
const firstSchedVector = (t: Template) => t.getVectors('SCHED_ACTION')[0];

const schedadd: ApiMethod = {
  name: 'one.backupjob.schedadd', signature: 'A:sis', object: 'BACKUPJOB',
  async run(req, p) {
    const id = int(p[1]);
    await authorizedObject(req, kind, id, Op.MANAGE);
    const vector = firstSchedVector(parseTemplateOr(str(p[2])));
    if (!vector) throw actionError('No SCHED_ACTION attribute in template');
    const sa = newSchedAction('BACKUPJOB', id);
    const error = applySchedActionVector(sa, vector, 0);
    if (error) throw actionError(error);
    return req.app.db.transaction(async (tx) => {
      const job = await lockedObject(tx, kind, id);
      job.schedActions.push(await insertSchedAction(tx, sa));
      await backupJobTable.save(tx, job);
      return sa.id;
    });
  },
};

const scheddelete: ApiMethod = {
  name: 'one.backupjob.scheddelete', signature: 'A:sii', object: 'BACKUPJOB',
  async run(req, p) {
    const id = int(p[1]);
    const saId = int(p[2]);
    await authorizedObject(req, kind, id, Op.MANAGE);
    await req.app.db.transaction(async (tx) => {
      const job = await lockedObject(tx, kind, id);
      if (!job.schedActions.includes(saId)) throw noExists('SCHEDULEDACTION', saId);
      job.schedActions = job.schedActions.filter((s) => s !== saId);
      await backupJobTable.save(tx, job);
      await deleteSchedActions(tx, [saId]);
    });
    return saId;
  },
};

const schedupdate: ApiMethod = {
  name: 'one.backupjob.schedupdate', signature: 'A:siis', object: 'BACKUPJOB',
  async run(req, p) {
    const id = int(p[1]);
    const saId = int(p[2]);
    await authorizedObject(req, kind, id, Op.MANAGE);
    const vector = firstSchedVector(parseTemplateOr(str(p[3])));
    if (!vector) throw internalError('No SCHED_ACTION attribute in template');
    await req.app.db.transaction(async (tx) => {
      const job = await lockedObject(tx, kind, id);
      if (!job.schedActions.includes(saId)) throw internalError(`SCHED_ACTION with id = ${saId} doesn't exist`);
      const sa = await getSchedAction(tx, saId, true);
      if (!sa) return;
      const error = applySchedActionVector(sa, vector, 0);
      if (error) throw internalError(error);
      await saveSchedAction(tx, sa);
    });
    return saId;
  },
};

const pool: ApiMethod = {
  name: 'one.backupjobpool.info', signature: 'A:siii', object: 'BACKUPJOB',
  async run(req, p) {
    const [filter, start, end] = [int(p[1]), int(p[2]), int(p[3])];
    if (filter < PoolFilter.PRIMARY_GROUP) throw rpcApiError('Incorrect filter_flag');
    const rules = await listAclRules(req.app.db);
    const where = poolWhere(req.caller, 'BACKUPJOB', rules, filter, start, end);
    const page = end < -1 ? { offset: Math.max(0, start), count: -end } : undefined;
    const bodies = await backupJobPoolBodies(req.app.db, where, await listOrder(req), page);
    return new RpcEscapedString(`&lt;BACKUPJOB_POOL&gt;${bodies.join('')}&lt;/BACKUPJOB_POOL&gt;`);
  },
};

export const backupJobMethods: ApiMethod[] = [allocate, info, update, rename, chmod, chown, lock, unlock, remove, backup,
  cancel, retry, priority, schedadd, scheddelete, schedupdate, pool];
