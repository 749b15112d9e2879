/**
 * A target with a mount point at or below it is refused in pre-flight with
 * the mount named (SPEC §5 Guards), same-filesystem bind mounts included.
 * Real bind mounts, as root.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { populateTree } from "../_helpers/fixtures.ts";
import { AppError } from "../../src/core/errors.ts";
import { mountsAtOrBelow, parseMountInfo } from "../../src/guards/mounts.ts";
import { fingerprint } from "../_helpers/tree.ts";

async function run(cmd: string, ...args: string[]) {
  const o = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!o.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  }
}

Deno.test("parseMountInfo() reads escaped mount points", () => {
  const m = parseMountInfo(
    "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n",
  );
  assertEquals(m, [{
    root: "/mnt1",
    mountPoint: "/mnt/with space",
    fsType: "ext3",
    source: "/dev/root",
  }]);
  assertEquals(mountsAtOrBelow("/mnt", m).length, 1);
  assertEquals(mountsAtOrBelow("/mnt/with", m).length, 0);
});

for (const where of ["below", "at"] as const) {
  Deno.test(`restore refuses a bind target with a same-filesystem bind mount ${where} it, naming the mount`, async () => {
    const env = await engineEnv();
    const scratch = new DockerScratch("vs-gu-mnt");
    const parent = await Deno.makeTempDir({ prefix: "vs-gu-mnt-" });
    const live = join(parent, "live");
    const other = join(parent, "other-fs-data");
    Deno.mkdirSync(live);
    Deno.mkdirSync(other);
    Deno.writeTextFileSync(join(other, "precious.txt"), "must survive");
    const mountPoint = where === "below" ? join(live, "sub") : live;
    let mounted = false;
    try {
      const wid = scratch.prefix;
      populateTree(live, "A", { bytes: 10_000 });
      await scratch.container({
        name: "app",
        labels: { "volsnap.workload": wid },
        args: ["-v", `${live}:/data`],
      });
      const snap = await runOp(await env.engine.prepareCapture(wid, {}));
      if (where === "below") Deno.mkdirSync(mountPoint);
      await run("mount", "--bind", other, mountPoint);
      mounted = true;
      const before = fingerprint(other);
      let err: unknown;
      try {
        await env.engine.planRestore(wid, { snapshotId: snap.id, dryRun: true });
      } catch (e) {
        err = e;
      }
      assert(err instanceof AppError, `dry run accepted a target with a mount ${where} it`);
      assertEquals(err.code, "invalid_input");
      assert(err.message.includes(mountPoint), `mount not named: ${err.message}`);
      let refused = false;
      try {
        await runOp(await env.engine.prepareRestore(wid, { snapshotId: snap.id }));
      } catch (e) {
        refused = e instanceof AppError && e.code === "invalid_input";
      }
      assert(refused, "restore was not refused");
      assertEquals(fingerprint(other), before, "the mounted filesystem's files changed");
    } finally {
      if (mounted) await run("umount", mountPoint).catch(() => {});
      await scratch.cleanup();
      env.close();
      await Deno.remove(parent, { recursive: true }).catch(() => {});
    }
  });
}
