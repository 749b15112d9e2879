/**
 * Retention on the real engine (SPEC §4.5): imports never push captures out;
 * a label that does not parse, or Docker being unreachable, prunes nothing
 * and says why.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import { populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { createContext } from "../../src/engine/context.ts";
import { applyRetention } from "../../src/retention/prune.ts";
import { systemClock } from "../../src/core/clock.ts";
import { silentLogger } from "../../src/core/log.ts";
import { AppError } from "../../src/core/errors.ts";

async function workloadWithData(scratch: DockerScratch, labels: Record<string, string> = {}) {
  const wid = scratch.prefix;
  const vol = await scratch.volume("data");
  await scratch.container({
    name: "db",
    labels: { "volsnap.workload": wid, ...labels },
    args: ["-v", `${vol}:/data`],
  });
  populateTree(await volumeMountpoint(vol), "A", { bytes: 10_000 });
  return wid;
}

Deno.test("retention: importing 7 archives keeps every local capture", async () => {
  const env = await engineEnv({ VOLSNAP_KEEP_LAST: "3" });
  const scratch = new DockerScratch("vs-ret-imp");
  try {
    const wid = await workloadWithData(scratch);
    const caps = [];
    for (let i = 0; i < 2; i++) caps.push(await runOp(await env.engine.prepareCapture(wid, {})));
    for (let i = 0; i < 7; i++) {
      // The capture's standalone stream (captures are frame lists on disk now).
      const body = (await env.engine.openArchive(caps[0].id)).stream;
      await runOp(await env.engine.prepareImport(wid, body));
    }
    const rows = await env.catalog.listSnapshots(wid);
    for (const c of caps) {
      assert(rows.some((r) => r.id === c.id), `capture ${c.id} was pruned by imports`);
    }
    assertEquals(rows.filter((r) => r.origin === "imported").length, 3);
  } finally {
    await scratch.cleanup();
    env.close();
  }
});

Deno.test("retention: keep-last=0 prunes nothing and the workload shows why", async () => {
  const env = await engineEnv({ VOLSNAP_KEEP_LAST: "1" });
  const scratch = new DockerScratch("vs-ret-bad");
  try {
    const wid = await workloadWithData(scratch, { "volsnap.keep-last": "0" });
    for (let i = 0; i < 3; i++) await runOp(await env.engine.prepareCapture(wid, {}));
    assertEquals((await env.catalog.listSnapshots(wid)).length, 3, "snapshots were pruned");
    const w = await env.engine.getWorkload(wid);
    assert(w.retentionError?.includes("volsnap.keep-last"), `no reason shown: ${w.retentionError}`);
    const ev = await env.catalog.listEvents({ workload: wid, limit: 50 });
    assert(ev.some((e) => e.kind === "retention_skipped"), "no retention_skipped event");
  } finally {
    await scratch.cleanup();
    env.close();
  }
});

Deno.test("retention: Docker unreachable prunes nothing (the label policy cannot be read)", async () => {
  const env = await engineEnv({ VOLSNAP_KEEP_LAST: "1" });
  const scratch = new DockerScratch("vs-ret-dd");
  try {
    const wid = await workloadWithData(scratch, { "volsnap.keep-last": "5" });
    for (let i = 0; i < 3; i++) await runOp(await env.engine.prepareCapture(wid, {}));
    env.dockerFaults.listContainers = () => {
      throw new AppError("docker_unavailable", "Docker engine unreachable (injected)");
    };
    const ctx = createContext({
      config: env.config,
      catalog: env.catalog,
      docker: env.docker,
      log: silentLogger,
      clock: systemClock,
    });
    assertEquals(await applyRetention(ctx, wid), []);
    assertEquals((await env.catalog.listSnapshots(wid)).length, 3);
  } finally {
    delete env.dockerFaults.listContainers;
    await scratch.cleanup();
    env.close();
  }
});
