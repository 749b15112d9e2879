/**
 * Swarm services (SPEC §2) on a real one-node swarm on the private engine:
 * grouping by stack and service, quiesce at the service level (scale to 0,
 * wait, scale back to the recorded replicas) for capture, restore and the
 * recovery sweep, and global services refused for `stop`. One swarm for the
 * whole file (ensureSwarm), left again at the end.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { dockerCli, DockerScratch, uniqueName } from "../_helpers/docker_cli.ts";
import { volumeMountpoint } from "../_helpers/fixtures.ts";
import { type EngineEnv, engineEnv, runOp } from "../_helpers/engine_env.ts";
import { sleep, TestServer } from "../_helpers/server.ts";
import {
  createService,
  ensureSwarm,
  leaveSwarm,
  removeServices,
  runningTasks,
  specReplicas,
  waitRunning,
  waitUntil,
} from "../_helpers/swarm.ts";
import { AppError } from "../../src/core/errors.ts";
import type { EngineContext } from "../../src/engine/context.ts";
import { scheduleTargets } from "../../src/schedule/wiring.ts";

Deno.test.afterAll(leaveSwarm);

/** Counts, every 50 ms, the running containers of `services`; keeps the highest count. */
function watchRunning(env: EngineEnv, services: string[]) {
  let max = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const n = (await env.docker.listContainers()).filter((c) =>
        services.includes(c.labels["com.docker.swarm.service.name"]) && c.state === "running"
      ).length;
      max = Math.max(max, n);
      await sleep(50);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return max;
    },
  };
}

async function runningNow(env: EngineEnv, services: string[]): Promise<number> {
  return (await env.docker.listContainers()).filter((c) =>
    services.includes(c.labels["com.docker.swarm.service.name"]) &&
    ["running", "paused", "restarting"].includes(c.state)
  ).length;
}

/** Removes services, waits until their task containers are gone, then the scratch volumes. */
async function cleanupServices(scratch: DockerScratch, services: string[]) {
  await removeServices(services);
  await waitUntil("task containers removed", async () => {
    const r = await dockerCli([
      "ps",
      "-aq",
      ...services.flatMap((s) => [
        "--filter",
        `label=com.docker.swarm.service.name=${s}`,
      ]),
    ]);
    return r.stdout === "";
  }, 60_000).catch(() => {});
  await scratch.cleanup();
}

