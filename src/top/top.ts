import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { renderFrame } from './frame.js';
import { fetchSnapshot, OneClient } from './snapshot.js';

/** Where and as whom to connect, the way OpenNebula's CLI finds out: ONE_XMLRPC and the ONE_AUTH file. */
export function connection(env: NodeJS.ProcessEnv): { endpoint: string; session: string } {
  const endpoint = env.ONE_XMLRPC || 'http://localhost:2633/RPC2';
  const authFile = env.ONE_AUTH || join(env.HOME || homedir(), '.one', 'one_auth');
  let session: string;
  try {
    session = readFileSync(authFile, 'utf8').split('\n')[0].trim();
  } catch (err) {
    throw new Error(`cannot read the ONE_AUTH file ${authFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); `
      + 'set ONE_AUTH to a file holding one line user:password');
  }
  if (!session.includes(':')) throw new Error(`the ONE_AUTH file ${authFile} must hold one line user:password`);
  return { endpoint, session };
}

const ALTERNATE_SCREEN = '\x1b[?1049h\x1b[?25l';
const NORMAL_SCREEN = '\x1b[?25h\x1b[?1049l';

/** The frame drawn over the previous one: each line cleared to its end, then the rest of the screen. */
const overwrite = (frame: string) => `\x1b[H${frame.split('\n').join('\x1b[K\n')}\x1b[K\x1b[J`;

/**
 * `oned-emu top`: every backup job with its four sets and every running backup with a progress bar and ETA,
 * redrawn every second like OpenNebula's onetop until q or Ctrl-C. `once` prints one frame and returns.
 */
export async function runTop(opts: { once: boolean; env: NodeJS.ProcessEnv; out: NodeJS.WriteStream }): Promise<void> {
  const { endpoint, session } = connection(opts.env);
  const client = new OneClient(endpoint, session);
  // A terminal that does not know its size reports 0 (or nothing when not a terminal).
  const width = () => opts.out.columns || Number(opts.env.COLUMNS) || 120;
  const view = () => ({ endpoint, width: width(), height: opts.once ? undefined : opts.out.rows || undefined });
  if (opts.once) {
    opts.out.write(`${renderFrame(await fetchSnapshot(client), view())}\n`);
    return;
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      opts.out.write(NORMAL_SCREEN);
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
      process.stdin.pause();
      resolve();
    };
    const draw = async () => {
      let frame: string;
      try {
        frame = renderFrame(await fetchSnapshot(client), view());
      } catch (err) {
        frame = `oned-emu top - ${endpoint}\n\n${(err as Error).message}\n\nretrying every second; q quits`;
      }
      if (stopped) return;
      opts.out.write(overwrite(frame));
      timer = setTimeout(() => { void draw(); }, 1000);
    };
    opts.out.write(ALTERNATE_SCREEN);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.on('data', (key: Buffer) => {
        const k = key.toString();
        if (k === 'q' || k === 'Q' || k === '\x03') stop();
      });
      process.stdin.resume();
    }
    void draw();
  });
}
