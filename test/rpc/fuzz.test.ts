/**
 * Fuzzing the wire: generated bodies (test/support/fuzzBodies.ts) are POSTed one after another to a server in a child
 * process. Every reply must be HTTP 200 with a well-formed XML-RPC fault or oned reply array (and the very fault or
 * authentication failure the body calls for, when it calls for one), the process must stay up, its memory bounded,
 * and no failed call may write to the database.
 *
 * Writes: the fuzzer calls as oneadmin, so well-typed calls do succeed and write (allocations, updates); fuzzing only
 * as someone who cannot authenticate would never reach a method body, where a failure half way could leave a write
 * behind. So a database checksum is taken after every body that may carry oneadmin's session: a success moves the
 * baseline, a failure or fault must leave it as it was (but for what oned writes on that failure too). Bodies that
 * cannot authenticate are checked in runs of CHECK_EVERY (and before the next body that may), and must never succeed.
 *
 * FUZZ_BODIES (default 1000; `npm run fuzz`: 100 000), FUZZ_SEED (default 1), FUZZ_ONLY=i,j (just those bodies).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { buildRegistry } from '../../src/api/methods.js';
import { DEFAULTS } from '../../src/config.js';
import { ErrorCode } from '../../src/domain/errors.js';
import { decodeResponse } from '../../src/rpc/codec.js';
import { FAULT, UNEXPECTED_ERROR_TEXT } from '../../src/rpc/faults.js';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { backends } from '../support/backends.js';
import { ONEADMIN } from '../support/cloud.js';
import { changedTables } from '../support/dbChecksum.js';
import { fixedBodyCount, fuzzBody, type FuzzBody, type FuzzContext } from '../support/fuzzBodies.js';
import { startServerProcess, type ServerProcess } from '../support/serverProcess.js';

const BODIES = Number(process.env.FUZZ_BODIES ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? 1);
const ONLY = process.env.FUZZ_ONLY?.split(',').map(Number);
/** Bodies that cannot authenticate between two checksums. */
const CHECK_EVERY = 200;
const MEMORY_EVERY = 1000;
/** A run stops after this many problems: the first ones tell the story. */
const MAX_PROBLEMS = 50;
const REPLY_TIMEOUT_MS = 60_000;
const MESSAGE_SIZE = DEFAULTS.MESSAGE_SIZE;
const MB = 1024 * 1024;
/**
 * Peak resident memory may exceed the freshly started server's by this much. Measured over 100 000 bodies: 118 MB on
 * PostgreSQL (the two 50 MB bodies are drained through 64 KiB buffers and three bodies of MESSAGE_SIZE decoded; the
 * allocator keeps the freed pages), 84 MB on PGlite. An entity expansion or a body held whole would pass it.
 */
const PEAK_BUDGET = 12 * MESSAGE_SIZE;
/** Once warmed up (the first MEMORY_EVERY bodies hold all the big ones), RSS may creep by this much: more is a leak. */
const RSS_GROWTH_BUDGET = 64 * MB;
/** Retained V8 heap (after a full collection) may grow by this much over a run: more is a leak. */
const HEAP_GROWTH_BUDGET = 64 * MB;

/**
 * Failed calls that write in oned too, and the tables they may change. Anything else a failed call changes is a
 * defect.
 */
const ONED_WRITES_ON_FAILURE = [
  // BackupJobAllocate stores the job, then its scheduled actions, and drops them all when one is invalid: the ids
  // stay used up (pool_control's counters).
  { method: 'one.backupjob.allocate', tables: ['pool_control'] },
];

const FAULT_CODES = new Set<number>(Object.values(FAULT));
const ERROR_CODES = new Set<number>(Object.values(ErrorCode).filter((c) => c !== ErrorCode.SUCCESS));
/** -500 texts oned's xmlrpc-c answers on purpose; -500 with the bare text means the method threw. */
const INTENDED_INTERNAL = /paramList out of bounds|Not integer type/;

interface Reply { status: number; contentType: string | undefined; body: string }

