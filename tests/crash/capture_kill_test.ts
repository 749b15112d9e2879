/**
 * SIGKILL the server while a capture holds containers stopped or paused:
 * on restart the sweep brings them back and no partial archive remains.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { containerState, populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { sleep, TestServer } from "../_helpers/server.ts";

/** Starts a capture without waiting for it (the server is about to be killed). */
function startCapture(server: TestServer, wid: string, body: Record<string, string>) {
  fetch(`${server.url}/api/v1/workloads/${wid}/snapshots`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.body?.cancel()).catch(() => {});
}

function archiveFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) walk(p);
      else out.push(p);
    }
  };
  walk(dir);
  return out;
}

for (
  const [quiesce, point] of [["stop", "capture.quiesced"], ["pause", "capture.quiesced"], [
    "stop",
    "capture.archived",
  ]]
) {
  Deno.test(`SIGKILL during a capture (quiesce=${quiesce}, at ${point}): sweep resumes containers, no partial archive`, async () => {
    const scratch = new DockerScratch("vs-ckill");
    const server = await TestServer.start({ killAt: point });
    try {
      const wid = scratch.prefix;
      const vol = await scratch.volume("data");
      const lab = { "volsnap.workload": wid };
      const a = await scratch.container({ name: "a", labels: lab, args: ["-v", `${vol}:/data`] });
      const b = await scratch.container({ name: "b", labels: lab, args: ["-v", `${vol}:/data2`] });
      const idle = await scratch.container({ name: "idle", labels: lab, start: false });
      populateTree(await volumeMountpoint(vol), "A");

      startCapture(server, wid, { quiesce });
      const status = await Promise.race([server.exited(), sleep(60_000).then(() => undefined)]);
      assert(status, `server was not killed:\n${server.log.slice(-2000)}`);
      const downState = quiesce === "pause" ? "paused" : "exited";
      assertEquals(await containerState(a), downState, "the crash left containers quiesced");

      await server.restart();
      assertEquals(await containerState(a), "running");
      assertEquals(await containerState(b), "running");
      assertEquals(await containerState(idle), "created");
      assertEquals(archiveFiles(server.archivesDir()), [], "no partial archive");
      assertEquals([...Deno.readDirSync(join(server.dataDir, "journal"))].length, 0);
      const list = await server.api("GET", `/api/v1/workloads/${wid}/snapshots`);
      assertEquals(list.json.snapshots.length, 0);
      const ev = await server.api("GET", `/api/v1/events?workload=${wid}`);
      assert(
        JSON.stringify(ev.json).includes("capture_recovered"),
        "the sweep recorded what it did",
      );
    } finally {
      await server.stop();
      await scratch.cleanup();
    }
  });
}

Deno.test("SIGKILL at random moments of captures: containers always come back, every catalogued archive is whole", async () => {
  const trials = Number(Deno.env.get("VOLSNAP_KILL_TRIALS") ?? 50) / 2;
  const scratch = new DockerScratch("vs-crand");
  const server = await TestServer.start();
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const lab = { "volsnap.workload": wid, "volsnap.keep-last": "100" };
    const a = await scratch.container({ name: "a", labels: lab, args: ["-v", `${vol}:/data`] });
    const idle = await scratch.container({ name: "idle", labels: lab, start: false });
    populateTree(await volumeMountpoint(vol), "A", { bytes: 4_000_000 });
    const t0 = Date.now();
    const first = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(first.status, 201);
    const span = Date.now() - t0;
    for (let i = 0; i < trials; i++) {
      const quiesce = i % 2 ? "pause" : "stop";
      startCapture(server, wid, { quiesce });
      await sleep(Math.random() * span * 1.2);
      server.kill("SIGKILL");
      await server.exited();
      await server.restart();
      assertEquals(await containerState(a), "running", `trial ${i}`);
      assertEquals(await containerState(idle), "created", `trial ${i}`);
      const list = await server.api("GET", `/api/v1/workloads/${wid}/snapshots`);
      const files = archiveFiles(server.archivesDir()).map((p) => p.split("/").pop()!);
      assertEquals(
        files.sort(),
        // zstd captures are frame lists (SPEC §15); their frames are checked by verify below.
        list.json.snapshots.map((s: { id: string }) => `${s.id}.frames`).sort(),
        `trial ${i}: files and rows agree`,
      );
    }
    // Every snapshot that survived is complete and verifies.
    const list = await server.api("GET", `/api/v1/workloads/${wid}/snapshots`);
    for (const s of list.json.snapshots) {
      const v = await server.api("POST", `/api/v1/snapshots/${s.id}/verify?wait=true`);
      assertEquals(v.json.verify.ok, true, `snapshot ${s.id} verifies`);
    }
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});

