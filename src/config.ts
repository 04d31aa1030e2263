import { readFileSync } from 'node:fs';
import { Template, TemplateParseError } from './domain/template.js';

/** The effective configuration: oned.conf keys (same names, same meanings) with oned-emu's defaults. */
export interface Config {
  PORT: number;
  LISTEN_ADDRESS: string;
  MESSAGE_SIZE: number;
  MAX_CONN: number;
  MAX_CONN_BACKLOG: number;
  KEEPALIVE_TIMEOUT: number;
  KEEPALIVE_MAX_CONN: number;
  TIMEOUT: number;
  MANAGER_TIMER: number;
  MAX_BACKUPS: number;
  MAX_BACKUPS_HOST: number;
  API_LIST_ORDER: 'ASC' | 'DESC';
  DEFAULT_UMASK: number;
  ENABLE_OTHER_PERMISSIONS: boolean;
  SESSION_EXPIRATION_TIME: number;
  /** A second port serving GET /metrics and GET /ready (the API port serves /metrics too); null: none. */
  METRICS_PORT: number | null;
  /** Emulated backup throughput in MB/s: a backup lasts the size of its disks divided by this (a 10 GiB VM ≈ 1 min). */
  EMU_BACKUP_MBPS: number;
  /** Time zone of scheduled-action day arithmetic (oned uses its process's local time). */
  SCHED_TIMEZONE: string;
  /** YES: scheduled actions behave as oned's do, quirks included; NO: as users expect (README). */
  SCHED_ONED_QUIRKS: boolean;
  /** DB = [ BACKEND = "pglite" | "postgresql", CONNECTION = "postgres://…", DATA = "./data" ]. */
  DB: { BACKEND: 'pglite' | 'postgresql'; CONNECTION: string; DATA: string };
}

export const DEFAULTS: Config = {
  PORT: 2633,
  LISTEN_ADDRESS: '127.0.0.1',
  MESSAGE_SIZE: 16 * 1024 * 1024,
  MAX_CONN: 15,
  // oned's 15 drops new connections (a second's SYN retransmit) whenever a burst of clients connects at once.
  MAX_CONN_BACKLOG: 511,
  KEEPALIVE_TIMEOUT: 15,
  KEEPALIVE_MAX_CONN: 30,
  TIMEOUT: 15,
  MANAGER_TIMER: 15,
  MAX_BACKUPS: 5,
  MAX_BACKUPS_HOST: 2,
  API_LIST_ORDER: 'DESC',
  DEFAULT_UMASK: 0o177,
  ENABLE_OTHER_PERMISSIONS: true,
  SESSION_EXPIRATION_TIME: 900,
  METRICS_PORT: null,
  EMU_BACKUP_MBPS: 170,
  SCHED_TIMEZONE: Intl.DateTimeFormat().resolvedOptions().timeZone,
  SCHED_ONED_QUIRKS: true,
  DB: { BACKEND: 'pglite', CONNECTION: '', DATA: './data' },
};

export class ConfigError extends Error {}

type Scalar = Exclude<keyof Config, 'DB'>;

const positiveInt = (min: number) => (key: string, v: string): number => {
  if (!/^\s*\d+\s*$/.test(v) || Number(v) < min || Number(v) > 2 ** 31 - 1) {
    throw new ConfigError(`invalid value for ${key}: "${v}" (an integer >= ${min} is expected)`);
  }
  return Number(v);
};

const tcpPort = (k: string, v: string): number => {
  const n = positiveInt(0)(k, v);
  if (n > 65535) throw new ConfigError(`invalid value for ${k}: "${v}" (a TCP port 0-65535 is expected)`);
  return n;
};

