import { randomInt } from 'node:crypto';
import { ErrorCode, failureMessage, OneError } from '../domain/errors.js';
import type { DecodedCall } from '../rpc/codec.js';
import type { RpcHandler } from '../rpc/http.js';
import { RpcFault } from '../rpc/faults.js';
import { checkParameters, emptyParameterList, methodNotDefined, MethodRegistry } from '../rpc/registry.js';
import { describeType, RpcDouble, RpcEscapedString, RpcI8, type RpcValue } from '../rpc/values.js';
import type { ApiMethod, App, Request } from './app.js';
import { authenticate } from './authenticate.js';

/** LOG_CALL_FORMAT's %l20 and LOG_RESULT_LENGTH: how much of a string parameter or result the log shows. */
const LOG_VALUE_LIMIT = 20;

function logValue(v: RpcValue): string {
  if (v instanceof RpcEscapedString) {
    const head = v.escaped.slice(0, LOG_VALUE_LIMIT * 6).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#xD;/g, '\r').replace(/&amp;/g, '&');
    return logValue(head.length > LOG_VALUE_LIMIT ? head.slice(0, LOG_VALUE_LIMIT + 1) : head);
  }
  switch (describeType(v)) {
    case 'int': return `, ${v as number}`;
    case 'double': return `, ${(v as RpcDouble).value}`;
    case 'i8': return `, ${String((v as RpcI8).value)}`;
    case 'boolean': return `, ${v ? 'true' : 'false'}`;
    case 'string': {
      const s = v as string;
      return `, "${s.slice(0, LOG_VALUE_LIMIT)}${s.length > LOG_VALUE_LIMIT ? '...' : ''}"`;
    }
    default: return ', unknown param type';
  }
}

const success = (value: RpcValue): RpcValue[] => [true, value, 0];
const failure = (message: string, code: number, respId: number): RpcValue[] => [false, message, code, respId, new RpcI8(-1n)];

/**
 * The request pipeline of oned's RequestXRPC::execute: method lookup, authentication (before any parameter is
 * read, so a bad session always gets the AUTHENTICATION reply), the invoked log line, parameter checks (faults),
 * the method body, the result log line.
 */
export function createDispatcher(app: App, registry: MethodRegistry<ApiMethod>): RpcHandler {
  return async (call: DecodedCall, meta: { ip: string }): Promise<RpcValue> => {
    const method = registry.get(call.method);
    if (!method) throw methodNotDefined(call.method);
    const params = call.params;
    if (params.length === 0) throw emptyParameterList();

    const reqId = randomInt(10000);
    const req4 = String(reqId).padStart(4, '0');
    const logInvoked = (uid: number) => {
      const shown = params.slice(1).map((p, i) => (method.hidden?.includes(i + 1) ? ', ****' : logValue(p))).join('');
      app.log.debug('ReM', `Req:${req4} UID:${uid} IP:${meta.ip} ${method.name} invoked ${shown}`);
    };

    let outcome;
    try {
      outcome = await authenticate(app, params[0]);
    } catch (err) {
      app.log.error('AuM', `Authentication failed on a database error: ${(err as Error).message}`);
      logInvoked(-1);
      const msg = `[${method.name}] Internal error`;
      app.log.error('ReM', `Req:${req4} UID:- ${method.name} result FAILURE ${msg}`);
      return failure(msg, ErrorCode.INTERNAL, -1);
    }
    if (!('caller' in outcome)) {
      if (outcome.reason) app.log.error('AuM', outcome.reason);
      logInvoked(-1);
      const msg = `[${method.name}] User couldn't be authenticated, aborting call.`;
      app.log.error('ReM', `Req:${req4} UID:- ${method.name} result FAILURE ${msg}`);
      return failure(msg, ErrorCode.AUTHENTICATION, -1);
    }
    const caller = outcome.caller;
    logInvoked(caller.uid);
    checkParameters(method, params);

    const req: Request = { app, caller, method: method.name, reqId };
    try {
      const value = await method.run(req, params);
      app.log.debug('ReM', `Req:${req4} UID:${caller.uid} ${method.name} result SUCCESS${logValue(value)}`);
      return success(value);
    } catch (err) {
      // A fault raised by the method body (xmlrpc-c's own checks on what oned reads late) goes out as that fault.
      if (err instanceof RpcFault) throw err;
      let oneError: OneError;
      if (err instanceof OneError) {
        oneError = err;
      } else {
        app.log.error('ReM', `Req:${req4} ${method.name} failed unexpectedly: ${(err as Error)?.stack ?? String(err)}`);
        oneError = new OneError(ErrorCode.INTERNAL, 'Internal error');
      }
      const msg = failureMessage(method.name, caller.uid, method.object, oneError);
      app.log.error('ReM', `Req:${req4} UID:${caller.uid} ${method.name} result FAILURE ${msg}`);
      return failure(msg, oneError.code, oneError.respId);
    }
  };
}
