/** Discovery rules that a real engine cannot show here (plugin drivers, odd ids), on a fake DockerApi. */
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import type {
  ContainerDetails,
  ContainerSummary,
  DockerApi,
  ServiceSummary,
  VolumeDetails,
} from "../../src/docker/api.ts";
import { AppError } from "../../src/core/errors.ts";
import { createLogger } from "../../src/core/log.ts";
import { discoverWorkloads, findWorkload } from "../../src/workloads/discover.ts";
import { sanitizeWorkloadId, workloadIdFor } from "../../src/workloads/grouping.ts";
import { systemPathReason } from "../../src/workloads/mounts.ts";

function fakeDocker(
  containers: ContainerDetails[],
  volumes: VolumeDetails[],
  services: ServiceSummary[] | null = null,
): DockerApi {
  const fail = () => Promise.reject(new Error("not used by discovery"));
  return {
    ping: () => Promise.resolve(),
    version: () => Promise.resolve({ version: "fake", apiVersion: "1.41" }),
    listContainers: () =>
      Promise.resolve(containers.map(({ id, name, state, labels }): ContainerSummary => ({
        id,
        name,
        state,
        labels,
      }))),
    inspectContainer: (id) => {
      const c = containers.find((c) => c.id === id || c.name === id);
      return c ? Promise.resolve(c) : Promise.reject(new AppError("not_found", `no ${id}`));
    },
    inspectVolume: (name) => {
      const v = volumes.find((v) => v.name === name);
      return v ? Promise.resolve(v) : Promise.reject(new AppError("not_found", `no ${name}`));
    },
    stopContainer: fail,
    runThrowaway: fail,
    startContainer: fail,
    pauseContainer: fail,
    unpauseContainer: fail,
    exec: fail,
    listServices: () => Promise.resolve(services), // null: not a swarm manager
    inspectService: fail,
    scaleService: fail,
    listTasks: fail,
    swarmNodeId: () => Promise.resolve(undefined),
  };
}

const container = (name: string, over: Partial<ContainerDetails> = {}): ContainerDetails => ({
  id: `id-${name}`,
  name,
  state: "running",
  labels: {},
  mounts: [],
  ...over,
});

Deno.test("volumes of drivers other than local are skipped with the driver named", async () => {
  const docker = fakeDocker([
    container("app", {
      mounts: [
        {
          type: "volume",
          name: "nfsvol",
          source: "",
          destination: "/nfs",
          driver: "rexray",
          rw: true,
        },
        {
          type: "volume",
          name: "plain",
          source: "/x",
          destination: "/data",
          driver: "local",
          rw: true,
        },
        // Driver missing on the mount: the volume's own driver decides.
        { type: "volume", name: "plugvol", source: "", destination: "/p", rw: true },
        { type: "volume", name: "gone", source: "", destination: "/g", driver: "local", rw: true },
        { type: "npipe", source: "\\\\.\\pipe\\x", destination: "/pipe", rw: true },
        {
          type: "volume",
          name: "nfsopt",
          source: "",
          destination: "/n",
          driver: "local",
          rw: true,
        },
      ],
    }),
  ], [
    {
      name: "plain",
      driver: "local",
      mountpoint: "/var/lib/docker/volumes/plain/_data",
      labels: {},
    },
    { name: "plugvol", driver: "convoy", mountpoint: "/mnt/plug", labels: {} },
    {
      name: "nfsopt",
      driver: "local",
      mountpoint: "/var/lib/docker/volumes/nfsopt/_data",
      labels: {},
      options: { type: "nfs", o: "addr=10.0.0.1,rw", device: ":/export/data" },
    },
  ]);
  const w = await findWorkload(docker, "app", { dataDir: "/var/lib/volsnap" });
  assertEquals(w.volumes.map((v) => [v.key, v.hostPath]), [
    ["volume:plain", "/var/lib/docker/volumes/plain/_data"],
  ]);
  const reasons = Object.fromEntries(w.skipped.map((s) => [s.destination, s.reason]));
  assertEquals(
    reasons["/nfs"],
    `volume driver "rexray" is not supported: only local volumes are captured`,
  );
  assertEquals(
    reasons["/p"],
    `volume driver "convoy" is not supported: only local volumes are captured`,
  );
  assertMatch(reasons["/g"], /volume "gone" no longer exists/);
  assertMatch(reasons["/pipe"], /mount type "npipe" is not supported/);
  assertMatch(
    reasons["/n"],
    /mounted from :\/export\/data \(type nfs\) only while a container uses it/,
  );
  assertEquals(w.skipped.find((s) => s.destination === "/nfs")?.name, "nfsvol");
});

