/** Object locks (PoolObjectSQL::LockStates). API level 4 ("all") is stored as USE. */
export const LockLevel = { NONE: 0, USE: 1, MANAGE: 2, ADMIN: 3 } as const;

export interface LockState { locked: number; owner: number; time: number; reqId: number }

export const UNLOCKED: LockState = { locked: 0, owner: -1, time: 0, reqId: -1 };

/** The stored level for an API lock level, or null for a level oned refuses. */
export function storedLockLevel(apiLevel: number): number | null {
  switch (apiLevel) {
    case 1: return LockLevel.USE;
    case 2: return LockLevel.MANAGE;
    case 3: return LockLevel.ADMIN;
    case 4: return LockLevel.USE;
    default: return null;
  }
}
