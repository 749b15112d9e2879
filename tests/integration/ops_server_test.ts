/**
 * Schedules, notifications, metrics, drills and pins against the real server
 * (main.ts as a subprocess) and the real Docker engine; webhooks go to a
 * receiver on loopback; /metrics is checked with Debian's promtool.
 */
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { freePort, sleep, TestServer } from "../_helpers/server.ts";

const SECRET = "webhook-secret-0123";

interface Received {
  body: string;
  json: Record<string, unknown>;
  signature: string | null;
  status: number;
}

/** A webhook receiver on loopback; `statuses` are answered in order, then 200. */
function receiver(port: number, statuses: number[] = []) {
  const got: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const body = await req.text();
    const status = statuses.shift() ?? 200;
    got.push({
      body,
      json: JSON.parse(body),
      signature: req.headers.get("x-volsnap-signature"),
      status,
    });
    return new Response(null, { status });
  });
  return { got, close: () => server.shutdown() };
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function promtoolCheck(text: string) {
  const p = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await p.output();
  const msg = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(out.success && msg.trim() === "", `promtool check metrics: ${msg}`);
}

async function metrics(s: TestServer): Promise<string> {
  const r = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${s.token}` } });
  assertEquals(r.status, 200);
  return await r.text();
}

function metricValue(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

async function workload(scratch: DockerScratch, name: string, labels: Record<string, string> = {}) {
  const wid = `${scratch.prefix}-${name}`;
  const vol = await scratch.volume(`${name}-data`);
  await scratch.container({
    name,
    labels: { "volsnap.workload": wid, ...labels },
    args: ["-v", `${vol}:/data`],
  });
  populateTree(await volumeMountpoint(vol), "A");
  await Deno.writeTextFile(join(await volumeMountpoint(vol), "marker.txt"), "ok\n");
  return wid;
}

Deno.test("webhooks: HMAC verified, retried after a 500, a failed capture ok:false, delivered after a restart; /metrics", async () => {
  const port = freePort();
  let rx = receiver(port, [500]);
  const scratch = new DockerScratch("vs-ops-n");
  const s = await TestServer.start({
    env: {
      VOLSNAP_NOTIFY: `http://127.0.0.1:${port}/hook`,
      VOLSNAP_NOTIFY_SECRET: SECRET,
      VOLSNAP_NOTIFY_ON: "all",
    },
  });
  try {
    const wid = await workload(scratch, "a");
    const cap = await s.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id;
    // capture_started is not a webhook message (healthchecks only); the success is.
    const ok = await until("the capture notification after a retry", () => {
      const hits = rx.got.filter((g) => g.json.event === "capture" && g.json.snapshotId === sid);
      return hits.some((h) => h.status === 200) ? hits : undefined;
    });
    assertEquals(ok.map((h) => h.status), [500, 200]);
    for (const h of ok) {
      const want = "sha256=" + createHmac("sha256", SECRET).update(h.body).digest("hex");
      assertEquals(h.signature, want);
      assertEquals(h.json.ok, true);
      assertEquals(h.json.workload, wid);
    }
    assert(!JSON.stringify(rx.got).includes(s.token), "the API token must not be in a message");

    // A failing pre hook fails the capture: notified with ok:false.
    const bad = await workload(scratch, "b", { "volsnap.pre": "echo nope; exit 1" });
    const failed = await s.api("POST", `/api/v1/workloads/${bad}/snapshots?wait=true`, {});
    assert(failed.status >= 400, `capture with a failing pre hook: ${failed.status}`);
    const fail = await until(
      "the failure notification",
      () =>
        rx.got.find((g) =>
          g.json.workload === bad && g.json.event === "capture" && g.status === 200
        ),
    );
    assertEquals(fail.json.ok, false);
    assertMatch(String(fail.json.message), /pre-hook.*exited 1/);

    // /metrics: promtool accepts it; the values match the capture.
    const text = await metrics(s);
    await promtoolCheck(text);
    assertEquals(
      metricValue(text, "volsnap_snapshot_last_size_bytes", `workload="${wid}"`),
      cap.json.snapshot.sizeBytes,
    );
    assertEquals(
      metricValue(text, "volsnap_snapshot_last_success_timestamp_seconds", `workload="${wid}"`),
      Date.parse(cap.json.snapshot.createdAt) / 1000,
    );
    assertEquals(
      metricValue(text, "volsnap_operations_total", `kind="capture",result="succeeded"`),
      1,
    );
    assertEquals(
      metricValue(text, "volsnap_operations_total", `kind="capture",result="failed"`),
      1,
    );
    assertEquals(metricValue(text, "volsnap_downtime_seconds_count", `kind="capture"`), 1);
    assert(
      (await fetch(`${s.url}/metrics`).then(async (r) => (await r.body?.cancel(), r.status))) ===
        401,
    );

    // Receiver down: the failure stays in the outbox, volsnap is killed, the
    // receiver comes back, and the restarted volsnap delivers it.
    await rx.close();
    const again = await s.api("POST", `/api/v1/workloads/${bad}/snapshots?wait=true`, {});
    assert(again.status >= 400);
    await sleep(1500); // at least one failed attempt
    s.kill("SIGKILL");
    await s.exited();
    rx = receiver(port);
    await s.restart();
    const late = await until(
      "delivery after the restart",
      () => rx.got.find((g) => g.json.workload === bad && g.json.ok === false),
    );
    assertEquals(
      late.signature,
      "sha256=" + createHmac("sha256", SECRET).update(late.body).digest("hex"),
    );
  } finally {
    await s.stop();
    await rx.close().catch(() => {});
    await scratch.cleanup();
  }
});