Deno.test("stop capture of a replicated service: never two containers on the volume, replicas back, workload id stable across task replacement", async () => {
  await ensureSwarm();
  const scratch = new DockerScratch("vs-swc");
  const svc = scratch.prefix;
  const env = await engineEnv();
  try {
    const vol = await scratch.volume("data");
    await createService({
      name: svc,
      replicas: 1,
      mounts: [`type=volume,source=${vol},target=/data`],
      cmd: ["sh", "-c", "while :; do date >> /data/log; sleep 0.1; done"],
    });
    const [first] = await waitRunning(svc, 1);

    const w = await env.engine.getWorkload(svc);
    assertEquals(w.id, svc, "the workload is named after the service, not the task");
    assertEquals(w.services?.map((s) => [s.name, s.mode, s.replicas]), [[svc, "replicated", 1]]);
    assertEquals(w.volumes.map((v) => v.key), [`volume:${vol}`]);
    assertEquals(w.volumes[0].destinations.map((d) => d.container), [svc]);

    let atQuiesced = -1;
    let logAtQuiesced = -1;
    const logPath = join(await volumeMountpoint(vol), "log");
    env.onFault = async (name) => {
      if (name !== "capture.quiesced") return;
      atQuiesced = await runningNow(env, [svc]);
      logAtQuiesced = Deno.statSync(logPath).size;
      await sleep(500); // a writer still alive would grow the log meanwhile
    };
    const watch = watchRunning(env, [svc]);
    const row = await runOp(await env.engine.prepareCapture(svc, { quiesce: "stop" }));
    // Stopping the task itself (the old behaviour) showed its harm only after
    // Swarm's restart delay (5 s): the replacement then ran beside the old
    // container, which volsnap had started again. Keep watching past it.
    await sleep(6500);
    const maxRunning = await watch.stop();

    assertEquals(atQuiesced, 0, "no task runs while the archive is written");
    assertEquals(maxRunning, 1, "never two containers on the volume, during or after the capture");
    assertEquals(Deno.statSync(logPath).size >= logAtQuiesced, true);
    assertEquals(await specReplicas(svc), 1, "replicas back to the recorded count");
    const after = await waitRunning(svc, 1);
    assert(after[0] !== first, "Swarm ran a new task after the scale back");
    assert(row.downtimeMs !== null && row.downtimeMs > 0, "downtime measured");
    assertEquals(row.quiesce, "stop");
    assertEquals([...Deno.readDirSync(join(env.config.dataDir, "journal"))].length, 0);

    // Swarm replaces the task again (a forced update): same workload, new container.
    await dockerCli(["service", "update", "--detach", "--force", "--quiet", svc]);
    await waitUntil("a replacement task", async () => {
      const ids = await runningTasks(svc);
      return ids.length === 1 && ids[0] !== after[0];
    });
    const again = await env.engine.getWorkload(svc);
    assertEquals(again.id, svc);
    const [now] = await runningTasks(svc);
    assert(again.containers.some((c) => c.id === now && c.swarmService));
    const ids = (await env.engine.listWorkloads()).filter((x) =>
      x.containers.some((c) => c.labels["com.docker.swarm.service.name"] === svc)
    ).map((x) => x.id);
    assertEquals(ids, [svc], "every task of the service is in one workload");
  } finally {
    env.close();
    await cleanupServices(scratch, [svc]);
  }
});

