/** Shared by the pre-copy review tests (tests/review/precopy_*_test.ts). */
import { join } from "node:path";
import { loadOrCreateHostId } from "../../src/core/host_id.ts";
import { Catalog } from "../../db/catalog.ts";
import { openCatalogDb } from "../../db/client.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseConfig } from "../../src/config/config.ts";
import type { DockerApi } from "../../src/docker/api.ts";
import { createContext, type EngineContext } from "../../src/engine/context.ts";
import { ensureDataDirs } from "../../src/engine/paths.ts";
import { silentLogger } from "../../src/core/log.ts";
import { archiveJob } from "../../src/engine/archive_job.ts";
import { snapshotRow } from "../../src/engine/snapshot_file.ts";

export const MiB = 1 << 20;

export { precopy, stoppedPass } from "../frames/precopy_helpers.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Builds a C helper of tests/review into `dir`. */
export async function buildC(source: string, dir: string): Promise<string> {
  const out = join(dir, source.replace(/\.c$/, ""));
  const r = await new Deno.Command("gcc", {
    args: ["-O2", "-pthread", "-o", out, new URL(source, import.meta.url).pathname],
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`gcc: ${new TextDecoder().decode(r.stderr)}`);
  return out;
}

/** A child that prints lines and waits for one on stdin. */
export function lineChild(cmd: string, args: string[]) {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped" }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stdin = child.stdin.getWriter();
  let pending = "";
  return {
    async line(): Promise<string> {
      while (!pending.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`${cmd} ended`);
        pending += value;
      }
      const i = pending.indexOf("\n");
      const l = pending.slice(0, i);
      pending = pending.slice(i + 1);
      return l.trim();
    },
    send: (s: string) => stdin.write(new TextEncoder().encode(s + "\n")),
    async close() {
      await stdin.close().catch(() => {});
      await lines.cancel().catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
      return await child.status;
    },
    status: () => child.status,
  };
}

export type Vol = {
  key: string;
  type: "volume";
  name: string;
  destinations: never[];
  hostPath: string;
};

export async function withCtx(
  fn: (ctx: EngineContext, catalog: Catalog, tmp: string) => Promise<void>,
) {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_prestats_" });
  const dataDir = join(tmp, "data");
  await Deno.mkdir(dataDir);
  const config = parseConfig({
    DOCKER_HOST: "unix:///nonexistent/docker.sock",
    VOLSNAP_DATA_DIR: dataDir,
  }, []);
  const { db, close } = await openCatalogDb(config.dbUrl);
  try {
    const catalog = new Catalog(db, await loadOrCreateHostId(dataDir));
    const docker = new Proxy({} as DockerApi, {
      get: () => () => Promise.reject(new Error("no docker in this test")),
    });
    const ctx = createContext({ config, catalog, docker, log: silentLogger, clock: systemClock });
    await ensureDataDirs(ctx.paths);
    await fn(ctx, catalog, tmp);
  } finally {
    close();
    await Deno.remove(tmp, { recursive: true });
  }
}

export async function volume(tmp: string, name: string): Promise<Vol> {
  const hostPath = join(tmp, "vols", name, "_data");
  await Deno.mkdir(hostPath, { recursive: true });
  return { key: `volume:${name}`, type: "volume", name, destinations: [], hostPath };
}

/** One capture as runCapture runs it (pre-copy, then the write, then finish), catalogued. */
export async function jobCapture(
  ctx: EngineContext,
  catalog: Catalog,
  id: string,
  volumes: Vol[],
  between?: () => Promise<void>,
  quiesce: "stop" | "pause" = "stop",
) {
  const job = await archiveJob(ctx, "w1", id, "zstd", { incremental: true });
  const createdAt = new Date().toISOString();
  const p = { createdAt, quiesce, volumes, onWarning: () => {} };
  await job.precopy?.(p);
  await between?.();
  const manifest = await job.write(p);
  const fin = await job.finish();
  await catalog.insertSnapshot(snapshotRow(ctx, {
    id,
    workload: "w1",
    createdAt,
    origin: "capture",
    label: null,
    compression: "zstd",
    file: job.file,
    stats: fin.stats,
    manifest,
    quiesce,
    downtimeMs: 0,
    consistent: true,
    warnings: [],
    contentDigest: fin.contentDigest,
    frames: fin.frames,
    parentId: fin.parentId,
  }));
  return { job, fin };
}
