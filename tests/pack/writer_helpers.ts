/** Shared helpers for the archive writer tests (real files, GNU tar). */
import { extractArchive } from "../../src/unpack/extract.ts";
import { importArchive } from "../../src/unpack/import.ts";
import { DEFAULT_LIMITS } from "../../src/tar/limits.ts";
import {
  type ManifestDraft,
  type WriteArchiveOptions,
  writeSnapshotArchive,
} from "../../src/pack/writer.ts";

export function draft(volumes = 1): ManifestDraft {
  return {
    format: "volsnap/1",
    snapshotId: "snap_test-1",
    workload: "wl",
    createdAt: "2026-11-22T05:00:00.000Z",
    tool: { name: "volsnap", version: "test" },
    quiesce: "stop",
    volumes: Array.from({ length: volumes }, (_, i) => ({
      index: i,
      key: `volume:v${i}`,
      type: "volume" as const,
      name: `v${i}`,
      destinations: [{ container: "app", destination: `/data${i}` }],
    })),
  };
}

/** Captures one directory as volume 0 with zstd (other options as given). */
export function captureDir(
  hostPath: string,
  finalPath: string,
  extra: Partial<WriteArchiveOptions> = {},
): ReturnType<typeof writeSnapshotArchive> {
  return writeSnapshotArchive({
    finalPath,
    manifest: draft(),
    sources: [{ index: 0, hostPath }],
    compression: "zstd",
    ...extra,
  });
}

export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

export interface NodeInfo {
  type: "file" | "dir" | "symlink";
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  size: number;
  ino: number;
  target?: string;
  sha?: string;
}

/** Every path below `root` (relative), with the metadata a restore must reproduce. */
export async function describeTree(root: string): Promise<Map<string, NodeInfo>> {
  const out = new Map<string, NodeInfo>();
  const walk = async (rel: string) => {
    for (const e of [...Deno.readDirSync(`${root}/${rel}`)]) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const p = `${root}/${r}`;
      const st = Deno.lstatSync(p);
      const type = st.isFile ? "file" : st.isDirectory ? "dir" : st.isSymlink ? "symlink" : null;
      if (!type) continue;
      const info: NodeInfo = {
        type,
        mode: st.mode! & 0o7777,
        uid: st.uid!,
        gid: st.gid!,
        mtimeMs: st.mtime!.getTime(),
        size: type === "file" ? st.size : 0,
        ino: st.ino!,
      };
      if (type === "symlink") info.target = Deno.readLinkSync(p);
      if (type === "file") info.sha = await sha256File(p);
      out.set(r, info);
      if (type === "dir") await walk(r);
    }
  };
  await walk("");
  return out;
}

export async function sha256File(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const d = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function tempFiles(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".volsnap-tmp"));
}

/**
 * Imports a tar made outside volsnap (its path) as an upload would, then
 * extracts the imported archive to `staged`; returns the import's stats.
 */
export async function importAndStage(
  tarPath: string,
  base: string,
  staged: string,
  keepPrivileges = false,
): Promise<{ fileCount: number }> {
  const imported = `${base}/imported.tar`;
  const file = await Deno.open(tarPath);
  const result = await importArchive({
    body: file.readable,
    finalPath: imported,
    limits: DEFAULT_LIMITS,
  });
  await extractArchive({
    sourcePath: imported,
    targetDirFor: () => staged,
    limits: DEFAULT_LIMITS,
    keepPrivileges,
  });
  return result.stats;
}
