/**
 * Hostile connections against a server in a child process: hundreds of clients that send their headers or bodies a
 * byte at a time (or nothing at all) must not keep a normal client from its answers, TIMEOUT must cut them off, and
 * a body over MESSAGE_SIZE must be answered with -509 without the server holding it.
 *
 * Short by default; `npm run hostile` is the long mode (HOSTILE_CLIENTS, HOSTILE_SECONDS, HOSTILE_TIMEOUT,
 * HOSTILE_BODY_MB).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULTS } from '../../src/config.js';
import { decodeResponse } from '../../src/rpc/codec.js';
import { FAULT } from '../../src/rpc/faults.js';
import type { RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { ONEADMIN } from '../support/cloud.js';
import { RpcClient } from '../support/rpcClient.js';
import { startServerProcess, type ServerProcess } from '../support/serverProcess.js';

const CLIENTS = Number(process.env.HOSTILE_CLIENTS ?? 500);
const SECONDS = Number(process.env.HOSTILE_SECONDS ?? 6);
/** TIMEOUT of the server under test: short by default so that the run sees slow clients cut off and coming back. */
const TIMEOUT_S = Number(process.env.HOSTILE_TIMEOUT ?? 2);
// The server drains the excess for at most TIMEOUT (2 s here): 512 MB needed more than 250 MB/s and was cut off on
// a loaded CI machine. 256 MB still exceeds HELD_BUDGET 2.7 times over, so a body held whole fails the bound.
const BODY_MB = Number(process.env.HOSTILE_BODY_MB ?? 256);
/** Each slow client sends one byte this often. */
const DRIBBLE_MS = 200;
const ANSWER_WITHIN_MS = 1000;
const GIVE_UP_MS = 10_000;
/** Node checks request and header timeouts once a second (http.ts), so a slow client lasts up to TIMEOUT + 1 s. */
const CUT_OFF_SLACK_MS = 1500;
const MB = 1024 * 1024;
/** How much the server's peak RSS may grow while it refuses an oversized body. */
const HELD_BUDGET = 6 * DEFAULTS.MESSAGE_SIZE;

type SlowKind = 'headers' | 'body' | 'silent';
const KINDS: SlowKind[] = ['headers', 'body', 'silent'];

interface SlowReport {
  connections: number;
  mostOpenAtOnce: number;
  /** How long the server let each connection live, for those it closed, by kind. */
  lifetimesMs: Record<SlowKind, number[]>;
}

/**
 * `count` connections, a third sending headers that never end, a third complete headers and then a body a byte at a
 * time, a third nothing at all. Each one the server closes is opened again at once, until stop().
 */
