/**
 * The values an XML-RPC call or response carries, as the emulator sees them.
 * JS numbers stand only for 32-bit ints (`<i4>`/`<int>`); every other numeric type has its own wrapper so that
 * type checks (xmlrpc-c's getInt refuses an `<i8>` or a `<double>`) can be exact.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A `<double>`. */
export class RpcDouble {
  constructor(readonly value: number) {
    // XML-RPC has no spelling for NaN or the infinities.
    if (!Number.isFinite(value)) throw new RangeError(`XML-RPC cannot carry the double ${value}`);
  }
}

/** An `<i8>`; also how a 64-bit value is encoded (oned's replication index is `new RpcI8(-1n)`). */
export class RpcI8 {
  constructor(readonly value: bigint) {
    if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`${value} does not fit in an <i8>`);
  }
}

/** A `<dateTime.iso8601>`, kept as sent: XML-RPC dates carry no time zone, so converting would invent one. */
export class RpcDateTime {
  constructor(readonly raw: string) {}
}

/**
 * A `<string>` whose text is already escaped for the wire (&, <, >, CR): large documents assembled from parts
 * escaped once when stored (pool bodies) are sent without escaping megabytes per call. Encode-only.
 */
export class RpcEscapedString {
  constructor(readonly escaped: string) {}
}

export type RpcValue =
  | string
  | number /* <i4>/<int> only, always a 32-bit integer */
  | boolean
  | null /* <nil/> */
  | Buffer /* <base64> */
  | RpcDouble
  | RpcI8
  | RpcDateTime
  | RpcEscapedString
  | RpcValue[]
  | Map<string, RpcValue> /* <struct> */;

export type RpcTypeName =
  | 'int' | 'i8' | 'double' | 'boolean' | 'string' | 'nil' | 'base64' | 'dateTime' | 'array' | 'struct';

/** The XML-RPC type of a value, for type checks and messages. */
export function describeType(v: RpcValue): RpcTypeName {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'int';
  if (typeof v === 'boolean') return 'boolean';
  if (v === null) return 'nil';
  if (Buffer.isBuffer(v)) return 'base64';
  if (v instanceof RpcDouble) return 'double';
  if (v instanceof RpcI8) return 'i8';
  if (v instanceof RpcDateTime) return 'dateTime';
  if (v instanceof RpcEscapedString) return 'string';
  if (Array.isArray(v)) return 'array';
  return 'struct';
}

export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;

/** True when `n` can travel as an `<i4>`. */
export function isInt32(n: number): boolean {
  return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX;
}
