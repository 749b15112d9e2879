/**
 * Review: SPEC §1 allows many hosts on one catalog (libsql://). The sweep's
 * reconcile step must only judge rows whose archives live on this host.
 */
import { join } from "node:path";
import { assert } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { existsSync, populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";

Deno.test("hosts sharing one catalog: a sweep on host B keeps host A's snapshots", async () => {
  const shared = await Deno.makeTempDir({ prefix: "vs-rv-cat-" });
  const dbUrl = `file:${join(shared, "catalog.db")}`;
  const hostA = await engineEnv({ VOLSNAP_DB_URL: dbUrl });
  const scratch = new DockerScratch("vs-rv-cat");
  let hostB: Awaited<ReturnType<typeof engineEnv>> | undefined;
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    await scratch.container({
      name: "db",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    populateTree(await volumeMountpoint(vol), "A");
    const snap = await runOp(await hostA.engine.prepareCapture(wid, {}));

    // Host B starts (its own data dir, same catalog URL, as SPEC §1 allows).
    hostB = await engineEnv({ VOLSNAP_DB_URL: dbUrl });
    assert(
      await hostA.catalog.getSnapshot(snap.id),
      "host B's sweep deleted host A's snapshot row (its archive is on host A)",
    );
    // And host A's next sweep must not then quarantine its own archive as an orphan.
    await hostA.recover();
    assert(
      existsSync(join(hostA.config.dataDir, "archives", snap.file)),
      "host A's archive was moved to orphans",
    );
  } finally {
    await scratch.cleanup();
    hostB?.close();
    hostA.close();
  }
});