function slowClients(port: number, count: number): { stop(): SlowReport } {
  const open = new Map<net.Socket, { kind: SlowKind; since: number }>();
  const all = new Set<net.Socket>();
  const report: SlowReport = { connections: 0, mostOpenAtOnce: 0, lifetimesMs: { headers: [], body: [], silent: [] } };
  let running = true;
  const connect = (kind: SlowKind) => {
    const socket = net.connect(port, '127.0.0.1');
    all.add(socket);
    socket.setNoDelay(true);
    report.connections++;
    socket.on('error', () => undefined);
    socket.resume(); // read the server's 408 and FIN, or a silent client would never see its connection closed
    socket.on('connect', () => {
      if (!running) return socket.destroy();
      open.set(socket, { kind, since: Date.now() });
      report.mostOpenAtOnce = Math.max(report.mostOpenAtOnce, open.size);
      if (kind === 'headers') socket.write('POST /RPC2 HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      if (kind === 'body') socket.write('POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 1000000\r\n\r\n');
    });
    socket.on('close', () => {
      const entry = open.get(socket);
      open.delete(socket);
      all.delete(socket);
      if (!running) return;
      if (entry) report.lifetimesMs[kind].push(Date.now() - entry.since);
      connect(kind);
    });
  };
  for (let i = 0; i < count; i++) connect(KINDS[i % KINDS.length]);
  const dribble = setInterval(() => {
    for (const [socket, { kind }] of open) if (kind !== 'silent' && socket.writable) socket.write('a');
  }, DRIBBLE_MS);
  return {
    stop() {
      running = false;
      clearInterval(dribble);
      // Those still connecting too: left alone they would connect later and hold a request open.
      for (const socket of all) socket.destroy();
      return report;
    },
  };
}

/**
 * Uploads `total` bytes of body (chunked, or with Content-Length) from one reused buffer, so that the test itself
 * holds nothing, and resolves the reply's fault once the server answers.
 */
function upload(port: number, total: number, chunked: boolean): Promise<{ code?: number; message?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const piece = Buffer.alloc(MB, 0x61);
    const framed = chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
    let sent = 0;
    let reply = '';
    const finish = (error?: string) => {
      socket.destroy();
      if (error) return resolve({ error });
      try {
        const fault = decodeResponse(reply.slice(reply.indexOf('<?xml'))).fault;
        resolve({ code: fault?.code, message: fault?.message });
      } catch (err) {
        resolve({ error: `${(err as Error).message}: ${reply.slice(0, 300)}` });
      }
    };
    let ended = false;
    const pump = () => {
      while (sent < total) {
        sent += piece.length;
        if (!socket.write(framed)) return;
      }
      if (chunked && !ended) socket.write('0\r\n\r\n');
      ended = true;
    };
    socket.on('connect', () => {
      socket.write(`POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n${chunked ? 'Transfer-Encoding: chunked'
        : `Content-Length: ${total}`}\r\n\r\n`);
      pump();
    });
    socket.on('drain', pump);
    socket.on('data', (d: Buffer) => {
      reply += d.toString();
      if (reply.includes('</methodResponse>')) finish();
    });
    socket.on('error', (err) => finish(`${err.message} after ${sent} bytes`));
    socket.on('close', () => finish(`closed after ${sent} bytes: ${reply.slice(0, 200)}`));
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

for (const backend of backends()) {
  describe(`hostile connections (${backend.name})`, () => {
    let server: ServerProcess;
    before(async () => { server = await startServerProcess(backend, { TIMEOUT: TIMEOUT_S }); });
    after(async () => { await server?.stop(); });

    it(`${CLIENTS} clients dribbling a byte per ${DRIBBLE_MS} ms for ${SECONDS} s: a normal client gets every answer `
      + `within ${ANSWER_WITHIN_MS} ms; TIMEOUT ${TIMEOUT_S} s cuts them off`, async (t) => {
      const slow = slowClients(server.port, CLIENTS);
      // Let the connections open before measuring.
      await sleep(1000);
      const keptAlive = new RpcClient(server.url);
      const perCall = new RpcClient(server.url, { keepAlive: false });
      const calls: Array<[string, ...RpcValue[]]> = [
        ['one.system.version'], ['one.userpool.info'], ['one.backupjobpool.info', -2, -1, -1], ['one.user.info', 0],
      ];
      const latencies: number[] = [];
      const wrong: string[] = [];
      const until = Date.now() + SECONDS * 1000;
      try {
        for (let i = 0; Date.now() < until; i++) {
          const [method, ...params] = calls[i % calls.length];
          const client = i % 2 === 0 ? keptAlive : perCall;
          const started = performance.now();
          // Bounded, so that a server that stops answering fails the test instead of hanging it.
          const reply = await Promise.race([client.call(method, ONEADMIN, ...params) as Promise<RpcValue[]>,
            sleep(GIVE_UP_MS).then(() => [false, `no answer within ${GIVE_UP_MS} ms`])]);
          latencies.push(performance.now() - started);
          if (reply[0] !== true) wrong.push(`${method}: ${String(reply[1])}`);
          await sleep(20);
        }
      } finally {
        keptAlive.close();
        perCall.close();
      }
      const report = slow.stop();
      const sorted = [...latencies].sort((a, b) => a - b);
      const cutOff = KINDS.map((kind) => ({ kind, count: report.lifetimesMs[kind].length, longest: Math.max(0, ...report.lifetimesMs[kind]) }));
      t.diagnostic(`slow clients: ${report.connections} connections, up to ${report.mostOpenAtOnce} open at once; cut off by the `
        + `server: ${cutOff.map((c) => `${c.count} ${c.kind} after at most ${(c.longest / 1000).toFixed(1)} s`).join(', ')}`);
      t.diagnostic(`normal client: ${latencies.length} calls (half on a kept-alive connection, half one connection each), `
        + `median ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, `
        + `slowest ${sorted[sorted.length - 1].toFixed(1)} ms`);

      assert.ok(server.alive(), server.status());
      assert.deepEqual(wrong, []);
      assert.ok(report.mostOpenAtOnce >= CLIENTS * 0.95, `only ${report.mostOpenAtOnce} of ${CLIENTS} slow connections were open at once`);
      assert.ok(sorted[sorted.length - 1] < ANSWER_WITHIN_MS, `a call took ${sorted[sorted.length - 1].toFixed(0)} ms`);
      for (const { kind, count, longest } of cutOff) {
        // Each slot is cut off at least once when the run outlasts TIMEOUT and its slack.
        if (SECONDS * 1000 > TIMEOUT_S * 1000 + CUT_OFF_SLACK_MS) assert.ok(count >= Math.floor(CLIENTS / KINDS.length), `only ${count} ${kind} clients were cut off`);
        assert.ok(longest <= TIMEOUT_S * 1000 + CUT_OFF_SLACK_MS, `a ${kind} client lived ${longest} ms`);
      }
    });

    it(`a ${BODY_MB} MB body over MESSAGE_SIZE (${DEFAULTS.MESSAGE_SIZE / MB} MiB) is answered -509, and the server's `
      + `peak RSS grows by less than ${HELD_BUDGET / MB} MB`, async (t) => {
      await server.resetPeakRss();
      const before = await server.memory();
      const total = BODY_MB * MB;
      const declared = await upload(server.port, total, false);
      const chunked = await upload(server.port, total, true);
      const afterwards = await server.memory();
      // Without a kept peak (not Linux), what is left afterwards.
      const peak = afterwards.peakRss ?? afterwards.rss;
      const growth = peak - before.rss;
      t.diagnostic(`declared: ${declared.message ?? declared.error}; chunked: ${chunked.message ?? chunked.error}; `
        + `server RSS ${(before.rss / MB).toFixed(0)} MB before, peak ${(peak / MB).toFixed(0)} MB`);
      assert.deepEqual(declared, { code: FAULT.LIMIT, message: `XML-RPC request too large (${total} bytes)` });
      assert.deepEqual(chunked, { code: FAULT.LIMIT, message: `XML-RPC request too large.  Max allowed is ${DEFAULTS.MESSAGE_SIZE} bytes` });
      // The thrown-away rest passes through 64 KiB buffers that wait for the garbage collector: measured 0 to 52 MB
      // for 256 MB to 1 GiB. A body held whole would pass the bound 2.7 (long mode: 10) times over.
      assert.ok(growth < HELD_BUDGET, `the server's peak RSS grew by ${(growth / MB).toFixed(0)} MB`);
    });
  });
}
