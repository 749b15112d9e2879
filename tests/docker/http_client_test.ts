import { assert, assertEquals, assertMatch, assertRejects } from "../_helpers/assert.ts";
import { AppError } from "../../src/core/errors.ts";
import { createDockerClient, parseDockerHost } from "../../src/docker/http_client.ts";
import { DockerScratch, requireDockerEnv } from "../_helpers/docker_cli.ts";

const env = requireDockerEnv();

async function withClient(fn: (d: ReturnType<typeof createDockerClient>) => Promise<void>) {
  const d = createDockerClient(env.dockerHost);
  try {
    await fn(d);
  } finally {
    d.close();
  }
}

async function appError(p: Promise<unknown>): Promise<AppError> {
  const err = await assertRejects(() => p);
  assert(err instanceof AppError, `expected AppError, got ${err}`);
  return err;
}

Deno.test("parseDockerHost() accepts unix:// paths and rejects other schemes as invalid_input", () => {
  assertEquals(parseDockerHost("unix:///var/run/docker.sock"), "/var/run/docker.sock");
  for (
    const bad of ["tcp://127.0.0.1:2375", "/var/run/docker.sock", "unix://", "npipe:////./pipe/x"]
  ) {
    let err: unknown;
    try {
      parseDockerHost(bad);
    } catch (e) {
      err = e;
    }
    assert(err instanceof AppError && err.code === "invalid_input", `accepted ${bad}`);
    assertMatch(err.message, /only unix:\/\//);
  }
});

Deno.test("ping() and version() reach the engine at API 1.41 or later", async () => {
  await withClient(async (d) => {
    await d.ping();
    const v = await d.version();
    assertMatch(v.version, /^\d+\.\d+/);
    const [maj, min] = v.apiVersion.split(".").map(Number);
    assert(maj > 1 || min >= 41, `engine API ${v.apiVersion} is older than 1.41`);
  });
});

Deno.test("listContainers() includes stopped containers; inspect returns labels, mounts, network mode", async () => {
  await using s = new DockerScratch("vsdc-list");
  const vol = await s.volume();
  const name = await s.container({
    labels: { "volsnap.workload": "x1", "a.b": "c" },
    args: ["-v", `${vol}:/data`, "--tmpfs", "/scratch"],
    start: false,
  });
  await withClient(async (d) => {
    const listed = (await d.listContainers()).find((c) => c.name === name);
    assert(listed, "created (never started) container missing from the list");
    assertEquals(listed.state, "created");
    assertEquals(listed.labels["volsnap.workload"], "x1");

    const info = await d.inspectContainer(name);
    assertEquals(info.id, listed.id);
    assertEquals(info.name, name);
    assertEquals(info.networkMode, "none");
    assertEquals(info.labels["a.b"], "c");
    const m = info.mounts.find((m) => m.destination === "/data");
    assertEquals(m?.type, "volume");
    assertEquals(m?.name, vol);
    assertEquals(m?.driver, "local");
    assertEquals(m?.rw, true);

    const v = await d.inspectVolume(vol);
    assertEquals(v.driver, "local");
    assertMatch(v.mountpoint, /^\//);
  });
});

Deno.test("inspect of a missing container or volume is not_found with the engine's message", async () => {
  await withClient(async (d) => {
    const e1 = await appError(d.inspectContainer("vsdc-does-not-exist"));
    assertEquals(e1.code, "not_found");
    assertEquals(e1.status, 404);
    assertMatch(e1.message, /vsdc-does-not-exist/);
    const e2 = await appError(d.inspectVolume("vsdc-no-such-volume"));
    assertEquals(e2.code, "not_found");
    const e3 = await appError(d.stopContainer("vsdc-does-not-exist", 1));
    assertEquals(e3.code, "not_found");
  });
});

Deno.test("stop/start/pause/unpause round trip is idempotent at every step", async () => {
  await using s = new DockerScratch("vsdc-life");
  const name = await s.container();
  await withClient(async (d) => {
    const state = async () => (await d.inspectContainer(name)).state;
    assertEquals(await state(), "running");
    await d.startContainer(name); // 304: already running
    await d.pauseContainer(name);
    assertEquals(await state(), "paused");
    await d.pauseContainer(name); // already paused
    await d.unpauseContainer(name);
    assertEquals(await state(), "running");
    await d.unpauseContainer(name); // not paused: success
    await d.stopContainer(name, 5);
    assertEquals(await state(), "exited");
    await d.stopContainer(name, 5); // 304: already stopped
    await d.startContainer(name);
    assertEquals(await state(), "running");
    // A paused container can be stopped directly.
    await d.pauseContainer(name);
    await d.stopContainer(name, 5);
    assertEquals(await state(), "exited");
    await d.unpauseContainer(name); // exited, not paused: success
    // Pausing a stopped container is a real error.
    const err = await appError(d.pauseContainer(name));
    assertEquals(err.code, "docker_error");
    assertMatch(err.message, /pause container/);
  });
});

Deno.test("stopContainer() waits the grace period then kills a container ignoring SIGTERM", async () => {
  await using s = new DockerScratch("vsdc-kill");
  const name = await s.container({
    cmd: ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"],
  });
  await withClient(async (d) => {
    const t0 = performance.now();
    await d.stopContainer(name, 1);
    const ms = performance.now() - t0;
    assertEquals((await d.inspectContainer(name)).state, "exited");
    assert(ms >= 900 && ms < 10_000, `stop took ${ms} ms`);
  });
});

Deno.test("exec() returns combined output and the exit code, zero and non-zero", async () => {
  await using s = new DockerScratch("vsdc-exec");
  const name = await s.container();
  await withClient(async (d) => {
    const ok = await d.exec(name, ["sh", "-c", "echo out; echo err >&2"], 10_000);
    assertEquals(ok.exitCode, 0);
    assertEquals(ok.output.split("\n").filter(Boolean).sort(), ["err", "out"]);
    const bad = await d.exec(name, ["sh", "-c", "echo failing; exit 7"], 10_000);
    assertEquals(bad.exitCode, 7);
    assertEquals(bad.output, "failing\n");
    const missing = await d.exec(name, ["/no/such/binary"], 10_000);
    assert(missing.exitCode !== 0, "exec of a missing binary reported success");
  });
});

Deno.test("exec() caps collected output at 64 KiB and says it truncated", async () => {
  await using s = new DockerScratch("vsdc-exec-cap");
  const name = await s.container();
  await withClient(async (d) => {
    // 300,000 bytes of output.
    const r = await d.exec(name, [
      "sh",
      "-c",
      "dd if=/dev/zero bs=1000 count=300 2>/dev/null | tr '\\0' x",
    ], 20_000);
    assertEquals(r.exitCode, 0);
    assert(r.output.startsWith("x".repeat(65536)), "kept output is not the first 64 KiB");
    assertMatch(r.output, /\[output truncated: 300000 bytes in total\]$/);
    assert(r.output.length < 65536 + 100);
  });
});

Deno.test("exec() that outlives its timeout is a docker_error naming the command", async () => {
  await using s = new DockerScratch("vsdc-exec-slow");
  const name = await s.container();
  await withClient(async (d) => {
    const t0 = performance.now();
    const err = await appError(d.exec(name, ["sleep", "5"], 500));
    assertEquals(err.code, "docker_error");
    assertMatch(err.message, /\["sleep","5"\].*did not finish within 500 ms/);
    assert(performance.now() - t0 < 3000, "timeout was not enforced");
  });
});

Deno.test("exec() in a stopped container is a docker_error", async () => {
  await using s = new DockerScratch("vsdc-exec-stopped");
  const name = await s.container({ start: false });
  await withClient(async (d) => {
    const err = await appError(d.exec(name, ["true"], 5000));
    assertEquals(err.code, "docker_error");
    assertMatch(err.message, /not running/);
  });
});

Deno.test("a missing socket is docker_unavailable (503) at once, with a hint", async () => {
  const dir = await Deno.makeTempDir();
  const d = createDockerClient(`unix://${dir}/nothing.sock`, { timeoutMs: 5000 });
  try {
    const t0 = performance.now();
    const err = await appError(d.ping());
    assertEquals(err.code, "docker_unavailable");
    assertEquals(err.status, 503);
    assertMatch(err.message, /unreachable at unix:\/\/.*nothing\.sock: socket not found/);
    assert(err.hint && /DOCKER_HOST/.test(err.hint));
    assert(performance.now() - t0 < 1000);
    assertEquals((await appError(d.listContainers())).code, "docker_unavailable");
  } finally {
    d.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a socket nobody answers on is docker_unavailable after the request timeout", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/silent.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // accept, never answer
  })();
  const d = createDockerClient(`unix://${path}`, { timeoutMs: 300 });
  try {
    const t0 = performance.now();
    const err = await appError(d.version());
    assertEquals(err.code, "docker_unavailable");
    assertMatch(err.message, /no answer to version within 300 ms/);
    assert(performance.now() - t0 < 2000);
  } finally {
    d.close();
    listener.close();
    await accepting.catch(() => {});
    held.forEach((c) => c.close());
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("engine errors other than 404 are docker_error (502) with the operation and engine message", async () => {
  await using s = new DockerScratch("vsdc-err");
  const name = await s.container({ start: false });
  await withClient(async (d) => {
    const err = await appError(d.pauseContainer(name)); // created, not running
    assertEquals(err.code, "docker_error");
    assertEquals(err.status, 502);
    assertMatch(err.message, new RegExp(`^pause container ${name}: .*not running`));
  });
});
