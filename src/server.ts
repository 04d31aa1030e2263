import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { resolveOneadminCredentials } from './credentials.js';
import type { Logger } from './logger.js';
import type { App } from './api/app.js';
import { createDispatcher } from './api/dispatcher.js';
import { Scheduler } from './scheduler/scheduler.js';
import { buildRegistry } from './api/methods.js';
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
  readonly db: Database;
  /** Stops accepting calls, finishes the calls in flight, closes the database. */
  stop(): Promise<void>;
}

export async function openConfiguredDatabase(config: Config): Promise<Database> {
  return config.DB.BACKEND === 'postgresql'
    ? openDatabase({ url: config.DB.CONNECTION })
    : openDatabase({ dataDir: config.DB.DATA });
}

/** Migrations and the fresh-cloud bootstrap, run by every process that starts on a database. */
async function prepareDatabase(db: Database, opts: ServerOptions): Promise<void> {
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

/** `oned-emu scheduler`: the background loop alone, on a database other processes serve. */
export async function startSchedulerOnly(opts: ServerOptions): Promise<{ stop(): Promise<void> }> {
  const db = opts.db ?? await openConfiguredDatabase(opts.config);
  try {
    await prepareDatabase(db, opts);
  } catch (err) {
    if (!opts.db) await db.close();
    throw err;
  }
  const app: App = { db, config: opts.config, clock: opts.clock, log: opts.log };
  const scheduler = new Scheduler(app);
  app.scheduler = scheduler;
  scheduler.start();
  opts.log.info('ONE', `oned-emu scheduler running every ${opts.config.MANAGER_TIMER} s (${db.backend})`);
  return {
    async stop() {
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
  let scheduler: Scheduler | undefined;
  try {
    await prepareDatabase(db, opts);

    const app: App = { db, config, clock, log };
    if (opts.scheduler !== false) {
      scheduler = new Scheduler(app);
      app.scheduler = scheduler;
    }
    rpc = await startRpcServer(createDispatcher(app, buildRegistry()), {
      port: config.PORT, host: config.LISTEN_ADDRESS, messageSize: config.MESSAGE_SIZE, maxConn: config.MAX_CONN,
      keepAliveTimeoutS: config.KEEPALIVE_TIMEOUT, keepAliveMaxConn: config.KEEPALIVE_MAX_CONN, backlog: config.MAX_CONN_BACKLOG,
      timeoutS: config.TIMEOUT, isReady: () => ready,
      onError: (err) => log.error('ReM', `XML-RPC server error: ${(err as Error)?.stack ?? String(err)}`),
    });
  } catch (err) {
    if (!opts.db) await db.close();
    throw err;
  }
  ready = true;
  scheduler?.start();
  log.info('ONE', `oned-emu listening on http://${config.LISTEN_ADDRESS}:${rpc.port}/RPC2 (${db.backend})`);
  const server = rpc;
  return {
    port: server.port,
    db,
    async stop() {
      ready = false;
      await server.close();
      await scheduler?.stop();
      if (!opts.db) await db.close();
    },
  };
}
