/** One mutating operation per workload inside the process (409 workload_busy otherwise). */
import { AppError } from "../core/errors.ts";

export class WorkloadLocks {
  #held = new Map<string, string>();

  /** Takes the lock or throws workload_busy naming what holds it. */
  acquire(workload: string, what: string): () => void {
    const holder = this.#held.get(workload);
    if (holder) {
      throw new AppError("workload_busy", `workload "${workload}" is busy: ${holder} is running`, {
        hint: "wait for the running operation to finish and retry",
      });
    }
    this.#held.set(workload, what);
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.#held.delete(workload);
      }
    };
  }

  isHeld(workload: string): boolean {
    return this.#held.has(workload);
  }
}
