/**
 * Restore under injected faults, in-process on the real Docker engine and
 * real files: a container that will not start, Docker unreachable while
 * stopping, and the disk filling up during staging.
 */
import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { engineEnv, runOp } from "../_helpers/engine_env.ts";
import {
  clearDir,
  containerState,
  leftovers,
  populateTree,
  volumeMountpoint,
} from "../_helpers/fixtures.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";
import { AppError } from "../../src/core/errors.ts";

async function setup(bindDir?: string) {
  const env = await engineEnv();
  const scratch = new DockerScratch("vs-rf");
  const wid = scratch.prefix;
  const vol = await scratch.volume("data");
  const bind = bindDir ?? await Deno.makeTempDir({ prefix: "vs-rf-bind-" });
  const lab = { "volsnap.workload": wid };
  const db = await scratch.container({ name: "db", labels: lab, args: ["-v", `${vol}:/data`] });
  const app = await scratch.container({ name: "app", labels: lab, args: ["-v", `${bind}:/bind`] });
  const volDir = await volumeMountpoint(vol);
  populateTree(volDir, "A");
  populateTree(bind, "A");
  const a = { vol: fingerprint(volDir), bind: fingerprint(bind) };
  const snap = await runOp(await env.engine.prepareCapture(wid, {}));
  clearDir(volDir);
  clearDir(bind);
  populateTree(volDir, "BB");
  populateTree(bind, "BB");
  const b = { vol: fingerprint(volDir), bind: fingerprint(bind) };
  const state = () => ({ vol: fingerprint(volDir), bind: fingerprint(bind) });
  return { env, scratch, wid, db, app, volDir, bind, a, b, snap, state };
}

const isCode = (code: string) => (err: unknown) => err instanceof AppError && err.code === code;

Deno.test("a container that will not start after the swap: data stays restored, error reported, sweep retries", async () => {
  const s = await setup();
  try {
    const appId = (await s.env.docker.inspectContainer(s.app)).id;
    const realStart = s.env.docker.startContainer;
    s.env.dockerFaults.startContainer = (id) =>
      id === appId
        ? Promise.reject(new AppError("docker_error", "injected start failure"))
        : realStart(id);

    const err = await assertRejects(
      async () => runOp(await s.env.engine.prepareRestore(s.wid, { snapshotId: s.snap.id })),
      isCode("docker_error"),
    );
    assert(String(err).includes("data restored"), String(err));
    assertEquals(diffTrees(s.state().vol, s.a.vol), []);
    assertEquals(diffTrees(s.state().bind, s.a.bind), []);
    assertEquals(await containerState(s.db), "running");
    assertEquals(await containerState(s.app), "exited");
    assertEquals(leftovers([s.volDir, s.bind]), []);

    // The journal remembers the container; the next sweep starts it.
    delete s.env.dockerFaults.startContainer;
    await s.env.recover();
    assertEquals(await containerState(s.app), "running");
    assertEquals([...Deno.readDirSync(join(s.env.config.dataDir, "journal"))].length, 0);
  } finally {
    await s.scratch.cleanup();
    s.env.close();
  }
});

Deno.test("Docker unreachable while stopping: restore aborts, live data untouched, containers running", async () => {
  const s = await setup();
  try {
    const appId = (await s.env.docker.inspectContainer(s.app)).id;
    const realStop = s.env.docker.stopContainer;
    s.env.dockerFaults.stopContainer = (id, t) =>
      id === appId
        ? Promise.reject(new AppError("docker_unavailable", "Docker engine unreachable (injected)"))
        : realStop(id, t);
    await assertRejects(
      async () => runOp(await s.env.engine.prepareRestore(s.wid, { snapshotId: s.snap.id })),
      isCode("quiesce_failed"),
    );
    assertEquals(diffTrees(s.state().vol, s.b.vol), []);
    assertEquals(diffTrees(s.state().bind, s.b.bind), []);
    assertEquals(await containerState(s.db), "running");
    assertEquals(await containerState(s.app), "running");
    assertEquals(leftovers([s.volDir, s.bind]), []);
  } finally {
    await s.scratch.cleanup();
    s.env.close();
  }
});

