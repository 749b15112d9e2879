/** The CLI against a real Deno.serve HTTP server (createApp over the fake engine). */
import { createHash } from "node:crypto";
import { assert, assertEquals, assertStringIncludes } from "../_fakes/assert.ts";
import { ApiClient } from "../../cli/client.ts";
import { type CliIo, runCli } from "../../cli/commands.ts";
import { ARCHIVE_BYTES, fakeSnapshot } from "../_fakes/fake_engine.ts";
import { makeHarness, TEST_TOKEN } from "../_fakes/harness.ts";

const ARCHIVE_SHA = createHash("sha256").update(ARCHIVE_BYTES).digest("hex");

async function withServer(
  fn: (ctx: {
    h: Awaited<ReturnType<typeof makeHarness>>;
    run: (argv: string[], opts?: { tty?: boolean; answer?: string }) => Promise<{
      code: number;
      out: string;
      err: string;
      asked: string[];
    }>;
  }) => Promise<void>,
) {
  const h = await makeHarness();
  h.engine.snapshots = [fakeSnapshot("snap_1", { sha256: ARCHIVE_SHA })];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, h.app.fetch);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const run = async (argv: string[], opts: { tty?: boolean; answer?: string } = {}) => {
    let out = "";
    let err = "";
    const asked: string[] = [];
    const io: CliIo = {
      env: { VOLSNAP_URL: url, VOLSNAP_TOKEN: TEST_TOKEN },
      out: (t) => out += t,
      err: (t) => err += t,
      isTTY: opts.tty ?? false,
      ask: (q) => {
        asked.push(q);
        return Promise.resolve(opts.answer ?? null);
      },
      stdout: () => new WritableStream({ write: (c) => void (out += new TextDecoder().decode(c)) }),
      makeClient: (o) => new ApiClient(o),
    };
    const code = await runCli(argv, io);
    return { code, out, err, asked };
  };
  try {
    await fn({ h, run });
  } finally {
    await server.shutdown();
    await h.close();
  }
}

Deno.test("cli lists workloads as a table and as JSON", async () => {
  await withServer(async ({ run }) => {
    const t = await run(["workloads"]);
    assertEquals(t.code, 0);
    assertStringIncludes(t.out, "WORKLOAD  CONTAINERS");
    assertStringIncludes(t.out, "app       1/1 running");
    const j = await run(["workloads", "--json"]);
    assertEquals(JSON.parse(j.out).workloads[0].id, "app");
    const w = await run(["workload", "app"]);
    assertStringIncludes(w.out, "holds no persistent data");
  });
});

Deno.test("cli errors are one line and exit 1; usage errors exit 2", async () => {
  await withServer(async ({ run }) => {
    const r = await run(["workload", "nope"]);
    assertEquals(r.code, 1);
    assertEquals(r.err, "volsnap: not_found: workload nope not found\n");
    const u = await run(["workload"]);
    assertEquals(u.code, 2);
    const bad = await run(["workloads", "--url", "http://127.0.0.1:1"]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.err, "cannot reach volsnap at http://127.0.0.1:1");
    assertEquals(bad.err.split("\n").length, 2);
  });
});

Deno.test("cli snapshot polls the operation to its result", async () => {
  await withServer(async ({ h, run }) => {
    const r = await run(["snapshot", "app", "--label", "nightly", "--quiesce", "pause", "--json"]);
    assertEquals(r.code, 0, r.err);
    assertEquals(JSON.parse(r.out).snapshot.label, "nightly");
    assertEquals(h.engine.calls[0], ["prepareCapture", "app", {
      label: "nightly",
      quiesce: "pause",
    }]);
  });
});

Deno.test("cli restore refuses without --yes off a terminal and asks on one", async () => {
  await withServer(async ({ h, run }) => {
    const refused = await run(["restore", "app", "snap_1"]);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.err, "pass --yes");
    const wrong = await run(["restore", "app", "snap_1"], { tty: true, answer: "yes" });
    assertEquals(wrong.code, 1);
    assertStringIncludes(wrong.asked[0], "Type the snapshot id");
    assert(!h.engine.calls.some((c) => c[0] === "prepareRestore"));
    const ok = await run(["restore", "app", "snap_1"], { tty: true, answer: "snap_1" });
    assertEquals(ok.code, 0, ok.err);
    assertStringIncludes(ok.out, "restored snap_1 into app");
    assertStringIncludes(ok.out, "previous data kept as snapshot snap_pre");
    const yes = await run(["restore", "app", "snap_1", "--yes", "--volume", "volume:app_data"]);
    assertEquals(yes.code, 0, yes.err);
    const last = h.engine.calls.filter((c) => c[0] === "prepareRestore").at(-1)!;
    assertEquals(last[2], { snapshotId: "snap_1", volumes: ["volume:app_data"] });
    const dry = await run(["restore", "app", "snap_1", "--dry-run"]);
    assertEquals(dry.code, 0, dry.err);
    assertStringIncludes(dry.out, "containers to stop: app-db-1");
  });
});

Deno.test("cli download writes a verified file; a wrong sha256 leaves nothing", async () => {
  await withServer(async ({ h, run }) => {
    const dir = await Deno.makeTempDir();
    try {
      const r = await run(["download", "snap_1", "-o", `${dir}/a.tar.zst`]);
      assertEquals(r.code, 0, r.err);
      assertEquals(await Deno.readFile(`${dir}/a.tar.zst`), ARCHIVE_BYTES);
      assertEquals((await Deno.stat(`${dir}/a.tar.zst`)).mode! & 0o777, 0o600);
      const s = await run(["download", "snap_1", "-o", "-"]);
      assertEquals(s.out, "hello world");
      h.engine.snapshots = [fakeSnapshot("snap_1", { sha256: "00".repeat(32) })];
      const bad = await run(["download", "snap_1", "-o", `${dir}/b.tar.zst`]);
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.err, "download corrupted");
      const names = [];
      for await (const e of Deno.readDir(dir)) names.push(e.name);
      assertEquals(names, ["a.tar.zst"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("cli import streams a 200 MiB file with Content-Length into Deno.serve", async () => {
  await withServer(async ({ h, run }) => {
    const dir = await Deno.makeTempDir();
    try {
      const size = 200 * 1024 * 1024;
      const f = await Deno.open(`${dir}/big.tar.zst`, { write: true, create: true });
      const chunk = new Uint8Array(4 << 20).fill(0x5a);
      for (let n = 0; n < size; n += chunk.length) await f.write(chunk);
      f.close();
      const t0 = performance.now();
      const r = await run(["import", "app", `${dir}/big.tar.zst`, "--json"]);
      const ms = performance.now() - t0;
      assertEquals(r.code, 0, r.err);
      assertEquals(h.engine.importedBytes, size);
      assertEquals(JSON.parse(r.out).snapshot.origin, "imported");
      console.log(`import of 200 MiB took ${Math.round(ms)} ms`);
      assert(ms < 30_000, `upload stalled: ${ms} ms`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
