/**
 * Restore drill (SPEC §10): proves a snapshot restorable without touching the
 * live volumes.
 *
 *   lock workload (retention must not delete the archive meanwhile)
 *   → extract the archive into <data>/scratch/drill-<op>/<volume index>
 *     (full decode, every extractor rule, sha256 of the stored file checked)
 *   → compare each extracted tree with the content digest the capture recorded
 *   → optional `volsnap.drill-command`: a throwaway container from the
 *     workload's image, --network none, scratch dirs mounted at the volumes'
 *     destinations; must exit 0
 *   → delete the scratch dir (every path; the start-up sweep removes what a
 *     crash left) → record lastDrillAt/Ok/Error on the snapshot → event.
 *
 * A drill that fails is a result, not an error: the operation succeeds with
 * `ok: false`, so schedules and the API report it the same way.
 */
import { isFramedFile } from "../frames/snapshot_frames.ts";
import { openLocalArchive } from "../engine/local_archive.ts";
import { isAgeFile } from "../crypto/age.ts";
import { join } from "node:path";
import type { SnapshotRow } from "../../db/catalog.ts";
import { recordDrill } from "../../db/ops_store.ts";
import { errMessage, notFound } from "../core/errors.ts";
import type { Workload } from "../core/model.ts";
import type { EngineContext } from "../engine/context.ts";
import { lockWorkload } from "../engine/context.ts";
import type { PreparedOperation } from "../engine/types.ts";
import { extractArchive } from "../unpack/extract.ts";
import { treeDigest } from "./digest.ts";

export const DRILL_COMMAND_LABEL = "volsnap.drill-command";
export const DRILL_COMMAND_TIMEOUT_MS = 10 * 60_000;

export interface DrillResult {
  snapshotId: string;
  ok: boolean;
  error?: string;
  /** Volumes compared with the capture's content digest. */
  volumesChecked: number;
  /** The drill command ran and exited 0. */
  commandRan: boolean;
  drilledAt: string;
}

/** Where drills extract: on the data dir's filesystem, never the live volumes. */
export function scratchRoot(dataDir: string): string {
  return join(dataDir, "scratch");
}

/** Removes what drills of a crashed process left (before listening). */
export async function sweepScratch(dataDir: string): Promise<void> {
  await Deno.remove(scratchRoot(dataDir), { recursive: true }).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}

export async function prepareDrill(
  ctx: EngineContext,
  sid: string,
): Promise<PreparedOperation<DrillResult>> {
  const row = await ctx.catalog.getSnapshot(sid);
  if (!row) throw notFound(`snapshot "${sid}"`);
  const { workload, release } = await lockWorkload(ctx, row.workload, "a restore drill");
  return {
    kind: "drill",
    workload: row.workload,
    snapshotId: sid,
    cancel: release,
    run: async (op) => {
      try {
        return await runDrill(ctx, row, workload, op.id, (p) => op.progress(p));
      } finally {
        release();
      }
    },
  };
}

async function runDrill(
  ctx: EngineContext,
  row: SnapshotRow,
  workload: Workload,
  opId: string,
  progress: (p: { phase?: string; bytesDone?: number; bytesTotal?: number }) => void,
): Promise<DrillResult> {
  const at = ctx.clock.now().toISOString();
  const scratch = join(scratchRoot(ctx.config.dataDir), `drill-${opId}`);
  let volumesChecked = 0;
  let commandRan = false;
  let error: string | undefined;
  try {
    await Deno.mkdir(scratch, { recursive: true, mode: 0o700 });
    progress({ phase: "extracting", bytesDone: 0, bytesTotal: row.uncompressedBytes });
    const { manifest } = await extractArchive({
      ...(isFramedFile(row.file) || isAgeFile(row.file)
        ? { source: (await openLocalArchive(ctx, row)).stream }
        : { sourcePath: join(ctx.paths.archives, row.file) }),
      expectedSha256: row.sha256,
      targetDirFor: (index) => join(scratch, String(index)),
      // The digest holds setuid/setgid bits; the scratch dir is private to volsnap.
      keepPrivileges: true,
      limits: ctx.limits,
      onProgress: (n) => progress({ bytesDone: n }),
    });
    progress({ phase: "comparing" });
    const recorded = row.contentDigest ?? {};
    for (const v of manifest.volumes) {
      const want = recorded[String(v.index)];
      if (!want) continue;
      const got = await treeDigest(join(scratch, String(v.index)), want);
      if (got !== want) {
        throw new Error(
          `volume ${v.key}: extracted content differs from what the capture recorded`,
        );
      }
      volumesChecked++;
    }
    const withCommand = workload.containers.find((c) => c.labels[DRILL_COMMAND_LABEL]?.trim());
    if (withCommand) {
      progress({ phase: "drill-command" });
      const binds = manifest.volumes.flatMap((v) =>
        v.destinations.filter((d) => d.container === withCommand.name)
          .map((d) => `${join(scratch, String(v.index))}:${d.destination}`)
      );
      const r = await ctx.docker.runThrowaway({
        fromContainer: withCommand.id,
        command: withCommand.labels[DRILL_COMMAND_LABEL],
        binds,
        timeoutMs: DRILL_COMMAND_TIMEOUT_MS,
      });
      if (r.exitCode !== 0) {
        throw new Error(`drill command exited ${r.exitCode}: ${r.output.slice(-500).trim()}`);
      }
      commandRan = true;
    }
  } catch (err) {
    error = errMessage(err);
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch((err) =>
      ctx.log.warn("cannot remove drill scratch dir", { scratch, error: errMessage(err) })
    );
  }
  await recordDrill(ctx.catalog, row.id, at, !error, error);
  const data = { snapshotId: row.id, operationId: opId };
  if (error) {
    await ctx.event(
      "drill_failed",
      `drill of snapshot ${row.id} failed: ${error}`,
      row.workload,
      data,
    );
  } else {
    await ctx.event("drill_passed", `drill of snapshot ${row.id} passed`, row.workload, data);
  }
  return { snapshotId: row.id, ok: !error, error, volumesChecked, commandRan, drilledAt: at };
}
