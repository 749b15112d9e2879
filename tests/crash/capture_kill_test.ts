/**
 * SIGKILL the server while a capture holds containers stopped or paused:
 * on restart the sweep brings them back and no partial archive remains.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { containerState, populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { sleep, TestServer } from "../_helpers/server.ts";

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

for (const [quiesce, point] of [["stop", "capture.quiesced"], ["pause", "capture.quiesced"], ["stop", "capture.archived"]]) {
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

      fetch(`${server.url}/api/v1/workloads/${wid}/snapshots`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
        body: JSON.stringify({ quiesce }),
      }).then((r) => r.body?.cancel()).catch(() => {});
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
      assert(JSON.stringify(ev.json).includes("capture_recovered"), "the sweep recorded what it did");
    } finally {
      await server.stop();
      await scratch.cleanup();
    }
  });
}
