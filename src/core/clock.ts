/** Time behind a seam so engine logic can be tested with a fake clock. */
export interface Clock {
  now(): Date;
  /** Monotonic milliseconds, for measuring durations such as downtime. */
  monotonicMs(): number;
}

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
};
