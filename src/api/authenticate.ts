import type { Caller } from '../domain/authorization.js';
import { invalidNameReason, USER_GROUP_EXTRA_FORBIDDEN } from '../domain/names.js';
import { parseUmask } from '../domain/permissions.js';
import { sameDigest, sha1Hex, sha256Hex } from '../domain/password.js';
import { tokenValid, type User } from '../domain/user.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { groupNames } from '../store/groups.js';
import { userToAuthenticate } from '../store/userCache.js';
import { saveUser } from '../store/users.js';
import type { App } from './app.js';

export type AuthOutcome = { caller: Caller } | { reason: string | null };

function callerOf(app: App, user: Readonly<User>, egid: number, egidName: string | undefined): Caller {
  const scoped = egid >= 0;
  return {
    uid: user.id,
    gid: scoped ? egid : user.gid,
    groups: new Set(scoped ? [egid] : user.groups),
    uname: user.name,
    gname: scoped ? egidName ?? '' : user.gname,
    umask: parseUmask(user.template.get('UMASK')) ?? app.config.DEFAULT_UMASK,
  };
}

/**
 * UserPool::authenticate for the core driver: `user:password` (SHA-256 of the password, or the legacy SHA-1,
 * compared in constant time) or `user:token`. Every failure is the same to the client; `reason` is what oned
 * would log (null where oned logs nothing).
 */
export async function authenticate(app: App, session: RpcValue | undefined): Promise<AuthOutcome> {
  if (typeof session !== 'string') return { reason: null };
  const colon = session.indexOf(':');
  if (colon < 0) return { reason: null };
  const username = session.slice(0, colon);
  const secret = session.slice(colon + 1);
  const badName = invalidNameReason(username, USER_GROUP_EXTRA_FORBIDDEN);
  if (badName) return { reason: `User is invalid, ${badName}` };

  const user = await userToAuthenticate(app.db, username);
  if (!user) return { reason: `Auth Error: Authentication driver 'default' not available` };
  if (!user.enabled) return { reason: `User ${username} is disabled` };
  if (user.authDriver.startsWith('server')) return { reason: 'Wrong token format' };

  const now = nowSeconds(app.clock);
  const token = user.loginTokens.find((t) => t.token === secret);
  if (token) {
    if (!tokenValid(token, now)) return { reason: 'Token has expired.' };
    if (token.egid >= 0) {
      if (!user.groups.includes(token.egid)) {
        await app.db.transaction((tx) => saveUser(tx, { ...user, loginTokens: user.loginTokens.filter((t) => t !== token) }));
        return { reason: 'Token sets an EGID no longer part of user group list' };
      }
      const names = await groupNames(app.db, [token.egid]);
      return { caller: callerOf(app, user, token.egid, names.get(token.egid)) };
    }
    return { caller: callerOf(app, user, -1, undefined) };
  }

  if (user.authDriver === 'public') return { reason: `User: ${username} attempted a direct authentication.` };
  if (user.authDriver !== 'core') return { reason: `Auth Error: Authentication driver '${user.authDriver}' not available` };
  if (sameDigest(sha256Hex(secret), user.password)) return { caller: callerOf(app, user, -1, undefined) };
  if (sameDigest(sha1Hex(secret), user.password)) {
    // Passwords stored by old OpenNebula versions as SHA-1 are upgraded on first use, as oned does.
    await app.db.transaction((tx) => saveUser(tx, { ...user, password: sha256Hex(secret) }));
    return { caller: callerOf(app, user, -1, undefined) };
  }
  return { reason: null };
}
