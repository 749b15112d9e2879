/**
 * Dependency order of a workload's containers (SPEC §4.3): started
 * dependencies first, stopped in reverse. Dependencies come from Compose's
 * `com.docker.compose.depends_on` label and from `network_mode`
 * `container:<id|name>` / `service:<name>`.
 */
import type { ContainerInfo } from "../core/model.ts";
import { LABEL_COMPOSE_DEPENDS_ON } from "./labels.ts";

/**
 * Service names from a Compose depends_on label:
 * `db:service_healthy:false,cache:service_started:true` → ["db", "cache"].
 */
export function parseComposeDependsOn(value: string | undefined): string[] {
  if (!value) return [];
  return value.split(",").map((part) => part.split(":")[0].trim()).filter((s) => s.length > 0);
}

/**
 * Names a container depends on. `container:<ref>` may hold a full or short
 * id: `resolveRef` turns it into a container name when it can.
 */
export function dependenciesOf(
  labels: Record<string, string>,
  networkMode: string | undefined,
  resolveRef: (ref: string) => string | undefined = () => undefined,
): string[] {
  const deps = parseComposeDependsOn(labels[LABEL_COMPOSE_DEPENDS_ON]);
  const m = /^(container|service):(.+)$/.exec(networkMode ?? "");
  if (m) deps.push(m[1] === "container" ? resolveRef(m[2]) ?? m[2] : m[2]);
  return [...new Set(deps)];
}

/**
 * Stable topological sort: dependencies before dependents, otherwise input
 * order. A dependency matches a container by compose service or by name;
 * dependencies outside the list (and on itself) are ignored.
 *
 * Cycles: a container that depends on any member of a cycle waits for the
 * whole cycle. When no container is ready, the first remaining container
 * (input order) whose unplaced dependencies all lie in its own cycle goes next. Terminates for
 * any input and gives the same answer for the same input. O(n²), n is small.
 */
export function startOrder(containers: ContainerInfo[]): ContainerInfo[] {
  const matches = (c: ContainerInfo, dep: string) => c.name === dep || c.service === dep;
  const direct = containers.map((c) =>
    containers.flatMap((other, j) =>
      other !== c && c.dependsOn.some((d) => matches(other, d)) ? [j] : []
    )
  );
  const scc = stronglyConnected(direct);
  // A dependent of any member of a cycle waits for the whole cycle.
  const deps = direct.map((ds, i) => [
    ...new Set(
      ds.flatMap((d) => scc[d] === scc[i] ? [d] : scc.flatMap((c, j) => c === scc[d] ? [j] : [])),
    ),
  ]);
  const placed = new Set<number>();
  const out: ContainerInfo[] = [];
  while (out.length < containers.length) {
    const remaining = containers.map((_, i) => i).filter((i) => !placed.has(i));
    const next = remaining.find((i) => deps[i].every((d) => placed.has(d))) ??
      remaining.find((i) => deps[i].every((d) => placed.has(d) || scc[d] === scc[i])) ??
      remaining[0]; // unreachable: some cycle always has no outside dependency left
    placed.add(next);
    out.push(containers[next]);
  }
  return out;
}

/** Tarjan's algorithm: a component number per node (nodes on one cycle share it). */
function stronglyConnected(edges: number[][]): number[] {
  const index: number[] = new Array(edges.length).fill(-1);
  const low: number[] = new Array(edges.length).fill(0);
  const comp: number[] = new Array(edges.length).fill(-1);
  const stack: number[] = [];
  let counter = 0;
  let comps = 0;
  const visit = (v: number) => {
    index[v] = low[v] = counter++;
    stack.push(v);
    for (const w of edges[v]) {
      if (index[w] === -1) {
        visit(w);
        low[v] = Math.min(low[v], low[w]);
      } else if (comp[w] === -1) {
        low[v] = Math.min(low[v], index[w]);
      }
    }
    if (low[v] === index[v]) {
      let w;
      do {
        w = stack.pop()!;
        comp[w] = comps;
      } while (w !== v);
      comps++;
    }
  };
  for (let v = 0; v < edges.length; v++) if (index[v] === -1) visit(v);
  return comp;
}
