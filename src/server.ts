import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { resolveOneadminCredentials } from './credentials.js';
import type { Logger } from './logger.js';
import type { App } from './api/app.js';
import { createDispatcher } from './api/dispatcher.js';
import { Scheduler } from './scheduler/scheduler.js';
import { buildRegistry } from './api/methods.js';
import { metricsRoute, startMetricsServer, type MetricsServer } from './metrics/http.js';
import { Metrics } from './metrics/metrics.js';
import { instrumentRpc } from './metrics/rpcMetrics.js';
import { startRpcServer, type RpcServer } from './rpc/http.js';
import { bootstrap } from './store/bootstrap.js';
import { openDatabase, type Database } from './store/database.js';
import { migrate } from './store/migrate.js';

export interface ServerOptions {
  config: Config;
  clock: Clock;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** An already open database (tests); otherwise opened from config.DB. */
  db?: Database;
  /** Run the background loop (placement, scheduled actions, backups) in this process; default true. */
  scheduler?: boolean;
}

export interface RunningServer {
  readonly port: number;
  /** The METRICS_PORT listener's port, when there is one. */
  readonly metricsPort?: number;
  readonly db: Database;
  /** Stops accepting calls, finishes the calls in flight, closes the database. */
  stop(): Promise<void>;
}

/**
 * On PostgreSQL a statement gets TIMEOUT seconds to answer and a new connection as long to open: a database that is
 * gone makes calls fail with oned's INTERNAL reply instead of hanging (and the pool reconnects when it is back).
 */
export async function openConfiguredDatabase(config: Config): Promise<Database> {
  return config.DB.BACKEND === 'postgresql'
    ? openDatabase({ url: config.DB.CONNECTION, waitTimeoutMs: config.TIMEOUT * 1000 })
    : openDatabase({ dataDir: config.DB.DATA });
}

/** Migrations and the fresh-cloud bootstrap, run by every process that starts on a database. */
export async function prepareDatabase(db: Database, opts: Pick<ServerOptions, 'config' | 'log' | 'env'>): Promise<void> {
  const { config, log } = opts;
  const report = await migrate(db);
  if (report.applied.length > 0) log.info('ONE', `Database migrations applied: ${report.applied.join(', ')}`);
  const created = await bootstrap(db, async () => {
    const creds = resolveOneadminCredentials(opts.env ?? process.env, config.DB.DATA);
    log.info('ONE', `Fresh cloud: oneadmin's password taken from ${creds.source}`);
    return creds;
  });
  if (created) log.info('ONE', 'Bootstrapped a fresh cloud (users, groups, ACLs, cluster 0, datastores 0-2)');
}

const metricsErrorLogger = (log: Logger) => (err: unknown) => log.error('ONE', `Metrics error: ${(err as Error)?.stack ?? String(err)}`);

/** The METRICS_PORT listener, when configured. */
function metricsListener(opts: ServerOptions, metrics: Metrics, isReady: () => boolean): Promise<MetricsServer | undefined> {
  const port = opts.config.METRICS_PORT;
  if (port === null) return Promise.resolve(undefined);
  return startMetricsServer({ port, host: opts.config.LISTEN_ADDRESS, metrics, isReady, onError: metricsErrorLogger(opts.log) });
}

/** `oned-emu scheduler`: the background loop alone, on a database other processes serve. */
export async function startSchedulerOnly(opts: ServerOptions): Promise<{ readonly metricsPort?: number; stop(): Promise<void> }> {
  const db = opts.db ?? await openConfiguredDatabase(opts.config);
  const metrics = new Metrics(db, opts.config.MAX_BACKUPS);
  let listener: MetricsServer | undefined;
  try {
    await prepareDatabase(db, opts);
    listener = await metricsListener(opts, metrics, () => true);
  } catch (err) {
    if (!opts.db) await db.close();
    throw err;
  }
  const app: App = { db, config: opts.config, clock: opts.clock, log: opts.log, onTickDone: (s) => metrics.observeTick(s) };
  const scheduler = new Scheduler(app);
  app.scheduler = scheduler;
  scheduler.start();
  opts.log.info('ONE', `oned-emu scheduler running every ${opts.config.MANAGER_TIMER} s (${db.backend})`
    + (listener ? `, metrics on port ${listener.port}` : ''));
  return {
    metricsPort: listener?.port,
    async stop() {
      await listener?.close();
      await scheduler.stop();
      if (!opts.db) await db.close();
    },
  };
}

/** Opens and migrates the database, bootstraps a fresh cloud, then serves XML-RPC until stopped. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { config, clock, log } = opts;
  let ready = false;
  const db = opts.db ?? await openConfiguredDatabase(config);
  let rpc: RpcServer | undefined;
  let listener: MetricsServer | undefined;
  let scheduler: Scheduler | undefined;
  const metrics = new Metrics(db, config.MAX_BACKUPS);
  try {
    await prepareDatabase(db, opts);

    const app: App = { db, config, clock, log, onTickDone: (s) => metrics.observeTick(s) };
    if (opts.scheduler !== false) {
      scheduler = new Scheduler(app);
      app.scheduler = scheduler;
    }
    const registry = buildRegistry();
    const handler = instrumentRpc(createDispatcher(app, registry), metrics, (name) => registry.get(name) !== undefined);
    rpc = await startRpcServer(handler, {
      port: config.PORT, host: config.LISTEN_ADDRESS, messageSize: config.MESSAGE_SIZE, maxConn: config.MAX_CONN,
      keepAliveTimeoutS: config.KEEPALIVE_TIMEOUT, keepAliveMaxConn: config.KEEPALIVE_MAX_CONN, backlog: config.MAX_CONN_BACKLOG,
      timeoutS: config.TIMEOUT, isReady: () => ready, extraRoutes: metricsRoute(metrics, metricsErrorLogger(log)),
      onError: (err) => log.error('ReM', `XML-RPC server error: ${(err as Error)?.stack ?? String(err)}`),
    });
    listener = await metricsListener(opts, metrics, () => ready);
  } catch (err) {
    await rpc?.close();
    if (!opts.db) await db.close();
    throw err;
  }
  ready = true;
  scheduler?.start();
  log.info('ONE', `oned-emu listening on http://${config.LISTEN_ADDRESS}:${rpc.port}/RPC2 (${db.backend})`
    + (listener ? `, metrics on port ${listener.port}` : ''));
  const server = rpc;
  return {
    port: server.port,
    metricsPort: listener?.port,
    db,
    async stop() {
      ready = false;
      await listener?.close();
      await server.close();
      await scheduler?.stop();
      if (!opts.db) await db.close();
    },
  };
}
