import type { Caller } from '../domain/authorization.js';
import type { ObjectType } from '../domain/objectTypes.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { MethodSignature } from '../rpc/registry.js';
import type { RpcValue } from '../rpc/values.js';
import type { Database } from '../store/database.js';

/** What every request handler can reach: the database, the configuration, the one clock and the log. */
export interface App {
  db: Database;
  config: Config;
  clock: Clock;
  log: Logger;
  /** The background loop, when this process runs one (emu.* methods drive it). */
  scheduler?: { tick(): Promise<unknown>; advance(seconds: number): Promise<number> };
  /** Told the wall time, in seconds, of every scheduler tick this process ran (the tick-duration metric). */
  onTickDone?(seconds: number): void;
}

/** One authenticated call (RequestAttributes). */
export interface Request {
  app: App;
  caller: Caller;
  method: string;
  reqId: number;
}

/** An XML-RPC method of oned: its signature, the object its messages name, and its body. */
export interface ApiMethod extends MethodSignature {
  /** The object named in "Error getting <object> …" and authorization texts (the method's auth object). */
  object: ObjectType;
  /** Parameter positions the log shows as ****. */
  hidden?: readonly number[];
  /** Returns the success value; throws OneError for oned's failure replies. Parameters are already type-checked. */
  run(req: Request, params: readonly RpcValue[]): Promise<RpcValue>;
}
