import type { Clock } from './clock.js';
import type { Config } from './config.js';
import { resolveOneadminCredentials } from './credentials.js';
import type { Logger } from './logger.js';
import { createDispatcher } from './api/dispatcher.js';
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

/** Opens and migrates the database, bootstraps a fresh cloud, then serves XML-RPC until stopped. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { config, clock, log } = opts;
  let ready = false;
  const db = opts.db ?? await openConfiguredDatabase(config);
  let rpc: RpcServer | undefined;
  try {
    const report = await migrate(db);
    if (report.applied.length > 0) log.info('ONE', `Database migrations applied: ${report.applied.join(', ')}`);
    const created = await bootstrap(db, async () => {
      const creds = resolveOneadminCredentials(opts.env ?? process.env, config.DB.DATA);
      log.info('ONE', `Fresh cloud: oneadmin's password taken from ${creds.source}`);
      return creds;
    });
    if (created) log.info('ONE', 'Bootstrapped a fresh cloud (users, groups, ACLs, cluster 0, datastores 0-2)');

    const app = { db, config, clock, log };
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
  log.info('ONE', `oned-emu listening on http://${config.LISTEN_ADDRESS}:${rpc.port}/RPC2 (${db.backend})`);
  const server = rpc;
  return {
    port: server.port,
    db,
    async stop() {
      ready = false;
      await server.close();
      if (!opts.db) await db.close();
    },
  };
}
