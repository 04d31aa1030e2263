/**
 * Number parsing as oned's C++ does it with `std::istringstream >> value`: leading blanks skipped, an optional
 * sign, the longest run of digits. `value` is what the stream leaves in the variable (0 when nothing parsed, the
 * type's bound on overflow, the prefix when junk follows); `complete` is oned's usual "!fail() && eof()" test.
 */
export interface StreamNumber { value: number; parsed: boolean; complete: boolean }

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_BOUND = 2 ** 63;

function streamParse(text: string, min: number, max: number): StreamNumber {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(text);
  if (!m) return { value: 0, parsed: false, complete: false };
  const magnitude = Number(m[2]);
  const signed = m[1] === '-' ? -magnitude : magnitude;
  if (signed < min || signed > max) return { value: signed < min ? min : max, parsed: false, complete: false };
  return { value: signed === 0 ? 0 : signed, parsed: true, complete: m[0].length === text.length };
}

/** `int` (32-bit). */
export const streamInt = (text: string) => streamParse(text, INT32_MIN, INT32_MAX);

/** `time_t` / `long long` (64-bit; beyond 2^53 precision is lost, which no epoch reaches). */
export const streamLong = (text: string) => streamParse(text, -INT64_BOUND, INT64_BOUND - 1);

/**
 * `unsigned int`: libstdc++ accepts a leading '-' and wraps (so "-1" reads as 4294967295); values past
 * UINT_MAX fail.
 */
export function streamUnsigned(text: string): StreamNumber {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(text);
  if (!m) return { value: 0, parsed: false, complete: false };
  const magnitude = Number(m[2]);
  if (magnitude > 2 ** 32 - 1) return { value: 2 ** 32 - 1, parsed: false, complete: false };
  const value = m[1] === '-' && magnitude !== 0 ? 2 ** 32 - magnitude : magnitude;
  return { value, parsed: true, complete: m[0].length === text.length };
}
