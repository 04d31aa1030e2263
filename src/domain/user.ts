import type { Template } from './template.js';

export interface LoginToken { token: string; expiration: number; egid: number }

/** A user as oned keeps it (User.cc). A user owns itself: uid = its id, gid = its primary group. */
export interface User {
  id: number;
  gid: number;
  groups: number[];
  gname: string;
  name: string;
  password: string;
  authDriver: string;
  enabled: boolean;
  loginTokens: LoginToken[];
  template: Template;
}

export const ONEADMIN_UID = 0;
export const SERVERADMIN_UID = 1;
export const ONEADMIN_GID = 0;
export const USERS_GID = 1;

/** Most tokens a user may hold (LoginToken.cc). */
export const MAX_LOGIN_TOKENS = 10;

/** A token is valid while now < expiration; -1 never expires. */
export const tokenValid = (t: LoginToken, nowS: number) => t.expiration === -1 || nowS < t.expiration;

/** Driver settings oned ships in AUTH_MAD_CONF (OpenNebulaTemplate.cc / oned.conf). */
export interface AuthDriverConf { passwordChange: boolean; driverManagedGroups: boolean; maxTokenTime: number; passwordRequired: boolean }
export const AUTH_DRIVERS: Record<string, AuthDriverConf> = {
  core: { passwordChange: true, driverManagedGroups: false, maxTokenTime: -1, passwordRequired: true },
  public: { passwordChange: false, driverManagedGroups: false, maxTokenTime: -1, passwordRequired: true },
  ssh: { passwordChange: true, driverManagedGroups: false, maxTokenTime: -1, passwordRequired: true },
  x509: { passwordChange: false, driverManagedGroups: false, maxTokenTime: -1, passwordRequired: true },
  ldap: { passwordChange: true, driverManagedGroups: true, maxTokenTime: 86400, passwordRequired: false },
  saml: { passwordChange: true, driverManagedGroups: true, maxTokenTime: 86400, passwordRequired: false },
  server_cipher: { passwordChange: false, driverManagedGroups: false, maxTokenTime: -1, passwordRequired: true },
  server_x509: { passwordChange: false, driverManagedGroups: false, maxTokenTime: -1, passwordRequired: true },
};
/** A driver oned has no AUTH_MAD_CONF for: no password change, no cap, password required. */
export const UNKNOWN_DRIVER: AuthDriverConf = { passwordChange: false, driverManagedGroups: false, maxTokenTime: -1, passwordRequired: true };
export const driverConf = (driver: string) => AUTH_DRIVERS[driver] ?? UNKNOWN_DRIVER;
