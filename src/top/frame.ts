import type { TopBackup, TopJob, TopSnapshot } from './snapshot.js';

/** What a frame is drawn for: the server it shows and the terminal's size (no height: every row is shown). */
export interface View { endpoint: string; width: number; height?: number }

const p2 = (n: number) => String(n).padStart(2, '0');

/** "2023-09-23 14:15:00" in local time. */
function dateTime(epochS: number): string {
  const d = new Date(epochS * 1000);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** "09/23 14:15:00", as `onebackupjob list` shows times; "-" for never. */
function shortTime(epochS: number): string {
  if (epochS <= 0) return '-';
  const d = new Date(epochS * 1000);
  return `${p2(d.getMonth() + 1)}/${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** m:ss, or h:mm:ss from an hour on. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${p2(m)}:${p2(s % 60)}` : `${m}:${p2(s % 60)}`;
}

/** Megabytes as OpenNebula's CLI prints sizes: 850M, 1.7G, 1.0T. */
export function size(mb: number): string {
  if (mb < 1024) return `${mb}M`;
  if (mb < 1024 * 1024) return `${(mb / 1024).toFixed(1)}G`;
  return `${(mb / 1024 / 1024).toFixed(1)}T`;
}

function fit(text: string, width: number): string {
  return text.length <= width ? text.padEnd(width) : `${text.slice(0, width - 1)}…`;
}

/** VM ids joined by commas, as many as fit in `width`, then "+N" for the rest; "-" for none. */
export function idSet(ids: readonly number[], width: number): string {
  if (ids.length === 0) return '-';
  const all = ids.join(',');
  if (all.length <= width) return all;
  for (let shown = ids.length - 1; shown >= 0; shown--) {
    const text = `${ids.slice(0, shown).join(',')}${shown > 0 ? ' ' : ''}+${ids.length - shown}`;
    if (text.length <= width) return text;
  }
  return `+${ids.length}`;
}

/** A progress bar of `width` cells with the percentage after it. */
export function bar(fraction: number, width: number): string {
  const done = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'█'.repeat(done)}${'░'.repeat(width - done)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

const JOB_FIXED = '   ID NAME             PRIO EXEC       LAST BACKUP     TOOK '.length;
const BACKUP_FIXED = '   VM NAME              JOB HOST   SIZE '.length;
const ETA_WIDTH = 9;

function jobLines(jobs: readonly TopJob[], width: number): { header: string; rows: string[] } {
  const setWidth = Math.max('BACKING_UP'.length, Math.floor((width - JOB_FIXED - 3) / 4));
  const col = (text: string) => fit(text, setWidth);
  const header = `   ID NAME             PRIO EXEC       LAST BACKUP     TOOK ${col('OUTDATED')} ${col('BACKING_UP')} ${col('UPDATED')} ${col('ERROR')}`;
  const rows = jobs.map((j) => `${String(j.id).padStart(5)} ${fit(j.name, 16)} ${String(j.priority).padStart(4)} `
    + `${fit(j.execution, 10)} ${fit(shortTime(j.lastBackupTime), 14)} ${(j.lastBackupTime > 0 ? duration(j.lastBackupDuration) : '-').padStart(5)} `
    + `${col(idSet(j.outdated, setWidth))} ${col(idSet(j.backingUp, setWidth))} ${col(idSet(j.updated, setWidth))} ${idSet(j.error, setWidth)}`);
  return { header: header.trimEnd(), rows: rows.map((r) => r.trimEnd()) };
}

function backupLines(backups: readonly TopBackup[], width: number): { header: string; rows: string[] } {
  // The row: fixed columns, [bar], " 100%", the ETA column.
  const barWidth = Math.min(50, Math.max(10, width - BACKUP_FIXED - 2 - 5 - ETA_WIDTH));
  const header = `   VM NAME              JOB HOST   SIZE ${'PROGRESS'.padEnd(barWidth + 7)} ${'ETA'.padStart(ETA_WIDTH - 1)}`;
  const rows = backups.map((b) => `${String(b.vmId).padStart(5)} ${fit(b.vmName, 16)} ${(b.jobId < 0 ? '-' : String(b.jobId)).padStart(4)} `
    + `${String(b.hostId).padStart(4)} ${size(b.sizeMb).padStart(6)} ${bar(b.progress, barWidth)} ${duration(b.remaining).padStart(ETA_WIDTH - 1)}`);
  return { header, rows };
}

/** At most `room` rows: when some are left out, the last shown row says how many. */
function limit(rows: string[], room: number): string[] {
  if (rows.length <= room) return rows;
  const shown = Math.max(0, room - 1);
  return [...rows.slice(0, shown), `  … ${rows.length - shown} more`];
}

/** One screen of `oned-emu top`: the emulated time, every backup job with its four sets, every running backup. */
export function renderFrame(snap: TopSnapshot, view: View): string {
  const total = (pick: (j: TopJob) => readonly number[]) => snap.jobs.reduce((n, j) => n + pick(j).length, 0);
  const head = [
    `oned-emu top - ${view.endpoint} - ${dateTime(snap.now)}`,
    `Backup jobs: ${snap.jobs.length} (VMs: ${total((j) => j.outdated)} outdated, ${total((j) => j.backingUp)} backing up, `
      + `${total((j) => j.updated)} updated, ${total((j) => j.error)} error)   Backups running: ${snap.backups.length}`,
    '',
  ];
  const jobs = jobLines(snap.jobs, view.width);
  const backups = backupLines(snap.backups, view.width);
  let jobRows = jobs.rows.length > 0 ? jobs.rows : ['  (no backup jobs)'];
  let backupRows = backups.rows.length > 0 ? backups.rows : ['  (no backup running)'];
  if (view.height !== undefined) {
    const room = Math.max(2, view.height - head.length - 3);
    if (jobRows.length + backupRows.length > room) {
      const forJobs = Math.min(jobRows.length, Math.max(Math.ceil(room / 2), room - backupRows.length));
      jobRows = limit(jobRows, forJobs);
      backupRows = limit(backupRows, room - jobRows.length);
    }
  }
  const lines = [...head, jobs.header, ...jobRows, '', backups.header, ...backupRows];
  return lines.map((l) => (l.length > view.width ? l.slice(0, view.width) : l)).join('\n');
}
