import { ErrorCode } from '../domain/errors.js';
import type { RpcHandler } from '../rpc/http.js';
import type { RpcValue } from '../rpc/values.js';
import type { Metrics } from './metrics.js';

/** oned's names of its error codes (Request::ErrorCode), the `result` of a failure reply. */
const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode)
  .map(([name, code]): [number, string] => [code, name === 'RPC_API' ? 'XML_RPC_API' : name]));

/** success, the oned error name of a failure reply ([false, message, code, …]), or UNKNOWN for any other reply. */
export function resultOf(reply: RpcValue): string {
  if (!Array.isArray(reply)) return 'UNKNOWN';
  if (reply[0] === true) return 'success';
  return ERROR_NAMES.get(reply[2] as number) ?? 'UNKNOWN';
}

/**
 * Counts and times every call the handler answers. Names the server does not know are counted under one label
 * value, so arbitrary method names cannot grow the series without bound.
 */
export function instrumentRpc(handler: RpcHandler, metrics: Metrics, isKnown: (method: string) => boolean): RpcHandler {
  return async (call, meta) => {
    const started = performance.now();
    const method = isKnown(call.method) ? call.method : '(unknown)';
    let result = 'fault';
    try {
      const reply = await handler(call, meta);
      result = resultOf(reply);
      return reply;
    } finally {
      metrics.observeRequest(method, result, (performance.now() - started) / 1000);
    }
  };
}
