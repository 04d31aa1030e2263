import type { Caller } from '../domain/authorization.js';
import { invalidNameReason, USER_GROUP_EXTRA_FORBIDDEN } from '../domain/names.js';
import { parseUmask } from '../domain/permissions.js';
import { sameDigest, sha1Hex, sha256Hex } from '../domain/password.js';
import { tokenValid, type User } from '../domain/user.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { groupNames } from '../store/groups.js';
import { userToAuthenticate } from '../store/userCache.js';
import { getUserByName, saveUser } from '../store/users.js';
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
  const now = nowSeconds(app.clock);

  // The user kept in memory may only say yes: a refusal, or an answer that writes, is decided on the row as the
  // database has it now (another process may have changed it a moment ago: a new login token, say).
  const kept = await userToAuthenticate(app.db, username);
  if (kept.user) {
    const verdict = judge(kept.user, username, secret, now);
    if ('egid' in verdict && !verdict.fix) return accepted(app, kept.user, verdict.egid);
  }
  const user = kept.fromMemory ? await getUserByName(app.db, username) : kept.user;
  if (!user) return { reason: `Auth Error: Authentication driver 'default' not available` };
  const verdict = judge(user, username, secret, now);
  if (verdict.fix) await updateUser(app, user.name, verdict.fix);
  return 'egid' in verdict ? accepted(app, user, verdict.egid) : { reason: verdict.refuse };
}

/** What a user row says to these credentials, and the change oned makes to the row while answering. */
type Verdict = ({ egid: number } | { refuse: string | null }) & { fix?: (fresh: User) => void };

function judge(user: Readonly<User>, username: string, secret: string, now: number): Verdict {
  if (!user.enabled) return { refuse: `User ${username} is disabled` };
  if (user.authDriver.startsWith('server')) return { refuse: 'Wrong token format' };
  const token = user.loginTokens.find((t) => t.token === secret);
  if (token) {
    if (!tokenValid(token, now)) return { refuse: 'Token has expired.' };
    if (token.egid >= 0 && !user.groups.includes(token.egid)) {
      return { refuse: 'Token sets an EGID no longer part of user group list',
        fix: (fresh) => { fresh.loginTokens = fresh.loginTokens.filter((t) => t.token !== token.token); } };
    }
    return { egid: token.egid };
  }
  if (user.authDriver === 'public') return { refuse: `User: ${username} attempted a direct authentication.` };
  if (user.authDriver !== 'core') return { refuse: `Auth Error: Authentication driver '${user.authDriver}' not available` };
  if (sameDigest(sha256Hex(secret), user.password)) return { egid: -1 };
  if (sameDigest(sha1Hex(secret), user.password)) {
    // Passwords stored by old OpenNebula versions as SHA-1 are upgraded on first use, as oned does.
    const sha1 = user.password;
    return { egid: -1, fix: (fresh) => { if (fresh.password === sha1) fresh.password = sha256Hex(secret); } };
  }
  return { refuse: null };
}

async function accepted(app: App, user: Readonly<User>, egid: number): Promise<AuthOutcome> {
  if (egid < 0) return { caller: callerOf(app, user, -1, undefined) };
  const names = await groupNames(app.db, [egid]);
  return { caller: callerOf(app, user, egid, names.get(egid)) };
}

/** Changes one user's row as it is now, under its lock: never writes back a copy read earlier. */
async function updateUser(app: App, name: string, fix: (fresh: User) => void): Promise<void> {
  await app.db.transaction(async (tx) => {
    const fresh = await getUserByName(tx, name, true);
    if (!fresh) return;
    fix(fresh);
    await saveUser(tx, fresh);
  });
}
