/**
 * Issue 9 item 12: an import takes the workload lock; recovery blocks and
 * events are per host (hosts sharing one catalog never clear or see each
 * other's); an unreadable journal blocks its workload instead of being
 * ignored.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
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

async function workload(scratch: DockerScratch) {
  const wid = scratch.prefix;
  const vol = await scratch.volume("data");
  await scratch.container({
    name: "db",
    labels: { "volsnap.workload": wid },
    args: ["-v", `${vol}:/data`],
  });
  populateTree(await volumeMountpoint(vol), "A", { bytes: 10_000 });
  return wid;
}

Deno.test("an import is refused while a capture of the workload runs (workload lock)", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-gu-imp");
  try {
    const wid = await workload(scratch);
    const first = await runOp(await env.engine.prepareCapture(wid, {}));
    // The snapshot's standalone stream (captures are frame lists on disk now).
    const archive = async () => (await env.engine.openArchive(first.id)).stream;
    const capture = await env.engine.prepareCapture(wid, {});
    try {
      const body = await archive();
      assertEquals(await codeOf(env.engine.prepareImport(wid, body)), "workload_busy");
      await body.cancel().catch(() => {});
    } finally {
      capture.cancel();
    }
    const imported = await runOp(
      await env.engine.prepareImport(wid, await archive()),
    );
    assertEquals(imported.origin, "imported");
    // The lock was released after the import: a capture can run again.
    await runOp(await env.engine.prepareCapture(wid, {}));
  } finally {
    await scratch.cleanup();
    env.close();
  }
});

Deno.test("hosts sharing one catalog: blocks and events stay per host", async () => {
  const shared = await Deno.makeTempDir({ prefix: "vs-gu-host-" });
  const dbUrl = `file:${join(shared, "catalog.db")}`;
  const hostA = await engineEnv({ VOLSNAP_DB_URL: dbUrl });
  const hostB = await engineEnv({ VOLSNAP_DB_URL: dbUrl });
  const scratch = new DockerScratch("vs-gu-host");
  try {
    const wid = await workload(scratch);
    await hostA.catalog.setBlock(wid, "host A's recovery failed", new Date().toISOString());
    await hostA.catalog.addEvent({
      time: new Date().toISOString(),
      workload: wid,
      kind: "a_only",
      message: "A",
    });
    // Host B is not blocked by A's failure, and its sweep does not lift A's block.
    await runOp(await hostB.engine.prepareCapture(wid, {}));
    await hostB.recover();
    assert(await hostA.catalog.getBlock(wid), "host B cleared host A's block");
    assertEquals(await codeOf(hostA.engine.prepareCapture(wid, {})), "workload_recovery_failed");
    const evB = await hostB.catalog.listEvents({ workload: wid, limit: 100 });
    assert(!evB.some((e) => e.kind === "a_only"), "host B lists host A's events");
    const evA = await hostA.catalog.listEvents({ workload: wid, limit: 100 });
    assert(evA.some((e) => e.kind === "a_only"));
  } finally {
    await scratch.cleanup();
    hostB.close();
    hostA.close();
  }
});

Deno.test("an unreadable journal blocks its workload (or every workload) until it is removed", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-gu-jr");
  try {
    const wid = await workload(scratch);
    const jdir = join(env.config.dataDir, "journal");
    // Truncated mid-write by a broken disk: the workload is still readable.
    Deno.writeTextFileSync(
      join(jdir, "op_00000000000000aa.json"),
      `{"kind":"restore","opId":"op_00000000000000aa","workload":"${wid}","snapshotId":"x","ph`,
    );
    await env.recover();
    assertEquals(await codeOf(env.engine.prepareCapture(wid, {})), "workload_recovery_failed");
    Deno.removeSync(join(jdir, "op_00000000000000aa.json"));
    await env.recover();
    await runOp(await env.engine.prepareCapture(wid, {}));

    // Not even the workload can be read: every workload is blocked.
    Deno.writeFileSync(join(jdir, "op_00000000000000bb.json"), new Uint8Array([0xff, 0x00, 0x7b]));
    await env.recover();
    assertEquals(await codeOf(env.engine.prepareCapture(wid, {})), "workload_recovery_failed");
    Deno.removeSync(join(jdir, "op_00000000000000bb.json"));
    await env.recover();
    await runOp(await env.engine.prepareCapture(wid, {}));
  } finally {
    await scratch.cleanup();
    env.close();
  }
});
