/**
 * Runs an oned-emu server in a child process (serverChild.ts) on a fresh database of one test backend, for tests that
 * must see the process stay up whatever it is sent and measure its memory, and that need a database checksum between
 * calls (which a PGlite database allows only from the process that holds it).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';
import type { Backend } from './backends.js';

export type ChildRequest = { id: number; type: 'checksum' | 'memory' | 'resetPeakRss' | 'unexpected' };
export type ChildReply = { type: 'ready'; port: number } | { type: 'reply'; id: number; value?: unknown; error?: string };

export interface ChildMemory {
  /** Resident set size now, in bytes. */
  rss: number;
  /** The largest resident set size since the server was up or resetPeakRss(), in bytes; Linux only. */
  peakRss: number | undefined;
  /** V8 heap in use after a full collection, in bytes. */
  heapUsed: number;
}

export interface UnexpectedErrors { count: number; first: string[]; polluted: string[] }

export interface ServerProcess {
  url: string;
  port: number;
  /** False once the process has exited, for whatever reason. */
  alive(): boolean;
  /** How it ended, for messages: "running", "exit code 1", "signal SIGABRT". */
  status(): string;
  /** What the process wrote to stderr (the last 64 KiB). */
  stderr(): string;
  /** databaseChecksums() of the server's database: table name → md5 of its rows. */
  checksum(): Promise<Record<string, string>>;
  memory(): Promise<ChildMemory>;
  /** Starts peakRss over from the current RSS. */
  resetPeakRss(): Promise<void>;
  /** Exceptions the server logged instead of answering as oned would (count and the first ones), and any enumerable
   *  key a request added to Object.prototype. */
  unexpectedErrors(): Promise<UnexpectedErrors>;
  /** Stops the server (calls in progress are answered), drops its database and waits for the process to exit. */
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./serverChild.js', import.meta.url));
const STDERR_KEPT = 64 * 1024;

export async function startServerProcess(backend: Backend, config: Partial<Config> = {}): Promise<ServerProcess> {
  const child: ChildProcess = fork(CHILD, [], {
    env: { ...process.env, SERVER_CHILD_BACKEND: backend.name, SERVER_CHILD_CONFIG: JSON.stringify(config) },
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-STDERR_KEPT); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const status = () => child.signalCode !== null ? `signal ${child.signalCode}`
    : child.exitCode !== null ? `exit code ${child.exitCode}` : 'running';

  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 0;
  child.on('message', (reply: ChildReply) => {
    if (reply.type !== 'reply') return;
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
    else waiter?.resolve(reply.value);
  });
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error(`server process ended (${status()}): ${stderr}`));
    pending.clear();
  });
  const ask = <T>(type: ChildRequest['type']): Promise<T> => new Promise<T>((resolve, reject) => {
    if (!child.connected) return reject(new Error(`server process ended (${status()}): ${stderr}`));
    const id = ++nextId;
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    child.send({ id, type } satisfies ChildRequest);
  });

  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: ChildReply) => { if (m.type === 'ready') resolve(m.port); });
    void exited.then(() => reject(new Error(`server process did not start (${status()}): ${stderr}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/RPC2`,
    port,
    alive: () => child.exitCode === null && child.signalCode === null,
    status,
    stderr: () => stderr,
    checksum: () => ask<Record<string, string>>('checksum'),
    memory: () => ask<ChildMemory>('memory'),
    resetPeakRss: () => ask<void>('resetPeakRss'),
    unexpectedErrors: () => ask<UnexpectedErrors>('unexpected'),
    async stop() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}