/** POSTs one body and resolves the whole reply; an early reply (e.g. -509 before the body is sent) counts. */
function post(port: number, agent: http.Agent, body: FuzzBody): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = http.request({
      host: '127.0.0.1', port, path: '/RPC2', method: 'POST', agent,
      headers: { 'Content-Type': 'text/xml', ...(body.chunked ? {} : { 'Content-Length': body.bytes.length }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        settled = true;
        resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.setTimeout(REPLY_TIMEOUT_MS, () => req.destroy(new Error(`no reply within ${REPLY_TIMEOUT_MS} ms`)));
    req.on('error', (err) => { if (!settled) reject(err); });
    if (body.chunked) {
      // Several chunks, so that the server meets the limit while reading rather than from a header.
      for (let at = 0; at < body.bytes.length; at += MB) req.write(body.bytes.subarray(at, at + MB));
      req.end();
    } else {
      req.end(body.bytes);
    }
  });
}

type Outcome = { ok: true; label: string; success: boolean } | { ok: false; problem: string };

/** What makes a reply proper: the HTTP envelope, the XML-RPC document, oned's shapes, and what the body called for. */
function judge(body: FuzzBody, reply: Reply): Outcome {
  if (reply.status !== 200) return { ok: false, problem: `HTTP ${reply.status}: ${reply.body.slice(0, 200)}` };
  if (reply.contentType !== 'text/xml; charset=utf-8') return { ok: false, problem: `Content-Type ${reply.contentType}` };
  let decoded;
  try {
    decoded = decodeResponse(reply.body);
  } catch (err) {
    return { ok: false, problem: `malformed response (${(err as Error).message}): ${reply.body.slice(0, 200)}` };
  }
  if (decoded.fault) {
    const { code, message } = decoded.fault;
    if (!FAULT_CODES.has(code)) return { ok: false, problem: `unknown fault code ${code}: ${message}` };
    if (message === '') return { ok: false, problem: `fault ${code} without a message` };
    if (code === FAULT.INTERNAL && (message === UNEXPECTED_ERROR_TEXT || !INTENDED_INTERNAL.test(message))) {
      return { ok: false, problem: `the method threw: fault -500 ${message}` };
    }
    if (body.expectAuthFailure) return { ok: false, problem: `fault ${code} (${message}) instead of the authentication failure` };
    if (body.expectFault !== undefined && code !== body.expectFault) {
      return { ok: false, problem: `fault ${code} (${message}), expected ${body.expectFault}` };
    }
    return { ok: true, label: `fault ${code}`, success: false };
  }
  if (body.expectFault !== undefined) return { ok: false, problem: `a reply array instead of fault ${body.expectFault}` };
  const value = decoded.value as RpcValue;
  if (!Array.isArray(value)) return { ok: false, problem: `reply is not an array: ${reply.body.slice(0, 200)}` };
  if (value[0] === true) {
    if (value.length !== 3 || value[2] !== 0) return { ok: false, problem: `success of an odd shape: ${reply.body.slice(0, 200)}` };
    if (!body.mayAuthenticate) return { ok: false, problem: `a call without a valid session succeeded: ${reply.body.slice(0, 200)}` };
    return { ok: true, label: 'success', success: true };
  }
  const [ok, message, code, respId, index] = value;
  if (ok !== false || value.length !== 5 || typeof message !== 'string' || typeof code !== 'number'
    || typeof respId !== 'number' || !(index instanceof RpcI8) || index.value !== -1n) {
    return { ok: false, problem: `failure of an odd shape: ${reply.body.slice(0, 300)}` };
  }
  if (!ERROR_CODES.has(code)) return { ok: false, problem: `unknown error code ${code}: ${message}` };
  if (!/^\[[a-z.]+\] /.test(message)) return { ok: false, problem: `failure message without [method]: ${message}` };
  if (/\] Internal error$/.test(message)) return { ok: false, problem: `the method threw: ${message}` };
  if (body.expectAuthFailure && (code !== ErrorCode.AUTHENTICATION
    || message !== `[${body.expectAuthFailure}] User couldn't be authenticated, aborting call.`)) {
    return { ok: false, problem: `expected the authentication failure, got ${message}` };
  }
  return { ok: true, label: `failure 0x${code.toString(16)}`, success: false };
}

const methods = (() => {
  const registry = buildRegistry();
  return registry.names().map((n) => registry.get(n)!);
})();
const ctx: FuzzContext = { methods, session: ONEADMIN, messageSize: MESSAGE_SIZE };
const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;

