/**
 * Which workload a container belongs to (SPEC §2): label `volsnap.workload`
 * › `com.docker.stack.namespace` (a Swarm stack) › `com.docker.swarm.service.name`
 * (a service outside a stack) › `com.docker.compose.project` › container name.
 * A Swarm task container is named `<service>.<slot>.<task id>`, which changes
 * whenever Swarm replaces it; the stack and service labels do not, so a
 * workload id never changes with a task. A service itself is grouped the same
 * way (swarm_services.ts gives it the labels its tasks would carry).
 *
 * Ids must be path-safe (WorkloadIdSchema). A grouping value that is not is
 * sanitized rather than dropped, so a labelled container never silently
 * disappears from coverage: invalid characters become `_`, leading
 * non-alphanumerics are stripped, and the result is cut to 128 chars. Two
 * values that sanitize to the same id are quiesced together, which is safe
 * (more is stopped, nothing is missed). A value with no usable character is
 * left out and the reason is returned for logging.
 */
import { WorkloadIdSchema } from "../core/model.ts";
import {
  LABEL_COMPOSE_PROJECT,
  LABEL_STACK_NAMESPACE,
  LABEL_SWARM_SERVICE_NAME,
  LABEL_WORKLOAD,
} from "./labels.ts";

type GroupSource = "label" | "stack" | "service" | "compose" | "name";

/** Grouping labels, most specific choice first. */
const GROUPING_LABELS: [string, GroupSource][] = [
  [LABEL_WORKLOAD, "label"],
  [LABEL_STACK_NAMESPACE, "stack"],
  [LABEL_SWARM_SERVICE_NAME, "service"],
  [LABEL_COMPOSE_PROJECT, "compose"],
];

export type GroupingResult =
  | { ok: true; id: string; source: GroupSource; sanitizedFrom?: string }
  | { ok: false; reason: string };

export function sanitizeWorkloadId(value: string): string | undefined {
  const id = value.trim().replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128);
  return WorkloadIdSchema.safeParse(id).success ? id : undefined;
}

export function workloadIdFor(c: { name: string; labels: Record<string, string> }): GroupingResult {
  let value = c.name;
  let source: GroupSource = "name";
  for (const [key, from] of GROUPING_LABELS) {
    const v = c.labels[key]?.trim();
    if (v) {
      [value, source] = [v, from];
      break;
    }
  }
  if (WorkloadIdSchema.safeParse(value).success) return { ok: true, id: value, source };
  const id = sanitizeWorkloadId(value);
  if (id) return { ok: true, id, source, sanitizedFrom: value };
  return {
    ok: false,
    reason: `container "${c.name}": ${source} value ${
      JSON.stringify(value)
    } cannot be made into a workload id`,
  };
}
