import { OBJECT_NAME, type ObjectType } from './objectTypes.js';

/** oned's Request error codes (include/Request.h). */
export const ErrorCode = {
  SUCCESS: 0x0000,
  AUTHENTICATION: 0x0100,
  AUTHORIZATION: 0x0200,
  NO_EXISTS: 0x0400,
  ACTION: 0x0800,
  RPC_API: 0x1000,
  INTERNAL: 0x2000,
  ALLOCATE: 0x4000,
  LOCKED: 0x8000,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * A failed request, carried as oned carries it (code, resp_msg, resp_obj, resp_id) until the request layer
 * formats it with the method name and caller (Request::failure_message).
 */
export class OneError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    /** resp_msg: the detail text; empty means "use the code's generic text". */
    readonly detail: string = '',
    /** resp_id: the object id the failure is about, -1 when none. */
    readonly respId: number = -1,
    /** resp_obj: overrides the method's object in "Error getting <obj> …" texts. */
    readonly object?: ObjectType,
  ) {
    super(detail || `error ${code}`);
  }
}

export const authorizationError = (detail = '', respId = -1, object?: ObjectType) =>
  new OneError(ErrorCode.AUTHORIZATION, detail, respId, object);
export const noExists = (object: ObjectType | undefined, id: number) => new OneError(ErrorCode.NO_EXISTS, '', id, object);
export const actionError = (detail: string, respId = -1) => new OneError(ErrorCode.ACTION, detail, respId);
export const internalError = (detail: string, respId = -1) => new OneError(ErrorCode.INTERNAL, detail, respId);
export const rpcApiError = (detail: string, respId = -1) => new OneError(ErrorCode.RPC_API, detail, respId);

/** Request::failure_message: the text of the failure reply. */
export function failureMessage(method: string, callerUid: number, methodObject: ObjectType, err: OneError): string {
  const obname = OBJECT_NAME[err.object ?? methodObject];
  const prefix = `[${method}] `;
  switch (err.code) {
    case ErrorCode.AUTHENTICATION:
      return `${prefix}User couldn't be authenticated, aborting call.`;
    case ErrorCode.AUTHORIZATION:
      return err.detail === ''
        ? `${prefix}User [${callerUid}] not authorized to perform action on ${obname}.`
        : `${prefix}User [${callerUid}] : ${err.detail}.`;
    case ErrorCode.NO_EXISTS:
      return err.respId === -1 ? `${prefix}Error getting ${obname} Pool.` : `${prefix}Error getting ${obname} [${err.respId}].`;
    case ErrorCode.ALLOCATE:
      return `${prefix}Error allocating a new ${obname}.${err.detail ? ' ' + err.detail : ''}`;
    case ErrorCode.LOCKED:
      return `${prefix}The resource ${obname} is locked.${err.respId !== -1 ? ` [${err.respId}].` : ''}`;
    default:
      return prefix + err.detail;
  }
}
