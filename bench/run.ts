/**
 * `npm run bench`: starts oned-emu in a child process per backend (PGlite always, PostgreSQL when
 * BENCH_DATABASE_URL is set), drives it over loopback with N keep-alive XML-RPC clients from this process (the load
 * generator, whose CPU is reported), measures cold start and resident memory on a large cloud, runs the scheduler
 * scenarios in process, prints one table and rewrites bench/RESULTS.md. Numbers, not assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { decodeResponse, encodeCall } from '../src/rpc/codec.js';
import type { RpcValue } from '../src/rpc/values.js';
import { openDatabase, type Database } from '../src/store/database.js';
import { cloud, populate } from './data.js';
import { schedulerBenchmarks } from './scheduler.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLI = resolve(HERE, '../src/cli.js');
const RESULTS = resolve(HERE, '../../bench/RESULTS.md');
const SESSION = 'oneadmin:bench';

interface Row { backend: string; scenario: string; clients: number | '-'; calls: number | '-'; perSecond: number | '-'; p50: number; p99: number; clientCpuMs: number | '-'; note?: string }
const rows: Row[] = [];

/** BENCH_SCALE shrinks the large cloud (e.g. 0.1) for a quick look. */
const scaled = (n: number) => Math.max(1, Math.round(n * Number(process.env.BENCH_SCALE ?? 1)));

