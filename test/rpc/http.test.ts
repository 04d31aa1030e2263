import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeResponse, encodeCall } from '../../src/rpc/codec.js';
import { FAULT, RpcFault, UNEXPECTED_ERROR_TEXT } from '../../src/rpc/faults.js';
import { startRpcServer, type HttpOptions, type RpcHandler, type RpcServer } from '../../src/rpc/http.js';
import { RpcI8, type RpcValue } from '../../src/rpc/values.js';
import { RpcClient } from '../support/rpcClient.js';

const echo: RpcHandler = async (call) => [true, call.method, 0];

const running: Array<{ server: RpcServer; clients: RpcClient[] }> = [];

async function start(handler: RpcHandler, overrides: Partial<HttpOptions> = {}) {
  const server = await startRpcServer(handler, {
    port: 0, host: '127.0.0.1', messageSize: 1024 * 1024, maxConn: 15, keepAliveTimeoutS: 15, timeoutS: 15,
    isReady: () => true, ...overrides,
  });
  const entry = { server, clients: [] as RpcClient[] };
  running.push(entry);
  const url = `http://127.0.0.1:${server.port}/RPC2`;
  const newClient = (keepAlive: boolean) => {
    const c = new RpcClient(url, { keepAlive });
    entry.clients.push(c);
    return c;
  };
  return { server, url, client: newClient(true), newClient };
}

afterEach(async () => {
  for (const { server, clients } of running.splice(0)) {
    for (const c of clients) c.close();
    await server.close();
  }
});

function request(port: number, method: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A client that writes the whole request before it reads anything, as Ruby's Net::HTTP and Python's http.client do:
 * a write that fails (the server reset the connection) ends the exchange without a reply, as it does for them.
 */
function uploadThenRead(port: number, head: string, total: number, frame: (chunk: Buffer) => Buffer = (c) => c) {
  return new Promise<{ reply: string; error?: string }>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    let uploaded = false;
    let reply = '';
    const finish = (error?: string) => {
      socket.destroy();
      resolve({ reply, error });
    };
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!socket.write(frame(chunk))) return;
      }
      if (uploaded) return;
      uploaded = true;
      socket.write(frame(Buffer.alloc(0)), () => {
        socket.on('data', (d: Buffer) => {
          reply += d.toString();
          if (reply.includes('</methodResponse>')) finish();
        });
      });
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
    socket.on('drain', pump);
    socket.on('error', (err) => finish(uploaded ? undefined : `${err.message} after ${sent} of ${total} bytes`));
    socket.on('close', () => finish());
  });
}

function faultOf(httpReply: string): { code: number; message: string } | undefined {
  const body = httpReply.slice(httpReply.indexOf('<?xml'));
  return decodeResponse(body).fault;
}

describe('HTTP routing', () => {
  it('answers POST /RPC2 with text/xml; charset=utf-8', async () => {
    const { client } = await start(echo);
    const reply = await client.raw(encodeCall('one.system.version', ['s']));
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'text/xml; charset=utf-8');
    assert.deepEqual(decodeResponse(reply.body).value, [true, 'one.system.version', 0]);
  });

  it('answers 404 for other paths and 405 for other methods on /RPC2', async () => {
    const { server } = await start(echo);
    assert.equal((await request(server.port, 'POST', '/RPC3')).status, 404);
    assert.equal((await request(server.port, 'GET', '/')).status, 404);
    const get = await request(server.port, 'GET', '/RPC2');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal((await request(server.port, 'PUT', '/RPC2')).status, 405);
    const options = await request(server.port, 'OPTIONS', '/RPC2');
    assert.equal(options.status, 200, 'Abyss answers OPTIONS on the XML-RPC path');
    assert.equal(options.headers.allow, 'POST');
  });

  it('serves GET /ready from isReady()', async () => {
    let ready = false;
    const { server } = await start(echo, { isReady: () => ready });
    assert.equal((await request(server.port, 'GET', '/ready')).status, 503);
    ready = true;
    const ok = await request(server.port, 'GET', '/ready');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.trim(), 'ready');
  });

  it('lets extraRoutes answer other paths', async () => {
    const { server } = await start(echo, {
      extraRoutes: (req, res) => {
        if (req.url !== '/metrics') return false;
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('opennebula_up 1\n');
        return true;
      },
    });
    const metrics = await request(server.port, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.equal(metrics.body, 'opennebula_up 1\n');
    assert.equal((await request(server.port, 'GET', '/other')).status, 404);
  });
});

