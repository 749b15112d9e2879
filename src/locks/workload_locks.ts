/**
 * Locks: one volsnap process per data dir (flock, released by the kernel if we
 * die), and one mutating operation per workload inside the process.
 */
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

/** Holds an exclusive flock on the data dir's lock file for the process lifetime. */
export async function acquireProcessLock(lockFile: string): Promise<Deno.FsFile> {
  const f = await Deno.open(lockFile, { read: true, write: true, create: true, mode: 0o600 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      f.lock(true),
      new Promise((_, reject) => timer = setTimeout(() => reject(new Error("timeout")), 3000)),
    ]);
  } catch {
    f.close();
    throw new AppError(
      "internal",
      `another volsnap process holds ${lockFile}; only one may use a data dir at a time`,
    );
  } finally {
    clearTimeout(timer);
  }
  await f.truncate(0);
  await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
  return f;
}
