import { assert, assertEquals, assertMatch, assertStringIncludes } from "../_fakes/assert.ts";
import { AppError } from "../../src/core/errors.ts";
import { fakeOp } from "../_fakes/fake_engine.ts";
import { makeHarness } from "../_fakes/harness.ts";

const json = (body: unknown) => ({
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

async function pollUntilSettled(h: Awaited<ReturnType<typeof makeHarness>>, location: string) {
  for (let i = 0; i < 200; i++) {
    const res = await h.request(location);
    assertEquals(res.status, 200);
    const { operation } = await res.json();
    if (operation.state !== "running") return operation;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("operation never settled");
}

Deno.test("api requires the bearer token; healthz does not", async () => {
  const h = await makeHarness();
  try {
    let res = await h.request("/api/v1/workloads", {}, null);
    assertEquals(res.status, 401);
    assertEquals((await res.json()).error.code, "unauthorized");
    res = await h.request("/api/v1/workloads", {}, "wrong-token-wrong-token-wrong");
    assertEquals(res.status, 401);
    await res.body?.cancel();
    res = await h.app.request("/api/v1/workloads", { headers: { Authorization: "Basic abc" } });
    assertEquals(res.status, 401);
    await res.body?.cancel();
    res = await h.request("/healthz", {}, null);
    assertEquals(res.status, 200);
    assertEquals(await res.json(), {
      status: "ok",
      version: "9.9.9",
      docker: { reachable: true, version: "20.10.24" },
    });
  } finally {
    await h.close();
  }
});

Deno.test("healthz reports docker unreachable as degraded", async () => {
  const h = await makeHarness();
  try {
    h.engine.health = () => Promise.reject(new AppError("docker_unavailable", "no socket"));
    const res = await h.request("/healthz", {}, null);
    const body = await res.json();
    assertEquals(body.status, "degraded");
    assertEquals(body.docker.reachable, false);
  } finally {
    await h.close();
  }
});

Deno.test("workloads list and detail use stable field names; unknown is 404", async () => {
  const h = await makeHarness();
  try {
    let res = await h.request("/api/v1/workloads");
    const list = await res.json();
    assertEquals(list.workloads[0].id, "app");
    assertEquals(list.workloads[0].running, 1);
    assertEquals(list.workloads[0].volumes, ["volume:app_data"]);
    res = await h.request("/api/v1/workloads/app");
    const { workload } = await res.json();
    assertEquals(workload.skipped[0].reason, "holds no persistent data");
    assertEquals(workload.volumes[0].destinations[0].destination, "/data");
    res = await h.request("/api/v1/workloads/nope");
    assertEquals(res.status, 404);
    assertEquals((await res.json()).error.code, "not_found");
  } finally {
    await h.close();
  }
});

Deno.test("invalid params, queries and bodies are 400 with a message", async () => {
  const h = await makeHarness();
  try {
    const cases: [string, RequestInit][] = [
      ["/api/v1/workloads/..%2Fetc", {}],
      ["/api/v1/workloads/-bad", {}],
      ["/api/v1/snapshots/bad.id", {}],
      ["/api/v1/operations/nope", {}],
      ["/api/v1/events?limit=0", {}],
      ["/api/v1/events?limit=abc", {}],
      ["/api/v1/events?bogus=1", {}],
      ["/api/v1/workloads/app/snapshots", json({ quiesce: "freeze" })],
      ["/api/v1/workloads/app/snapshots", json({ unknownField: 1 })],
      ["/api/v1/workloads/app/snapshots?wait=maybe", json({})],
      ["/api/v1/workloads/app/snapshots", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{not json",
      }],
      ["/api/v1/workloads/app/restore", json({ snapshotId: "../x" })],
      ["/api/v1/workloads/app/restore", json({})],
    ];
    for (const [path, init] of cases) {
      const res = await h.request(path, init);
      assertEquals(res.status, 400, path);
      const body = await res.json();
      assertEquals(body.error.code, "invalid_input", path);
      assert(body.error.message.length > 0);
    }
    assertEquals(h.engine.calls.length, 0);
  } finally {
    await h.close();
  }
});

Deno.test("capture returns 202 with Location and the operation completes", async () => {
  const h = await makeHarness();
  try {
    const res = await h.request("/api/v1/workloads/app/snapshots", json({ label: "nightly" }));
    assertEquals(res.status, 202);
    const location = res.headers.get("Location")!;
    assertMatch(location, /^\/api\/v1\/operations\/op_[0-9a-f]{16}$/);
    const { operation } = await res.json();
    assertEquals(operation.kind, "capture");
    assertEquals(operation.workload, "app");
    const done = await pollUntilSettled(h, location);
    assertEquals(done.state, "succeeded");
    assertEquals(done.result.label, "nightly");
    assertEquals(done.result.workload, "app");
    assert(!("file" in done.result), "internal file name must not leak");
    assertEquals(done.bytesDone, 5);
    const row = await h.catalog.getOperation(operation.id);
    assertEquals(row?.state, "succeeded");
  } finally {
    await h.close();
  }
});

Deno.test("capture with wait=true returns 201 and the snapshot", async () => {
  const h = await makeHarness();
  try {
    const res = await h.request("/api/v1/workloads/app/snapshots?wait=true", json({}));
    assertEquals(res.status, 201);
    const body = await res.json();
    assertEquals(body.snapshot.workload, "app");
    assertEquals(body.operation.state, "succeeded");
    assert(res.headers.get("Location"));
  } finally {
    await h.close();
  }
});

Deno.test("a busy workload is 409 before any operation starts", async () => {
  const h = await makeHarness();
  try {
    h.engine.prepareCapture = () =>
      Promise.reject(new AppError("workload_busy", "workload app is busy (restore running)"));
    const res = await h.request("/api/v1/workloads/app/snapshots", json({}));
    assertEquals(res.status, 409);
    assertEquals((await res.json()).error.code, "workload_busy");
    assertEquals(res.headers.get("Location"), null);
  } finally {
    await h.close();
  }
});

Deno.test("errors map to their status: 413 422 503 507 and a failed wait", async () => {
  const h = await makeHarness();
  try {
    const cases: [AppError, number][] = [
      [new AppError("too_large", "archive exceeds 1 TiB"), 413],
      [new AppError("bad_archive", "entry escapes its volume"), 422],
      [new AppError("docker_unavailable", "cannot reach Docker"), 503],
      [new AppError("insufficient_space", "not enough disk", { hint: "free 3 GiB" }), 507],
    ];
    for (const [err, status] of cases) {
      h.engine.prepareCapture = () => Promise.resolve(fakeOp("capture", () => Promise.reject(err)));
      const res = await h.request("/api/v1/workloads/app/snapshots?wait=true", json({}));
      assertEquals(res.status, status);
      const body = await res.json();
      assertEquals(body.error.code, err.code);
      assertEquals(body.error.message, err.message);
      assertEquals(body.operation.state, "failed");
      if (err.hint) assertEquals(body.error.hint, err.hint);
      // The same error thrown before the operation maps the same way.
      h.engine.listWorkloads = () => Promise.reject(err);
      const res2 = await h.request("/api/v1/workloads");
      assertEquals(res2.status, status);
      await res2.body?.cancel();
    }
  } finally {
    await h.close();
  }
});

Deno.test("unexpected errors are 500 'internal error' without a stack; the stack is logged", async () => {
  const h = await makeHarness();
  try {
    h.engine.listWorkloads = () => Promise.reject(new TypeError("secret detail at /srv/x.ts:1"));
    const res = await h.request("/api/v1/workloads");
    assertEquals(res.status, 500);
    const text = await res.text();
    assertEquals(JSON.parse(text), { error: { code: "internal", message: "internal error" } });
    assert(!text.includes("secret") && !text.includes(".ts:"));
    assertStringIncludes(h.logged.join("\n"), "secret detail");
    assertStringIncludes(h.logged.join("\n"), "stack");
  } finally {
    await h.close();
  }
});

Deno.test("restore needs X-Confirm-Restore equal to the snapshot id (412)", async () => {
  const h = await makeHarness();
  try {
    let res = await h.request("/api/v1/workloads/app/restore", json({ snapshotId: "snap_1" }));
    assertEquals(res.status, 412);
    const body = await res.json();
    assertEquals(body.error.code, "confirmation_required");
    assertStringIncludes(body.error.hint, "X-Confirm-Restore: snap_1");
    const init = json({ snapshotId: "snap_1" });
    res = await h.request("/api/v1/workloads/app/restore", {
      ...init,
      headers: { ...init.headers, "X-Confirm-Restore": "snap_2" },
    });
    assertEquals(res.status, 412);
    await res.body?.cancel();
    assert(!h.engine.calls.some((c) => c[0] === "prepareRestore"));
    res = await h.request("/api/v1/workloads/app/restore?wait=true", {
      ...init,
      headers: { ...init.headers, "X-Confirm-Restore": "snap_1" },
    });
    assertEquals(res.status, 200);
    const ok = await res.json();
    assertEquals(ok.restore.preRestoreSnapshotId, "snap_pre");
  } finally {
    await h.close();
  }
});

Deno.test("restore dry run returns the plan without confirmation", async () => {
  const h = await makeHarness();
  try {
    const res = await h.request(
      "/api/v1/workloads/app/restore",
      json({ snapshotId: "snap_1", dryRun: true, volumes: ["volume:app_data"] }),
    );
    assertEquals(res.status, 200);
    const { plan } = await res.json();
    assertEquals(plan.containersToStop, ["app-db-1"]);
    assertEquals(h.engine.calls.map((c) => c[0]), ["planRestore"]);
  } finally {
    await h.close();
  }
});

Deno.test("archive download has length, sha256 ETag, disposition; If-None-Match is 304", async () => {
  const h = await makeHarness();
  try {
    let res = await h.request("/api/v1/snapshots/snap_1/archive");
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("Content-Length"), "11");
    assertEquals(res.headers.get("ETag"), `"${"ab".repeat(32)}"`);
    assertEquals(res.headers.get("Content-Type"), "application/zstd");
    assertEquals(
      res.headers.get("Content-Disposition"),
      'attachment; filename="snap_1.tar.zst"',
    );
    assertEquals(await res.text(), "hello world");
    res = await h.request("/api/v1/snapshots/snap_1/archive", {
      headers: { "If-None-Match": `"${"ab".repeat(32)}"` },
    });
    assertEquals(res.status, 304);
    assertEquals(await res.text(), "");
    assertEquals(h.engine.calls.filter((c) => c[0] === "openArchive").length, 1);
    res = await h.request("/api/v1/snapshots/missing/archive");
    assertEquals(res.status, 404);
    await res.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("snapshot detail includes the manifest; list omits it; delete is 204", async () => {
  const h = await makeHarness();
  try {
    let res = await h.request("/api/v1/snapshots/snap_1");
    assertEquals((await res.json()).snapshot.manifest.format, "volsnap/1");
    res = await h.request("/api/v1/workloads/app/snapshots");
    const { snapshots } = await res.json();
    assertEquals(snapshots.length, 1);
    assert(!("manifest" in snapshots[0]));
    res = await h.request("/api/v1/snapshots/snap_1", { method: "DELETE" });
    assertEquals(res.status, 204);
    res = await h.request("/api/v1/snapshots/snap_1", { method: "DELETE" });
    assertEquals(res.status, 404);
    await res.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("verify runs as an operation", async () => {
  const h = await makeHarness();
  try {
    const res = await h.request("/api/v1/snapshots/snap_1/verify", { method: "POST" });
    assertEquals(res.status, 202);
    const op = await pollUntilSettled(h, res.headers.get("Location")!);
    assertEquals(op.kind, "verify");
    assertEquals(op.result.ok, true);
    const unknown = await h.request("/api/v1/operations/op_0000000000000000");
    assertEquals(unknown.status, 404);
    await unknown.body?.cancel();
  } finally {
    await h.close();
  }
});

Deno.test("import streams the raw body into the engine and answers 201", async () => {
  const h = await makeHarness();
  try {
    const data = new Uint8Array(300_000).fill(7);
    const res = await h.request("/api/v1/workloads/app/snapshots/import", {
      method: "POST",
      headers: { "Content-Type": "application/zstd", "Content-Length": String(data.length) },
      body: data,
    });
    assertEquals(res.status, 201);
    const body = await res.json();
    assertEquals(body.snapshot.origin, "imported");
    assertEquals(body.operation.state, "succeeded");
    assertEquals(h.engine.importedBytes, data.length);
    assertEquals(h.engine.calls.find((c) => c[0] === "prepareImport")?.[2], data.length);
    // JSON is not an archive.
    const bad = await h.request("/api/v1/workloads/app/snapshots/import", json({}));
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
    // A chunked upload (no Content-Length) streams through with an unknown size.
    const chunked = await h.request("/api/v1/workloads/app/snapshots/import", {
      method: "POST",
      body: ReadableStream.from([data]),
    });
    assertEquals(chunked.status, 201);
    await chunked.body?.cancel();
    assertEquals(h.engine.calls.filter((c) => c[0] === "prepareImport").at(-1)?.[2], undefined);
  } finally {
    await h.close();
  }
});

Deno.test("events are filtered by workload and paged by id", async () => {
  const h = await makeHarness();
  try {
    for (let i = 0; i < 5; i++) {
      await h.catalog.addEvent({
        time: new Date().toISOString(),
        workload: i % 2 ? "app" : "other",
        kind: "snapshot.created",
        message: `event ${i}`,
      });
    }
    let res = await h.request("/api/v1/events?workload=app");
    let body = await res.json();
    assertEquals(body.events.map((e: { message: string }) => e.message), ["event 3", "event 1"]);
    res = await h.request("/api/v1/events?limit=2");
    body = await res.json();
    assertEquals(body.events.map((e: { message: string }) => e.message), ["event 4", "event 3"]);
    res = await h.request(`/api/v1/events?limit=2&before=${body.nextBefore}`);
    body = await res.json();
    assertEquals(body.events.map((e: { message: string }) => e.message), ["event 2", "event 1"]);
  } finally {
    await h.close();
  }
});

Deno.test("unknown routes are a JSON 404", async () => {
  const h = await makeHarness();
  try {
    const res = await h.request("/api/v1/nothing");
    assertEquals(res.status, 404);
    assertEquals((await res.json()).error.code, "not_found");
  } finally {
    await h.close();
  }
});

Deno.test("GET / serves the console without auth, with a strict CSP", async () => {
  const h = await makeHarness();
  try {
    const res = await h.request("/", { headers: {} });
    assertEquals(res.status, 200);
    assertStringIncludes(res.headers.get("content-type") ?? "", "text/html");
    const csp = res.headers.get("content-security-policy") ?? "";
    assertStringIncludes(csp, "default-src 'none'");
    assertEquals(csp.includes("unsafe-inline"), false);
    assertStringIncludes(await res.text(), "/console/main.js");
  } finally {
    await h.close();
  }
});
