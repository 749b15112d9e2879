/**
 * End to end through the real server and the real Docker engine: capture a
 * workload with a named volume shared by two containers and a bind mount,
 * change everything, restore, and compare the trees exactly.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import {
  clearDir,
  containerState,
  leftovers,
  populateTree,
  volumeMountpoint,
} from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";

Deno.test("restore makes every volume an exact mirror of the snapshot and keeps the replaced data", async () => {
  const scratch = new DockerScratch("vs-rt");
  const server = await TestServer.start();
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const bindDir = await Deno.makeTempDir({ prefix: "vs-rt-bind-" });
    const labels = (svc: string, deps = "") => ({
      "com.docker.compose.project": wid,
      "com.docker.compose.service": svc,
      ...(deps ? { "com.docker.compose.depends_on": deps } : {}),
    });
    const db = await scratch.container({
      name: "db",
      labels: labels("db"),
      args: ["-v", `${vol}:/data`],
    });
    const app = await scratch.container({
      name: "app",
      labels: labels("app", "db:service_started:false"),
      args: ["-v", `${vol}:/shared`, "-v", `${bindDir}:/bind`],
    });
    const stopped = await scratch.container({ name: "idle", labels: labels("idle"), start: false });
    const volDir = await volumeMountpoint(vol);
    // Big files over 1 MiB take capture's splice path; the fingerprints compare their content.
    populateTree(volDir, "A", { bytes: 3 << 20 });
    // volsnap's own snapshot keeps setuid/setgid (an import would not) and fifos.
    Deno.writeTextFileSync(join(volDir, "suid"), "#!/bin/sh\n");
    Deno.chmodSync(join(volDir, "suid"), 0o6755);
    const fifo = await new Deno.Command("mkfifo", { args: ["-m", "0640", join(volDir, "pipe")] })
      .output();
    assert(fifo.success);
    populateTree(bindDir, "AA");
    const before = { vol: fingerprint(volDir), bind: fingerprint(bindDir) };

    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {
      label: "rt",
    });
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const snap = cap.json.snapshot;
    assert(snap.id, "snapshot id");
    assertEquals(await containerState(db), "running");
    assertEquals(await containerState(app), "running");
    assertEquals(await containerState(stopped), "created");

    clearDir(volDir);
    populateTree(volDir, "BBB", { bytes: (5 << 20) + 7 });
    Deno.writeTextFileSync(join(bindDir, "extra-after-snapshot"), "must vanish");
    const changed = fingerprint(volDir);

    const noConfirm = await server.api("POST", `/api/v1/workloads/${wid}/restore`, {
      snapshotId: snap.id,
    });
    assertEquals(noConfirm.status, 412);

    const dry = await server.api("POST", `/api/v1/workloads/${wid}/restore`, {
      snapshotId: snap.id,
      dryRun: true,
    });
    assertEquals(dry.status, 200, JSON.stringify(dry.json));
    assertEquals(diffTrees(fingerprint(volDir), changed), [], "dry run changes nothing");

    const res = await server.api(
      "POST",
      `/api/v1/workloads/${wid}/restore?wait=true`,
      { snapshotId: snap.id },
      { "X-Confirm-Restore": snap.id },
    );
    assertEquals(res.status, 200, JSON.stringify(res.json));
    assertEquals(diffTrees(fingerprint(volDir), before.vol), []);
    assertEquals(diffTrees(fingerprint(bindDir), before.bind), []);
    assertEquals(await containerState(db), "running");
    assertEquals(await containerState(app), "running");
    assertEquals(await containerState(stopped), "created", "a stopped container stays stopped");
    assertEquals(leftovers([volDir, bindDir]), []);

    // Nothing lost: the replaced state is a pre-restore snapshot that restores back.
    const preId = res.json.restore.preRestoreSnapshotId;
    assert(preId, "pre-restore snapshot id");
    const back = await server.api(
      "POST",
      `/api/v1/workloads/${wid}/restore?wait=true`,
      { snapshotId: preId },
      { "X-Confirm-Restore": preId },
    );
    assertEquals(back.status, 200, JSON.stringify(back.json));
    assertEquals(diffTrees(fingerprint(volDir), changed), []);
    assert(Deno.statSync(join(bindDir, "extra-after-snapshot")).isFile);

    const list = await server.api("GET", `/api/v1/workloads/${wid}/snapshots`);
    assertEquals(list.status, 200);
    const events = await server.api("GET", `/api/v1/events?workload=${wid}`);
    assert(
      JSON.stringify(events.json).includes("restore_completed"),
      "restore recorded as an event",
    );
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});
