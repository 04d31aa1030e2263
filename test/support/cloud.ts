import { ManualClock } from '../../src/clock.js';
import { DEFAULTS, type Config } from '../../src/config.js';
import { memoryLogger } from '../../src/logger.js';
import type { RpcValue } from '../../src/rpc/values.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { Database } from '../../src/store/database.js';
import type { Backend } from './backends.js';
import { RpcClient } from './rpcClient.js';

export const ONEADMIN_PASSWORD = 'opennebula';
export const ONEADMIN = `oneadmin:${ONEADMIN_PASSWORD}`;
/** 2023-09-23 14:15:00 UTC: the moment the Backup Jobs guide's schedules start. */
export const TEST_EPOCH_S = 1695478500;

/** A running oned-emu on a fresh database of one backend, with a client and a frozen clock. */
export interface TestCloud {
  url: string;
  /** The METRICS_PORT listener's port, when the config asked for one. */
  metricsPort?: number;
  db: Database;
  clock: ManualClock;
  log: ReturnType<typeof memoryLogger>;
  client: RpcClient;
  /** Calls as oneadmin; resolves oned's reply array. */
  call(method: string, ...params: RpcValue[]): Promise<RpcValue[]>;
  /** Calls with another session string. */
  callAs(session: string, method: string, ...params: RpcValue[]): Promise<RpcValue[]>;
  /** Creates a user in group `users` (or the given groups) and returns its id and session. */
  user(name: string, groups?: number[]): Promise<{ id: number; session: string }>;
  stop(): Promise<void>;
}

export async function startTestCloud(backend: Backend, config: Partial<Config> = {}): Promise<TestCloud> {
  const db = await backend.open();
  const clock = new ManualClock(TEST_EPOCH_S * 1000);
  const log = memoryLogger();
  let server: RunningServer;
  try {
    server = await startServer({
      config: { ...DEFAULTS, DB: { ...DEFAULTS.DB }, PORT: 0, ...config }, clock, log, db,
      env: { ONEADMIN_PASSWORD },
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  const url = `http://127.0.0.1:${server.port}/RPC2`;
  const client = new RpcClient(url);
  const callAs = async (session: string, method: string, ...params: RpcValue[]) =>
    (await client.call(method, session, ...params)) as RpcValue[];
  return {
    url, metricsPort: server.metricsPort, db, clock, log, client,
    call: (method, ...params) => callAs(ONEADMIN, method, ...params),
    callAs,
    async user(name, groups) {
      const reply = await callAs(ONEADMIN, 'one.user.allocate', name, 'pw', '', ...(groups ? [groups] : []));
      if (reply[0] !== true) throw new Error(`user.allocate ${name}: ${String(reply[1])}`);
      return { id: reply[1] as number, session: `${name}:pw` };
    },
    async stop() {
      client.close();
      await server.stop();
      await db.close();
    },
  };
}

/** The XML document of a successful info/pool call. */
export function okXml(reply: RpcValue[]): string {
  if (reply[0] !== true || typeof reply[1] !== 'string') throw new Error(`expected success, got ${JSON.stringify(reply)}`);
  return reply[1];
}
