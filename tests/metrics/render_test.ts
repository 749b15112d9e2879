import { assert, assertMatch } from "../_helpers/assert.ts";
import { Histogram, renderMetrics } from "../../src/metrics/render.ts";

Deno.test("renderMetrics() output passes promtool check metrics", async () => {
  const downtime = new Histogram();
  downtime.observe("capture", 0.42);
  downtime.observe("capture", 3);
  downtime.observe("restore", 12);
  const text = renderMetrics({
    version: "1.2.3",
    snapshots: [{
      workload: 'we"ird\\name',
      lastSuccessAt: "2026-06-01T00:00:00.000Z",
      durationSeconds: 1.5,
      sizeBytes: 1234,
      downtimeSeconds: 0.42,
    }],
    operations: [{ kind: "capture", result: "succeeded", count: 3 }],
    downtime,
    drills: [{ workload: "app", lastSuccessAt: "2026-06-01T01:00:00.000Z", lastOk: false }],
    remotePendingUploads: 0,
    blocked: [{ workload: "app", blocked: true }],
  });
  assertMatch(
    text,
    /^volsnap_snapshot_last_success_timestamp_seconds\{workload="we\\"ird\\\\name"\} 1780272000$/m,
  );
  assertMatch(text, /^volsnap_downtime_seconds_bucket\{kind="capture",le="0.5"\} 1$/m);
  assertMatch(text, /^volsnap_downtime_seconds_bucket\{kind="capture",le="\+Inf"\} 2$/m);
  assertMatch(text, /^volsnap_drill_last_ok\{workload="app"\} 0$/m);
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
  assert(out.success && msg.trim() === "", `promtool: ${msg}\n${text}`);
});
