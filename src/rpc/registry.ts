import { FAULT, RpcFault } from './faults.js';
import { describeType, type RpcValue } from './values.js';

/**
 * A method as xmlrpc-c registers it: name, signature (`A:sib` — return type, then one letter per parameter:
 * s string, i int, b boolean, A array, S struct, d double) and how many leading parameters are mandatory.
 */
export interface MethodSignature {
  name: string;
  signature: string;
  /** Parameters (session included) that must be present; the rest of the signature is optional. Default: all. */
  required?: number;
  /** The order in which oned reads the parameters, when it is not 0, 1, 2… (one.user.allocate reads its array first). */
  readOrder?: readonly number[];
}

const TYPE_TEXT: Record<string, { type: ReturnType<typeof describeType>; text: string }> = {
  i: { type: 'int', text: 'integer' },
  s: { type: 'string', text: 'a string' },
  b: { type: 'boolean', text: 'boolean' },
  A: { type: 'array', text: 'an array' },
  S: { type: 'struct', text: 'a structure' },
  d: { type: 'double', text: 'floating point number' },
};

export function parameterTypes(signature: string): string[] {
  const [, params = ''] = signature.split(':');
  return [...params];
}

/** xmlrpc-c's paramList::getX checks, run in oned's read order: -501 with xmlrpc-c's texts. */
export function checkParameters(m: MethodSignature, values: readonly RpcValue[]): void {
  const types = parameterTypes(m.signature);
  const required = m.required ?? types.length;
  const order = m.readOrder ?? types.map((_, i) => i);
  for (const i of order) {
    if (i >= values.length) {
      if (i < required) throw new RpcFault(FAULT.TYPE, 'Not enough parameters');
      continue;
    }
    const expected = TYPE_TEXT[types[i]];
    if (describeType(values[i]) !== expected.type) {
      throw new RpcFault(FAULT.TYPE, `Parameter that is supposed to be ${expected.text} is not`);
    }
  }
}

/** Unknown method names fault as xmlrpc-c's registry does. */
export const methodNotDefined = (name: string) => new RpcFault(FAULT.NO_METHOD, `Method '${name}' not defined`);

/** A call with no parameter at all: oned's XML-RPC glue indexes the empty list and xmlrpc-c reports that. */
export const emptyParameterList = () => new RpcFault(FAULT.INTERNAL,
  'Unexpected error executing code for particular method, detected by Xmlrpc-c method registry code.  '
  + 'Method did not fail; rather, it did not complete at all.  Subscript of xmlrpc_c::paramList out of bounds');

/** The set of methods the server answers; a name is registered once. */
export class MethodRegistry<M extends MethodSignature> {
  private readonly methods = new Map<string, M>();

  add(...defs: M[]): this {
    for (const def of defs) {
      if (this.methods.has(def.name)) throw new Error(`method ${def.name} registered twice`);
      if (!/^[A-Za-z]:[isbASd]*$/.test(def.signature)) throw new Error(`method ${def.name}: bad signature ${def.signature}`);
      const n = parameterTypes(def.signature).length;
      if ((def.required ?? n) > n || (def.required ?? n) < 1) throw new Error(`method ${def.name}: bad required count`);
      this.methods.set(def.name, def);
    }
    return this;
  }

  get(name: string): M | undefined { return this.methods.get(name); }

  names(): string[] { return [...this.methods.keys()].sort(); }
}