class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  constructor(private readonly url: URL) {}
  /** The reply's size once its last byte arrived, not decoded: a large document's latency without the client's parse. */
  raw(method: string, ...params: RpcValue[]): Promise<number> {
    const payload = Buffer.from(encodeCall(method, [SESSION, ...params]));
    return new Promise((resolveCall, reject) => {
      const req = http.request(this.url, { method: 'POST', agent: this.agent, headers: { 'Content-Type': 'text/xml', 'Content-Length': payload.length } }, (res) => {
        let size = 0;
        let head = '';
        res.on('data', (c: Buffer) => { size += c.length; if (head.length < 400) head += c.toString('utf8', 0, 400); });
        res.on('end', () => {
          // Only the start is looked at: an error reply or a fault is short and says so at once.
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
          else if (/<fault>|<boolean>0<\/boolean>/.test(head)) reject(new Error(`${method} failed: ${head.slice(0, 400)}`));
          else resolveCall(size);
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  call(method: string, ...params: RpcValue[]): Promise<RpcValue[]> {
    const payload = Buffer.from(encodeCall(method, [SESSION, ...params]));
    return new Promise((resolveCall, reject) => {
      const req = http.request(this.url, { method: 'POST', agent: this.agent, headers: { 'Content-Type': 'text/xml', 'Content-Length': payload.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const decoded = decodeResponse(Buffer.concat(chunks));
          if (decoded.fault) reject(new Error(decoded.fault.message)); else resolveCall(decoded.value as RpcValue[]);
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
  close(): void { this.agent.destroy(); }
}

interface Server { child: ChildProcess; url: URL; stop(): Promise<void> }

/** The server logs to a file (its request lines would otherwise cost the pipe); its address is read from there. */
async function startServer(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Server & { readyMs: number }> {
  const logFile = join(mkdtempSync(join(tmpdir(), 'oned-emu-bench-log-')), 'oned.log');
  writeFileSync(logFile, '');
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log', logFile, ...args], {
    env: { ...process.env, ONEADMIN_PASSWORD: 'bench', MAX_CONN: '64', KEEPALIVE_MAX_CONN: '0', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = await new Promise<URL>((ok, fail) => {
    const onExit = (code: number | null) => { clearInterval(poll); fail(new Error(`server exited ${code}`)); };
    child.once('exit', onExit);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/[\d.]+:\d+\/RPC2)/.exec(readFileSync(logFile, 'utf8'));
      if (m) { clearInterval(poll); child.off('exit', onExit); ok(new URL(m[1])); }
    }, 20);
  });
  // Ready is announced with the listening line; /ready confirms it over HTTP.
  const readyUrl = new URL('/ready', url);
  for (;;) {
    const ok = await fetch(readyUrl).then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const readyMs = performance.now() - started;
  return {
    child, url, readyMs,
    stop: () => new Promise((done) => { child.once('exit', () => { rmSync(logFile, { force: true }); done(); }); child.kill('SIGTERM'); }),
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `clients` loops calling fn until `seconds` pass; records latency percentiles and throughput. */
async function load(backend: string, scenario: string, url: URL, clients: number, seconds: number,
  fn: (c: Client, i: number) => Promise<unknown>): Promise<void> {
  const pool = Array.from({ length: clients }, () => new Client(url));
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let counter = 0;
  await Promise.all(pool.map(async (c) => {
    while (performance.now() < deadline) {
      const t = performance.now();
      await fn(c, counter++);
      latencies.push(performance.now() - t);
    }
  }));
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  pool.forEach((c) => c.close());
  latencies.sort((a, b) => a - b);
  rows.push({ backend, scenario, clients, calls: latencies.length, perSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50), p99: percentile(latencies, 99), clientCpuMs: (cpu.user + cpu.system) / 1000 });
}

/** Times `count` sequential calls of one kind. */
async function timed(backend: string, scenario: string, url: URL, count: number, fn: (c: Client) => Promise<unknown>): Promise<void> {
  const c = new Client(url);
  const latencies: number[] = [];
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  let replyBytes: unknown;
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    replyBytes = await fn(c);
    latencies.push(performance.now() - t);
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  c.close();
  latencies.sort((a, b) => a - b);
  rows.push({ backend, scenario, clients: 1, calls: count, perSecond: count / elapsed, p50: percentile(latencies, 50),
    p99: percentile(latencies, 99), clientCpuMs: (cpu.user + cpu.system) / 1000,
    note: typeof replyBytes === 'number' ? `reply ${(replyBytes / 1e6).toFixed(1)} MB` : undefined });
}

async function populateJobs(url: URL, from: number, to: number): Promise<void> {
  const clients = Array.from({ length: 8 }, () => new Client(url));
  let next = from;
  await Promise.all(clients.map(async (c) => {
    while (next < to) {
      const i = next++;
      const r = await c.call('one.backupjob.allocate', `NAME = "bench-${i}"\nBACKUP_VMS = "${i},${i + 1}"\nKEEP_LAST = 3\nSCHED_ACTION = [ TIME = "${2000000000 + i}", REPEAT = 0, DAYS = "1" ]`);
      if (r[0] !== true) throw new Error(String(r[1]));
    }
  }));
  clients.forEach((c) => c.close());
}

/** Resident memory of a process, from /proc (Linux). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

function figure(backend: string, scenario: string, value: number, note: string): void {
  rows.push({ backend, scenario, clients: '-', calls: '-', perSecond: '-', p50: value, p99: value, clientCpuMs: '-', note });
}

/** The API scenarios on a fresh cloud. */
async function apiScenarios(backend: string, env: NodeJS.ProcessEnv): Promise<void> {
  const server = await startServer(env, ['--no-scheduler']);
  try {
    const { url } = server;
    const seed = new Client(url);
    const jobId = (await seed.call('one.backupjob.allocate', 'NAME = "info-target"\nBACKUP_VMS = "1,2,3"\nSCHED_ACTION = [ TIME = "2000000000" ]'))[1] as number;
    const updateTargets: number[] = [];
    for (let i = 0; i < 64; i++) {
      updateTargets.push((await seed.call('one.backupjob.allocate', `NAME = "update-target-${i}"\nBACKUP_VMS = "${i}"`))[1] as number);
    }
    seed.close();
    for (const clients of [1, 16, 64]) {
      // The generator reads each reply to its end and checks it is a success, without decoding the document: its
      // CPU is shared with the server on this machine.
      await load(backend, 'one.backupjob.info', url, clients, 5, (c) => c.raw('one.backupjob.info', jobId));
    }
    for (const clients of [1, 16, 64]) {
      // Updates spread over as many jobs as there are clients (writers of one job take turns on its lock).
      await load(backend, 'one.backupjob.update', url, clients, 5,
        (c, i) => c.raw('one.backupjob.update', updateTargets[i % clients], `KEEP_LAST = ${i % 7}\nBENCH = "${i}"`, 1));
    }
    const poolCalls = (c: Client) => c.raw('one.backupjobpool.info', -2, -1, -1);
    const existing = (await new Client(url).call('one.backupjobpool.info', -2, -1, -1))[1] as string;
    const have = [...existing.matchAll(/<BACKUPJOB><ID>/g)].length;
    await populateJobs(url, have, 1000);
    await timed(backend, 'one.backupjobpool.info, 1 000 jobs', url, 20, poolCalls);
    await populateJobs(url, 1000, 10000);
    // Memory over 100 calls, sampled every 10: it grows to the heap's working size, then a leak would keep climbing
    // while garbage collection makes a healthy heap go up and down.
    const rss = [rssMb(server.child.pid!)];
    let poolCallCount = 0;
    const tracked = async (c: Client) => {
      const size = await poolCalls(c);
      if (++poolCallCount % 10 === 0) rss.push(rssMb(server.child.pid!));
      return size;
    };
    await timed(backend, 'one.backupjobpool.info, 10 000 jobs', url, 100, tracked);
    const settled = rss.slice(2);
    figure(backend, 'server RSS MB over those 100 calls (max after the first 10)', Math.max(...settled),
      `before, then every 10 calls: ${rss.map((m) => m.toFixed(0)).join(' ')} MB`);
    let allocated = 0;
    for (const clients of [1, 16, 64]) {
      await load(backend, 'one.backupjob.allocate', url, clients, 5,
        (c) => c.raw('one.backupjob.allocate', `NAME = "alloc-${clients}-${allocated++}"\nBACKUP_VMS = "${allocated}"`));
    }
  } finally {
    await server.stop();
  }
}

/**
 * A large cloud written in process (10 000 jobs, 100 000 VMs), then a server started on it: time to /ready, resident
 * memory, one.vmpool.info of 10 000 of those VMs (an id range) and of the whole pool.
 */
async function largeCloudScenarios(backend: string, env: NodeJS.ProcessEnv, open: () => Promise<Database>): Promise<void> {
  const db = await open();
  try {
    const c = await cloud(db, {});
    await populate(c, 20, scaled(100000), scaled(10000), 0, 600);
  } finally {
    await db.close();
  }
  const starts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const server = await startServer(env, ['--no-scheduler']);
    starts.push(server.readyMs);
    if (i < 2) { await server.stop(); continue; }
    try {
      figure(backend, 'cold start to /ready, 10 000 jobs / 100 000 VMs (ms, best of 3)', Math.min(...starts),
        `runs: ${starts.map((t) => t.toFixed(0)).join(', ')} ms`);
      figure(backend, 'server RSS MB after start', rssMb(server.child.pid!), 'nothing read yet');
      // The populated VMs have ids from 0 (a fresh cloud's first VM is the seed they are copied from).
      await timed(backend, 'one.vmpool.info, 10 000 VMs (ids 0-9 999)', server.url, 10,
        (cl) => cl.raw('one.vmpool.info', -2, 0, 9999, -1));
      await timed(backend, 'one.backupjobpool.info, 10 000 jobs (large cloud)', server.url, 10,
        (cl) => cl.raw('one.backupjobpool.info', -2, -1, -1));
      figure(backend, 'server RSS MB, 10 000 jobs and 100 000 VMs loaded', rssMb(server.child.pid!),
        'after the pool calls above');
    } finally {
      await server.stop();
    }
  }
}

/**
 * How fast this machine is right now: the same code gave figures twice apart on different days (a shared host),
 * so each run records a CPU reference (SHA-256 of 300 000 short strings) and a PostgreSQL round trip (SELECT 1
 * over loopback), at its start and at its end.
 */
async function machineReference(url: string | undefined): Promise<string> {
  let started = performance.now();
  for (let i = 0; i < 300_000; i++) createHash('sha256').update(`x${i}`).digest('hex');
  const cpuMs = performance.now() - started;
  if (!url) return `SHA-256 × 300 000 ${cpuMs.toFixed(0)} ms`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let i = 0; i < 200; i++) await client.query('SELECT 1');
    started = performance.now();
    for (let i = 0; i < 2000; i++) await client.query('SELECT 1');
    return `SHA-256 × 300 000 ${cpuMs.toFixed(0)} ms, PostgreSQL round trip ${((performance.now() - started) / 2).toFixed(0)} µs`;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const referenceBefore = await machineReference(process.env.BENCH_DATABASE_URL);
  const only = (process.env.BENCH_ONLY ?? 'api,large,scheduler').split(',');
  const backends = (process.env.BENCH_BACKENDS ?? 'pglite,postgres').split(',');
  if (backends.includes('pglite')) {
    for (const part of ['api', 'large'] as const) {
      if (!only.includes(part)) continue;
      const data = mkdtempSync(join(tmpdir(), 'oned-emu-bench-'));
      try {
        const env = { ONE_EMU_DATA: data, DATABASE_URL: '' };
        if (part === 'api') await apiScenarios('pglite', env);
        else await largeCloudScenarios('pglite', env, () => openDatabase({ dataDir: data }));
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
    }
  }
  const url = process.env.BENCH_DATABASE_URL;
  if (url && backends.includes('postgres')) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      for (const part of ['api', 'large'] as const) {
        if (!only.includes(part)) continue;
        const name = `oned_emu_bench_${process.pid}_${part}`;
        await admin.query(`CREATE DATABASE ${name}`);
        try {
          const target = new URL(url);
          target.pathname = `/${name}`;
          const env = { DATABASE_URL: target.toString() };
          if (part === 'api') await apiScenarios('postgres', env);
          else await largeCloudScenarios('postgres', env, () => openDatabase({ url: target.toString() }));
        } finally {
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        }
      }
    } finally {
      await admin.end();
    }
  }
  const sched = only.includes('scheduler') ? await schedulerBenchmarks() : [];
  for (const f of sched) figure(f.backend, f.scenario, f.ms, f.note);
  const fmt = (n: number | '-', d = 1) => (n === '-' ? '-' : n.toFixed(d));
  const header = '| backend | scenario | clients | calls | calls/s | p50 ms | p99 ms | client CPU ms | note |\n|---|---|---|---|---|---|---|---|---|';
  const table = rows.map((r) => (r.calls === '-'
    ? `| ${r.backend} | ${r.scenario} | - | - | - | ${fmt(r.p50, 0)} | | - | ${r.note ?? ''} |`
    : `| ${r.backend} | ${r.scenario} | ${r.clients} | ${r.calls} | ${fmt(r.perSecond, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.clientCpuMs, 0)} | ${r.note ?? ''} |`)).join('\n');
  process.stdout.write(`${header}\n${table}\n`);
  const referenceAfter = await machineReference(process.env.BENCH_DATABASE_URL);
  const previous = (() => { try { return readFileSync(RESULTS, 'utf8'); } catch { return ''; } })();
  // The sections after the table (targets, notes) are written by hand and kept.
  const notes = previous.includes('\n## ') ? previous.slice(previous.indexOf('\n## ')) : '';
  writeFileSync(RESULTS, `# Benchmark results\n\nWritten by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}; `
    + `Node ${process.version}; CPU ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}. The load generator runs in the bench `
    + `process, the server in a child process, over loopback with keep-alive connections; "client CPU" is the load `
    + `generator's. Rows without calls are single figures (milliseconds or MB) in the p50 column. Scheduler figures are `
    + `measured in process (bench/scheduler.ts). Machine reference at the start: ${referenceBefore}; at the end: `
    + `${referenceAfter}.\n\n${header}\n${table}\n${notes}`);
}

main().catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
