/** Rate-limits progress callbacks (a decoder yields thousands of chunks per second). */
const INTERVAL_MS = 100;

export function progressThrottle(fn?: (n: number) => void) {
  let last = 0;
  let value = 0;
  let reported = -1;
  return {
    update(n: number) {
      value = n;
      if (!fn) return;
      const now = performance.now();
      if (now - last >= INTERVAL_MS) {
        last = now;
        reported = n;
        fn(n);
      }
    },
    /** Reports the final value once. */
    flush() {
      if (fn && reported !== value) {
        reported = value;
        fn(value);
      }
    },
  };
}
