import { assertEquals } from "../_helpers/assert.ts";
import type { ContainerInfo } from "../../src/core/model.ts";
import { dependenciesOf, parseComposeDependsOn, startOrder } from "../../src/workloads/order.ts";
import { hookCommand, quiesceModeFromLabels } from "../../src/workloads/labels.ts";

const c = (name: string, dependsOn: string[] = [], service?: string): ContainerInfo => ({
  id: `id-${name}`,
  name,
  state: "running",
  labels: {},
  dependsOn,
  ...(service ? { service } : {}),
});
const names = (cs: ContainerInfo[]) => cs.map((x) => x.name);

Deno.test("parseComposeDependsOn() keeps only service names", () => {
  assertEquals(parseComposeDependsOn("db:service_healthy:false,cache:service_started:true"), [
    "db",
    "cache",
  ]);
  assertEquals(parseComposeDependsOn("db"), ["db"]);
  assertEquals(parseComposeDependsOn(""), []);
  assertEquals(parseComposeDependsOn(undefined), []);
  assertEquals(parseComposeDependsOn(" a:x:y , ,b:z:w"), ["a", "b"]);
});

Deno.test("dependenciesOf() adds network_mode container:/service: targets, resolving ids to names", () => {
  const resolve = (ref: string) => (ref === "abc123" ? "db-1" : undefined);
  assertEquals(dependenciesOf({}, "container:abc123", resolve), ["db-1"]);
  assertEquals(dependenciesOf({}, "container:unknown", resolve), ["unknown"]);
  assertEquals(dependenciesOf({}, "service:vpn"), ["vpn"]);
  assertEquals(dependenciesOf({}, "bridge"), []);
  assertEquals(
    dependenciesOf({ "com.docker.compose.depends_on": "vpn:service_started:false" }, "service:vpn"),
    ["vpn"],
  );
});

Deno.test("startOrder() puts dependencies first along chains, matching by service or name", () => {
  const web = c("proj-web-1", ["api"], "web");
  const api = c("proj-api-1", ["db", "cache"], "api");
  const db = c("proj-db-1", [], "db");
  const cache = c("proj-cache-1", [], "cache");
  assertEquals(names(startOrder([web, api, db, cache])), [
    "proj-db-1",
    "proj-cache-1",
    "proj-api-1",
    "proj-web-1",
  ]);
  // Matching by container name (network_mode container:<name>).
  const side = c("sidecar", ["base"]);
  const base = c("base");
  assertEquals(names(startOrder([side, base])), ["base", "sidecar"]);
});

Deno.test("startOrder() is stable: unrelated containers keep their input order", () => {
  const input = [c("z"), c("a"), c("m", ["z"]), c("b")];
  assertEquals(names(startOrder(input)), ["z", "a", "m", "b"]);
});

Deno.test("startOrder() ignores dependencies outside the workload and on itself", () => {
  assertEquals(names(startOrder([c("a", ["elsewhere", "a"]), c("b", ["a"])])), ["a", "b"]);
});

Deno.test("startOrder() breaks cycles deterministically, keeps every container once, and starts dependents of a cycle after it", () => {
  const a = c("a", ["b"]);
  const b = c("b", ["a"]);
  const d = c("d", ["a"]);
  const out = names(startOrder([d, a, b]));
  assertEquals(out, ["a", "b", "d"]);
  assertEquals(names(startOrder([d, a, b])), out);
  // A 3-cycle with a tail; all replicas of a service follow it.
  const x = c("x-1", ["y"], "x");
  const y = c("y-1", ["z"], "y");
  const z = c("z-1", ["x"], "z");
  const x2 = c("x-2", ["y"], "x");
  const order = names(startOrder([x, y, z, x2]));
  assertEquals(order.length, 4);
  assertEquals(new Set(order).size, 4);
  assertEquals(order, ["x-1", "y-1", "x-2", "z-1"]);
});

Deno.test("quiesceModeFromLabels() picks the strictest valid label, undefined when none", () => {
  const withLabel = (v?: string): { labels: Record<string, string> } => ({
    labels: v === undefined ? {} : { "volsnap.quiesce": v },
  });
  assertEquals(quiesceModeFromLabels([withLabel()]), undefined);
  assertEquals(quiesceModeFromLabels([withLabel("pause")]), "pause");
  assertEquals(quiesceModeFromLabels([withLabel(" NONE ")]), "none");
  assertEquals(quiesceModeFromLabels([withLabel("none"), withLabel("pause")]), "pause");
  assertEquals(quiesceModeFromLabels([withLabel("pause"), withLabel("stop")]), "stop");
  assertEquals(quiesceModeFromLabels([withLabel("freeze")]), undefined);
  assertEquals(quiesceModeFromLabels([]), undefined);
});

Deno.test("hookCommand() runs the pre/post label through sh -c; empty means no hook", () => {
  const cont = {
    labels: {
      "volsnap.pre": "sqlite3 /data/db 'PRAGMA wal_checkpoint(TRUNCATE)'",
      "volsnap.post": " ",
    },
  };
  assertEquals(hookCommand(cont, "pre"), [
    "sh",
    "-c",
    "sqlite3 /data/db 'PRAGMA wal_checkpoint(TRUNCATE)'",
  ]);
  assertEquals(hookCommand(cont, "post"), undefined);
  assertEquals(hookCommand({ labels: {} }, "pre"), undefined);
});