Deno.test("SIGKILL between a pre hook and its post hook: the sweep runs the owed post hook", async () => {
  const scratch = new DockerScratch("vs-chook");
  const server = await TestServer.start({ killAt: "capture.quiesced" });
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const lab = {
      "volsnap.workload": wid,
      "volsnap.pre": "touch /data/backup-mode",
      "volsnap.post": "rm -f /data/backup-mode; echo ended > /data/post-ran",
    };
    const a = await scratch.container({ name: "a", labels: lab, args: ["-v", `${vol}:/data`] });
    const dir = await volumeMountpoint(vol);
    startCapture(server, wid, {});
    const status = await Promise.race([server.exited(), sleep(60_000).then(() => undefined)]);
    assert(status, "server was not killed");
    assert(Deno.statSync(join(dir, "backup-mode")).isFile, "the pre hook ran before the crash");
    await server.restart();
    assertEquals(await containerState(a), "running");
    assertEquals(Deno.readTextFileSync(join(dir, "post-ran")), "ended\n");
    assertEquals([...Deno.readDirSync(dir)].some((e) => e.name === "backup-mode"), false);
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});

for (const point of ["capture.precopied", "precopy.frames.pack-written"]) {
  Deno.test(`SIGKILL in an incremental capture's pre-copy (at ${point}): the app never stopped, the catalog is unchanged`, async () => {
    const scratch = new DockerScratch("vs-cpre");
    const server = await TestServer.start();
    try {
      const wid = scratch.prefix;
      const vol = await scratch.volume("data");
      const lab = { "volsnap.workload": wid };
      const a = await scratch.container({ name: "a", labels: lab, args: ["-v", `${vol}:/data`] });
      const dir = await volumeMountpoint(vol);
      populateTree(dir, "A", { bytes: 2_000_000 });
      const first = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
      assertEquals(first.status, 201);
      populateTree(join(dir, "more"), "B", { bytes: 1_000_000 }); // for the pre-copy to store
      await sleep(200);
      await server.restart({ killAt: point });
      startCapture(server, wid, {});
      const status = await Promise.race([server.exited(), sleep(60_000).then(() => undefined)]);
      assert(status, `server was not killed:\n${server.log.slice(-2000)}`);
      // Killed before the quiesce: the app never stopped.
      assertEquals(await containerState(a), "running");
      await server.restart();
      assertEquals(await containerState(a), "running");
      assertEquals([...Deno.readDirSync(join(server.dataDir, "journal"))].length, 0);
      const list = await server.api("GET", `/api/v1/workloads/${wid}/snapshots`);
      assertEquals(list.json.snapshots.map((s: { id: string }) => s.id), [first.json.snapshot.id]);
      assertEquals(
        archiveFiles(server.archivesDir()).map((p) => p.split("/").pop()),
        [`${first.json.snapshot.id}.frames`],
      );
      // The next capture works (incremental again), and both snapshots verify.
      const next = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
      assertEquals(next.status, 201);
      assertEquals(next.json.snapshot.parentId, first.json.snapshot.id);
      for (const s of [first.json.snapshot, next.json.snapshot]) {
        const v = await server.api("POST", `/api/v1/snapshots/${s.id}/verify?wait=true`);
        assertEquals(v.json.verify.ok, true, `snapshot ${s.id} verifies`);
      }
      // The pre-copy's frames (the next capture shares them) survive the first snapshot's delete.
      const del = await server.api("DELETE", `/api/v1/snapshots/${first.json.snapshot.id}`);
      assert(del.status < 300, `delete: ${del.status}`);
      const v = await server.api(
        "POST",
        `/api/v1/snapshots/${next.json.snapshot.id}/verify?wait=true`,
      );
      assertEquals(v.json.verify.ok, true, "the remaining snapshot verifies after compaction");
    } finally {
      await server.stop();
      await scratch.cleanup();
    }
  });
}