describe('calls', () => {
  it('passes the decoded call and the client address to the handler', async () => {
    const seen: Array<{ method: string; params: RpcValue[]; ip: string }> = [];
    const { client } = await start(async (call, meta) => {
      seen.push({ ...call, ip: meta.ip });
      return [true, 7, 0];
    });
    assert.deepEqual(await client.call('one.backupjob.info', 'oneadmin:x', 3, new RpcI8(-1n)), [true, 7, 0]);
    assert.deepEqual(seen, [{ method: 'one.backupjob.info', params: ['oneadmin:x', 3, new RpcI8(-1n)], ip: '127.0.0.1' }]);
  });

  it('sends an RpcFault thrown by the handler as that fault', async () => {
    const { client } = await start(async () => { throw new RpcFault(FAULT.TYPE, 'Not enough parameters'); });
    await assert.rejects(client.call('one.backupjob.info'), (err: unknown) =>
      err instanceof RpcFault && err.code === -501 && err.message === 'Not enough parameters');
  });

  it('turns any other throw into fault -500, reports it, and keeps serving', async () => {
    const reported: unknown[] = [];
    const { client } = await start(async (call) => {
      if (call.method === 'boom') throw new Error('database exploded');
      return [true, 1, 0];
    }, { onError: (err) => reported.push(err) });
    await assert.rejects(client.call('boom'), (err: unknown) =>
      err instanceof RpcFault && err.code === FAULT.INTERNAL && err.message === UNEXPECTED_ERROR_TEXT);
    assert.equal(reported.length, 1);
    assert.equal((reported[0] as Error).message, 'database exploded');
    assert.deepEqual(await client.call('fine'), [true, 1, 0]);
  });

  it('answers a value the encoder cannot write with fault -500', async () => {
    const reported: unknown[] = [];
    const { client } = await start(async () => [true, 2 ** 40, 0], { onError: (err) => reported.push(err) });
    await assert.rejects(client.call('m'), (err: unknown) => err instanceof RpcFault && err.code === FAULT.INTERNAL);
    assert.ok(reported[0] instanceof TypeError);
  });

  it('answers undecodable bodies with -503 / -510 faults over HTTP 200', async () => {
    const { client } = await start(echo);
    const garbage = await client.raw('not xml at all');
    assert.equal(garbage.status, 200);
    assert.equal(decodeResponse(garbage.body).fault?.code, FAULT.PARSE);
    const badUtf8 = await client.raw(Buffer.from([0x3c, 0xff, 0x3e]));
    assert.equal(decodeResponse(badUtf8.body).fault?.code, FAULT.ENCODING);
  });
});

