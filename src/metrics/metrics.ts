import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Database } from '../store/database.js';
import { CloudMetrics } from './cloudMetrics.js';

/**
 * The metrics of one process: the cloud-wide gauges (read from the database at each scrape), this process's
 * XML-RPC requests and scheduler ticks, and Node's process metrics. Each process has its own registry.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly cloud: CloudMetrics;
  private readonly requests: Counter<'method' | 'result'>;
  private readonly requestSeconds: Histogram<'method'>;
  private readonly tickSeconds: Histogram;
  private scraping: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: Database, maxBackups: number) {
    const registers = [this.registry];
    this.cloud = new CloudMetrics(this.registry, maxBackups);
    this.requests = new Counter({ name: 'oned_emu_xmlrpc_requests_total', registers, labelNames: ['method', 'result'],
      help: 'XML-RPC calls answered by this process, by method and result (success, the oned error name, or fault)' });
    this.requestSeconds = new Histogram({ name: 'oned_emu_xmlrpc_request_duration_seconds', registers, labelNames: ['method'],
      help: 'Time this process took to answer an XML-RPC call, by method' });
    this.tickSeconds = new Histogram({ name: 'oned_emu_scheduler_tick_duration_seconds', registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      help: 'Wall time of the scheduler ticks this process ran (placement, scheduled actions, backup launches)' });
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string { return this.registry.contentType; }

  observeRequest(method: string, result: string, seconds: number): void {
    this.requests.inc({ method, result });
    this.requestSeconds.observe({ method }, seconds);
  }

  observeTick(seconds: number): void { this.tickSeconds.observe(seconds); }

  /** The exposition text. Scrapes run one at a time: each one rebuilds the cloud gauges before reading them. */
  scrape(): Promise<string> {
    const run = this.scraping.then(async () => {
      await this.cloud.refresh(this.db);
      return this.registry.metrics();
    });
    this.scraping = run.catch(() => undefined);
    return run;
  }
}
