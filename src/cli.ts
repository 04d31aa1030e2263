#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ManualClock, systemClock, type Clock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { CloudNotEmptyError, describeDemoCloud, seedDemoCloud } from './seed/demoCloud.js';
import { openConfiguredDatabase, prepareDatabase, startSchedulerOnly, startServer } from './server.js';
import { migrate } from './store/migrate.js';
import { runTop } from './top/top.js';

const HELP = `oned-emu — an emulator of OpenNebula 7.4's oned (XML-RPC API, Backup Jobs)

Usage:
  oned-emu serve [--port N] [--listen ADDR] [--data DIR] [--config FILE] [--log FILE]
                 [--clock system|manual[:EPOCH]] [--no-scheduler] [--metrics-port N]
      Serve the XML-RPC API at http://ADDR:N/RPC2 (default 127.0.0.1:2633) and Prometheus
      metrics at GET /metrics. With --clock manual (env ONE_EMU_CLOCK) emulated time stands
      still until emu.clock.advance/set moves it. --no-scheduler serves the API only (another
      process runs the scheduler). --metrics-port also serves /metrics and /ready on port N.
  oned-emu scheduler [--data DIR] [--config FILE] [--log FILE] [--metrics-port N]
      Run only the scheduler (placement, scheduled actions, backups) on the shared database.
  oned-emu migrate [--data DIR] [--config FILE]
      Apply the database migrations and exit.
  oned-emu seed --demo [--data DIR] [--config FILE]
      Fill an empty cloud with a demo: two hosts, a 1 TiB backup datastore, eight running VMs and
      two backup jobs whose first backups start within a minute. Refuses a cloud already in use.
  oned-emu top [--once]
      Watch backup jobs and running backups live, like onetop (q quits). Connects as OpenNebula's
      CLI does: ONE_XMLRPC (default http://localhost:2633/RPC2) and the user:password line of the
      file named by ONE_AUTH (default ~/.one/one_auth), as oneadmin. --once prints one frame.
  oned-emu --help

Configuration: an oned.conf-style file (--config), then environment variables with the
same names (PORT, LISTEN_ADDRESS, MESSAGE_SIZE, MAX_CONN, KEEPALIVE_TIMEOUT, TIMEOUT,
MANAGER_TIMER, MAX_BACKUPS, MAX_BACKUPS_HOST, API_LIST_ORDER, METRICS_PORT, ...), then flags.
DATABASE_URL selects PostgreSQL; otherwise PGlite keeps the data in --data
(env ONE_EMU_DATA, default ./data). oneadmin's password on a fresh cloud comes from
ONEADMIN_PASSWORD, else the file named by ONE_AUTH, else it is generated into <data>/one_auth.
`;

/** --clock system | manual | manual:EPOCH (seconds). */
function parseClock(text: string): Clock {
  if (text === 'system') return systemClock;
  const m = /^manual(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`invalid value for --clock: "${text}" (system, manual or manual:EPOCH is expected)`);
  return new ManualClock(m[1] === undefined ? Date.now() : Number(m[1]) * 1000);
}

function fail(message: string): never {
  process.stderr.write(`oned-emu: ${message}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: {
        port: { type: 'string' }, listen: { type: 'string' }, data: { type: 'string' },
        config: { type: 'string' }, log: { type: 'string' }, help: { type: 'boolean', short: 'h' },
        clock: { type: 'string' }, 'no-scheduler': { type: 'boolean' }, 'metrics-port': { type: 'string' },
        once: { type: 'boolean' }, demo: { type: 'boolean' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n\n${HELP}`);
  }
  const { values, positionals } = parsed;
  const command = positionals[0] ?? (values.help ? 'help' : undefined);
  if (command === undefined || command === 'help' || values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (command === 'top') {
    await runTop({ once: values.once ?? false, env: process.env, out: process.stdout });
    return;
  }
  if (!['serve', 'migrate', 'scheduler', 'seed'].includes(command)) fail(`unknown command "${command}"\n\n${HELP}`);
  if (command === 'seed' && !values.demo) fail('seed needs --demo (the demo cloud is the only seed there is)');

  let config: Config;
  let clock: Clock;
  try {
    clock = parseClock(values.clock ?? process.env.ONE_EMU_CLOCK ?? 'system');
  } catch (err) {
    fail((err as Error).message);
  }
  const log = createLogger({ clock, file: values.log });
  try {
    const loaded = loadConfig({
      file: values.config, env: process.env,
      flags: { PORT: values.port, LISTEN_ADDRESS: values.listen, DATA: values.data, METRICS_PORT: values['metrics-port'] },
    });
    config = loaded.config;
    for (const w of loaded.warnings) log.warn('ONE', w);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  if (command === 'migrate') {
    const db = await openConfiguredDatabase(config);
    try {
      const report = await migrate(db);
      process.stdout.write(`migrations applied: ${report.applied.length ? report.applied.join(', ') : 'none'} `
        + `(already applied: ${report.alreadyApplied})\n`);
    } finally {
      await db.close();
    }
    return;
  }

  if (command === 'seed') {
    const db = await openConfiguredDatabase(config);
    try {
      await prepareDatabase(db, { config, log, env: process.env });
      const demo = await seedDemoCloud({ db, config, clock, log });
      process.stdout.write(describeDemoCloud(demo));
    } catch (err) {
      if (err instanceof CloudNotEmptyError) fail(err.message);
      throw err;
    } finally {
      await db.close();
    }
    return;
  }

  const server = command === 'scheduler'
    ? await startSchedulerOnly({ config, clock, log, env: process.env })
    : await startServer({ config, clock, log, env: process.env, scheduler: !values['no-scheduler'] });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('ONE', `${signal} received, stopping`);
    server.stop()
      .then(() => log.close())
      .then(() => process.exit(0), (err) => {
        process.stderr.write(`oned-emu: error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`oned-emu: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
