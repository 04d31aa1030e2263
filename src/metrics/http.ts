import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

function send(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': body.length });
  res.end(body);
}

/** GET /metrics: answers it and returns true, or returns false for any other path. */
export function metricsRoute(metrics: Metrics, onError: (err: unknown) => void) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if ((req.url ?? '/').split('?', 1)[0] !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'Only GET is allowed here\n', { Allow: 'GET, HEAD' });
      return true;
    }
    metrics.scrape().then(
      (text) => send(res, 200, metrics.contentType, text),
      (err: unknown) => {
        onError(err);
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'metrics are unavailable: the database did not answer\n');
      });
    return true;
  };
}

export interface MetricsServer { readonly port: number; close(): Promise<void> }

/** The --metrics-port listener: GET /metrics and GET /ready, nothing else. */
export async function startMetricsServer(opts: { port: number; host: string; metrics: Metrics; isReady(): boolean;
  onError(err: unknown): void }): Promise<MetricsServer> {
  const route = metricsRoute(opts.metrics, opts.onError);
  const server = http.createServer((req, res) => {
    if (route(req, res)) return;
    if ((req.url ?? '/').split('?', 1)[0] === '/ready') {
      const ready = opts.isReady();
      send(res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready\n');
      return;
    }
    send(res, 404, 'text/plain; charset=utf-8', 'This port serves /metrics and /ready only\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port, host: opts.host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', opts.onError);
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
