/**
 * The labels volsnap reads on containers, and the small helpers that
 * interpret the quiesce and hook labels (SPEC §2, §4).
 */
import type { ContainerInfo, QuiesceMode } from "../core/model.ts";

export const LABEL_WORKLOAD = "volsnap.workload";
export const LABEL_EXCLUDE = "volsnap.exclude";
export const LABEL_QUIESCE = "volsnap.quiesce";
export const LABEL_PRE = "volsnap.pre";
export const LABEL_POST = "volsnap.post";
export const LABEL_COMPOSE_PROJECT = "com.docker.compose.project";
export const LABEL_COMPOSE_SERVICE = "com.docker.compose.service";
export const LABEL_COMPOSE_DEPENDS_ON = "com.docker.compose.depends_on";
export const LABEL_STACK_NAMESPACE = "com.docker.stack.namespace";
export const LABEL_SWARM_SERVICE_NAME = "com.docker.swarm.service.name";
export const LABEL_SWARM_SERVICE_ID = "com.docker.swarm.service.id";

/** Strictest first: when containers of one workload disagree, the safer mode wins. */
const STRICTNESS: QuiesceMode[] = ["stop", "pause", "none"];

/**
 * The quiesce mode the workload's labels ask for, or undefined when no
 * container carries a valid `volsnap.quiesce` label (callers default to stop).
 * Conflicting labels resolve to the strictest mode (stop › pause › none);
 * unknown values are ignored, which also falls back towards `stop`.
 */
export function quiesceModeFromLabels(
  containers: Pick<ContainerInfo, "labels">[],
): QuiesceMode | undefined {
  const asked = new Set<string>();
  for (const c of containers) {
    const v = c.labels[LABEL_QUIESCE]?.trim().toLowerCase();
    if (v) asked.add(v);
  }
  return STRICTNESS.find((m) => asked.has(m));
}

/**
 * The hook command a container asks for before (`volsnap.pre`) or after
 * (`volsnap.post`) quiesce, as an exec argv. The label holds a shell command,
 * so it runs as `sh -c <value>`; an empty label means no hook.
 */
export function hookCommand(
  container: Pick<ContainerInfo, "labels">,
  phase: "pre" | "post",
): string[] | undefined {
  const v = container.labels[phase === "pre" ? LABEL_PRE : LABEL_POST]?.trim();
  return v ? ["sh", "-c", v] : undefined;
}

/** `volsnap.exclude=true` (case-insensitive) removes a container from discovery. */
export function isExcluded(labels: Record<string, string>): boolean {
  return labels[LABEL_EXCLUDE]?.trim().toLowerCase() === "true";
}
