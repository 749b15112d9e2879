/**
 * The one place that makes bytes durable: temp file beside the target →
 * write → fsync → close → rename → fsync of the directory. Partial files carry
 * TEMP_MARK in their name so the recovery sweep can recognise and delete them.
 */
import { basename, dirname, join } from "node:path";
import { AppError, errMessage } from "../core/errors.ts";

export const TEMP_MARK = ".volsnap-tmp";

export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARK);
}

/** fsync a directory so a rename or create inside it survives power loss. */
export async function syncDir(dir: string): Promise<void> {
  const f = await Deno.open(dir, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

/**
 * Flushes the whole filesystem that holds `path` (syncfs(2) through coreutils'
 * `sync -f`): after a bulk extraction one call replaces an fsync per file.
 */
export async function syncFs(path: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("sync", { args: ["-f", path], stdout: "null", stderr: "piped" })
      .output();
  } catch (err) {
    throw new AppError("internal", `cannot run sync -f for ${path}: ${errMessage(err)}`, {
      hint: "volsnap needs coreutils' sync on PATH",
    });
  }
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim();
    throw new AppError("internal", `syncfs of ${path} failed: ${why || `exit ${out.code}`}`);
  }
}

export function tempPathFor(finalPath: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  return join(dirname(finalPath), `.${basename(finalPath)}.${rand}${TEMP_MARK}`);
}

/** Atomically replaces `path` with `data`. */
export async function writeFileDurable(path: string, data: Uint8Array | string, mode = 0o644) {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const w = await openDurableWriter(path, mode);
  try {
    await w.write(bytes);
    await w.commit();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/**
 * A file being written towards `finalPath`. `commit()` makes it durable and
 * visible under its final name; `abort()` removes the temp file. Exactly one of
 * them must be called.
 */
export interface DurableWriter {
  readonly tempPath: string;
  write(chunk: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function openDurableWriter(finalPath: string, mode = 0o644): Promise<DurableWriter> {
  const tempPath = tempPathFor(finalPath);
  const file = await Deno.open(tempPath, { write: true, createNew: true, mode });
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return {
    tempPath,
    async write(chunk) {
      let off = 0;
      while (off < chunk.length) off += await file.write(chunk.subarray(off));
    },
    async commit() {
      await file.sync();
      close();
      await Deno.chmod(tempPath, mode);
      await Deno.rename(tempPath, finalPath);
      await syncDir(dirname(finalPath));
    },
    async abort() {
      close();
      await Deno.remove(tempPath).catch(() => {});
    },
  };
}

/** Rename + fsync of both parent directories (they may be the same). */
export async function renameDurable(from: string, to: string): Promise<void> {
  await Deno.rename(from, to);
  await syncDir(dirname(to));
  if (dirname(from) !== dirname(to)) await syncDir(dirname(from));
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
