import { XMLParser } from 'fast-xml-parser';
import xmlrpc from 'xmlrpc';

/** A backup job as `oned-emu top` shows it: its four VM sets and its last run. */
export interface TopJob {
  id: number; name: string; priority: number; execution: string; lastBackupTime: number; lastBackupDuration: number;
  outdated: number[]; backingUp: number[]; updated: number[]; error: number[];
}

/** A backup in flight, as emu.backup.progress describes it. */
export interface TopBackup {
  vmId: number; vmName: string; hostId: number; jobId: number; sizeMb: number; transferredMb: number;
  startedAt: number; endsAt: number; remaining: number; progress: number;
}

/** One frame's worth of data: the emulated time, every backup job, every running backup. */
export interface TopSnapshot { now: number; jobs: TopJob[]; backups: TopBackup[] }

const SETS = ['OUTDATED_VMS', 'BACKING_UP_VMS', 'UPDATED_VMS', 'ERROR_VMS'];
const parser = new XMLParser({
  parseTagValue: false,
  isArray: (_name, jpath) => jpath === 'BACKUPJOB_POOL.BACKUPJOB' || SETS.some((set) => jpath === `BACKUPJOB_POOL.BACKUPJOB.${set}.ID`),
});

type JobElement = Record<string, unknown> & { TEMPLATE?: Record<string, unknown> };

/** The jobs of a BACKUPJOB_POOL document (one.backupjobpool.info), by id. */
export function parseBackupJobPool(xml: string): TopJob[] {
  const doc = parser.parse(xml) as { BACKUPJOB_POOL?: { BACKUPJOB?: JobElement[] } | '' };
  const jobs = (doc.BACKUPJOB_POOL || {}).BACKUPJOB ?? [];
  const ids = (job: JobElement, set: string) => ((job[set] as { ID?: string[] } | '' | undefined) || {}).ID?.map(Number) ?? [];
  return jobs.map((j) => ({
    id: Number(j.ID), name: String(j.NAME), priority: Number(j.PRIORITY), execution: String(j.TEMPLATE?.EXECUTION ?? ''),
    lastBackupTime: Number(j.LAST_BACKUP_TIME), lastBackupDuration: Number(j.LAST_BACKUP_DURATION),
    outdated: ids(j, 'OUTDATED_VMS'), backingUp: ids(j, 'BACKING_UP_VMS'), updated: ids(j, 'UPDATED_VMS'), error: ids(j, 'ERROR_VMS'),
  })).sort((a, b) => a.id - b.id);
}

/** An XML-RPC connection to oned (or oned-emu) with a session, as OpenNebula's CLI holds one. */
export class OneClient {
  private readonly client: xmlrpc.Client;

  constructor(endpoint: string, private readonly session: string) {
    this.client = endpoint.startsWith('https:') ? xmlrpc.createSecureClient({ url: endpoint }) : xmlrpc.createClient({ url: endpoint });
  }

  /** oned's reply value; a failure reply or a fault rejects with its message. */
  call(method: string, ...params: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.client.methodCall(method, [this.session, ...params], (err, reply: unknown[]) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else if (reply[0] !== true) reject(new Error(String(reply[1])));
        else resolve(reply[1]);
      });
    });
  }
}

interface ProgressStruct {
  NOW: number;
  BACKUPS: Array<{ VM_ID: number; VM_NAME: string; HOST_ID: number; BACKUPJOB_ID: number; SIZE_MB: number; TRANSFERRED_MB: number;
    STARTED: number; ENDS: number; REMAINING: number; PROGRESS: number }>;
}

export async function fetchSnapshot(client: OneClient): Promise<TopSnapshot> {
  const [pool, progress] = await Promise.all([
    client.call('one.backupjobpool.info', -2, -1, -1) as Promise<string>,
    client.call('emu.backup.progress') as Promise<ProgressStruct>,
  ]);
  return {
    now: progress.NOW,
    jobs: parseBackupJobPool(pool),
    backups: progress.BACKUPS.map((b) => ({ vmId: b.VM_ID, vmName: b.VM_NAME, hostId: b.HOST_ID, jobId: b.BACKUPJOB_ID,
      sizeMb: b.SIZE_MB, transferredMb: b.TRANSFERRED_MB, startedAt: b.STARTED, endsAt: b.ENDS, remaining: b.REMAINING,
      progress: b.PROGRESS })),
  };
}