describe('connections and limits', () => {
  it('keeps one connection alive across 100 calls', async () => {
    const { client } = await start(echo);
    for (let i = 0; i < 100; i++) assert.deepEqual(await client.call(`m${i}`), [true, `m${i}`, 0]);
    assert.equal(client.connectionsUsed, 1);
  });

  it('serves clients that open a connection per call (the Ruby OCA)', async () => {
    const { newClient } = await start(echo);
    const perCall = newClient(false);
    for (let i = 0; i < 5; i++) await perCall.call('m');
    assert.equal(perCall.connectionsUsed, 5);
  });

  it('closes after every reply when KEEPALIVE_TIMEOUT is 0, and after KEEPALIVE_MAX_CONN requests', async () => {
    const noKeepAlive = await start(echo, { keepAliveTimeoutS: 0 });
    for (let i = 0; i < 3; i++) await noKeepAlive.client.call('m');
    assert.equal(noKeepAlive.client.connectionsUsed, 3);
    const capped = await start(echo, { keepAliveMaxConn: 2 });
    for (let i = 0; i < 4; i++) await capped.client.call('m');
    assert.equal(capped.client.connectionsUsed, 2);
  });

  it('reads a body over MESSAGE_SIZE to its end, then answers -509, even to clients that read only then (Ruby, Python)', async () => {
    const { server, client } = await start(echo, { messageSize: 64 * 1024 });
    const total = 50 * 1024 * 1024;
    const declared = await uploadThenRead(server.port,
      `POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: ${total}\r\n\r\n`, total);
    assert.equal(declared.error, undefined);
    assert.match(declared.reply, /^HTTP\/1\.1 200/);
    assert.deepEqual(faultOf(declared.reply), { code: FAULT.LIMIT, message: `XML-RPC request too large (${total} bytes)` });
    const chunked = (c: Buffer) => Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')]);
    const streamed = await uploadThenRead(server.port,
      'POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n', total, chunked);
    assert.equal(streamed.error, undefined);
    assert.deepEqual(faultOf(streamed.reply), { code: FAULT.LIMIT, message: 'XML-RPC request too large.  Max allowed is 65536 bytes' });
    assert.deepEqual(await client.call('after'), [true, 'after', 0]);
  });

  it('accepts a body of exactly MESSAGE_SIZE', async () => {
    const { client } = await start(echo, { messageSize: 4096 });
    const overhead = Buffer.byteLength(encodeCall('m', ['x'])) - 1;
    const body = encodeCall('m', ['x'.repeat(4096 - overhead)]);
    assert.equal(Buffer.byteLength(body), 4096);
    assert.deepEqual(decodeResponse((await client.raw(body)).body).value, [true, 'm', 0]);
    assert.equal(decodeResponse((await client.raw(`${body} `)).body).fault?.code, FAULT.LIMIT);
  });

  it('processes at most MAX_CONN calls at once; the rest wait and are all answered', async () => {
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const { newClient } = await start(async (call) => {
      active++;
      peak = Math.max(peak, active);
      order.push(call.params[0] as number);
      await sleep(60);
      active--;
      return [true, call.params[0], 0];
    }, { maxConn: 2 });
    const parallel = newClient(false);
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => parallel.call('slow', i)));
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5].map((i) => [true, i, 0]));
    assert.equal(peak, 2);
    assert.equal(order.length, 6);
  });

  it('closes connections beyond maxSockets on arrival', async () => {
    const { server, client } = await start(echo, { maxSockets: 2 });
    const open = (): Promise<net.Socket> => new Promise((resolve) => {
      const s = net.connect(server.port, '127.0.0.1', () => resolve(s));
    });
    const first = await open();
    const second = await open();
    await sleep(50); // let the server register both
    const third = await open();
    const closedBy = await Promise.race([
      new Promise<string>((resolve) => third.once('close', () => resolve('server'))),
      sleep(2000).then(() => 'timeout'),
    ]);
    assert.equal(closedBy, 'server');
    first.destroy();
    second.destroy();
    await sleep(50);
    assert.deepEqual(await client.call('m'), [true, 'm', 0]);
  });

  it('drops a connection that does not finish its request within TIMEOUT', async () => {
    const { server } = await start(echo, { timeoutS: 1 });
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = Date.now();
    socket.write('POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<methodCall>');
    let reply = '';
    socket.on('data', (d: Buffer) => { reply += d.toString(); });
    await new Promise((resolve) => socket.once('close', resolve));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 4000, `closed after ${elapsed} ms`);
    assert.ok(reply === '' || reply.startsWith('HTTP/1.1 408'), reply);
  });

  it('drops a connection that sends nothing within TIMEOUT, and lets a call run longer than TIMEOUT', async () => {
    const { server, client } = await start(async () => {
      await sleep(1500);
      return [true, 'slow', 0];
    }, { timeoutS: 1 });
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume(); // a paused socket would not notice the server's FIN
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = Date.now();
    const closed = Promise.race([new Promise((resolve) => socket.once('close', resolve)), sleep(4000)]);
    assert.deepEqual(await client.call('slow'), [true, 'slow', 0]);
    await closed;
    const elapsed = Date.now() - started;
    socket.destroy();
    assert.ok(elapsed >= 900 && elapsed < 4000, `closed after ${elapsed} ms`);
  });

  it('close() waits for a call in progress, answers it, then stops accepting', async () => {
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => { entered = resolve; });
    const events: string[] = [];
    const { server, url } = await start(async () => {
      entered();
      await sleep(300);
      events.push('handler finished');
      return [true, 'slow', 0];
    });
    const client = new RpcClient(url);
    const pending = client.call('slow');
    await handlerEntered;
    await server.close();
    events.push('closed');
    assert.deepEqual(events, ['handler finished', 'closed']);
    assert.deepEqual(await pending, [true, 'slow', 0]);
    client.close();
    const late = new RpcClient(url);
    await assert.rejects(late.call('m'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    late.close();
  });

  it('close() does not wait for a request whose body is still arriving', async () => {
    const { server } = await start(echo);
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.resume();
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<methodCall>');
    await sleep(100); // the request reaches the server
    const closed = await Promise.race([server.close().then(() => 'closed'), sleep(3000).then(() => 'still waiting')]);
    socket.destroy();
    assert.equal(closed, 'closed');
  });
});