for (const backend of backends()) {
  describe(`fuzzing the wire (${backend.name})`, () => {
    let server: ServerProcess;
    before(async () => { server = await startServerProcess(backend); });
    after(async () => { await server?.stop(); });

    const indexes = ONLY ?? Array.from({ length: BODIES }, (_, i) => i);
    it(`${indexes.length} bodies, seed ${SEED}: proper replies, the process up, memory bounded, no write from a failed call`, async (t) => {
      const agent = new http.Agent({ keepAlive: true });
      const problems: string[] = [];
      const report = (body: FuzzBody, problem: string) => {
        problems.push(`seed ${SEED} body ${body.index} (${body.kind}: ${body.what}): ${problem}`);
      };
      const tally = new Map<string, number>();
      const count = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);
      const started = Date.now();

      let baseline = await server.checksum();
      const initialChecksum = baseline;
      let unchecked: FuzzBody[] = [];
      let checksums = 1;
      let successes = 0;
      const faithfulWrites = new Map<string, number>();
      /** After failed calls: the database must be as it was, but for what oned itself writes on that failure. */
      const checkUnchanged = async (bodies: FuzzBody[]) => {
        const now = await server.checksum();
        checksums++;
        const changed = changedTables(baseline, now);
        baseline = now;
        if (changed.length === 0) return;
        const last = bodies[bodies.length - 1];
        const faithful = bodies.length === 1 ? ONED_WRITES_ON_FAILURE.find((w) => w.method === last.method
          && changed.every((table) => w.tables.includes(table))) : undefined;
        if (faithful) {
          faithfulWrites.set(faithful.method, (faithfulWrites.get(faithful.method) ?? 0) + 1);
          return;
        }
        report(last, `${changed.join(', ')} changed after ${bodies.length === 1 ? 'this failed call'
          : `failed calls ${bodies[0].index}..${last.index}`}`);
      };

      const memoryAtStart = await server.memory();
      let heapAfterFixed = memoryAtStart.heapUsed;
      const rssSamples: number[] = [];

      for (const [n, index] of indexes.entries()) {
        const body = fuzzBody(SEED, index, ctx);
        count(`body ${body.kind}`);
        // A success moves the baseline: what came before it is checked first.
        if (body.mayAuthenticate && unchecked.length > 0) {
          await checkUnchanged(unchecked);
          unchecked = [];
        }
        let outcome: Outcome | undefined;
        try {
          outcome = judge(body, await post(server.port, agent, body));
          if (!outcome.ok) report(body, outcome.problem);
          else count(`reply ${outcome.label}`);
        } catch (err) {
          report(body, `no reply: ${(err as Error).message}`);
        }
        if (!server.alive()) {
          report(body, `the server process ended (${server.status()}): ${server.stderr()}`);
          break;
        }
        if (!body.mayAuthenticate) {
          unchecked.push(body);
          if (unchecked.length >= CHECK_EVERY) {
            await checkUnchanged(unchecked);
            unchecked = [];
          }
        } else if (outcome?.ok && outcome.success) {
          successes++;
          baseline = await server.checksum();
          checksums++;
        } else {
          await checkUnchanged([body]);
        }
        if (index + 1 === fixedBodyCount(ctx)) heapAfterFixed = (await server.memory()).heapUsed;
        if ((n + 1) % MEMORY_EVERY === 0) rssSamples.push((await server.memory()).rss);
        if (problems.length >= MAX_PROBLEMS) break;
      }
      agent.destroy();
      if (unchecked.length > 0 && server.alive()) await checkUnchanged(unchecked);

      assert.ok(server.alive(), `the server process ended (${server.status()}): ${server.stderr()}`);
      const memoryAtEnd = await server.memory();
      // Without a kept peak (not Linux), the samples' largest.
      const peak = memoryAtEnd.peakRss ?? Math.max(memoryAtEnd.rss, ...rssSamples);
      const unexpected = await server.unexpectedErrors();

      t.diagnostic(`${indexes.length} bodies in ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${SEED} `
        + `(FUZZ_SEED=${SEED} FUZZ_ONLY=<index> replays one)`);
      t.diagnostic([...tally].filter(([k]) => k.startsWith('body')).map(([k, v]) => `${k.slice(5)} ${v}`).join(', '));
      t.diagnostic(`replies: ${[...tally].filter(([k]) => k.startsWith('reply')).sort().map(([k, v]) => `${k.slice(6)} ×${v}`).join(', ')}`);
      t.diagnostic(`database: ${checksums} checksums; changed by ${successes} successful calls`
        + `${[...faithfulWrites].map(([m, n]) => ` and ${n} failed ${m} (as oned)`).join('')}, by nothing else`
        + `${changedTables(initialChecksum, baseline).length === 0 ? '; unchanged overall' : ''}`);
      t.diagnostic(`memory: RSS ${mb(memoryAtStart.rss)} at start, peak ${mb(peak)}, ${mb(memoryAtEnd.rss)} at end; `
        + `heap after GC ${mb(heapAfterFixed)} after the fixed bodies, ${mb(memoryAtEnd.heapUsed)} at end`);
      if (rssSamples.length > 0) {
        t.diagnostic(`RSS every ${MEMORY_EVERY} bodies: ${mb(rssSamples[0])} first, ${mb(Math.min(...rssSamples))} to `
          + `${mb(Math.max(...rssSamples))}, ${mb(rssSamples[rssSamples.length - 1])} last`);
      }
      t.diagnostic(`unexpected exceptions logged by the server: ${unexpected.count}; Object.prototype keys: ${unexpected.polluted.length}`);

      assert.deepEqual(problems, []);
      assert.deepEqual(unexpected.first, [], `${unexpected.count} exceptions logged by the server`);
      assert.deepEqual(unexpected.polluted, [], 'Object.prototype was polluted');
      assert.ok(peak - memoryAtStart.rss <= PEAK_BUDGET,
        `peak RSS ${mb(peak)} is more than ${mb(PEAK_BUDGET)} above the starting ${mb(memoryAtStart.rss)}`);
      if (rssSamples.length >= 2) {
        assert.ok(rssSamples[rssSamples.length - 1] - rssSamples[0] <= RSS_GROWTH_BUDGET,
          `RSS grew from ${mb(rssSamples[0])} to ${mb(rssSamples[rssSamples.length - 1])} after warming up`);
      }
      assert.ok(memoryAtEnd.heapUsed - heapAfterFixed <= HEAP_GROWTH_BUDGET,
        `retained heap grew from ${mb(heapAfterFixed)} to ${mb(memoryAtEnd.heapUsed)}`);
    });
  });
}