Deno.test("stack: its services are one workload; a restore scales both to 0 and back (2 and 1 replicas), nothing runs during the swap", async () => {
  await ensureSwarm();
  const stack = uniqueName("vsstk").replaceAll("-", "");
  const dir = await Deno.makeTempDir({ prefix: "volsnap-stack-" });
  // A stack needs a swarm-scoped network and "none" is not one; the tasks
  // only run a shell loop, so the host's network is never used.
  await Deno.writeTextFile(
    join(dir, "stack.yml"),
    `version: "3.8"
services:
  app:
    image: ${Deno.env.get("VOLSNAP_TEST_IMAGE")}
    command: ["sh", "-c", "while :; do sleep 1; done"]
    init: true
    stop_grace_period: 1s
    deploy: { replicas: 2 }
    volumes: ["data:/data"]
    networks: [hostnet]
  aux:
    image: ${Deno.env.get("VOLSNAP_TEST_IMAGE")}
    command: ["sh", "-c", "while :; do sleep 1; done"]
    init: true
    stop_grace_period: 1s
    volumes: ["aux:/aux"]
    networks: [hostnet]
volumes:
  data: {}
  aux: {}
networks:
  hostnet:
    external: true
    name: host
`,
  );
  const app = `${stack}_app`;
  const aux = `${stack}_aux`;
  const env = await engineEnv();
  try {
    await dockerCli([
      "stack",
      "deploy",
      "--resolve-image",
      "never",
      "-c",
      join(dir, "stack.yml"),
      stack,
    ]);
    await waitRunning(app, 2);
    await waitRunning(aux, 1);

    const w = await env.engine.getWorkload(stack);
    assertEquals(w.services?.map((s) => [s.name, s.replicas]), [[app, 2], [aux, 1]]);
    assertEquals(w.volumes.map((v) => v.key), [`volume:${stack}_aux`, `volume:${stack}_data`]);
    const data = w.volumes.find((v) => v.key === `volume:${stack}_data`)!.hostPath;
    Deno.writeTextFileSync(join(data, "marker"), "v1");

    const snap = await runOp(await env.engine.prepareCapture(stack, {}));
    assertEquals(snap.quiesce, "stop");
    await waitRunning(app, 2);
    await waitRunning(aux, 1);
    Deno.writeTextFileSync(join(data, "marker"), "v2");

    const during: Record<string, number> = {};
    env.onFault = async (name) => {
      if (name === "restore.journaled" || name === "restore.swapped_one") {
        during[name] = await runningNow(env, [app, aux]);
      }
    };
    const watch = watchRunning(env, [app]);
    const res = await runOp(await env.engine.prepareRestore(stack, { snapshotId: snap.id }));
    const maxApp = await watch.stop();
    assertEquals(during, { "restore.journaled": 0, "restore.swapped_one": 0 });
    assertEquals(maxApp, 2, "never more app tasks than its replicas");
    assertEquals(res.startError, undefined);
    assertEquals(Deno.readTextFileSync(join(data, "marker")), "v1");
    assertEquals(await specReplicas(app), 2);
    assertEquals(await specReplicas(aux), 1);
    await waitRunning(app, 2);
    await waitRunning(aux, 1);
  } finally {
    env.close();
    await dockerCli(["stack", "rm", stack], { allowFail: true });
    await waitUntil("stack tasks removed", async () => {
      const r = await dockerCli([
        "ps",
        "-aq",
        "--filter",
        `label=com.docker.stack.namespace=${stack}`,
      ]);
      return r.stdout === "";
    }).catch(() => {});
    await dockerCli(["volume", "rm", "-f", `${stack}_data`, `${stack}_aux`], { allowFail: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("global service: stop is refused with the reason, its label's pause works and Swarm replaces nothing", async () => {
  await ensureSwarm();
  const scratch = new DockerScratch("vs-swg");
  const svc = scratch.prefix;
  const env = await engineEnv();
  try {
    const vol = await scratch.volume("data");
    await createService({
      name: svc,
      global: true,
      mounts: [`type=volume,source=${vol},target=/data`],
      labels: { "volsnap.quiesce": "pause" },
    });
    const [task] = await waitRunning(svc, 1);

    const isRefusal = (err: unknown) =>
      err instanceof AppError && err.code === "quiesce_refused" && err.status === 409 &&
      /global service/.test(err.message) && /pause or none/.test(err.hint ?? "");
    await assertRejects(() => env.engine.prepareCapture(svc, { quiesce: "stop" }), isRefusal);
    await assertRejects(() => env.engine.planRestore(svc, { snapshotId: "none" }), isRefusal);

    let state = "";
    env.onFault = async (name) => {
      if (name === "capture.quiesced") state = (await env.docker.inspectContainer(task)).state;
    };
    const row = await runOp(await env.engine.prepareCapture(svc, {}));
    assertEquals(row.quiesce, "pause", "the service's volsnap.quiesce label counts");
    assertEquals(state, "paused");
    assertEquals(await runningTasks(svc), [task], "the same task runs: nothing was replaced");
  } finally {
    env.close();
    await cleanupServices(scratch, [svc]);
  }
});

Deno.test("a service with no task keeps its workload: spec volumes, its schedule label, a capture", async () => {
  await ensureSwarm();
  const scratch = new DockerScratch("vs-sw0");
  const svc = scratch.prefix;
  const env = await engineEnv();
  try {
    const vol = await scratch.volume("data");
    Deno.writeTextFileSync(join(await volumeMountpoint(vol), "kept"), "yes");
    await createService({
      name: svc,
      replicas: 0,
      mounts: [`type=volume,source=${vol},target=/data`],
      labels: { "volsnap.schedule": "@daily" },
    });
    const w = await env.engine.getWorkload(svc);
    assertEquals(w.containers, []);
    assertEquals(w.services?.map((s) => [s.name, s.replicas]), [[svc, 0]]);
    assertEquals(w.volumes.map((v) => [v.key, v.destinations]), [[`volume:${vol}`, [{
      container: svc,
      destination: "/data",
      readOnly: false,
    }]]]);
    const ctx = {
      docker: env.docker,
      discovery: { dataDir: env.config.dataDir },
      config: env.config,
    };
    const targets = await scheduleTargets(ctx as unknown as EngineContext);
    assertEquals(targets.filter((t) => t.workload === svc), [
      { workload: svc, kind: "snapshot", expression: "@daily" },
    ]);
    const row = await runOp(await env.engine.prepareCapture(svc, {}));
    assertEquals(row.quiesce, "stop");
    assertEquals(await specReplicas(svc), 0, "a service at 0 is not scaled up");
  } finally {
    env.close();
    await cleanupServices(scratch, [svc]);
  }
});

Deno.test("SIGKILL while a service is scaled to 0: the sweep on the next start scales it back to the recorded replicas", async () => {
  await ensureSwarm();
  const scratch = new DockerScratch("vs-swk");
  const svc = scratch.prefix;
  const server = await TestServer.start({ killAt: "capture.quiesced" });
  try {
    const vol = await scratch.volume("data");
    await createService({
      name: svc,
      replicas: 2,
      mounts: [`type=volume,source=${vol},target=/data`],
    });
    await waitRunning(svc, 2);

    fetch(`${server.url}/api/v1/workloads/${svc}/snapshots`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.token}`, "content-type": "application/json" },
      body: JSON.stringify({ quiesce: "stop" }),
    }).then((r) => r.body?.cancel()).catch(() => {});
    const status = await Promise.race([server.exited(), sleep(60_000).then(() => undefined)]);
    assert(status, `server was not killed:\n${server.log.slice(-2000)}`);
    assertEquals(await specReplicas(svc), 0, "the crash left the service scaled to 0");
    assertEquals(await runningTasks(svc), []);

    await server.restart();
    assertEquals(await specReplicas(svc), 2, "the sweep scaled it back to the recorded 2");
    await waitRunning(svc, 2);
    assertEquals([...Deno.readDirSync(join(server.dataDir, "journal"))].length, 0);
    const ev = await server.api("GET", `/api/v1/events?workload=${svc}`);
    assert(
      JSON.stringify(ev.json).includes(`service ${svc} (2 replicas)`),
      "the sweep recorded what it brought back",
    );
  } finally {
    await server.stop();
    await cleanupServices(scratch, [svc]);
  }
});

Deno.test("SIGKILL in a restore while the service is scaled to 0: the sweep rolls back and scales it back", async () => {
  await ensureSwarm();
  const scratch = new DockerScratch("vs-swr");
  const svc = scratch.prefix;
  const server = await TestServer.start();
  try {
    const vol = await scratch.volume("data");
    const live = await volumeMountpoint(vol);
    Deno.writeTextFileSync(join(live, "marker"), "snapshot");
    await createService({
      name: svc,
      replicas: 2,
      mounts: [`type=volume,source=${vol},target=/data`],
    });
    await waitRunning(svc, 2);
    const snap = await server.api("POST", `/api/v1/workloads/${svc}/snapshots?wait=true`, {});
    assertEquals(snap.status, 201, JSON.stringify(snap.json));
    const sid = snap.json.snapshot.id;
    Deno.writeTextFileSync(join(live, "marker"), "live");
    await server.restart({ killAt: "restore.journaled" });
    await waitRunning(svc, 2);

    fetch(`${server.url}/api/v1/workloads/${svc}/restore`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${server.token}`,
        "content-type": "application/json",
        "x-confirm-restore": sid,
      },
      body: JSON.stringify({ snapshotId: sid }),
    }).then((r) => r.body?.cancel()).catch(() => {});
    const status = await Promise.race([server.exited(), sleep(60_000).then(() => undefined)]);
    assert(status, `server was not killed:\n${server.log.slice(-2000)}`);
    assertEquals(await specReplicas(svc), 0, "killed with the service scaled to 0");

    await server.restart();
    assertEquals(await specReplicas(svc), 2, "the sweep scaled it back to the recorded 2");
    await waitRunning(svc, 2);
    assertEquals(Deno.readTextFileSync(join(live, "marker")), "live", "rolled back: the old state");
    assertEquals([...Deno.readDirSync(join(server.dataDir, "journal"))].length, 0);
  } finally {
    await server.stop();
    await cleanupServices(scratch, [svc]);
  }
});
