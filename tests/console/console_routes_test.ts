/**
 * Serving the console: the shell with a strict CSP and the language picked
 * from Accept-Language, every module the page imports served from the
 * binary, and the operation events stream.
 */
import { assert, assertEquals, assertMatch } from "../_helpers/assert.ts";
import { consoleRoutes, pickLanguage } from "../../routes/console.ts";
import { operationEventStream } from "../../routes/operation_events.ts";
import type { OperationView } from "../../src/operations/runner.ts";

Deno.test("pickLanguage() takes the best Accept-Language the catalog has", () => {
  const cases: [string | undefined, string][] = [
    [undefined, "en"],
    ["", "en"],
    ["ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"],
    ["en-GB,ru;q=0.5", "en"],
    ["de-DE,de;q=0.9,ru;q=0.4", "ru"],
    ["ru;q=0, en", "en"],
    ["fr", "en"],
    ["en;q=0.2, ru;q=0.8", "ru"],
  ];
  for (const [header, want] of cases) assertEquals(pickLanguage(header), want, String(header));
});

Deno.test("GET / serves the shell with a strict CSP and the Accept-Language pick", async () => {
  const app = consoleRoutes();
  const res = await app.request("/", { headers: { "Accept-Language": "ru-RU,ru;q=0.9" } });
  assertEquals(res.status, 200);
  const csp = res.headers.get("Content-Security-Policy") ?? "";
  assert(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), csp);
  assertMatch(csp, /default-src 'none'/);
  assertMatch(csp, /script-src 'self'/);
  const html = await res.text();
  assertMatch(html, /<html lang="ru">/);
  assert(!/<script>|<script [^>]*>[^<]/.test(html), "no inline script");
  assert(!/style=|<style/.test(html), "no inline style");
  assert(!/https?:\/\//.test(html.replace(/http:\/\/www\.w3\.org/g, "")), "nothing from elsewhere");
});

Deno.test("every module the page loads is served as JavaScript from the binary", async () => {
  const app = consoleRoutes();
  const html = await (await app.request("/")).text();
  const queue = [...html.matchAll(/(?:src|href)="\/console\/([^"]+)"/g)].map((m) => m[1]);
  assert(queue.includes("main.js") && queue.includes("console.css"), queue.join());
  const seen = new Set<string>();
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const res = await app.request(`/console/${file}`);
    assertEquals(res.status, 200, file);
    const body = await res.text();
    if (file.endsWith(".js")) {
      assertMatch(res.headers.get("Content-Type") ?? "", /^text\/javascript/);
      for (const m of body.matchAll(/from "\.\/([\w.]+)"/g)) queue.push(m[1]);
      assert(!/https?:\/\/(?!www\.w3\.org)/.test(body), `${file} loads nothing from elsewhere`);
    }
  }
  const onDisk = [...Deno.readDirSync(new URL("../../routes/console/", import.meta.url))]
    .map((e) => e.name).filter((n) => n !== "index.html").sort();
  assertEquals([...seen].sort(), onDisk, "every file is reachable and served");
  assertEquals((await app.request("/console/../deno.json")).status, 404);
  assertEquals((await app.request("/console/nope.js")).status, 404);
});

function view(over: Partial<OperationView>): OperationView {
  return {
    id: "op_0123456789abcdef",
    kind: "restore",
    workload: "w",
    snapshotId: "s",
    state: "running",
    phase: "staging",
    bytesDone: 0,
    bytesTotal: 100,
    result: null,
    error: null,
    startedAt: "2026-12-01T00:00:00.000Z",
    finishedAt: null,
    ...over,
  };
}

Deno.test("operation events: one event per change, ending with the final state", async () => {
  const states = [
    view({ bytesDone: 10 }),
    view({ bytesDone: 10 }),
    view({ bytesDone: 60, phase: "swapping" }),
    view({ state: "succeeded", phase: "done", bytesDone: 100, result: { ok: true } }),
  ];
  let i = 0;
  const source = { get: () => Promise.resolve(states[Math.min(++i, states.length - 1)]) };
  const text = await new Response(operationEventStream(source, "op_x", states[0])).text();
  const events = text.split("\n\n").filter((b) => b.startsWith("event: operation"))
    .map((b) => JSON.parse(b.split("\ndata: ")[1]).operation);
  assertEquals(events.map((e) => `${e.phase}:${e.bytesDone}`), [
    "staging:10",
    "swapping:60",
    "done:100",
  ]);
  assertEquals(events.at(-1).state, "succeeded");
});

Deno.test("operation events: cancelling the stream stops the polling", async () => {
  let calls = 0;
  const source = {
    get: () => {
      calls++;
      return Promise.resolve(view({ bytesDone: calls }));
    },
  };
  const reader = operationEventStream(source, "op_x", view({})).getReader();
  await reader.read();
  await reader.read();
  await reader.cancel();
  const after = calls;
  await new Promise((r) => setTimeout(r, 600));
  assert(calls <= after + 1, `no polling after cancel (${after} → ${calls})`);
});
