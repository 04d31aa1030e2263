import type { BackupJob } from '../domain/backupJob.js';
import type { SchedAction } from '../domain/schedAction.js';
import { renderLock, renderOwnership, renderPermissions } from './poolObject.js';
import { el, idList } from './text.js';

/** ScheduledAction::to_xml: plain text children in a fixed order. */
export function renderSchedAction(sa: SchedAction): string {
  return `<SCHED_ACTION>${el('ID', sa.id)}${el('PARENT_ID', sa.parentId)}${el('TYPE', sa.type)}${el('ACTION', sa.action)}`
    + `${el('ARGS', sa.args)}${el('TIME', sa.time)}${el('REPEAT', sa.repeat)}${el('DAYS', sa.days)}`
    + `${el('END_TYPE', sa.endType)}${el('END_VALUE', sa.endValue)}${el('DONE', sa.done)}${el('MESSAGE', sa.message)}`
    + `${el('WARNING', sa.warning)}</SCHED_ACTION>`;
}

/**
 * BackupJob::to_xml. With `schedActions` (one.backupjob.info only) the SCHED_ACTION elements follow every
 * template attribute inside TEMPLATE, in id order.
 */
export function renderBackupJob(job: BackupJob, schedActions?: readonly SchedAction[]): string {
  let template = job.template.toXml('TEMPLATE');
  if (schedActions && schedActions.length > 0) {
    const extra = [...schedActions].sort((a, b) => a.id - b.id).map(renderSchedAction).join('');
    template = template.slice(0, -'</TEMPLATE>'.length) + extra + '</TEMPLATE>';
  }
  return `<BACKUPJOB>${renderOwnership(job)}${renderLock(job.lock)}${renderPermissions(job.permissions)}`
    + `${el('PRIORITY', job.priority)}${el('LAST_BACKUP_TIME', job.lastBackupTime)}${el('LAST_BACKUP_DURATION', job.lastBackupDuration)}`
    + `${idList('SCHED_ACTIONS', job.schedActions)}${idList('UPDATED_VMS', job.updatedVms)}${idList('OUTDATED_VMS', job.outdatedVms)}`
    + `${idList('BACKING_UP_VMS', job.backingUpVms)}${idList('ERROR_VMS', job.errorVms)}${template}</BACKUPJOB>`;
}
