/**
 * A readers–writer lock for the frame store: captures, downloads, restores
 * and verifies share it; compaction holds it alone, so it never removes a
 * frame that a running capture has just referenced or that a reader reads.
 */
export class RwLock {
  #readers = 0;
  #writer = false;
  #waiters: (() => void)[] = [];

  /** Resolves with a release function once no exclusive holder runs. */
  async shared(): Promise<() => void> {
    while (this.#writer) await new Promise<void>((r) => this.#waiters.push(r));
    this.#readers++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#readers--;
      this.#wake();
    };
  }

  /** The lock alone, or undefined when someone holds it now (never waits). */
  tryExclusive(): (() => void) | undefined {
    if (this.#writer || this.#readers > 0) return undefined;
    this.#writer = true;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#writer = false;
      this.#wake();
    };
  }

  get readers(): number {
    return this.#readers;
  }

  #wake() {
    const w = this.#waiters;
    this.#waiters = [];
    for (const r of w) r();
  }
}
