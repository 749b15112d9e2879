/**
 * SIGTERM during a capture under stop cancels it, brings the containers back
 * and only then exits (SPEC §6, issue 9 item 8).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { containerState, populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { sleep, TestServer } from "../_helpers/server.ts";

Deno.test("SIGTERM mid-capture under stop: containers run again before the process exits", async () => {
  const scratch = new DockerScratch("vs-gu-term");
  const dataDir = await Deno.makeTempDir({ prefix: "volsnap-gu-term-" });
  const server = await TestServer.start({ dataDir });
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const db = await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    const dir = await volumeMountpoint(vol);
    for (let i = 0; i < 4; i++) populateTree(join(dir, `set${i}`), `S${i}`, { bytes: 25_000_000 });
    const started = await server.api("POST", `/api/v1/workloads/${wid}/snapshots`, {});
    assertEquals(started.status, 202, JSON.stringify(started.json));
    const op = started.json.operation.id as string;
    let phase = "";
    for (let i = 0; i < 600 && phase !== "archiving"; i++) {
      phase = (await server.api("GET", `/api/v1/operations/${op}`)).json.operation.phase;
      if (phase !== "archiving") await sleep(20);
    }
    assertEquals(phase, "archiving", "precondition: the capture reached its archiving phase");
    assertEquals(await containerState(db), "exited", "precondition: db is stopped");
    server.kill("SIGTERM");
    const status = await server.exited();
    // The process is gone: whatever it left is what an operator finds.
    assertEquals(await containerState(db), "running", "SIGTERM exited with db still stopped");
    assertEquals(status.code, 0, server.log.slice(-2000));
    assertEquals([...Deno.readDirSync(join(dataDir, "journal"))].length, 0, "journal left");
    await server.restart();
    const row = await server.api("GET", `/api/v1/operations/${op}`);
    assert(row.json.operation.state !== "running", JSON.stringify(row.json));
    assertEquals(row.json.operation.error?.code, "interrupted", JSON.stringify(row.json));
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});
