/**
 * Capture against the real Docker engine: quiesce modes bring back exactly
 * what ran, a refusing container aborts cleanly, locks, hooks, disk full.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import {
  containerState,
  populateTree,
  pseudoRandom,
  volumeMountpoint,
} from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";
import { AppError } from "../../src/core/errors.ts";

const isCode = (code: string) => (err: unknown) => err instanceof AppError && err.code === code;

async function workload(scratch: DockerScratch, extraLabels: Record<string, string> = {}) {
  const wid = scratch.prefix;
  const vol = await scratch.volume("data");
  const lab = { "volsnap.workload": wid, ...extraLabels };
  const a = await scratch.container({ name: "a", labels: lab, args: ["-v", `${vol}:/data`] });
  const b = await scratch.container({ name: "b", labels: lab, args: ["-v", `${vol}:/data2`] });
  const idle = await scratch.container({ name: "idle", labels: lab, start: false });
  populateTree(await volumeMountpoint(vol), "A");
  return { wid, vol, a, b, idle };
}

for (const quiesce of ["stop", "pause", "none"] as const) {
  Deno.test(`capture with quiesce=${quiesce}: running containers run again, a stopped one stays stopped`, async () => {
    const env = await engineEnv();
    const scratch = new DockerScratch("vs-cq");
    try {
      const w = await workload(scratch);
      let seenDuring: string | undefined;
      env.onFault = async (name) => {
        if (name === "capture.quiesced") seenDuring = await containerState(w.a);
      };
      const snap = await runOp(await env.engine.prepareCapture(w.wid, { quiesce }));
      assertEquals(seenDuring, { stop: "exited", pause: "paused", none: "running" }[quiesce]);
      assertEquals(await containerState(w.a), "running");
      assertEquals(await containerState(w.b), "running");
      assertEquals(await containerState(w.idle), "created");
      assertEquals(snap.quiesce, quiesce);
      if (quiesce === "none") assertEquals(snap.downtimeMs, null);
      else assert(typeof snap.downtimeMs === "number" && snap.downtimeMs >= 0, "downtime measured");
    } finally {
      await scratch.cleanup();
      env.close();
    }
  });
}

Deno.test("a container that fails to stop aborts the capture and restarts the others", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-cf");
  try {
    const w = await workload(scratch);
    const aId = (await env.docker.inspectContainer(w.a)).id;
    const realStop = env.docker.stopContainer;
    env.dockerFaults.stopContainer = (id, t) =>
      id === aId
        ? Promise.reject(new AppError("docker_error", "stop: injected refusal"))
        : realStop(id, t);
    await assertRejects(
      async () => runOp(await env.engine.prepareCapture(w.wid, {})),
      isCode("quiesce_failed"),
    );
    assertEquals(await containerState(w.a), "running");
    assertEquals(await containerState(w.b), "running");
    assertEquals((await env.catalog.listSnapshots(w.wid)).length, 0);
    assertEquals([...Deno.readDirSync(join(env.config.dataDir, "journal"))].length, 0);
  } finally {
    await scratch.cleanup();
    env.close();
  }
});

Deno.test("a second capture of the same workload is refused with 409 while another workload runs side by side", async () => {
  const env = await engineEnv();
  const s1 = new DockerScratch("vs-lk1");
  const s2 = new DockerScratch("vs-lk2");
  try {
    const w1 = await workload(s1);
    const w2 = await workload(s2);
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    let entered!: () => void;
    const inside = new Promise<void>((r) => entered = r);
    env.onFault = async (name) => {
      if (name === "capture.quiesced") {
        entered();
        await gate;
      }
    };
    const first = runOp(await env.engine.prepareCapture(w1.wid, {}));
    await inside;
    env.onFault = () => {};
    await assertRejects(() => env.engine.prepareCapture(w1.wid, {}), isCode("workload_busy"));
    await assertRejects(
      () => env.engine.prepareRestore(w1.wid, { snapshotId: "x" }),
      isCode("workload_busy"),
    );
    const other = await runOp(await env.engine.prepareCapture(w2.wid, {}));
    assertEquals(other.workload, w2.wid);
    release();
    assertEquals((await first).workload, w1.wid);
    // The lock is released afterwards.
    await runOp(await env.engine.prepareCapture(w1.wid, { quiesce: "none" }));
  } finally {
    await s1.cleanup();
    await s2.cleanup();
    env.close();
  }
});

Deno.test("pre and post hooks run in the container around the quiesce; a failing pre hook aborts", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-hk");
  try {
    const w = await workload(scratch, {
      "volsnap.pre": "echo pre > /data/pre-hook-ran",
      "volsnap.post": "echo post > /data/post-hook-ran",
    });
    await runOp(await env.engine.prepareCapture(w.wid, {}));
    const dir = await volumeMountpoint(w.vol);
    assertEquals(Deno.readTextFileSync(join(dir, "pre-hook-ran")), "pre\n");
    assertEquals(Deno.readTextFileSync(join(dir, "post-hook-ran")), "post\n");

    const bad = new DockerScratch("vs-hk2");
    try {
      const w2 = await workload(bad, {
        "volsnap.pre": "exit 3",
        "volsnap.post": "echo undone > /data/post-after-failure",
      });
      await assertRejects(
        async () => runOp(await env.engine.prepareCapture(w2.wid, {})),
        (e) => e instanceof AppError && /exited 3/.test(e.message),
      );
      assertEquals(await containerState(w2.a), "running");
      const dir2 = await volumeMountpoint(w2.vol);
      assertEquals(
        Deno.readTextFileSync(join(dir2, "post-after-failure")),
        "undone\n",
        "post hooks run on every path",
      );
    } finally {
      await bad.cleanup();
    }
  } finally {
    await scratch.cleanup();
    env.close();
  }
});

Deno.test("HTTP: 401 without token, 404 unknown workload, 400 invalid body, 507 on a full data dir with containers restarted", async () => {
  const mnt = await Deno.makeTempDir({ prefix: "vs-full-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt],
  }).output();
  assert(mount.success, "mount tmpfs (the tests run as root)");
  const scratch = new DockerScratch("vs-http");
  const server = await TestServer.start({ dataDir: join(mnt, "data") });
  try {
    const w = await workload(scratch);
    Deno.writeFileSync(
      join(await volumeMountpoint(w.vol), "random.bin"),
      pseudoRandom(8 << 20, 7).map((x, i) => x ^ (i * 31)),
    );
    const noToken = await fetch(`${server.url}/api/v1/workloads`);
    await noToken.body?.cancel();
    assertEquals(noToken.status, 401);
    assertEquals((await server.api("GET", "/api/v1/workloads/does-not-exist")).status, 404);
    assertEquals(
      (await server.api("POST", `/api/v1/workloads/${w.wid}/snapshots`, { quiesce: "freeze" }))
        .status,
      400,
    );
    const full = await server.api("POST", `/api/v1/workloads/${w.wid}/snapshots?wait=true`, {});
    assertEquals(full.status, 507, JSON.stringify(full.json));
    assertEquals(full.json.error.code, "insufficient_space");
    assertEquals(await containerState(w.a), "running");
    assertEquals(await containerState(w.b), "running");
    const files = [...Deno.readDirSync(join(mnt, "data", "archives"))].flatMap((d) =>
      d.isDirectory
        ? [...Deno.readDirSync(join(mnt, "data", "archives", d.name))].map((f) => f.name)
        : [d.name]
    );
    assertEquals(files, [], "no partial archive");
  } finally {
    await server.stop();
    await scratch.cleanup();
    await new Deno.Command("umount", { args: [mnt] }).output();
  }
});

Deno.test("retention keeps the last N captures per workload (label override) and deletes the others' files", async () => {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-ret");
  try {
    const w = await workload(scratch, { "volsnap.keep-last": "2" });
    const ids = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await runOp(await env.engine.prepareCapture(w.wid, { quiesce: "none" }))).id);
    }
    const kept = (await env.catalog.listSnapshots(w.wid)).map((s) => s.id);
    assertEquals(kept, [ids[3], ids[2]]);
    const files = [...Deno.readDirSync(join(env.config.dataDir, "archives", w.wid))].map((e) =>
      e.name
    ).sort();
    // zstd captures are kept as frame lists (SPEC §15); their frames live in frames/.
    assertEquals(files, kept.map((id) => `${id}.frames`).sort());
  } finally {
    await scratch.cleanup();
    env.close();
  }
});