const PARSERS: { [K in Scalar]: (key: string, v: string) => Config[K] } = {
  PORT: tcpPort,
  LISTEN_ADDRESS: (k, v) => {
    if (v.trim() === '') throw new ConfigError(`invalid value for ${k}: "${v}" (an address is expected)`);
    return v.trim();
  },
  MESSAGE_SIZE: positiveInt(1024),
  MAX_CONN: positiveInt(1),
  MAX_CONN_BACKLOG: positiveInt(0),
  KEEPALIVE_TIMEOUT: positiveInt(0),
  KEEPALIVE_MAX_CONN: positiveInt(0),
  TIMEOUT: positiveInt(1),
  MANAGER_TIMER: (k, v) => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new ConfigError(`invalid value for ${k}: "${v}" (a number of seconds > 0 is expected)`);
    }
    return n;
  },
  MAX_BACKUPS: positiveInt(0),
  MAX_BACKUPS_HOST: positiveInt(0),
  API_LIST_ORDER: (k, v) => {
    const up = v.trim().toUpperCase();
    if (up !== 'ASC' && up !== 'DESC') throw new ConfigError(`invalid value for ${k}: "${v}" (ASC or DESC is expected)`);
    return up;
  },
  DEFAULT_UMASK: (k, v) => {
    if (!/^\s*[0-7]{1,3}\s*$/.test(v)) throw new ConfigError(`invalid value for ${k}: "${v}" (an octal umask is expected)`);
    return parseInt(v.trim(), 8);
  },
  ENABLE_OTHER_PERMISSIONS: (k, v) => {
    const up = v.trim().toUpperCase();
    if (up !== 'YES' && up !== 'NO') throw new ConfigError(`invalid value for ${k}: "${v}" (YES or NO is expected)`);
    return up === 'YES';
  },
  SESSION_EXPIRATION_TIME: positiveInt(0),
  METRICS_PORT: tcpPort,
  SCHED_TIMEZONE: (k, v) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: v.trim() });
    } catch {
      throw new ConfigError(`invalid value for ${k}: "${v}" (an IANA time zone such as UTC or Europe/Madrid is expected)`);
    }
    return v.trim();
  },
  SCHED_ONED_QUIRKS: (k, v) => {
    const up = v.trim().toUpperCase();
    if (up !== 'YES' && up !== 'NO') throw new ConfigError(`invalid value for ${k}: "${v}" (YES or NO is expected)`);
    return up === 'YES';
  },
  EMU_BACKUP_MBPS: (k, v) => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new ConfigError(`invalid value for ${k}: "${v}" (MB/s > 0 is expected)`);
    return n;
  },
};

/** Sources in increasing precedence; each maps key → raw text. */
export interface ConfigSources {
  file?: string;                      // path of an oned.conf-style file
  env?: NodeJS.ProcessEnv;            // environment variables with the same names
  flags?: Partial<Record<string, string>>;
}

export interface LoadedConfig { config: Config; warnings: string[] }

function applyDb(config: Config, attrs: Map<string, string>, origin: string, warnings: string[]): void {
  for (const [sub, value] of attrs) {
    if (sub === 'BACKEND') {
      const v = value.trim().toLowerCase();
      if (v !== 'pglite' && v !== 'postgresql') {
        throw new ConfigError(`invalid value for DB/BACKEND: "${value}" (pglite or postgresql is expected)`);
      }
      config.DB.BACKEND = v;
    } else if (sub === 'CONNECTION') config.DB.CONNECTION = value.trim();
    else if (sub === 'DATA') config.DB.DATA = value.trim();
    else warnings.push(`${origin}: unknown key DB/${sub} ignored`);
  }
}

export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const config: Config = { ...DEFAULTS, DB: { ...DEFAULTS.DB } };
  const warnings: string[] = [];
  const set = (key: string, raw: string, origin: string) => {
    if (!(key in PARSERS)) {
      warnings.push(`${origin}: unknown key ${key} ignored`);
      return;
    }
    (config as unknown as Record<string, unknown>)[key] = PARSERS[key as Scalar](key, raw);
  };

  if (sources.file) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${sources.file}: ${(err as Error).message}`);
    }
    let parsed: Template;
    try {
      parsed = Template.parse(text);
    } catch (err) {
      if (err instanceof TemplateParseError) throw new ConfigError(`${sources.file}: ${err.message}`);
      throw err;
    }
    for (const attr of parsed.attributes) {
      if (attr.kind === 'vector') {
        if (attr.name === 'DB') applyDb(config, attr.value, sources.file, warnings);
        else warnings.push(`${sources.file}: unknown key ${attr.name} ignored`);
      } else {
        set(attr.name, attr.value, sources.file);
      }
    }
  }
  const env = sources.env ?? {};
  for (const key of Object.keys(PARSERS)) {
    const raw = env[key];
    if (raw !== undefined) set(key, raw, 'environment');
  }
  if (env.DATABASE_URL) {
    config.DB.BACKEND = 'postgresql';
    config.DB.CONNECTION = env.DATABASE_URL;
  }
  if (env.ONE_EMU_DATA) config.DB.DATA = env.ONE_EMU_DATA;
  for (const [key, raw] of Object.entries(sources.flags ?? {})) {
    if (raw === undefined) continue;
    if (key === 'DATA') config.DB.DATA = raw;
    else set(key, raw, 'command line');
  }
  if (config.DB.BACKEND === 'postgresql' && config.DB.CONNECTION === '') {
    throw new ConfigError('invalid value for DB/CONNECTION: "" (BACKEND postgresql needs a postgres:// URL)');
  }
  return { config, warnings };
}
