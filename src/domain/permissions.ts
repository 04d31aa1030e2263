/** The nine permission bits of a pool object (PoolObjectSQL), each 0 or 1. */
export interface Permissions {
  ownerU: number; ownerM: number; ownerA: number;
  groupU: number; groupM: number; groupA: number;
  otherU: number; otherM: number; otherA: number;
}

export const PERMISSION_KEYS = ['ownerU', 'ownerM', 'ownerA', 'groupU', 'groupM', 'groupA', 'otherU', 'otherM', 'otherA'] as const;

/** Octal form, e.g. 0o600 → um- --- ---. */
export function permissionsFromOctal(mode: number): Permissions {
  const bit = (shift: number) => (mode >> shift) & 1;
  return {
    ownerU: bit(8), ownerM: bit(7), ownerA: bit(6),
    groupU: bit(5), groupM: bit(4), groupA: bit(3),
    otherU: bit(2), otherM: bit(1), otherA: bit(0),
  };
}

export function permissionsToOctal(p: Permissions): number {
  return PERMISSION_KEYS.reduce((acc, key) => (acc << 1) | (p[key] ? 1 : 0), 0);
}

/**
 * Permissions of a new object (PoolObjectSQL::set_umask): everything for objects of oneadmin or the oneadmin
 * group, rw for others (or only owner+group when 'other' permissions are disabled), minus the owner's umask.
 */
export function defaultPermissions(uid: number, gid: number, umask: number, enableOtherPermissions: boolean): Permissions {
  const base = uid === 0 || gid === 0 ? 0o777 : enableOtherPermissions ? 0o666 : 0o660;
  return permissionsFromOctal(base & ~umask);
}

/** A UMASK template value read as octal; invalid → undefined so the caller falls back to DEFAULT_UMASK. */
export function parseUmask(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*[0-7]+\s*$/.test(text)) return undefined;
  return parseInt(text.trim(), 8) & 0o777;
}

/** Rights triplets as the ACL code sees them: USE=1 MANAGE=2 ADMIN=4. */
export function ownerRights(p: Permissions): number { return p.ownerU | (p.ownerM << 1) | (p.ownerA << 2); }
export function groupRights(p: Permissions): number { return p.groupU | (p.groupM << 1) | (p.groupA << 2); }
export function otherRights(p: Permissions): number { return p.otherU | (p.otherM << 1) | (p.otherA << 2); }
