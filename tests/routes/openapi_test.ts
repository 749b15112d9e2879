import { assert, assertEquals } from "../_helpers/assert.ts";
import { makeHarness } from "../_fakes/harness.ts";

Deno.test("GET /api/v1/openapi.json documents every registered route (OpenAPI 3.1)", async () => {
  const h = await makeHarness();
  try {
    const res = await h.request("/api/v1/openapi.json");
    assertEquals(res.status, 200);
    const doc = await res.json();
    assertEquals(doc.openapi, "3.1.0");
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
      for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${path}`);
    }
    // Middleware is registered as ALL; HEAD rides on GET.
    const routes = h.app.routes.filter((r) => r.method !== "ALL");
    assert(routes.length >= 20, `only ${routes.length} routes registered`);
    const missing = routes
      .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`)
      .filter((r) => !documented.has(r) && r !== "GET /api/v1/openapi.json");
    assertEquals(missing, [], "routes missing from the OpenAPI document");
    // The document carries the validation: the capture body and the id patterns.
    const capture = doc.paths["/api/v1/workloads/{wid}/snapshots"].post;
    const body = capture.requestBody.content["application/json"].schema;
    assertEquals(body.additionalProperties, false);
    assertEquals(body.properties.quiesce.enum, ["stop", "pause", "none"]);
    const wid = capture.parameters.find((p: { name: string }) => p.name === "wid");
    assert(typeof wid.schema.pattern === "string", JSON.stringify(wid));
    assert(doc.paths["/metrics"]?.get && doc.paths["/api/v1/snapshots/{sid}/pin"]?.delete);
  } finally {
    await h.close();
  }
});

Deno.test("validation comes from the documented schemas: a bad id or body is a 400 invalid_input", async () => {
  const h = await makeHarness();
  try {
    const bad = await h.request("/api/v1/snapshots/bad%20id");
    assertEquals(bad.status, 400);
    const e = await bad.json();
    assertEquals(e.error.code, "invalid_input");
    assert(e.error.message.startsWith("invalid snapshot id"), e.error.message);
    const body = await h.request("/api/v1/workloads/app/snapshots", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ quiesce: "freeze" }),
    });
    assertEquals(body.status, 400);
    assert((await body.json()).error.message.startsWith("invalid body.quiesce"));
    const broken = await h.request("/api/v1/workloads/app/snapshots", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{nope",
    });
    assertEquals(broken.status, 400);
    assertEquals((await broken.json()).error.code, "invalid_input");
  } finally {
    await h.close();
  }
});
