/**
 * An old dir is deleted only when the pre-restore snapshot holds all of it
 * (SPEC §5 Guards, issue 9 item 1). A device node, which no snapshot stores,
 * keeps the old dir: reported on the restore, in an event, listed by
 * GET /api/v1/leftovers and removed by DELETE /api/v1/leftovers/{id}.
 * Sockets are recreated by their owner and do not keep it.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { clearDir, existsSync, leftovers, populateTree } from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";

async function run(cmd: string, ...args: string[]) {
  const o = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!o.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  }
}

Deno.test("restore keeps an old dir its pre-restore snapshot cannot hold; the API lists and deletes it", async () => {
  const scratch = new DockerScratch("vs-gu-lo");
  const server = await TestServer.start();
  const parent = await Deno.makeTempDir({ prefix: "vs-gu-lo-" });
  const live = join(parent, "live");
  Deno.mkdirSync(live);
  try {
    const wid = scratch.prefix;
    await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${live}:/data`],
    });
    populateTree(live, "A", { bytes: 10_000 });
    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id as string;
    const restore = () =>
      server.api("POST", `/api/v1/workloads/${wid}/restore?wait=true`, { snapshotId: sid }, {
        "x-confirm-restore": sid,
      });

    // 1. Only a socket beside ordinary files: the old dir goes.
    clearDir(live);
    populateTree(live, "BB", { bytes: 10_000 });
    const sock = Deno.listen({ transport: "unix", path: join(live, "app.sock") });
    sock.close();
    const r1 = await restore();
    assertEquals(r1.status, 200, JSON.stringify(r1.json));
    assertEquals(r1.json.restore.leftovers, undefined);
    assertEquals(leftovers([live]), [], "old dir kept although only a socket was skipped");

    // 2. A device node: nothing can archive it, so the old dir stays.
    clearDir(live);
    populateTree(live, "CCC", { bytes: 10_000 });
    await run("mknod", join(live, "null-dev"), "c", "1", "3");
    const r2 = await restore();
    assertEquals(r2.status, 200, JSON.stringify(r2.json));
    const kept = r2.json.restore.leftovers as { id: string; path: string; reason: string }[];
    assertEquals(kept?.length, 1, `restore did not report a kept dir: ${JSON.stringify(r2.json)}`);
    assert(existsSync(join(kept[0].path, "null-dev")), "the device node exists nowhere any more");
    assert(existsSync(join(kept[0].path, "only-in-CCC.txt")), "the old data was deleted");
    assert(kept[0].reason.includes("special"), kept[0].reason);

    const list = await server.api("GET", `/api/v1/leftovers?workload=${wid}`);
    assertEquals(list.status, 200);
    assertEquals(list.json.leftovers.map((l: { id: string }) => l.id), [kept[0].id]);
    assertEquals(list.json.leftovers[0].snapshotId, r2.json.restore.preRestoreSnapshotId);
    const ev = await server.api("GET", `/api/v1/events?workload=${wid}`);
    assert(ev.json.events.some((e: { kind: string }) => e.kind === "leftover_kept"), "no event");

    // A restart (sweep) keeps it: nothing but the operator deletes it.
    await server.restart();
    assert(existsSync(kept[0].path), "the sweep deleted the kept old dir");

    const bad = await server.api("DELETE", `/api/v1/leftovers/..%2Fetc`);
    assertEquals(bad.status, 400);
    const del = await server.api("DELETE", `/api/v1/leftovers/${kept[0].id}`);
    assertEquals(del.status, 204);
    assert(!existsSync(kept[0].path), "DELETE did not remove the old dir");
    assertEquals((await server.api("GET", "/api/v1/leftovers")).json.leftovers, []);
    assertEquals((await server.api("DELETE", `/api/v1/leftovers/${kept[0].id}`)).status, 404);
  } finally {
    await server.stop();
    await scratch.cleanup();
    await Deno.remove(parent, { recursive: true }).catch(() => {});
  }
});