Deno.test("grouping ids that are not path-safe are sanitized; unusable ones are left out and logged", async () => {
  const lines: string[] = [];
  const log = createLogger({}, (l) => lines.push(l));
  const docker = fakeDocker([
    container("a", { labels: { "volsnap.workload": "my app/../x" } }),
    container("b", { labels: { "volsnap.workload": "../../" } }),
    container("c", { labels: { "volsnap.workload": "ok-id", "volsnap.exclude": "TRUE" } }),
    container("d", { labels: { "com.docker.compose.project": "proj" } }),
  ], []);
  const ws = await discoverWorkloads(docker, { dataDir: "/data", log });
  assertEquals(ws.map((w) => [w.id, w.containers.map((c) => c.name)]), [
    ["my_app_.._x", ["a"]],
    ["proj", ["d"]],
  ]);
  assert(lines.some((l) => /left out/.test(l) && /"container":"b"/.test(l)), lines.join("\n"));
  assert(lines.some((l) => /sanitized/.test(l) && /my app/.test(l)));
});

Deno.test("workloadIdFor() prefers volsnap.workload › stack › swarm service › compose project › name", () => {
  const stack = "com.docker.stack.namespace";
  const svc = "com.docker.swarm.service.name";
  const compose = "com.docker.compose.project";
  const cases: [Record<string, string>, string, string][] = [
    [{ "volsnap.workload": "w", [stack]: "s", [svc]: "v", [compose]: "p" }, "w", "label"],
    [{ [stack]: "s", [svc]: "s_v", [compose]: "p" }, "s", "stack"],
    [{ [svc]: "v", [compose]: "p" }, "v", "service"],
    [{ "com.docker.compose.project": "p" }, "p", "compose"],
    [{ "volsnap.workload": "  " }, "name1", "name"],
    [{}, "name1", "name"],
  ];
  for (const [labels, id, source] of cases) {
    const g = workloadIdFor({ name: "name1", labels });
    assert(g.ok);
    assertEquals([g.id, g.source], [id, source]);
  }
  assertEquals(sanitizeWorkloadId("..."), undefined);
  assertEquals(sanitizeWorkloadId("x".repeat(300))?.length, 128);
  assertEquals(sanitizeWorkloadId("_Proj One"), "Proj_One");
});

Deno.test("systemPathReason() protects system trees, their insides, their parents, the socket and the data dir", () => {
  const policy = { dataDir: "/srv/volsnap", dockerSocketPath: "/tmp/d/docker.sock" };
  const blocked = [
    "/",
    "/etc",
    "/etc/nginx",
    "/etc/",
    "/usr/local/share",
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/libx32/foo",
    "/library", // SPEC says /lib*: any top-level name starting with "lib"
    "/boot",
    "/dev/shm",
    "/proc",
    "/sys/fs/cgroup",
    "/run",
    "/run/user/1000",
    "/var/run",
    "/var", // contains /var/run
    "/var/run/docker.sock",
    "/tmp/d", // contains the socket in use
    "/tmp/d/docker.sock",
    "/srv/volsnap",
    "/srv/volsnap/snapshots",
    "/srv", // contains the data dir
  ];
  for (const p of blocked) assert(systemPathReason(p, policy), `${p} was not protected`);
  const allowed = [
    "/srv/app",
    "/home/u/data",
    "/var/lib/postgres",
    "/opt/etc",
    "/tmp/x",
  ];
  for (const p of allowed) {
    assertEquals(systemPathReason(p, policy), undefined, `${p} was wrongly protected`);
  }
});

