/** The one clock of the process: every rule that reads time reads it here, so tests and the emulated
 *  clock (`--clock manual`) control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const nowSeconds = (clock: Clock) => Math.floor(clock.now() / 1000);

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  constructor(private ms: number) {}
  now(): number { return this.ms; }
  set(ms: number): void { this.ms = ms; }
  advance(ms: number): void { this.ms += ms; }
}
