import winston from 'winston';
import type { Clock } from './clock.js';

/** oned's log modules: ReM requests, SCH scheduled actions, VMM, ONE, AuM authentication, DBM database. */
export type LogModule = 'ReM' | 'SCH' | 'VMM' | 'ONE' | 'AuM' | 'DBM' | 'LCM' | 'DiM' | 'ImM';

export interface Logger {
  error(module: LogModule, message: string): void;
  warn(module: LogModule, message: string): void;
  info(module: LogModule, message: string): void;
  debug(module: LogModule, message: string): void;
  close(): Promise<void>;
}

const LEVEL_LETTER: Record<string, string> = { error: 'E', warn: 'W', info: 'I', debug: 'D' };

/** ctime(3) form, "Thu Apr 13 14:04:15 2023", in local time as oned writes it. */
export function ctime(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} `
    + `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

export interface LoggerOptions { clock: Clock; file?: string; level?: 'error' | 'warn' | 'info' | 'debug'; silent?: boolean }

/** A winston logger writing oned.log lines: `<ctime> [Z0][<module>][<E|W|I|D>]: <message>`. */
export function createLogger(opts: LoggerOptions): Logger {
  const format = winston.format.printf((info) =>
    `${ctime(opts.clock.now())} [Z0][${String(info.module)}][${LEVEL_LETTER[info.level] ?? 'I'}]: ${String(info.message)}`);
  const transport = opts.file
    ? new winston.transports.File({ filename: opts.file, format })
    : new winston.transports.Stream({ stream: process.stdout, format });
  const logger = winston.createLogger({ level: opts.level ?? 'debug', silent: opts.silent ?? false, transports: [transport] });
  const write = (level: string) => (module: LogModule, message: string) => logger.log({ level, module, message });
  return {
    error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug'),
    close: () => new Promise<void>((resolve) => {
      if (!opts.file) return resolve();
      logger.on('finish', () => resolve());
      logger.end();
    }),
  };
}

/** A logger that keeps lines in memory; for tests that assert on what is logged. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const write = (letter: string) => (module: LogModule, message: string) => { lines.push(`[Z0][${module}][${letter}]: ${message}`); };
  return { lines, error: write('E'), warn: write('W'), info: write('I'), debug: write('D'), close: async () => {} };
}
