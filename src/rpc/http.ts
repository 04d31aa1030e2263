/**
 * The HTTP side of the XML-RPC endpoint: POST /RPC2 (as oned's Abyss server answers it), GET /ready, and room
 * for extra GET routes. Limits follow oned.conf: MESSAGE_SIZE, TIMEOUT, KEEPALIVE_TIMEOUT, KEEPALIVE_MAX_CONN,
 * MAX_CONN (here: calls processed at once) and a hard cap on open sockets.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeCall, encodeFault, encodeResponse, type DecodedCall } from './codec.js';
import { FAULT, RpcFault, UNEXPECTED_ERROR_TEXT } from './faults.js';
import type { RpcValue } from './values.js';

/** Answers one call. May throw RpcFault (sent as that fault); anything else becomes fault -500 and goes to onError. */
export interface RpcHandler { (call: DecodedCall, meta: { ip: string }): Promise<RpcValue> }

export interface HttpOptions {
  port: number;
  host: string;
  /** MESSAGE_SIZE: largest accepted request body, in bytes. */
  messageSize: number;
  /** MAX_CONN: calls processed at once; further ones wait their turn in arrival order. */
  maxConn: number;
  /** KEEPALIVE_TIMEOUT: idle seconds before a kept-alive connection is closed; 0 closes after every reply. */
  keepAliveTimeoutS: number;
  /** TIMEOUT: seconds allowed to receive a request's headers and body. */
  timeoutS: number;
  /** KEEPALIVE_MAX_CONN: requests served on one connection before it is closed (0 or absent: no limit). */
  keepAliveMaxConn?: number;
  /** MAX_CONN_BACKLOG: listen(2) backlog. */
  backlog?: number;
  /** Open sockets beyond this are closed on arrival (default 1000). */
  maxSockets?: number;
  isReady(): boolean;
  onError?(err: unknown): void;
  /** Other routes (e.g. GET /metrics); returns true when it answered the request. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface RpcServer {
  readonly port: number;
  /** Stops accepting connections, waits for the calls in progress to be answered, then closes every connection. */
  close(): Promise<void>;
}

const DEFAULT_MAX_SOCKETS = 1000;
const XML_CONTENT_TYPE = 'text/xml; charset=utf-8';
/** How often Node checks request and header timeouts; its 30 s default would stretch a 15 s TIMEOUT to 45 s. */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** A FIFO counting semaphore. */
class Semaphore {
  private readonly waiting: Array<() => void> = [];

  constructor(private available: number) {}

  acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.available++;
  }
}

type BodyResult =
  | { kind: 'complete'; body: Buffer }
  | { kind: 'tooLarge'; text: string }
  | { kind: 'aborted' };

/**
 * Reads the body, keeping at most `limit` bytes. Past the limit (or when Content-Length already says so) the rest is
 * read and thrown away, and only then is the request reported too large: a reply sent while body bytes are still
 * unread would end in a connection reset once the connection closes, and clients that send the whole body before
 * reading (Ruby's, Python's) would lose the fault with it. TIMEOUT bounds how long that takes.
 */
function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = req.headers['content-length'];
  let tooLarge = declared !== undefined && Number(declared) > limit
    ? `XML-RPC request too large (${declared} bytes)` : undefined;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge !== undefined) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        tooLarge = `XML-RPC request too large.  Max allowed is ${limit} bytes`;
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(tooLarge !== undefined ? { kind: 'tooLarge', text: tooLarge }
      : { kind: 'complete', body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) }));
    // After 'end' this is a no-op: a promise settles once.
    req.once('close', () => resolve({ kind: 'aborted' }));
  });
}

function clientIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${text}\n`, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}

export async function startRpcServer(handler: RpcHandler, opts: HttpOptions): Promise<RpcServer> {
  const server = http.createServer({
    requestTimeout: opts.timeoutS * 1000,
    headersTimeout: opts.timeoutS * 1000,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  });
  server.keepAliveTimeout = opts.keepAliveTimeoutS * 1000;
  server.maxRequestsPerSocket = opts.keepAliveMaxConn ?? 0;
  server.maxConnections = opts.maxSockets ?? DEFAULT_MAX_SOCKETS;

  const processing = new Semaphore(opts.maxConn);
  let closing = false;
  let callsInProgress = 0;
  let onIdle: (() => void) | undefined;

  const reportError = (err: unknown) => {
    try {
      opts.onError?.(err);
    } catch {
      // a failing error reporter must not take the connection down with it
    }
  };

  const sendXml = (res: ServerResponse, xml: string) => {
    if (res.destroyed || res.writableEnded) return; // the client went away meanwhile
    const body = Buffer.from(xml, 'utf8');
    const headers: Record<string, string | number> = { 'Content-Type': XML_CONTENT_TYPE, 'Content-Length': body.length };
    if (closing || opts.keepAliveTimeoutS === 0) headers.Connection = 'close';
    res.writeHead(200, headers);
    res.end(body);
  };

  const answerCall = async (body: Buffer, ip: string): Promise<string> => {
    try {
      const call = decodeCall(body);
      return encodeResponse(await handler(call, { ip }));
    } catch (err) {
      if (err instanceof RpcFault) return encodeFault(err.code, err.message);
      reportError(err);
      return encodeFault(FAULT.INTERNAL, UNEXPECTED_ERROR_TEXT);
    }
  };

  const handleCall = async (req: IncomingMessage, res: ServerResponse) => {
    const result = await readBody(req, opts.messageSize);
    if (result.kind === 'aborted') return;
    // In progress from when the body is in until the reply is out: close() waits for these, not for requests still
    // arriving (Node stops timing those out once the server closes, so a slow client would hold shutdown for ever).
    // Counted before any I/O callback can run, so the socket cannot have closed unseen.
    callsInProgress++;
    res.once('close', () => {
      if (--callsInProgress === 0) onIdle?.();
    });
    if (result.kind === 'tooLarge') {
      sendXml(res, encodeFault(FAULT.LIMIT, result.text));
      return;
    }
    await processing.acquire();
    try {
      sendXml(res, await answerCall(result.body, clientIp(req)));
    } finally {
      processing.release();
    }
  };

  const route = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/RPC2') {
      if (req.method === 'POST') {
        handleCall(req, res).catch((err: unknown) => {
          reportError(err);
          if (!res.headersSent) sendXml(res, encodeFault(FAULT.INTERNAL, UNEXPECTED_ERROR_TEXT));
        });
      } else if (req.method === 'OPTIONS') {
        res.writeHead(200, { Allow: 'POST', 'Content-Length': 0 });
        res.end();
      } else {
        sendText(res, 405, 'POST is the only HTTP method this server understands', { Allow: 'POST' });
      }
      return;
    }
    if (path === '/ready') {
      if (req.method !== 'GET' && req.method !== 'HEAD') sendText(res, 405, 'Only GET is allowed here', { Allow: 'GET, HEAD' });
      else if (opts.isReady()) sendText(res, 200, 'ready');
      else sendText(res, 503, 'not ready');
      return;
    }
    if (opts.extraRoutes?.(req, res)) return;
    sendText(res, 404, `This server responds to only one URI path for XML-RPC: '/RPC2'.  `
      + `It is not the one you requested: '${path}'.`);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    try {
      route(req, res);
    } catch (err) {
      reportError(err);
      if (!res.headersSent) sendText(res, 500, 'Internal server error');
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port, host: opts.host, backlog: opts.backlog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', reportError);

  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (callsInProgress > 0) await new Promise<void>((resolve) => { onIdle = resolve; });
        // What is left is idle, or in the middle of sending a request that will not be served.
        server.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}
