/** Layout of the data dir and of the staging/old dirs placed beside live volume dirs. */
import { basename, dirname, join } from "node:path";

export interface DataPaths {
  root: string;
  archives: string;
  journal: string;
  orphans: string;
  lockFile: string;
}

export function dataPaths(dataDir: string): DataPaths {
  return {
    root: dataDir,
    archives: join(dataDir, "archives"),
    journal: join(dataDir, "journal"),
    orphans: join(dataDir, "orphans"),
    lockFile: join(dataDir, "daemon.lock"),
  };
}

export async function ensureDataDirs(p: DataPaths): Promise<void> {
  for (const d of [p.root, p.archives, p.journal, p.orphans]) {
    await Deno.mkdir(d, { recursive: true, mode: 0o700 });
  }
}

/**
 * Staging and old dirs live beside the live dir (same filesystem, so the swap
 * is a rename) and carry the operation id so the sweep can match them to a journal.
 */
export const STAGING_MARK = ".volsnap-staging-";
export const OLD_MARK = ".volsnap-old-";

export function stagingDirFor(liveDir: string, opId: string): string {
  return join(dirname(liveDir), `.${basename(liveDir)}${STAGING_MARK}${opId}`);
}
export function oldDirFor(liveDir: string, opId: string): string {
  return join(dirname(liveDir), `.${basename(liveDir)}${OLD_MARK}${opId}`);
}

export function newId(prefix: string, now: Date): string {
  const ts = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const rand = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return `${prefix}${ts}-${rand}`;
}
