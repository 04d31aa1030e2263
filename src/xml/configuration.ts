import type { Config } from '../config.js';
import { cdata } from './text.js';

type Entry = [string, string | Array<[string, string]>];

/** AUTH_MAD_CONF entries oned ships (oned.conf), in file order. */
const AUTH_MAD_CONF: Array<Array<[string, string]>> = [
  ['core', 'YES', 'NO', 'NO', '-1'], ['public', 'NO', 'NO', 'NO', '-1'], ['ssh', 'YES', 'NO', 'NO', '-1'],
  ['x509', 'NO', 'NO', 'NO', '-1'], ['ldap', 'YES', 'YES', 'YES', '86400'], ['saml', 'YES', 'YES', 'YES', '86400'],
  ['server_cipher', 'NO', 'NO', 'NO', '-1'], ['server_x509', 'NO', 'NO', 'NO', '-1'],
].map(([name, change, managed, admin, maxTime]) => {
  const conf: Array<[string, string]> = [['DRIVER_MANAGED_GROUPS', managed], ['DRIVER_MANAGED_GROUP_ADMIN', admin],
    ['MAX_TOKEN_TIME', maxTime], ['NAME', name], ['PASSWORD_CHANGE', change]];
  if (name === 'ldap' || name === 'saml') conf.push(['PASSWORD_REQUIRED', 'NO']);
  return conf;
});

/**
 * The configuration as one.system.config shows it: oned.conf keys this server honours, with their values. DB is
 * left out: oned-emu's backends (PGlite, PostgreSQL) are not values oned's DB/BACKEND can take, and oned would
 * mask its connection settings from most callers anyway.
 */
export function configurationEntries(config: Config, oneKey: string): Entry[] {
  const s = (n: number | string) => String(n);
  const entries: Entry[] = [
    ['API_LIST_ORDER', config.API_LIST_ORDER],
    ...AUTH_MAD_CONF.map((conf): Entry => ['AUTH_MAD_CONF', conf]),
    ['DEFAULT_AUTH', 'default'],
    ['DEFAULT_UMASK', config.DEFAULT_UMASK.toString(8).padStart(3, '0')],
    ['ENABLE_OTHER_PERMISSIONS', config.ENABLE_OTHER_PERMISSIONS ? 'YES' : 'NO'],
    // oned 7.4 also shows FEDERATION/MASTER_ONED_GRPC, which its own XSD refuses; clients read neither.
    ['FEDERATION', [['MASTER_ONED', ''], ['MODE', 'STANDALONE'], ['SERVER_ID', '-1'], ['ZONE_ID', '0']]],
    ['GROUP_RESTRICTED_ATTR', 'VM_USE_OPERATIONS'], ['GROUP_RESTRICTED_ATTR', 'VM_MANAGE_OPERATIONS'],
    ['GROUP_RESTRICTED_ATTR', 'VM_ADMIN_OPERATIONS'],
    ['KEEPALIVE_MAX_CONN', s(config.KEEPALIVE_MAX_CONN)],
    ['KEEPALIVE_TIMEOUT', s(config.KEEPALIVE_TIMEOUT)],
    ['LISTEN_ADDRESS', config.LISTEN_ADDRESS],
    ['MANAGER_TIMER', s(config.MANAGER_TIMER)],
    ['MAX_BACKUPS', s(config.MAX_BACKUPS)],
    ['MAX_BACKUPS_HOST', s(config.MAX_BACKUPS_HOST)],
    ['MAX_CONN', s(config.MAX_CONN)],
    ['MAX_CONN_BACKLOG', s(config.MAX_CONN_BACKLOG)],
    ['MESSAGE_SIZE', s(config.MESSAGE_SIZE)],
    ['ONE_KEY', oneKey],
    ['PORT', s(config.PORT)],
    ['SESSION_EXPIRATION_TIME', s(config.SESSION_EXPIRATION_TIME)],
    ['TIMEOUT', s(config.TIMEOUT)],
    ['USER_ENCRYPTED_ATTR', 'SSH_PRIVATE_KEY'], ['USER_ENCRYPTED_ATTR', 'SSH_PASSPHRASE'],
    ['USER_RESTRICTED_ATTR', 'VM_USE_OPERATIONS'], ['USER_RESTRICTED_ATTR', 'VM_MANAGE_OPERATIONS'],
    ['USER_RESTRICTED_ATTR', 'VM_ADMIN_OPERATIONS'],
  ];
  // Sorted by name in byte order; repeated keys keep their order (a stable sort).
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** OPENNEBULA_CONFIGURATION: one element per key, vector sub-keys sorted, values in CDATA. */
export function renderConfiguration(entries: readonly Entry[]): string {
  const body = entries.map(([name, value]) => {
    if (typeof value === 'string') return `<${name}>${cdata(value)}</${name}>`;
    const subs = [...value].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `<${k}>${cdata(v)}</${k}>`);
    return `<${name}>${subs.join('')}</${name}>`;
  }).join('');
  return `<OPENNEBULA_CONFIGURATION>${body}</OPENNEBULA_CONFIGURATION>`;
}

