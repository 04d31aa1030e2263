import type { ApiMethod, App, Request } from '../api/app.js';
import { buildRegistry } from '../api/methods.js';
import { nowSeconds } from '../clock.js';
import type { Caller } from '../domain/authorization.js';
import { failureMessage, OneError } from '../domain/errors.js';
import type { RpcValue } from '../rpc/values.js';
import { objectsBeyondFreshCloud } from '../store/cloudContents.js';
import { getUser } from '../store/users.js';

export class CloudNotEmptyError extends Error {}

/** The demo's VMs: alternately on the two hosts; their disks' sizes set how long a backup takes. */
const VMS = [
  { name: 'web-1', os: 'ubuntu-24.04', dataMb: 0 },
  { name: 'web-2', os: 'ubuntu-24.04', dataMb: 0 },
  { name: 'app-1', os: 'debian-12', dataMb: 2048 },
  { name: 'app-2', os: 'debian-12', dataMb: 2048 },
  { name: 'db-1', os: 'debian-12', dataMb: 4096 },
  { name: 'db-2', os: 'debian-12', dataMb: 4096 },
  { name: 'cache-1', os: 'ubuntu-24.04', dataMb: 0 },
  { name: 'files-1', os: 'ubuntu-24.04', dataMb: 16384 },
];
const OS_IMAGES: Record<string, number> = { 'ubuntu-24.04': 2048, 'debian-12': 3072 };
/** Seconds until each job's first run: within the first minute, one tick (MANAGER_TIMER 15 s) apart. */
const FIRST_RUN_IN = { hourly: 30, databases: 45 };

export interface DemoCloud {
  /** When the schedules were set (emulated epoch): the first runs are FIRST_RUN_IN after it. */
  seededAt: number;
  hosts: number[]; datastore: number; vms: Array<{ id: number; name: string; host: number }>;
  jobs: Array<{ id: number; name: string; firstRun: number }>;
}

/**
 * Fills an empty cloud with a small one where backups start within a minute: two hosts, a 1 TiB backup datastore,
 * eight running VMs on OS images and data disks of several sizes, and two backup jobs: "hourly" (SEQUENTIAL,
 * FULL, every hour) over four VMs and "databases" (PARALLEL, INCREMENT, KEEP_LAST 4, every hour) over the other
 * four. Everything is made through the API methods, as oneadmin.
 */
export async function seedDemoCloud(app: App): Promise<DemoCloud> {
  const found = await objectsBeyondFreshCloud(app.db);
  if (found.length > 0) {
    throw new CloudNotEmptyError(`the database already holds a cloud (${found.join(', ')}); `
      + 'seed --demo only fills an empty one: point it at a new data folder or database');
  }
  const oneadmin = await getUser(app.db, 0);
  const caller: Caller = { uid: 0, gid: 0, groups: new Set([0]), uname: oneadmin?.name ?? 'oneadmin', gname: 'oneadmin',
    umask: app.config.DEFAULT_UMASK };
  const registry = buildRegistry();
  const call = async (name: string, ...params: RpcValue[]): Promise<number> => {
    const method = registry.get(name) as ApiMethod;
    const req: Request = { app, caller, method: name, reqId: 0 };
    try {
      return await method.run(req, ['', ...params]) as number;
    } catch (err) {
      if (err instanceof OneError) throw new Error(failureMessage(name, 0, method.object, err));
      throw err;
    }
  };

  const hosts = [await call('one.host.allocate', 'demo-host-1', 'kvm', 'kvm', -1),
    await call('one.host.allocate', 'demo-host-2', 'kvm', 'kvm', -1)];
  const datastore = await call('one.datastore.allocate', 'NAME = "demo-backups"\nTYPE = "BACKUP_DS"\nDS_MAD = "rsync"\n'
    + 'TM_MAD = "-"\nRSYNC_HOST = "backup.demo"\nRSYNC_USER = "oneadmin"\nTOTAL_MB = 1048576', -1);
  const images = new Map<string, number>();
  for (const [name, sizeMb] of Object.entries(OS_IMAGES)) {
    images.set(name, await call('one.image.allocate', `NAME = "${name}"\nTYPE = "OS"\nSIZE = ${sizeMb}`, 1));
  }
  const vms: DemoCloud['vms'] = [];
  for (const [i, spec] of VMS.entries()) {
    let disks = `DISK = [ IMAGE_ID = ${images.get(spec.os)} ]`;
    if (spec.dataMb > 0) {
      const data = await call('one.image.allocate', `NAME = "${spec.name}-data"\nTYPE = "DATABLOCK"\nPERSISTENT = "YES"\nSIZE = ${spec.dataMb}`, 1);
      disks += `\nDISK = [ IMAGE_ID = ${data} ]`;
    }
    const id = await call('one.vm.allocate', `NAME = "${spec.name}"\nCPU = 1\nVCPU = 2\nMEMORY = 2048\n${disks}`, false);
    const host = hosts[i % hosts.length];
    await call('one.vm.deploy', id, host);
    vms.push({ id, name: spec.name, host });
  }
  const now = nowSeconds(app.clock);
  const vmIds = (names: string[]) => vms.filter((v) => names.includes(v.name)).map((v) => v.id).join(',');
  const hourly = now + FIRST_RUN_IN.hourly;
  const databases = now + FIRST_RUN_IN.databases;
  const jobs = [
    { id: await call('one.backupjob.allocate', `NAME = "hourly"\nBACKUP_VMS = "${vmIds(['web-1', 'web-2', 'app-1', 'app-2'])}"\n`
      + `DATASTORE_ID = ${datastore}\nEXECUTION = "SEQUENTIAL"\nMODE = "FULL"\nKEEP_LAST = 24\n`
      + `SCHED_ACTION = [ TIME = "${hourly}", REPEAT = "3", DAYS = "1", END_TYPE = "0" ]`), name: 'hourly', firstRun: hourly },
    { id: await call('one.backupjob.allocate', `NAME = "databases"\nBACKUP_VMS = "${vmIds(['db-1', 'db-2', 'cache-1', 'files-1'])}"\n`
      + `DATASTORE_ID = ${datastore}\nEXECUTION = "PARALLEL"\nMODE = "INCREMENT"\nKEEP_LAST = 4\n`
      + `SCHED_ACTION = [ TIME = "${databases}", REPEAT = "3", DAYS = "1", END_TYPE = "0" ]`), name: 'databases', firstRun: databases },
  ];
  return { seededAt: now, hosts, datastore, vms, jobs };
}

/** What `oned-emu seed --demo` prints. */
export function describeDemoCloud(demo: DemoCloud): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const at = (t: number) => {
    const d = new Date(t * 1000);
    return `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} (in ${t - demo.seededAt} s), then every hour`;
  };
  return [
    'Demo cloud created:',
    `  hosts ${demo.hosts.join(', ')}; backup datastore ${demo.datastore} "demo-backups" (1 TiB)`,
    `  ${demo.vms.length} running VMs: ${demo.vms.map((v) => `${v.id} ${v.name}`).join(', ')}`,
    `  backup job ${demo.jobs[0].id} "hourly": SEQUENTIAL, FULL, KEEP_LAST 24, first run at ${at(demo.jobs[0].firstRun)}`,
    `  backup job ${demo.jobs[1].id} "databases": PARALLEL, INCREMENT, KEEP_LAST 4, first run at ${at(demo.jobs[1].firstRun)}`,
    'Serve it (oned-emu serve) and watch: onebackupjob list, onevm list, oned-emu top',
    '',
  ].join('\n');
}
