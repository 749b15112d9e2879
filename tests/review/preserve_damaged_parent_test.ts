/**
 * Review of cb76f65: the pre-restore snapshot references the workload's newest
 * capture's frames for every unchanged large file, without reading them or
 * the old dir's bytes, and the old dirs are then deleted. Frames of that
 * capture that are already damaged on disk (no check runs before) make the
 * pre-restore snapshot unrestorable while the only good copy (the old dir) was
 * deleted. Before cb76f65 the pre-restore archive was written from the old
 * dirs' bytes; now a framed one is read back in full (its content digest
 * against the recorded one) before the old dirs go. No Docker:
 * preserveOldDirs is called on a hand-made journal.
 */
import { join } from "node:path";
import { assert } from "../_helpers/assert.ts";
import { loadOrCreateHostId } from "../../src/core/host_id.ts";
import { Catalog } from "../../db/catalog.ts";
import { openCatalogDb } from "../../db/client.ts";
import { systemClock } from "../../src/core/clock.ts";
import { parseConfig } from "../../src/config/config.ts";
import type { DockerApi } from "../../src/docker/api.ts";
import { createContext } from "../../src/engine/context.ts";
import { ensureDataDirs, oldDirFor } from "../../src/engine/paths.ts";
import { silentLogger } from "../../src/core/log.ts";
import { archiveJob } from "../../src/engine/archive_job.ts";
import { snapshotRow } from "../../src/engine/snapshot_file.ts";
import { preserveOldDirs } from "../../src/engine/preserve.ts";
import { frameStoreAt } from "../../src/frames/store.ts";
import { readFramedSnapshot } from "../../src/frames/snapshot_frames.ts";
import { rowsText, streamBytes, zstdDecode } from "../frames/frames_helpers.ts";
import { CHUNK } from "../../src/frames/cutter.ts";
import type { RestoreJournal } from "../../src/journal/journal.ts";

const text = rowsText;

Deno.test("review: preserve keeps the old dir when its pre-restore snapshot references a damaged parent frame", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_review_pres_" });
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
    const wid = "w1";
    const live = join(tmp, "vol", "_data");
    await Deno.mkdir(live, { recursive: true });
    await Deno.writeFile(join(live, "big.log"), text.subarray(0, 2 * CHUNK));
    await Deno.writeFile(join(live, "small.txt"), text.subarray(0, 1000));
    const vol = { key: "volume:data", type: "volume" as const, name: "data", destinations: [] };

    // The workload's newest capture.
    const pid = "20260101T000000Z-00000001";
    const job = await archiveJob(ctx, wid, pid, "zstd", { incremental: true });
    const createdAt = new Date().toISOString();
    const manifest = await job.write({
      createdAt,
      quiesce: "stop",
      volumes: [{ ...vol, hostPath: live }],
      onWarning: () => {},
    });
    const fin = await job.finish();
    assert(job.file.endsWith(".frames"), `framed capture expected, got ${job.file}`);
    await catalog.insertSnapshot(snapshotRow(ctx, {
      id: pid,
      workload: wid,
      createdAt,
      origin: "capture",
      label: null,
      compression: "zstd",
      file: job.file,
      stats: fin.stats,
      manifest,
      quiesce: "stop",
      downtimeMs: 0,
      consistent: true,
      warnings: [],
      contentDigest: fin.contentDigest,
      frames: fin.frames,
    }));

    // Bit rot in one of its chunk frames (zstd's checksum catches it on decode; nothing has read it).
    const store = await frameStoreAt(dataDir);
    const frames = (await readFramedSnapshot(join(ctx.paths.archives, job.file))).frames;
    const big = frames.reduce((a, b) => (b.rawSize > a.rawSize ? b : a));
    const loc = store.get(big.id)!;
    const fh = await Deno.open(join(store.packsDir, loc.pack + ".pack"), {
      read: true,
      write: true,
    });
    await fh.seek(loc.offset + Math.floor(loc.size / 2), Deno.SeekMode.Start);
    const b = new Uint8Array(1);
    await fh.read(b);
    await fh.seek(loc.offset + Math.floor(loc.size / 2), Deno.SeekMode.Start);
    await fh.write(new Uint8Array([b[0] ^ 0xff]));
    fh.close();

    // A restore swapped the live dir away (live → old); the old dir is intact.
    const opId = "op_review0000000001";
    const old = oldDirFor(live, opId);
    await Deno.rename(live, old);
    await Deno.mkdir(live);
    const journal: RestoreJournal = {
      kind: "restore",
      opId,
      workload: wid,
      snapshotId: pid,
      phase: "committed",
      containers: [],
      volumes: [{ ...vol, live, staged: join(tmp, "staged"), old }],
      swapped: 1,
    };
    const out = await preserveOldDirs(ctx, journal);
    const oldKept = await Deno.stat(old).then(() => true, () => false);
    let restorable = "no pre-restore snapshot";
    const row = out.snapshotId ? await catalog.getSnapshot(out.snapshotId) : undefined;
    if (row?.file) {
      try {
        const path = join(ctx.paths.archives, row.file);
        // Before cb76f65 the pre-restore snapshot was a single .tar.zst.
        await zstdDecode(
          path.endsWith(".frames") ? await streamBytes(store, path) : await Deno.readFile(path),
        );
        restorable = "ok";
      } catch (err) {
        restorable = `unrestorable (${err instanceof Error ? err.message : err})`;
      }
    }
    assert(
      oldKept || restorable === "ok",
      `old dir deleted (outcome ${JSON.stringify(out)}, parentId ${row?.parentId}), ` +
        `and its pre-restore snapshot is ${restorable}`,
    );
  } finally {
    close();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
