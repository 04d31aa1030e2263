import { Gauge, type Registry } from 'prom-client';
import { lastBackup } from '../domain/vmBackupStatus.js';
import type { Queryable } from '../store/database.js';
import { backupJobFigures, vmBackupTraces } from '../store/metricsQueries.js';
import { activeBackupsByHost } from '../store/schedulerQueries.js';

const JOB_LABELS = ['one_backupjob_id', 'one_backupjob_name'] as const;
/** OpenNebulaBackupRestoreCollector's labels. */
const VM_LABELS = ['one_vm_id', 'one_vm_name'] as const;

/**
 * The cloud-wide gauges: backup jobs, VMs' last backups and the backup slots, read from the database at each scrape.
 * Every series is rebuilt per scrape, so deleted jobs and VMs drop out as they do from OpenNebula's exporter.
 */
export class CloudMetrics {
  private readonly jobVms: Gauge<'one_backupjob_id' | 'one_backupjob_name' | 'state'>;
  private readonly jobLastTime: Gauge<(typeof JOB_LABELS)[number]>;
  private readonly jobLastDuration: Gauge<(typeof JOB_LABELS)[number]>;
  private readonly jobPriority: Gauge<(typeof JOB_LABELS)[number]>;
  private readonly vmLastStatus: Gauge<(typeof VM_LABELS)[number]>;
  private readonly vmLastTimestamp: Gauge<(typeof VM_LABELS)[number]>;
  private readonly active: Gauge;
  private readonly max: Gauge;

  constructor(registry: Registry, private readonly maxBackups: number) {
    const registers = [registry];
    this.jobVms = new Gauge({ name: 'opennebula_backupjob_vms', registers, labelNames: [...JOB_LABELS, 'state'],
      help: 'VMs of the backup job by state: outdated (OUTDATED_VMS), backing_up (BACKING_UP_VMS), updated (UPDATED_VMS), error (ERROR_VMS)' });
    this.jobLastTime = new Gauge({ name: 'opennebula_backupjob_last_backup_timestamp_seconds', registers, labelNames: JOB_LABELS,
      help: 'Unix timestamp of the last run of the backup job (LAST_BACKUP_TIME; 0 if it never ran)' });
    this.jobLastDuration = new Gauge({ name: 'opennebula_backupjob_last_backup_duration_seconds', registers, labelNames: JOB_LABELS,
      help: 'Seconds from the start of the last run of the backup job to its last VM backup (LAST_BACKUP_DURATION)' });
    this.jobPriority = new Gauge({ name: 'opennebula_backupjob_priority', registers, labelNames: JOB_LABELS,
      help: 'Priority of the backup job (0-99)' });
    this.vmLastStatus = new Gauge({ name: 'opennebula_vm_backup_last_status', registers, labelNames: VM_LABELS,
      help: 'Last backup result for VM (1=success, 0=failed)' });
    this.vmLastTimestamp = new Gauge({ name: 'opennebula_vm_backup_last_timestamp', registers, labelNames: VM_LABELS,
      help: 'Unix timestamp of last backup event for VM' });
    this.active = new Gauge({ name: 'opennebula_backups_active', registers,
      help: 'VMs being backed up now (BACKUP or BACKUP_POWEROFF), cloud-wide' });
    this.max = new Gauge({ name: 'opennebula_backups_max', registers,
      help: 'Backups allowed at once cloud-wide (MAX_BACKUPS; 0 = no limit)' });
  }

  /** Sets every gauge from the database. */
  async refresh(q: Queryable): Promise<void> {
    const [jobs, traces, byHost] = [await backupJobFigures(q), await vmBackupTraces(q), await activeBackupsByHost(q)];
    for (const g of [this.jobVms, this.jobLastTime, this.jobLastDuration, this.jobPriority, this.vmLastStatus, this.vmLastTimestamp]) g.reset();
    for (const job of jobs) {
      const labels = { one_backupjob_id: job.id, one_backupjob_name: job.name };
      this.jobVms.set({ ...labels, state: 'outdated' }, job.outdated);
      this.jobVms.set({ ...labels, state: 'backing_up' }, job.backingUp);
      this.jobVms.set({ ...labels, state: 'updated' }, job.updated);
      this.jobVms.set({ ...labels, state: 'error' }, job.error);
      this.jobLastTime.set(labels, job.lastBackupTime);
      this.jobLastDuration.set(labels, job.lastBackupDuration);
      this.jobPriority.set(labels, job.priority);
    }
    for (const vm of traces) {
      const last = lastBackup(vm.lastSuccessAt, vm.backupError);
      if (!last) continue;
      const labels = { one_vm_id: vm.vmId, one_vm_name: vm.vmName };
      this.vmLastStatus.set(labels, last.status);
      this.vmLastTimestamp.set(labels, last.at);
    }
    this.active.set([...byHost.values()].reduce((a, b) => a + b, 0));
    this.max.set(this.maxBackups);
  }
}
