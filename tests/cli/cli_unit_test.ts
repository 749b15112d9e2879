import { assert, assertEquals, assertStringIncludes, assertThrows } from "../_fakes/assert.ts";
import { parseCommand, resolveConnection } from "../../cli/commands.ts";
import {
  formatBytes,
  formatDuration,
  progressLine,
  renderSnapshots,
  renderWorkloads,
  table,
} from "../../cli/render.ts";
import { ConfigError } from "../../src/config/config.ts";

Deno.test("commands parse positional args, value flags, switches and repeats", () => {
  const r = parseCommand([
    "restore",
    "app",
    "snap_1",
    "--dry-run",
    "--volume",
    "volume:a",
    "--volume=bind:/srv/b",
    "--json",
  ]);
  assertEquals(r.name, "restore");
  assertEquals(r.args, { wid: "app", sid: "snap_1" });
  assertEquals(r.flags.get("volume"), ["volume:a", "bind:/srv/b"]);
  assert(r.flags.has("dry-run") && r.json);
  const d = parseCommand(["download", "snap_1", "-o", "-"]);
  assertEquals(d.flags.get("o"), ["-"]);
  const s = parseCommand(["snapshot", "app", "--quiesce", "pause", "--label", "before upgrade"]);
  assertEquals(s.flags.get("label"), ["before upgrade"]);
});

Deno.test("bad command lines are usage errors with one line", () => {
  const cases: [string[], string][] = [
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["restore", "app"], "usage: volsnap restore <wid> <sid>"],
    [["workloads", "extra"], "usage: volsnap workloads"],
    [["snapshot", "app", "--force"], "snapshot: unknown option --force"],
    [["snapshot", "app", "--label"], "--label needs a value"],
    [["restore", "a", "b", "--yes=please"], "--yes takes no value"],
  ];
  for (const [argv, part] of cases) {
    assertThrows(() => parseCommand(argv), (e) => {
      assert(e instanceof ConfigError);
      assertStringIncludes(e.message, part);
      assert(!e.message.includes("\n"));
    });
  }
});

Deno.test("connection comes from flags, then env, then the data dir token file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "file-token\n");
    let c = await resolveConnection(new Map(), { VOLSNAP_DATA_DIR: dir });
    assertEquals(c, { url: "http://127.0.0.1:7780", token: "file-token" });
    c = await resolveConnection(new Map(), {
      VOLSNAP_DATA_DIR: dir,
      VOLSNAP_LISTEN: "0.0.0.0:9999",
      VOLSNAP_TOKEN: "env-token",
    });
    assertEquals(c, { url: "http://127.0.0.1:9999", token: "env-token" });
    c = await resolveConnection(
      new Map([["url", ["http://h:1"]], ["token", ["flag-token"]]]),
      { VOLSNAP_URL: "http://other:2", VOLSNAP_TOKEN: "env-token" },
    );
    assertEquals(c, { url: "http://h:1", token: "flag-token" });
    let msg = "";
    try {
      await resolveConnection(new Map(), { VOLSNAP_DATA_DIR: `${dir}/none` });
    } catch (e) {
      msg = (e as Error).message;
    }
    assertStringIncludes(msg, "set VOLSNAP_TOKEN or --token");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tables align columns and neutralise control characters", () => {
  const t = table(["A", "LONGER"], [["x", "1"], ["yyyy", "\x1b[31mred"]]);
  assertEquals(t, "A     LONGER\nx     1\nyyyy  ?[31mred\n");
  assertEquals(
    renderWorkloads([{
      id: "app",
      containers: [{ name: "a", state: "running" }, { name: "b", state: "exited" }],
      running: 1,
      volumes: ["volume:data"],
      skipped: 2,
    }]),
    "WORKLOAD  CONTAINERS   VOLUMES      SKIPPED\napp       1/2 running  volume:data  2\n",
  );
  const s = renderSnapshots([{
    id: "s1",
    workload: "app",
    createdAt: "2026-11-22T05:00:00.123Z",
    origin: "capture",
    label: null,
    sizeBytes: 3 * 1024 * 1024,
    fileCount: 12,
    quiesce: "stop",
    downtimeMs: 1500,
    consistent: false,
    lastVerifyOk: true,
  }]);
  assertStringIncludes(s, "2026-11-22T05:00:00Z  capture (inconsistent)  3.0 MiB  12");
  assertStringIncludes(s, "1.5s      ok");
});

Deno.test("units and progress lines read naturally", () => {
  assertEquals(formatBytes(512), "512 B");
  assertEquals(formatBytes(1536), "1.5 KiB");
  assertEquals(formatBytes(200 * 2 ** 20), "200 MiB");
  assertEquals(formatDuration(250), "250ms");
  assertEquals(formatDuration(125_000), "2m5s");
  assertEquals(
    progressLine({
      kind: "capture",
      phase: "archiving",
      bytesDone: 2 ** 20,
      bytesTotal: 4 * 2 ** 20,
    }),
    "capture: archiving 1.0 MiB / 4.0 MiB 25%",
  );
});
