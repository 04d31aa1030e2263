/**
 * `npm run bench`: starts oned-emu in a child process per backend (PGlite always, PostgreSQL when
 * BENCH_DATABASE_URL is set), drives it over loopback with keep-alive XML-RPC clients from this process, prints a
 * table and rewrites bench/RESULTS.md. Numbers, not assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { decodeResponse, encodeCall } from '../src/rpc/codec.js';
import type { RpcValue } from '../src/rpc/values.js';
import { schedulerBenchmarks } from './scheduler.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLI = resolve(HERE, '../src/cli.js');
const RESULTS = resolve(HERE, '../../bench/RESULTS.md');
const SESSION = 'oneadmin:bench';

interface Row { backend: string; scenario: string; clients: number | '-'; calls: number; perSecond: number; p50: number; p99: number; clientCpuMs: number }
const rows: Row[] = [];

class Client {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  constructor(private readonly url: URL) {}
  /** The reply's size once its last byte arrived, not decoded: a large document's latency without the client's parse. */
  raw(method: string, ...params: RpcValue[]): Promise<number> {
    const payload = Buffer.from(encodeCall(method, [SESSION, ...params]));
    return new Promise((resolveCall, reject) => {
      const req = http.request(this.url, { method: 'POST', agent: this.agent, headers: { 'Content-Type': 'text/xml', 'Content-Length': payload.length } }, (res) => {
        let size = 0;
        res.on('data', (c: Buffer) => { size += c.length; });
        res.on('end', () => (res.statusCode === 200 ? resolveCall(size) : reject(new Error(`HTTP ${res.statusCode}`))));
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
async function startServer(env: NodeJS.ProcessEnv): Promise<Server> {
  const logFile = join(mkdtempSync(join(tmpdir(), 'oned-emu-bench-log-')), 'oned.log');
  writeFileSync(logFile, '');
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log', logFile], {
    env: { ...process.env, ONEADMIN_PASSWORD: 'bench', MAX_CONN: '64', KEEPALIVE_MAX_CONN: '0', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = await new Promise<URL>((ok, fail) => {
    const onExit = (code: number | null) => { clearInterval(poll); fail(new Error(`server exited ${code}`)); };
    child.once('exit', onExit);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/[\d.]+:\d+\/RPC2)/.exec(readFileSync(logFile, 'utf8'));
      if (m) { clearInterval(poll); child.off('exit', onExit); ok(new URL(m[1])); }
    }, 100);
  });
  return {
    child, url,
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
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await fn(c);
    latencies.push(performance.now() - t);
  }
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  c.close();
  latencies.sort((a, b) => a - b);
  rows.push({ backend, scenario, clients: 1, calls: count, perSecond: count / elapsed, p50: percentile(latencies, 50),
    p99: percentile(latencies, 99), clientCpuMs: (cpu.user + cpu.system) / 1000 });
}

async function populate(url: URL, from: number, to: number): Promise<void> {
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

async function scenarios(backend: string, env: NodeJS.ProcessEnv): Promise<void> {
  const server = await startServer(env);
  try {
    const { url } = server;
    const seed = new Client(url);
    const jobId = (await seed.call('one.backupjob.allocate', 'NAME = "info-target"\nBACKUP_VMS = "1,2,3"\nSCHED_ACTION = [ TIME = "2000000000" ]'))[1] as number;
    seed.close();
    for (const clients of [1, 16]) {
      await load(backend, 'one.backupjob.info', url, clients, 5, (c) => c.call('one.backupjob.info', jobId));
    }
    await load(backend, 'one.backupjob.allocate', url, 16, 5, (c, i) => c.call('one.backupjob.allocate', `NAME = "alloc-${i}"\nBACKUP_VMS = "${i}"`));
    const poolCalls = (c: Client) => c.raw('one.backupjobpool.info', -2, -1, -1);
    const existing = (await new Client(url).call('one.backupjobpool.info', -2, -1, -1))[1] as string;
    const have = [...existing.matchAll(/<BACKUPJOB><ID>/g)].length;
    await populate(url, have, 1000);
    await timed(backend, 'one.backupjobpool.info, 1 000 jobs', url, 20, poolCalls);
    await populate(url, 1000, 10000);
    await timed(backend, 'one.backupjobpool.info, 10 000 jobs', url, 10, poolCalls);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const data = mkdtempSync(join(tmpdir(), 'oned-emu-bench-'));
  try {
    await scenarios('pglite', { ONE_EMU_DATA: data, DATABASE_URL: '' });
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  const url = process.env.BENCH_DATABASE_URL;
  if (url) {
    const name = `oned_emu_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const target = new URL(url);
      target.pathname = `/${name}`;
      await scenarios('postgres', { DATABASE_URL: target.toString() });
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }
  const sched = await schedulerBenchmarks();
  const fmt = (n: number, d = 1) => n.toFixed(d);
  const schedHeader = '| backend | scheduler scenario | wall ms | note |\n|---|---|---|---|';
  const schedTable = sched.map((f) => `| ${f.backend} | ${f.scenario} | ${fmt(f.ms, 0)} | ${f.note} |`).join('\n');
  const header = '| backend | scenario | clients | calls | calls/s | p50 ms | p99 ms | client CPU ms |\n|---|---|---|---|---|---|---|---|';
  const table = rows.map((r) => `| ${r.backend} | ${r.scenario} | ${r.clients} | ${r.calls} | ${fmt(r.perSecond, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.clientCpuMs, 0)} |`).join('\n');
  process.stdout.write(`${header}\n${table}\n\n${schedHeader}\n${schedTable}\n`);
  const previous = (() => { try { return readFileSync(RESULTS, 'utf8'); } catch { return ''; } })();
  const notes = previous.includes('\n## Notes') ? previous.slice(previous.indexOf('\n## Notes')) : '';
  writeFileSync(RESULTS, `# Benchmark results\n\nWritten by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}; `
    + `Node ${process.version}; CPU ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}. The load generator runs in the bench `
    + `process, the server in a child process, over loopback with keep-alive connections. Scheduler figures are measured `
    + `in process (bench/scheduler.ts).\n\n${header}\n${table}\n\n${schedHeader}\n${schedTable}\n${notes}`);
}

main().catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exit(1); });