Deno.test("schedule @every 10s captures with origin scheduled; GET /api/v1/schedules; CLI schedules", async () => {
  const scratch = new DockerScratch("vs-ops-s");
  const s = await TestServer.start();
  try {
    const wid = await workload(scratch, "a", { "volsnap.schedule": "@every 10s" });
    const snap = await until("a scheduled snapshot", async () => {
      const r = await s.api("GET", `/api/v1/workloads/${wid}/snapshots`);
      return r.json.snapshots.find((x: { origin: string }) => x.origin === "scheduled");
    }, 120_000);
    assertEquals(snap.workload, wid);
    const list = await until("the schedule's result", async () => {
      const r = await s.api("GET", "/api/v1/schedules");
      const row = r.json.schedules.find((x: { workload: string }) => x.workload === wid);
      return row?.lastResult ? row : undefined;
    }, 120_000);
    assertEquals([list.kind, list.expression, list.lastResult], ["snapshot", "@every 10s", "ok"]);
    assert(Date.parse(list.nextRunAt) > Date.parse(list.lastRunAt), JSON.stringify(list));
    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../main.ts", import.meta.url).pathname, "schedules"],
      env: { VOLSNAP_URL: s.url, VOLSNAP_TOKEN: s.token },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(cli.stdout);
    assert(cli.success, new TextDecoder().decode(cli.stderr));
    assert(out.includes(wid) && out.includes("@every 10s"), out);
  } finally {
    await s.stop();
    await scratch.cleanup();
  }
});

Deno.test("drills: pass, fail after a flipped byte (notified, metric), failing drill-command; pins survive retention", async () => {
  const port = freePort();
  const rx = receiver(port);
  const scratch = new DockerScratch("vs-ops-d");
  const s = await TestServer.start({ env: { VOLSNAP_NOTIFY: `http://127.0.0.1:${port}/d` } });
  try {
    const wid = await workload(scratch, "a", {
      "volsnap.drill-command": 'test "$(cat /data/marker.txt)" = ok',
      "volsnap.keep-last": "2",
    });
    const cap = await s.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201, JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id;
    const pass = await s.api("POST", `/api/v1/snapshots/${sid}/drill?wait=true`);
    assertEquals(pass.status, 200, JSON.stringify(pass.json));
    assertEquals([pass.json.drill.ok, pass.json.drill.commandRan, pass.json.drill.volumesChecked], [
      true,
      true,
      1,
    ]);
    const w = await s.api("GET", `/api/v1/workloads/${wid}`);
    assertEquals(w.json.workload.lastVerifiedRestorable.id, sid);
    assertEquals((await s.api("GET", `/api/v1/snapshots/${sid}`)).json.snapshot.lastDrillOk, true);
    const scratchDir = join(s.dataDir, "scratch");
    const left = await Array.fromAsync(Deno.readDir(scratchDir)).catch(() => []);
    assertEquals(left.length, 0, "the scratch dir is deleted after a drill");

    // Pin it, then capture past keep-last=2: the pinned one survives.
    assertEquals((await s.api("POST", `/api/v1/snapshots/${sid}/pin`)).status, 200);
    for (let i = 0; i < 3; i++) {
      assertEquals(
        (await s.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {})).status,
        201,
      );
    }
    const ids = (await s.api("GET", `/api/v1/workloads/${wid}/snapshots`)).json.snapshots
      .map((x: { id: string }) => x.id);
    assert(ids.includes(sid) && ids.length === 3, `pinned survives: ${ids}`);
    assertEquals((await s.api("DELETE", `/api/v1/snapshots/${sid}/pin`)).json.pinned, false);

    // Flip one byte of the newest archive: the drill fails, is notified, and the metric shows it.
    const newest = (await s.api("GET", `/api/v1/workloads/${wid}/snapshots`)).json.snapshots[0];
    const file = join(
      s.archivesDir(),
      wid,
      (await Array.fromAsync(Deno.readDir(join(s.archivesDir(), wid))))
        .map((e) => e.name).find((n) => n.startsWith(newest.id))!,
    );
    const bytes = await Deno.readFile(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await Deno.writeFile(file, bytes);
    const bad = await s.api("POST", `/api/v1/snapshots/${newest.id}/drill?wait=true`);
    assertEquals(bad.status, 200);
    assertEquals(bad.json.drill.ok, false);
    const note = await until(
      "the drill failure notification",
      () => rx.got.find((g) => g.json.event === "drill" && g.json.snapshotId === newest.id),
    );
    assertEquals(note.json.ok, false);
    const text = await metrics(s);
    await promtoolCheck(text);
    assertEquals(metricValue(text, "volsnap_drill_last_ok", `workload="${wid}"`), 0);
    assert(
      metricValue(text, "volsnap_drill_last_success_timestamp_seconds", `workload="${wid}"`)! > 0,
    );

    // A drill command that exits non-zero fails the drill with its output.
    const wid2 = await workload(scratch, "b", { "volsnap.drill-command": "echo checking; exit 3" });
    const cap2 = await s.api("POST", `/api/v1/workloads/${wid2}/snapshots?wait=true`, {});
    const cmdFail = await s.api(
      "POST",
      `/api/v1/snapshots/${cap2.json.snapshot.id}/drill?wait=true`,
    );
    assertEquals(cmdFail.json.drill.ok, false);
    assertMatch(cmdFail.json.drill.error, /drill command exited 3: checking/);
    assertEquals(
      (await s.api("GET", `/api/v1/workloads/${wid2}`)).json.workload.lastVerifiedRestorable,
      null,
    );
  } finally {
    await s.stop();
    await rx.close();
    await scratch.cleanup();
  }
});
