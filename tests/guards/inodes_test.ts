/**
 * Pre-flight checks free inodes as well as free bytes (SPEC §5 Guards): on a
 * real tmpfs with few inodes and plenty of bytes, a restore of many small
 * files is refused up front instead of failing while staging.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { AppError } from "../../src/core/errors.ts";

async function run(cmd: string, ...args: string[]) {
  const o = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!o.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  }
}

Deno.test("restore pre-flight refuses when the target filesystem has too few free inodes", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-gu-ino");
  const mnt = await Deno.makeTempDir({ prefix: "vs-gu-ino-" });
  await run("mount", "-t", "tmpfs", "-o", "size=256m,nr_inodes=3000", "tmpfs", mnt);
  try {
    const live = join(mnt, "live");
    Deno.mkdirSync(live);
    for (let i = 0; i < 1500; i++) Deno.writeTextFileSync(join(live, `f${i}`), "x");
    const wid = scratch.prefix;
    await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${live}:/data`],
    });
    const snap = await runOp(await env.engine.prepareCapture(wid, {}));
    // 1500 files live, ~1500 inodes free: staging another 1500 cannot fit.
    let err: unknown;
    try {
      await env.engine.planRestore(wid, { snapshotId: snap.id, dryRun: true });
    } catch (e) {
      err = e;
    }
    assert(err instanceof AppError, "dry run accepted a restore the filesystem has no inodes for");
    assertEquals(err.code, "insufficient_space");
    assert(err.message.includes("inodes"), err.message);
    // And with room again it plans fine, reporting the inode figures.
    for (let i = 0; i < 1000; i++) Deno.removeSync(join(live, `f${i}`));
    const plan = await env.engine.planRestore(wid, { snapshotId: snap.id, dryRun: true });
    const fsEntry = plan.space.find((s) => s.path.startsWith(mnt));
    assert(
      fsEntry && fsEntry.freeInodes !== null && fsEntry.neededInodes > 1500,
      JSON.stringify(plan.space),
    );
  } finally {
    await scratch.cleanup();
    env.close();
    await run("umount", mnt).catch(() => {});
    await Deno.remove(mnt, { recursive: true }).catch(() => {});
  }
});