Deno.test("disk full during staging: 507, live data untouched, nothing left behind", async () => {
  const mnt = await Deno.makeTempDir({ prefix: "vs-rf-tmpfs-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=80m", "tmpfs", mnt],
  }).output();
  assert(mount.success, "mount tmpfs (the tests run as root)");
  const bind = join(mnt, "live");
  await Deno.mkdir(bind);
  const s = await setup(bind);
  try {
    // Pre-flight passes; then something else fills the filesystem while we stage.
    s.env.onFault = async (name) => {
      if (name !== "restore.staging") return;
      const df = await new Deno.Command("df", { args: ["-B1", "--output=avail", mnt] }).output();
      const free = Number(new TextDecoder().decode(df.stdout).split("\n")[1].trim());
      const f = await Deno.open(join(mnt, "filler"), { write: true, create: true });
      await f.truncate(0);
      await f.write(new Uint8Array(Math.max(0, free - 64 * 1024)));
      f.close();
    };
    await assertRejects(
      async () => runOp(await s.env.engine.prepareRestore(s.wid, { snapshotId: s.snap.id })),
      isCode("insufficient_space"),
    );
    assertEquals(diffTrees(s.state().vol, s.b.vol), []);
    assertEquals(diffTrees(s.state().bind, s.b.bind), []);
    assertEquals(leftovers([s.volDir, s.bind]), []);
    assertEquals(await containerState(s.app), "running");
  } finally {
    await s.scratch.cleanup();
    s.env.close();
    await new Deno.Command("umount", { args: [mnt] }).output();
  }
});

Deno.test("an archive without a zstd checksum is hashed again while staging: damage after pre-flight is refused", async () => {
  const s = await setup();
  try {
    // An uncompressed archive has no frame checksum; only its sha256 protects it.
    clearDir(s.volDir);
    populateTree(s.volDir, "A");
    const plain = await runOp(await s.env.engine.prepareCapture(s.wid, { compression: "none" }));
    clearDir(s.volDir);
    populateTree(s.volDir, "BB");
    const file = join(s.env.config.dataDir, "archives", plain.file);
    const before = s.state();
    // Pre-flight hashes the file; then one byte of a file body changes on disk.
    s.env.onFault = async (name) => {
      if (name !== "restore.staging") return;
      const bytes = await Deno.readFile(file);
      const at = new TextDecoder("latin1").decode(bytes).indexOf("hello from A");
      assert(at > 0, "file body found in the plain tar");
      bytes[at] = "H".charCodeAt(0);
      await Deno.writeFile(file, bytes);
    };
    const err = await assertRejects(
      async () => runOp(await s.env.engine.prepareRestore(s.wid, { snapshotId: plain.id })),
      isCode("integrity_error"),
    );
    assert(String(err).includes(plain.sha256), String(err));
    assertEquals(diffTrees(s.state().vol, before.vol), []);
    assertEquals(diffTrees(s.state().bind, before.bind), []);
    assertEquals(leftovers([s.volDir, s.bind]), []);
    assertEquals(await containerState(s.app), "running");
  } finally {
    await s.scratch.cleanup();
    s.env.close();
  }
});

Deno.test("a running container of another workload that mounts the volume blocks the restore", async () => {
  const s = await setup();
  const other = new DockerScratch("vs-rf-other");
  try {
    const vol = (await s.env.engine.getWorkload(s.wid)).volumes.find((v) => v.type === "volume")!;
    await other.container({
      name: "reader",
      labels: { "volsnap.workload": other.prefix },
      args: ["-v", `${vol.name}:/peek`],
    });
    await assertRejects(
      () => s.env.engine.prepareRestore(s.wid, { snapshotId: s.snap.id }),
      (e) =>
        e instanceof AppError && e.code === "workload_busy" && e.message.includes(other.prefix),
    );
    assertEquals(diffTrees(s.state().vol, s.b.vol), []);
  } finally {
    await other.cleanup();
    await s.scratch.cleanup();
    s.env.close();
  }
});

Deno.test("a container that was paused is paused again after the restore", async () => {
  const s = await setup();
  try {
    await new Deno.Command("docker", {
      args: ["pause", s.app],
      env: { DOCKER_HOST: Deno.env.get("DOCKER_HOST")! },
    })
      .output();
    assertEquals(await containerState(s.app), "paused");
    await runOp(await s.env.engine.prepareRestore(s.wid, { snapshotId: s.snap.id }));
    assertEquals(diffTrees(s.state().bind, s.a.bind), []);
    assertEquals(await containerState(s.app), "paused");
    assertEquals(await containerState(s.db), "running");
  } finally {
    await s.scratch.cleanup();
    s.env.close();
  }
});

Deno.test("restoring a subset of volumes swaps only those; unknown keys are refused", async () => {
  const s = await setup();
  try {
    const bindKey = (await s.env.engine.getWorkload(s.wid)).volumes.find((v) =>
      v.type === "bind"
    )!.key;
    await assertRejects(
      () => s.env.engine.prepareRestore(s.wid, { snapshotId: s.snap.id, volumes: ["volume:nope"] }),
      isCode("invalid_input"),
    );
    await runOp(
      await s.env.engine.prepareRestore(s.wid, { snapshotId: s.snap.id, volumes: [bindKey] }),
    );
    assertEquals(diffTrees(s.state().bind, s.a.bind), []);
    assertEquals(diffTrees(s.state().vol, s.b.vol), [], "the other volume is untouched");
  } finally {
    await s.scratch.cleanup();
    s.env.close();
  }
});
