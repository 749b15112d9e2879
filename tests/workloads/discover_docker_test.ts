/** Coverage against the real engine: what a workload would capture, and why not the rest. */
import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";
import { AppError } from "../../src/core/errors.ts";
import { createDockerClient } from "../../src/docker/http_client.ts";
import { discoverWorkloads, findWorkload, startOrder } from "../../src/workloads/discover.ts";
import { dockerCli, DockerScratch, requireDockerEnv } from "../_helpers/docker_cli.ts";

const env = requireDockerEnv();

async function setup() {
  const docker = createDockerClient(env.dockerHost);
  const tmp = await Deno.makeTempDir({ prefix: "vsdisc-" });
  const dataDir = `${tmp}/volsnap-data`;
  await Deno.mkdir(dataDir);
  return {
    docker,
    tmp,
    dataDir,
    async [Symbol.asyncDispose]() {
      docker.close();
      await Deno.remove(tmp, { recursive: true });
    },
  };
}

Deno.test("a workload's mounts are classified: volume and dir bind captured, the rest skipped with reasons", async () => {
  await using ctx = await setup();
  await using s = new DockerScratch("vsdisc-cov");
  const wid = s.prefix;
  const vol = await s.volume("data");
  const dirBind = `${ctx.tmp}/app-dir`;
  await Deno.mkdir(dirBind);
  const fileBind = `${ctx.tmp}/app.conf`;
  await Deno.writeTextFile(fileBind, "x=1\n");
  const name = await s.container({
    labels: { "volsnap.workload": wid },
    args: [
      "-v",
      `${vol}:/data`,
      "-v",
      `${dirBind}:/srv`,
      "--tmpfs",
      "/cache",
      "--mount",
      "type=tmpfs,destination=/run-tmp",
      "-v",
      `${fileBind}:/etc/app.conf:ro`,
      "-v",
      "/etc:/host-etc:ro",
      "-v",
      `${ctx.dataDir}:/volsnap`,
      "-v",
      `${ctx.tmp}:/parent-of-data`,
    ],
  });

  const w = await findWorkload(ctx.docker, wid, { dataDir: ctx.dataDir });
  assertEquals(w.id, wid);
  assertEquals(w.containers.map((c) => [c.name, c.state]), [[name, "running"]]);
  const mountpoint = (await ctx.docker.inspectVolume(vol)).mountpoint;
  assertEquals(w.volumes, [
    {
      key: `bind:${dirBind}`,
      type: "bind",
      source: dirBind,
      hostPath: await Deno.realPath(dirBind),
      destinations: [{ container: name, destination: "/srv", readOnly: false }],
    },
    {
      key: `volume:${vol}`,
      type: "volume",
      name: vol,
      hostPath: mountpoint,
      destinations: [{ container: name, destination: "/data", readOnly: false }],
    },
  ]);
  const reasons = Object.fromEntries(w.skipped.map((m) => [m.destination, m.reason]));
  assertEquals(Object.keys(reasons).sort(), [
    "/cache",
    "/etc/app.conf",
    "/host-etc",
    "/parent-of-data",
    "/run-tmp",
    "/volsnap",
  ]);
  assertMatch(reasons["/cache"], /tmpfs holds no persistent data/);
  assertMatch(reasons["/run-tmp"], /tmpfs holds no persistent data/);
  assertMatch(reasons["/etc/app.conf"], /single-file bind mounts are not captured/);
  assertMatch(reasons["/host-etc"], /^\/etc is a system path/);
  assertMatch(reasons["/volsnap"], /volsnap's own data directory/);
  assertMatch(reasons["/parent-of-data"], /volsnap's own data directory/);
  assertEquals(w.skipped.find((m) => m.destination === "/host-etc")?.type, "bind");
});

Deno.test("bindAllow leaves out binds outside the allowed roots", async () => {
  await using ctx = await setup();
  await using s = new DockerScratch("vsdisc-allow");
  const allowed = `${ctx.tmp}/allowed/app`;
  const other = `${ctx.tmp}/other`;
  await Deno.mkdir(allowed, { recursive: true });
  await Deno.mkdir(other);
  await s.container({
    labels: { "volsnap.workload": s.prefix },
    args: ["-v", `${allowed}:/a`, "-v", `${other}:/b`],
  });
  const w = await findWorkload(ctx.docker, s.prefix, {
    dataDir: ctx.dataDir,
    bindAllow: [`${ctx.tmp}/allowed`],
  });
  assertEquals(w.volumes.map((v) => v.key), [`bind:${allowed}`]);
  assertEquals(w.skipped.length, 1);
  assertMatch(w.skipped[0].reason, /outside VOLSNAP_BIND_ALLOW/);
});

Deno.test("two containers sharing a named volume give one entry with two destinations", async () => {
  await using ctx = await setup();
  await using s = new DockerScratch("vsdisc-share");
  const vol = await s.volume("shared");
  const labels = { "volsnap.workload": s.prefix };
  const a = await s.container({ name: "a", labels, args: ["-v", `${vol}:/data`] });
  const b = await s.container({
    name: "b",
    labels,
    args: ["-v", `${vol}:/mnt/ro:ro`],
    start: false,
  });
  const w = await findWorkload(ctx.docker, s.prefix, { dataDir: ctx.dataDir });
  assertEquals(w.containers.map((c) => [c.name, c.state]), [[a, "running"], [b, "created"]]);
  assertEquals(w.volumes.length, 1);
  assertEquals(w.volumes[0].key, `volume:${vol}`);
  assertEquals(w.volumes[0].destinations, [
    { container: a, destination: "/data", readOnly: false },
    { container: b, destination: "/mnt/ro", readOnly: true },
  ]);
});

Deno.test("compose labels group a project; volsnap.workload overrides it; volsnap.exclude=true hides a container", async () => {
  await using ctx = await setup();
  await using s = new DockerScratch("vsdisc-compose");
  const project = s.prefix;
  const compose = (service: string, extra: Record<string, string> = {}) => ({
    "com.docker.compose.project": project,
    "com.docker.compose.service": service,
    ...extra,
  });
  const web = await s.container({
    name: "web-1",
    labels: compose("web", {
      "com.docker.compose.depends_on": "db:service_healthy:false,cache:service_started:true",
    }),
  });
  const db = await s.container({ name: "db-1", labels: compose("db") });
  const cache = await s.container({ name: "cache-1", labels: compose("cache") });
  const moved = await s.container({
    name: "worker-1",
    labels: compose("worker", { "volsnap.workload": `${project}-jobs` }),
  });
  await s.container({ name: "tool-1", labels: compose("tool", { "volsnap.exclude": "true" }) });

  const all = await discoverWorkloads(ctx.docker, { dataDir: ctx.dataDir });
  const mine = all.filter((w) => w.id.startsWith(project));
  assertEquals(mine.map((w) => w.id), [project, `${project}-jobs`]);
  const [proj, jobs] = mine;
  assertEquals(proj.containers.map((c) => c.name), [cache, db, web]); // by name; tool excluded
  assertEquals(jobs.containers.map((c) => c.name), [moved]);
  const webInfo = proj.containers.find((c) => c.name === web)!;
  assertEquals(webInfo.service, "web");
  assertEquals(webInfo.dependsOn, ["db", "cache"]);
  const order = startOrder(proj.containers).map((c) => c.name);
  assertEquals(order.indexOf(web), 2, `web must start last: ${order}`);
  // No workload anywhere contains the excluded container.
  assert(
    !all.some((w) =>
      w.containers.some((c) => c.name.endsWith("tool-1") && c.name.startsWith(project))
    ),
  );
});

Deno.test("network_mode container:<id> becomes a dependency on that container by name", async () => {
  await using ctx = await setup();
  await using s = new DockerScratch("vsdisc-net");
  const labels = { "volsnap.workload": s.prefix };
  const base = await s.container({ name: "base", labels });
  const side = await s.container({
    name: "aside",
    labels,
    args: ["--network", `container:${base}`],
  });
  const w = await findWorkload(ctx.docker, s.prefix, { dataDir: ctx.dataDir });
  const sideInfo = w.containers.find((c) => c.name === side)!;
  assertEquals(sideInfo.dependsOn, [base]);
  assertEquals(w.containers.map((c) => c.name), [side, base]); // sorted by name
  assertEquals(startOrder(w.containers).map((c) => c.name), [base, side]);
});

Deno.test("findWorkload() of an unknown id is not_found (404)", async () => {
  await using ctx = await setup();
  const err = await assertRejects(() =>
    findWorkload(ctx.docker, "vsdisc-no-such-workload", { dataDir: ctx.dataDir })
  );
  assert(err instanceof AppError);
  assertEquals(err.code, "not_found");
  assertMatch(err.message, /workload "vsdisc-no-such-workload" not found/);
});

Deno.test("local volumes with mount options: o=bind captured at its device dir, tmpfs skipped", async () => {
  await using ctx = await setup();
  await using s = new DockerScratch("vsdisc-opts");
  const dev = `${ctx.tmp}/bound-dir`;
  await Deno.mkdir(dev);
  const bound = await s.volume("bound", [
    "--opt",
    "type=none",
    "--opt",
    "o=bind",
    "--opt",
    `device=${dev}`,
  ]);
  const mem = await s.volume("mem", ["--opt", "type=tmpfs", "--opt", "device=tmpfs"]);
  const etc = await s.volume("etc", [
    "--opt",
    "type=none",
    "--opt",
    "o=bind",
    "--opt",
    "device=/etc",
  ]);
  const app = await s.container({
    labels: { "volsnap.workload": s.prefix },
    args: ["-v", `${bound}:/b`, "-v", `${mem}:/m`, "-v", `${etc}:/e:ro`],
    cmd: [
      "sh",
      "-c",
      "echo kept > /b/f; echo lost > /m/f; trap 'exit 0' TERM; while :; do sleep 0.1; done",
    ],
  });
  // Stopped, the engine unmounts option volumes: their Mountpoint is empty then.
  await dockerCli(["stop", "-t", "1", app]);
  const w = await findWorkload(ctx.docker, s.prefix, { dataDir: ctx.dataDir });
  assertEquals(w.volumes.map((v) => [v.key, v.hostPath]), [[
    `volume:${bound}`,
    await Deno.realPath(dev),
  ]]);
  assertEquals(await Deno.readTextFile(`${w.volumes[0].hostPath}/f`), "kept\n");
  const reasons = Object.fromEntries(w.skipped.map((m) => [m.destination, m.reason]));
  assertMatch(reasons["/m"], /tmpfs-backed volume holds no persistent data/);
  assertMatch(reasons["/e"], /binds \/etc: \/etc is a system path/);
});
