/**
 * Other users of a target are found by device + inode (SPEC §5 Guards): a
 * volume created with `o=bind` on the same dir, a bind of a parent dir or of
 * a symlinked path are all seen, by restore and by capture under stop.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { populateTree } from "../_helpers/fixtures.ts";
import { AppError } from "../../src/core/errors.ts";

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

/** Workload A binds `<parent>/data`; `outside(dir)` starts workload B's container on it. */
function scenario(
  name: string,
  outside: (scratch: DockerScratch, parent: string, dir: string) => Promise<string[]>,
) {
  Deno.test(`outside user by ${name}: restore and capture under stop refuse, none marks inconsistent`, async () => {
    const env = await engineEnv();
    const scratch = new DockerScratch("vs-gu-in");
    const parent = await Deno.makeTempDir({ prefix: "vs-gu-in-" });
    const dir = join(parent, "data");
    Deno.mkdirSync(dir);
    try {
      const wid = scratch.prefix;
      await scratch.container({
        name: "a",
        labels: { "volsnap.workload": wid },
        args: ["-v", `${dir}:/data`],
      });
      populateTree(dir, "A", { bytes: 10_000 });
      const snap = await runOp(await env.engine.prepareCapture(wid, {}));
      const args = await outside(scratch, parent, dir);
      await scratch.container({
        name: "b",
        labels: { "volsnap.workload": `${wid}-other` },
        args,
      });
      assertEquals(
        await codeOf(env.engine.planRestore(wid, { snapshotId: snap.id, dryRun: true })),
        "workload_busy",
        "dry run did not see the other user",
      );
      assertEquals(
        await codeOf(
          (async () => runOp(await env.engine.prepareRestore(wid, { snapshotId: snap.id })))(),
        ),
        "workload_busy",
        "restore did not refuse",
      );
      assertEquals(
        await codeOf(
          (async () => runOp(await env.engine.prepareCapture(wid, { quiesce: "stop" })))(),
        ),
        "workload_busy",
        "capture under stop did not refuse",
      );
      const none = await runOp(await env.engine.prepareCapture(wid, { quiesce: "none" }));
      assertEquals(none.consistent, false, "capture under none claims consistency");
      assert(none.warnings.some((w) => w.includes("not quiesced")), JSON.stringify(none.warnings));
    } finally {
      await scratch.cleanup();
      env.close();
      await Deno.remove(parent, { recursive: true }).catch(() => {});
    }
  });
}

scenario("a volume created with o=bind on the same dir", async (scratch, _parent, dir) => {
  const vol = await scratch.volume("bindvol", [
    "--driver",
    "local",
    "--opt",
    "type=none",
    "--opt",
    "o=bind",
    "--opt",
    `device=${dir}`,
  ]);
  return ["-v", `${vol}:/shared`];
});

scenario(
  "a bind of the parent dir",
  (_scratch, parent) => Promise.resolve(["-v", `${parent}:/up`]),
);

scenario("a bind of a symlinked path", async (_scratch, _parent, dir) => {
  const linkParent = await Deno.makeTempDir({ prefix: "vs-gu-ln-" });
  const link = join(linkParent, "link");
  Deno.symlinkSync(dir, link);
  return ["-v", `${link}:/via-link`];
});
