import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
export const sha1Hex = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');

/** 64 lower-case hex characters, like oned's one_util::random_password. */
export const randomHex64 = () => randomBytes(32).toString('hex');

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Per-driver maximum password length in bytes (User.cc); drivers not listed have no limit. */
const MAX_PASSWORD_BYTES: Record<string, number> = {
  core: 256, sunstone: 256, ldap: 256, server_cipher: 4096, saml: 12288, ssh: 16384, x509: 65536, server_x509: 65536,
};

/** User::pass_is_valid: the reason a password is refused, or null. */
export function invalidPasswordReason(password: string, driver: string): string | null {
  if (password === '') return 'Invalid password, it cannot be empty';
  const bad = /[ \t\n\v\f\r]/.exec(password);
  if (bad) return `Invalid password, character '${bad[0]}' is not allowed`;
  const max = MAX_PASSWORD_BYTES[driver];
  if (max !== undefined && Buffer.byteLength(password, 'utf8') > max) {
    return `Password is longer than max allowed length. Max allowed length for the driver ${driver} : ${max} bytes`;
  }
  return null;
}

/** How a driver stores a password: hashed for core, verbatim otherwise. */
export const storedPassword = (password: string, driver: string) => (driver === 'core' ? sha256Hex(password) : password);
