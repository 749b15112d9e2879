/**
 * Dependency order of a workload's containers (SPEC §4.3): started
 * dependencies first, stopped in reverse. Dependencies come from Compose's
 * `com.docker.compose.depends_on` label and from `network_mode`
 * `container:<id|name>` / `service:<name>`.
 */
import type { ContainerInfo } from "../model.ts";
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
 * dependencies outside the list are ignored. Cycles are broken by taking the
 * first remaining container in input order, so this always terminates and
 * always gives the same answer for the same input. O(n²), n is small.
 */
export function startOrder(containers: ContainerInfo[]): ContainerInfo[] {
  const matches = (c: ContainerInfo, dep: string) => c.name === dep || c.service === dep;
  const deps = containers.map((c) =>
    containers.filter((other) => other !== c && c.dependsOn.some((d) => matches(other, d)))
  );
  const placed = new Set<ContainerInfo>();
  const out: ContainerInfo[] = [];
  while (out.length < containers.length) {
    const remaining = containers.map((c, i) => ({ c, i })).filter(({ c }) => !placed.has(c));
    const ready = remaining.find(({ i }) => deps[i].every((d) => placed.has(d))) ?? remaining[0];
    placed.add(ready.c);
    out.push(ready.c);
  }
  return out;
}
