/**
 * Size of a directory tree for coverage and restore pre-flight. Walks with
 * lstat semantics: symlinks are counted as entries, never followed, so a link
 * to `/` cannot make the walk leave the volume. Hard-linked files count once.
 */
import { join } from "node:path";

export interface DirSize {
  /** Bytes of regular files (each inode once). */
  bytes: number;
  /** Entries that are not directories: files, symlinks, sockets, ... */
  files: number;
  /** False when the time budget ran out or a directory could not be read. */
  complete: boolean;
}

/**
 * @param opts.maxMs time budget (default 10 s); the partial count is returned
 *   with `complete: false` when it runs out.
 * @throws Deno.errors.NotFound (and other fs errors) when `path` itself
 *   cannot be read; problems below it only clear `complete`.
 */
export async function measureDirSize(
  path: string,
  opts: { maxMs?: number } = {},
): Promise<DirSize> {
  const deadline = performance.now() + (opts.maxMs ?? 10_000);
  const root = await Deno.lstat(path);
  if (!root.isDirectory) {
    return { bytes: root.isFile ? root.size : 0, files: 1, complete: true };
  }
  const seen = new Set<string>(); // dev:ino of files with more than one link
  let bytes = 0;
  let files = 0;
  let complete = true;
  const stack = [path];
  while (stack.length > 0) {
    if (performance.now() > deadline) return { bytes, files, complete: false };
    const dir = stack.pop()!;
    try {
      for await (const entry of Deno.readDir(dir)) {
        const p = join(dir, entry.name);
        if (entry.isDirectory) {
          stack.push(p);
          continue;
        }
        files++;
        if (!entry.isFile) continue;
        try {
          const st = await Deno.lstat(p);
          if ((st.nlink ?? 1) > 1) {
            const id = `${st.dev}:${st.ino}`;
            if (seen.has(id)) continue;
            seen.add(id);
          }
          bytes += st.size;
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) complete = false; // vanished is fine
        }
        if (performance.now() > deadline) return { bytes, files, complete: false };
      }
    } catch (err) {
      if (dir === path || !(err instanceof Deno.errors.NotFound)) complete = false;
    }
  }
  return { bytes, files, complete };
}
