/**
 * A VM's last backup as OpenNebula's Prometheus exporter reports it (opennebula_vm_backup_last_status: 1 success,
 * 0 failure; opennebula_vm_backup_last_timestamp: when). oned keeps no such record; what it leaves is the newest
 * BACKUP image (or increment) of the VM and, after a failure, USER_TEMPLATE/ERROR = "<ctime>: BACKUP: <reason>",
 * which a later success does not clear. The newer of the two is the last backup.
 */
export interface LastBackup { status: 0 | 1; at: number }

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** ctime(3) as set_template_error_message writes it, in the server's local time. */
const BACKUP_ERROR = /^(?:Sun|Mon|Tue|Wed|Thu|Fri|Sat) ([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4}): BACKUP: /;

/** When a backup failure wrote `error`, in epoch seconds; undefined for any other ERROR text. */
export function backupFailureTime(error: string): number | undefined {
  const m = BACKUP_ERROR.exec(error);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]);
  if (month < 0) return undefined;
  const at = new Date(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  return Math.floor(at.getTime() / 1000);
}

export function lastBackup(lastSuccessAt: number | null, backupError: string | null): LastBackup | undefined {
  const failedAt = backupError === null ? undefined : backupFailureTime(backupError);
  if (failedAt !== undefined && (lastSuccessAt === null || failedAt > lastSuccessAt)) return { status: 0, at: failedAt };
  return lastSuccessAt === null ? undefined : { status: 1, at: lastSuccessAt };
}
