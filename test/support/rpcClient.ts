/**
 * A minimal XML-RPC client for tests, on node:http (the xmlrpc package's client cannot send <i8>).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { decodeResponse, encodeCall } from '../../src/rpc/codec.js';
import { RpcFault } from '../../src/rpc/faults.js';
import type { RpcValue } from '../../src/rpc/values.js';

export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: string }

export class RpcClient {
  private readonly target: URL;
  private readonly agent: http.Agent;
  private readonly socketsSeen = new Set<Socket>();

  constructor(url: string, opts: { keepAlive?: boolean } = {}) {
    this.target = new URL(url);
    this.agent = new http.Agent({ keepAlive: opts.keepAlive ?? true });
  }

  /** Distinct TCP connections this client has used so far (to observe keep-alive reuse). */
  get connectionsUsed(): number {
    return this.socketsSeen.size;
  }

  /** Resolves the response's value (oned's result array); rejects with RpcFault when the server sent a fault. */
  async call(method: string, ...params: RpcValue[]): Promise<RpcValue> {
    const reply = await this.raw(encodeCall(method, params));
    const decoded = decodeResponse(reply.body);
    if (decoded.fault !== undefined) throw new RpcFault(decoded.fault.code, decoded.fault.message);
    return decoded.value as RpcValue;
  }

  /** POSTs `body` to the endpoint as is. */
  raw(body: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
    const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return new Promise((resolve, reject) => {
      const req = http.request(this.target, {
        method: 'POST',
        agent: this.agent,
        headers: { 'Content-Type': 'text/xml', 'Content-Length': payload.length, ...headers },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }));
        res.on('error', reject);
      });
      req.on('socket', (s) => this.socketsSeen.add(s));
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
