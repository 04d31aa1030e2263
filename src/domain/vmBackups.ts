import { parseDiskIds } from './backupJob.js';
import { streamInt } from './cppParse.js';
import type { Vm } from './vm.js';

const yes = (v: string | undefined) => (v ?? '').toUpperCase() === 'YES';
const boolText = (b: boolean) => (b ? 'YES' : 'NO');

/**
 * VirtualMachineDisk::backup_increment: no disk blocks incremental backups. Raw disks on TM drivers that copy
 * files (ssh, local, shared, qcow2) and qcow2 disks with snapshots block them; swap and FS disks are ignored
 * unless BACKUP_VOLATILE.
 */
export function canIncrement(vm: Vm, backupVolatile: boolean): boolean {
  if (vm.template.getVectors('SNAPSHOT').length > 0) return false;
  for (const d of vm.template.getVectors('DISK')) {
    const type = (d.get('TYPE') ?? '').toUpperCase();
    if (type === 'SWAP' || type === 'FILESYSTEM') continue;
    if (type === 'FS' && !backupVolatile) continue;
    const format = (d.get('FORMAT') ?? d.get('DRIVER') ?? '').toLowerCase();
    const tm = (d.get('TM_MAD') ?? '').toLowerCase();
    if (format === 'raw' && ['ssh', 'local', 'shared', 'qcow2'].includes(tm)) return false;
    if (format === 'qcow2' && Number(d.get('DISK_SNAPSHOT_TOTAL_SIZE') ?? 0) > 0) return false;
  }
  return true;
}

/** Disk ids a backup may include (the context disk is not one of them). */
export function eligibleDiskIds(vm: Vm, backupVolatile: boolean): number[] {
  return vm.template.getVectors('DISK')
    .filter((d) => {
      const type = (d.get('TYPE') ?? '').toUpperCase();
      return type !== 'SWAP' && type !== 'FILESYSTEM' && (type !== 'FS' || backupVolatile);
    })
    .map((d) => Number(d.get('DISK_ID') ?? -1));
}

/**
 * Backups::parse: applies a BACKUP_CONFIG vector to the VM's config (append: only what is given; replace: what is
 * missing goes back to its default). Returns the error text or null.
 */
export function applyBackupConfig(vm: Vm, cfg: ReadonlyMap<string, string>, append: boolean): string | null {
  const config = { ...vm.backups.config };
  const keep = cfg.get('KEEP_LAST');
  const keepParsed = keep !== undefined && keep !== '' ? streamInt(keep) : undefined;
  if (keepParsed?.complete) config.KEEP_LAST = String(Math.max(0, keepParsed.value));
  else if (!append) delete config.KEEP_LAST;

  const wasVolatile = yes(config.BACKUP_VOLATILE);
  let volatileChanged = false;
  if (cfg.has('BACKUP_VOLATILE')) {
    const v = yes(cfg.get('BACKUP_VOLATILE'));
    volatileChanged = v !== wasVolatile;
    config.BACKUP_VOLATILE = boolText(v);
  } else if (!append) {
    volatileChanged = wasVolatile;
    config.BACKUP_VOLATILE = 'NO';
  }
  const currentIds = config.DISK_IDS ?? '';
  let disksChanged = false;
  if (cfg.has('DISK_IDS')) {
    const ids = parseDiskIds(cfg.get('DISK_IDS') ?? '');
    if (typeof ids === 'string') return ids;
    const eligible = eligibleDiskIds(vm, yes(config.BACKUP_VOLATILE));
    const bad = ids.find((id) => !eligible.includes(id));
    if (bad !== undefined) return `Invalid DISK_IDS, disk ${bad} cannot be backed up`;
    if (ids.length === 0) delete config.DISK_IDS; else config.DISK_IDS = ids.join(',');
    disksChanged = (config.DISK_IDS ?? '') !== currentIds;
  } else if (!append) {
    delete config.DISK_IDS;
    disksChanged = currentIds !== '';
  }
  const freeze = (cfg.get('FS_FREEZE') ?? '').toUpperCase();
  if (freeze !== '') config.FS_FREEZE = ['NONE', 'AGENT', 'SUSPEND'].includes(freeze) ? freeze : 'NONE';
  else if (!append) config.FS_FREEZE = 'NONE';

  const incremental = canIncrement(vm, yes(config.BACKUP_VOLATILE));
  if (!incremental) {
    config.INCREMENTAL_BACKUP_ID = '-1';
    config.LAST_INCREMENT_ID = '-1';
    config.MODE = 'FULL';
    delete config.INCREMENT_MODE;
  } else {
    const mode = cfg.get('MODE') ?? '';
    if (mode !== '' || !append) {
      const newMode = mode.toUpperCase() === 'INCREMENT' ? 'INCREMENT' : 'FULL';
      if (newMode !== 'INCREMENT' || config.MODE !== 'INCREMENT') {
        config.INCREMENTAL_BACKUP_ID = '-1';
        config.LAST_INCREMENT_ID = '-1';
      }
      config.MODE = newMode;
      const incMode = (cfg.get('INCREMENT_MODE') ?? '').toUpperCase();
      if (incMode !== '') config.INCREMENT_MODE = incMode === 'SNAPSHOT' ? 'SNAPSHOT' : 'CBT';
      else if (!append) config.INCREMENT_MODE = 'CBT';
    }
  }
  if (incremental && (disksChanged || volatileChanged)) {
    config.INCREMENTAL_BACKUP_ID = '-1';
    config.LAST_INCREMENT_ID = '-1';
  }
  if (cfg.has('INTERACTIVE')) config.INTERACTIVE = boolText(yes(cfg.get('INTERACTIVE')));
  else if (!append) config.INTERACTIVE = 'NO';
  if (yes(config.INTERACTIVE) && config.MODE === 'INCREMENT' && (config.INCREMENT_MODE ?? '').toUpperCase() === 'SNAPSHOT') {
    return 'Interactive backups do not support SNAPSHOT increment mode.';
  }
  vm.backups.config = config;
  return null;
}
