/**
 * The destructive core of a restore: per volume, `live → old` then
 * `staged → live`, each rename followed by an fsync of the parent. Rollback
 * reads the state from the filesystem, so it is correct after a crash at any
 * instant and safe to run twice.
 */
import { exists, renameDurable } from "../fs/durable.ts";
import type { RestoreJournalVolume } from "../journal/journal.ts";
import { OLD_MARK, STAGING_MARK } from "./paths.ts";

export async function swapVolume(
  v: RestoreJournalVolume,
  fault: (name: string) => Promise<void>,
): Promise<void> {
  await renameDurable(v.live, v.old);
  await fault("restore.swap.half");
  await renameDurable(v.staged, v.live);
}

/**
 * Puts every volume back to its pre-restore state: where `old` exists it is
 * the original data; whatever sits at `live` then is the staged copy and is
 * moved aside (never deleted before `old` is back in place).
 */
export async function rollbackVolumes(volumes: RestoreJournalVolume[]): Promise<void> {
  for (const v of [...volumes].reverse()) {
    if (await exists(v.old)) {
      if (await exists(v.live)) {
        if (await exists(v.staged)) await removeOwnTree(v.staged, STAGING_MARK);
        await renameDurable(v.live, v.staged);
      }
      await renameDurable(v.old, v.live);
    }
    await removeOwnTree(v.staged, STAGING_MARK);
  }
}

/**
 * Deletes a staging or old dir. Refuses any path that does not carry our
 * marker, so a corrupted journal can never make us delete live data.
 */
export async function removeOwnTree(path: string, mark: typeof STAGING_MARK | typeof OLD_MARK) {
  const base = path.slice(path.lastIndexOf("/") + 1);
  if (!base.includes(mark)) {
    throw new Error(`refusing to delete ${path}: not a volsnap ${mark} dir`);
  }
  try {
    await Deno.remove(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