Deno.test("a bind whose source is a symlink into a system tree is skipped", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.symlink("/etc", `${tmp}/sneaky`);
    await Deno.mkdir(`${tmp}/real`);
    await Deno.symlink(`${tmp}/real`, `${tmp}/alias`);
    const docker = fakeDocker([container("app", {
      mounts: [
        { type: "bind", source: `${tmp}/sneaky`, destination: "/s", rw: true },
        { type: "bind", source: `${tmp}/alias`, destination: "/a", rw: false },
        { type: "bind", source: `${tmp}/missing`, destination: "/m", rw: true },
      ],
    })], []);
    const w = await findWorkload(docker, "app", { dataDir: `${tmp}/data` });
    assertEquals(w.volumes.map((v) => [v.key, v.source, v.hostPath]), [
      [`bind:${tmp}/alias`, `${tmp}/alias`, await Deno.realPath(`${tmp}/real`)],
    ]);
    assertEquals(w.volumes[0].destinations, [{
      container: "app",
      destination: "/a",
      readOnly: true,
    }]);
    const reasons = Object.fromEntries(w.skipped.map((s) => [s.destination, s.reason]));
    assertMatch(reasons["/s"], /resolves to \/etc: \/etc is a system path/);
    assertMatch(reasons["/m"], /does not exist on this host/);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("a container removed between list and inspect is left out without an error", async () => {
  const docker = fakeDocker([container("a"), container("b")], []);
  const inspect = docker.inspectContainer;
  docker.inspectContainer = (id) =>
    id === "id-b" ? Promise.reject(new AppError("not_found", "gone")) : inspect(id);
  const ws = await discoverWorkloads(docker, { dataDir: "/data" });
  assertEquals(ws.map((w) => w.id), ["a"]);
});

Deno.test("an unreachable engine fails discovery with docker_unavailable, not an empty list", async () => {
  const docker = fakeDocker([], []);
  docker.listContainers = () => Promise.reject(new AppError("docker_unavailable", "down"));
  let err: unknown;
  try {
    await discoverWorkloads(docker, { dataDir: "/data" });
  } catch (e) {
    err = e;
  }
  assert(err instanceof AppError && err.code === "docker_unavailable");
});

const service = (name: string, over: Partial<ServiceSummary> = {}): ServiceSummary => ({
  id: `sid-${name}`,
  name,
  version: 1,
  labels: {},
  containerLabels: {},
  mode: "replicated",
  replicas: 1,
  mounts: [],
  ...over,
});

const task = (svc: ServiceSummary, slot: number, over: Partial<ContainerDetails> = {}) =>
  container(`${svc.name}.${slot}.t${slot}x`, {
    labels: {
      "com.docker.swarm.service.id": svc.id,
      "com.docker.swarm.service.name": svc.name,
      ...svc.containerLabels,
    },
    ...over,
  });

Deno.test("Swarm: a service's volsnap labels count for its tasks; a service without a task keeps its workload and its spec's volumes", async () => {
  const vol = (name: string): VolumeDetails => ({
    name,
    driver: "local",
    mountpoint: `/var/lib/docker/volumes/${name}/_data`,
    labels: {},
  });
  const web = service("web", {
    labels: { "volsnap.quiesce": "pause", "volsnap.workload": "shop", other: "x" },
    replicas: 2,
    mounts: [{ type: "volume", name: "webdata", source: "", destination: "/data", rw: true }],
  });
  const idle = service("idle", {
    labels: { "volsnap.workload": "shop" },
    replicas: 0,
    mounts: [{ type: "volume", name: "idledata", source: "", destination: "/idle", rw: true }],
  });
  const gone = service("gone", { labels: { "volsnap.exclude": "true" } });
  const mount = { type: "volume", name: "webdata", source: "", destination: "/data", rw: true };
  const docker = fakeDocker(
    [
      task(web, 1, { mounts: [mount] }),
      task(web, 2, { mounts: [mount] }),
      // An ended task of an older spec: a member, but its mounts are not current.
      task(web, 1, {
        id: "old",
        name: "web.1.old",
        state: "exited",
        mounts: [{ ...mount, name: "olddata", destination: "/old" }],
      }),
      task(gone, 1),
    ],
    [vol("webdata"), vol("idledata"), vol("olddata")],
    [web, idle, gone],
  );
  const ws = await discoverWorkloads(docker, { dataDir: "/var/lib/volsnap" });
  assertEquals(ws.map((w) => w.id), ["shop"], "the excluded service and its task are left out");
  const w = ws[0];
  assertEquals(w.services?.map((s) => [s.name, s.mode, s.replicas]), [["idle", "replicated", 0], [
    "web",
    "replicated",
    2,
  ]]);
  assertEquals(w.containers.length, 3);
  assert(w.containers.every((c) => c.swarmService === web.id));
  assert(w.containers.every((c) => c.labels["volsnap.quiesce"] === "pause"));
  assertEquals(w.containers[0].labels.other, undefined, "only volsnap.* labels count");
  assertEquals(
    w.volumes.map((v) => [v.key, v.destinations.map((d) => `${d.container}:${d.destination}`)]),
    [["volume:idledata", ["idle:/idle"]], ["volume:webdata", ["web:/data"]]],
  );
});
