/**
 * Review: when a restore's rollback itself fails, a volume may be missing at
 * its live path (its data sits in the `old` dir). Starting the containers then
 * runs the app on whatever Docker finds there: for a `-v` bind, Docker creates
 * an empty dir and the app starts on empty data, and the later rollback pins
 * it to a dir that is then deleted. Containers must stay stopped until the
 * rollback has succeeded (the journal remembers them; the sweep starts them).
 */
import { dirname, join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { dockerCli, DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { clearDir, containerState, leftovers, populateTree } from "../_helpers/fixtures.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";

const chattr = (flag: string, path: string) =>
  new Deno.Command("chattr", { args: [flag, path] }).output().then((o) => {
    if (!o.success) {
      throw new Error(`chattr ${flag} ${path}: ${new TextDecoder().decode(o.stderr)}`);
    }
  });

Deno.test("rollback fails: containers are not started on a half-restored volume; the sweep finishes the rollback", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-rv-rb");
  const parent = await Deno.makeTempDir({ prefix: "vs-rv-rb-" });
  const live = join(parent, "live");
  Deno.mkdirSync(live);
  try {
    const wid = scratch.prefix;
    const app = await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${live}:/bind`],
    });
    populateTree(live, "A");
    const snap = await runOp(await env.engine.prepareCapture(wid, {}));
    clearDir(live);
    populateTree(live, "BB");
    const before = fingerprint(live);

    // Inside the swap (live already moved aside), the parent becomes immutable:
    // the swap fails and so does the rollback's rename back.
    env.onFault = async (name) => {
      if (name === "restore.swap.half") {
        await chattr("+i", dirname(live));
        throw new Error("injected failure inside the swap");
      }
    };
    // The parent is writable again by the time anything starts a container.
    const realStart = env.docker.startContainer;
    env.dockerFaults.startContainer = async (id) => {
      await chattr("-i", dirname(live));
      return await realStart(id);
    };
    let failed = false;
    try {
      await runOp(await env.engine.prepareRestore(wid, { snapshotId: snap.id }));
    } catch {
      failed = true;
    }
    assert(failed, "precondition: the restore failed");
    await chattr("-i", dirname(live)).catch(() => {});
    delete env.dockerFaults.startContainer;
    env.onFault = () => {};

    const state = await containerState(app);
    const liveNow = (() => {
      try {
        return fingerprint(live);
      } catch {
        return undefined;
      }
    })();
    assert(
      state !== "running" || (liveNow && diffTrees(liveNow, before).length === 0),
      `app was started while its volume was half-restored (live is ${
        liveNow ? `${Object.keys(liveNow).length} entries, not the old data` : "missing"
      })`,
    );

    // The sweep retries the rollback and brings the app back on its old data.
    await env.recover();
    assertEquals(diffTrees(fingerprint(live), before), []);
    assertEquals(await containerState(app), "running");
    const w = await dockerCli(["exec", app, "sh", "-c", "echo probe > /bind/probe"], {
      allowFail: true,
    });
    assertEquals(w.code, 0, `app's /bind is a deleted dir: ${w.stderr}`);
    assert(Deno.statSync(join(live, "probe")).isFile, "app writes do not reach the live dir");
    assertEquals(leftovers([live]), []);
  } finally {
    await chattr("-i", parent).catch(() => {});
    await scratch.cleanup();
    env.close();
  }
});
