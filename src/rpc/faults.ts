/**
 * XML-RPC faults: protocol-level errors answered with `<fault>` instead of oned's result array.
 * Codes are xmlrpc-c's (include/xmlrpc-c/base.h), since oned lets that library produce them.
 */

export const FAULT = {
  /** The method raised something that is not a fault (xmlrpc-c's registry catch-all). */
  INTERNAL: -500,
  /** A parameter of the wrong type, or too few parameters. */
  TYPE: -501,
  /** The body is not a well-formed XML-RPC call. */
  PARSE: -503,
  /** No method by that name is registered. */
  NO_METHOD: -506,
  /** A configured limit (MESSAGE_SIZE) was exceeded. */
  LIMIT: -509,
  /** The body is not valid UTF-8. */
  ENCODING: -510,
} as const;

export type FaultCode = (typeof FAULT)[keyof typeof FAULT];

export class RpcFault extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'RpcFault';
  }
}

/** xmlrpc-c's text for a method that threw something other than a fault (src/cpp/registry.cpp). */
export const UNEXPECTED_ERROR_TEXT =
  'Unexpected error executing code for particular method, detected by Xmlrpc-c method registry code.  '
  + 'Method did not fail; rather, it did not complete at all.';
