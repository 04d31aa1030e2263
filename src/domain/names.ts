/** PoolObjectSQL::name_is_valid: the reason a NAME is refused, or null when it is valid. */
const FORBIDDEN = new Set(['&', '|', ':', '\\', '"', ';', '/', "'", '#', '{', '}', '$', '<', '>', '\t', '\n', '\v', '\f', '\r']);
export const MAX_NAME_LENGTH = 128;

export function invalidNameReason(name: string, extraForbidden: ReadonlySet<string> = EMPTY): string | null {
  if (name === '') return 'Invalid NAME, it cannot be empty';
  for (const ch of name) {
    if (FORBIDDEN.has(ch) || extraForbidden.has(ch)) return `Invalid NAME, char '${ch}' is not allowed`;
  }
  // oned counts bytes (std::string::size), not characters.
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_LENGTH) return `Invalid NAME, max length is ${MAX_NAME_LENGTH} chars`;
  return null;
}

const EMPTY: ReadonlySet<string> = new Set();
/** Users and groups also refuse spaces (User.cc / Group.cc INVALID_NAME_CHARS). */
export const USER_GROUP_EXTRA_FORBIDDEN: ReadonlySet<string> = new Set([' ']);
