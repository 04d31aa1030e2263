import type { User } from '../domain/user.js';
import type { Database } from './database.js';
import { getUserByName } from './users.js';

/**
 * Users by name as authentication reads them, kept in memory as oned's user pool keeps them: every call
 * authenticates, and without this half of a simple call's statements would be that read. A change to user_pool
 * (migration 011's trigger) empties the cache before the changing commit resolves in this process, and as soon as
 * PostgreSQL delivers the notification in the others. MAX_AGE_MS bounds how long an entry is trusted should
 * notifications stall without the connection failing.
 */
const MAX_AGE_MS = 1000;
const MAX_ENTRIES = 10_000;

export class UserCache {
  readonly #entries = new Map<string, { user: Readonly<User>; at: number }>();
  /** Bumped by every change: a read that started before one must not fill the cache with what it found. */
  #generation = 0;
  readonly #feed: { listening(): boolean };

  /** `now`: a monotonic clock in milliseconds (tests pass their own). */
  constructor(private readonly db: Pick<Database, 'query' | 'subscribe'>, private readonly now: () => number = () => performance.now()) {
    this.#feed = db.subscribe('oned_emu_users', () => {
      this.#generation++;
      this.#entries.clear();
    });
  }

  async byName(name: string): Promise<{ user: Readonly<User> | undefined; fromMemory: boolean }> {
    const now = this.now();
    const kept = this.#entries.get(name);
    if (kept && now - kept.at < MAX_AGE_MS && this.#feed.listening()) return { user: kept.user, fromMemory: true };
    const generation = this.#generation;
    const user = await getUserByName(this.db, name);
    if (user && generation === this.#generation && this.#feed.listening()) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
      this.#entries.set(name, { user, at: now });
    }
    return { user, fromMemory: false };
  }
}

const caches = new WeakMap<Database, UserCache>();

/**
 * The user `name` for authentication, and whether it came from memory (then possibly a moment behind another
 * process's change) or was just read. Shared between calls: never to be modified.
 */
export function userToAuthenticate(db: Database, name: string): Promise<{ user: Readonly<User> | undefined; fromMemory: boolean }> {
  let cache = caches.get(db);
  if (!cache) {
    cache = new UserCache(db);
    caches.set(db, cache);
  }
  return cache.byName(name);
}
