/**
 * Where an emulated backup stands. Its end was fixed when it started, from the size of its disks and the emulated
 * throughput (or EMU_BACKUP_SECONDS), so the transfer advances at a constant rate between the two times.
 */
export interface BackupProgress {
  /** 0 at the start, 1 at the expected end. */
  fraction: number;
  transferredMb: number;
  /** Seconds until the expected end; 0 once it is due. */
  remainingS: number;
}

export function backupProgress(run: { sizeMb: number; startedAt: number; endsAt: number }, nowS: number): BackupProgress {
  const length = run.endsAt - run.startedAt;
  const fraction = length <= 0 ? 1 : Math.min(1, Math.max(0, (nowS - run.startedAt) / length));
  return { fraction, transferredMb: Math.floor(run.sizeMb * fraction), remainingS: Math.max(0, run.endsAt - nowS) };
}
