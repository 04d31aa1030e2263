import type { BackupIncrement } from './image.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** create_backup_image's name: "<vmid> " + strftime("%d-%b %H.%M.%S") in the server's local time. */
export function backupImageName(vmId: number, epochS: number): string {
  const d = new Date(epochS * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${vmId} ${p2(d.getDate())}-${MONTHS[d.getMonth()]} ${p2(d.getHours())}.${p2(d.getMinutes())}.${p2(d.getSeconds())}`;
}

/** Backups::remove_last: the lowest image ids beyond KEEP_LAST (0 keeps everything). */
export function imagesBeyondKeepLast(ids: readonly number[], keepLast: number): number[] {
  if (keepLast <= 0 || ids.length <= keepLast) return [];
  return [...ids].sort((a, b) => a - b).slice(0, ids.length - keepLast);
}

/**
 * The flatten a KEEP_LAST=K chain gets once it holds more than K increments: the K highest ids stay, the lowest
 * of them becomes the FULL base (PARENT_ID -1) carrying the size of everything merged into it.
 */
export function flattenIncrements(increments: readonly BackupIncrement[], keepLast: number): BackupIncrement[] {
  const sorted = [...increments].sort((a, b) => a.id - b.id);
  if (keepLast <= 0 || sorted.length <= keepLast) return sorted;
  const cut = sorted.length - keepLast;
  const merged = sorted.slice(0, cut + 1);
  const base: BackupIncrement = { ...sorted[cut], type: 'FULL', parentId: -1, size: merged.reduce((s, i) => s + i.size, 0) };
  return [base, ...sorted.slice(cut + 1)];
}

/** The VM's USER_TEMPLATE/ERROR text (VirtualMachine::set_template_error_message): cut at 100 characters. */
export function vmErrorMessage(ctimeText: string, message: string): string {
  const text = message.length >= 100 ? `${message.slice(0, 100)}... see more details in VM log` : message;
  return `${ctimeText}: ${text}`;
}
