/**
 * Which workload a container belongs to (SPEC §2): label `volsnap.workload`
 * › label `com.docker.compose.project` › container name.
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
import { LABEL_COMPOSE_PROJECT, LABEL_WORKLOAD } from "./labels.ts";

export type GroupingResult =
  | { ok: true; id: string; source: "label" | "compose" | "name"; sanitizedFrom?: string }
  | { ok: false; reason: string };

export function sanitizeWorkloadId(value: string): string | undefined {
  const id = value.trim().replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 128);
  return WorkloadIdSchema.safeParse(id).success ? id : undefined;
}

export function workloadIdFor(c: { name: string; labels: Record<string, string> }): GroupingResult {
  const label = c.labels[LABEL_WORKLOAD]?.trim();
  const compose = c.labels[LABEL_COMPOSE_PROJECT]?.trim();
  const [value, source] = label
    ? [label, "label" as const]
    : compose
    ? [compose, "compose" as const]
    : [c.name, "name" as const];
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
