/**
 * Review: the recovery sweep must never forget containers it still has to
 * bring back. A restore killed before its commit point, replayed while the
 * Docker engine is down, rolls the data back but cannot start the stopped
 * containers: the journal must survive so that the next attempt (background
 * retry or next start) starts them and unblocks the workload.
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { containerState, populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { sleep, TestServer } from "../_helpers/server.ts";

Deno.test("restore killed before commit, swept while Docker is down: containers come back once Docker is back", async () => {
  const scratch = new DockerScratch("vs-rv-dd");
  const dataDir = await Deno.makeTempDir({ prefix: "volsnap-rv-dd-" });
  const server = await TestServer.start({ dataDir });
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const db = await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    populateTree(await volumeMountpoint(vol), "A");
    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id as string;

    // Kill after the containers are stopped and the journal says "swapping".
    await server.restart({ killAt: "restore.journaled" });
    server.api("POST", `/api/v1/workloads/${wid}/restore`, { snapshotId: sid }, {
      "x-confirm-restore": sid,
    })
      .catch(() => {});
    await server.exited();
    assertEquals(await containerState(db), "exited", "precondition: the restore had stopped db");

    // The sweep runs while the Docker engine is unreachable.
    await server.restart({ env: { DOCKER_HOST: "unix:///nonexistent/volsnap-review.sock" } });
    assertEquals(await containerState(db), "exited");

    // Docker is back: the next start (or the background retry) must finish the job.
    await server.restart({ env: {} });
    await sleep(500);
    assertEquals(await containerState(db), "running", "db was left stopped: the sweep forgot it");
    const again = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(again.status, 201, `workload stays blocked: ${JSON.stringify(again.json)}`);
    assertEquals([...Deno.readDirSync(join(dataDir, "journal"))].length, 0);
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});

Deno.test("capture killed while quiesced, container removed before the sweep: the workload is not blocked forever", async () => {
  const scratch = new DockerScratch("vs-rv-rm");
  const dataDir = await Deno.makeTempDir({ prefix: "volsnap-rv-rm-" });
  const server = await TestServer.start({ dataDir });
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const lab = { "volsnap.workload": wid };
    await scratch.container({ name: "db", labels: lab, args: ["-v", `${vol}:/data`] });
    const web = await scratch.container({ name: "web", labels: lab });
    populateTree(await volumeMountpoint(vol), "A");

    await server.restart({ killAt: "capture.quiesced" });
    server.api("POST", `/api/v1/workloads/${wid}/snapshots`, {}).catch(() => {});
    await server.exited();
    // The operator recreates the web container (e.g. `compose up --force-recreate`) before volsnap is back.
    const { dockerCli } = await import("../_helpers/docker_cli.ts");
    await dockerCli(["rm", "-f", web]);
    await scratch.container({ name: "web", labels: lab });

    await server.restart();
    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, `capture refused after recovery: ${JSON.stringify(cap.json)}`);
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});
