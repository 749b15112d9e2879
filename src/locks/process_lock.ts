/**
 * One volsnap process per data dir: an exclusive flock on `<data>/daemon.lock`,
 * released by the kernel when the process dies (also on SIGKILL). The file
 * holds the holder's pid so a refused second server can name it.
 */
import { AppError } from "../core/errors.ts";

const LOCK_WAIT_MS = 3000;

/** Takes the data dir's lock for the process lifetime; close the file to release it. */
export async function acquireProcessLock(lockFile: string): Promise<Deno.FsFile> {
  const f = await Deno.open(lockFile, { read: true, write: true, create: true, mode: 0o600 });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      f.lock(true),
      new Promise((_, reject) =>
        timer = setTimeout(() => reject(new Error("timeout")), LOCK_WAIT_MS)
      ),
    ]);
  } catch {
    f.close();
    const holder = await readHolderPid(lockFile);
    throw new AppError(
      "internal",
      `another volsnap process${holder ? ` (pid ${holder})` : ""} holds ${lockFile}; ` +
        "only one may use a data dir at a time",
      { hint: "stop that process, or give this one its own --data-dir" },
    );
  } finally {
    clearTimeout(timer);
  }
  await f.truncate(0);
  await f.write(new TextEncoder().encode(`${Deno.pid}\n`));
  await f.syncData();
  return f;
}

async function readHolderPid(lockFile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await Deno.readTextFile(lockFile)).trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
