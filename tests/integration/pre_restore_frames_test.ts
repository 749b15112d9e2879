/**
 * The pre-restore snapshot of a restore is kept as frames and captured
 * incrementally against the workload's newest snapshot (the replaced data
 * was live, mostly unchanged since it): it stores about what changed, and it
 * still downloads as a plain .tar.zst that GNU tar extracts to exactly the
 * replaced tree. Through the real server and Docker engine.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { leftovers, pseudoRandom, volumeMountpoint } from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";
import { sha256Hex } from "../frames/frames_helpers.ts";

const MiB = 1 << 20;

async function run(cmd: string, args: string[]) {
  const r = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  assert(r.success, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

Deno.test("a restore's pre-restore snapshot is incremental and streams the replaced tree", async () => {
  const scratch = new DockerScratch("vs-prf");
  const server = await TestServer.start();
  const tmp = await Deno.makeTempDir({ prefix: "vs-prf-" });
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    const dir = await volumeMountpoint(vol);
    // A database-like file (whole 4 KiB pages, so it is kept as sub-frames) and app files.
    Deno.mkdirSync(join(dir, "db"));
    Deno.writeFileSync(join(dir, "db", "table.ibd"), pseudoRandom(8 * MiB, 7));
    Deno.mkdirSync(join(dir, "app"));
    for (let i = 0; i < 200; i++) {
      Deno.writeFileSync(join(dir, "app", `f${i}`), pseudoRandom(2000 + i * 97, 100 + i));
    }

    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const snap = cap.json.snapshot;
    assert(snap.frameCount > 0, "the capture is kept as frames");

    // After the snapshot: one page rewritten in place, one file changed, one added.
    const h = Deno.openSync(join(dir, "db", "table.ibd"), { write: true });
    h.seekSync(3 * MiB + 8192, Deno.SeekMode.Start);
    h.writeSync(pseudoRandom(8192, 99));
    h.close();
    Deno.writeFileSync(join(dir, "app", "f3"), pseudoRandom(5000, 4242));
    Deno.writeTextFileSync(join(dir, "app", "new"), "written after the snapshot\n");
    const replaced = fingerprint(dir);

    const res = await server.api(
      "POST",
      `/api/v1/workloads/${wid}/restore?wait=true`,
      { snapshotId: snap.id },
      { "X-Confirm-Restore": snap.id },
    );
    assertEquals(res.status, 200, JSON.stringify(res.json));
    assertEquals(leftovers([dir]), [], "the old dir is gone once its snapshot is durable");
    const preId = res.json.restore.preRestoreSnapshotId;
    assert(preId, "pre-restore snapshot id");

    const pre = (await server.api("GET", `/api/v1/snapshots/${preId}`)).json.snapshot;
    assertEquals(pre.origin, "pre-restore");
    assertEquals(pre.parentId, snap.id, `incremental against the capture (${pre.fullReason})`);
    // One changed 1 MiB chunk (its changed sub-frames), one changed group, the new file.
    assert(
      pre.storedBytes < pre.sizeBytes / 4,
      `stored ${pre.storedBytes} of ${pre.sizeBytes} bytes: not incremental`,
    );

    const dl = await fetch(`${server.url}/api/v1/snapshots/${preId}/archive`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    assertEquals(dl.status, 200);
    const bytes = new Uint8Array(await dl.arrayBuffer());
    assertEquals(Number(dl.headers.get("content-length")), bytes.length);
    assertEquals(await sha256Hex(bytes), pre.sha256, "the stream is the one the catalog names");
    Deno.writeFileSync(join(tmp, "pre.tar.zst"), bytes);
    const out = join(tmp, "x");
    Deno.mkdirSync(out);
    await run("tar", ["-x", "--zstd", "-f", join(tmp, "pre.tar.zst"), "-C", out]);
    assertEquals(diffTrees(fingerprint(join(out, "volumes/0")), replaced), []);

    // And it restores back through the API.
    const back = await server.api(
      "POST",
      `/api/v1/workloads/${wid}/restore?wait=true`,
      { snapshotId: preId },
      { "X-Confirm-Restore": preId },
    );
    assertEquals(back.status, 200, JSON.stringify(back.json));
    assertEquals(diffTrees(fingerprint(dir), replaced), []);
  } finally {
    await server.stop();
    await scratch.cleanup();
    await Deno.remove(tmp, { recursive: true });
  }
});
