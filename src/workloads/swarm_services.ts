/**
 * Swarm services in discovery (SPEC §2). A service's own labels (`volsnap.*`,
 * and the stack namespace) count like labels of its task containers, the
 * container's own label winning where both set one. A service is grouped like
 * one of its tasks would be, so it stays in its workload while it has no task
 * at all (scaled to 0, or every task removed).
 */
import type { ContainerSummary, ServiceSummary } from "../docker/api.ts";
import type { ServiceInfo } from "../core/model.ts";
import {
  LABEL_STACK_NAMESPACE,
  LABEL_SWARM_SERVICE_ID,
  LABEL_SWARM_SERVICE_NAME,
} from "./labels.ts";

/** The service labels that count like container labels. */
export function countedServiceLabels(s: ServiceSummary): Record<string, string> {
  return Object.fromEntries(
    Object.entries(s.labels).filter(([k]) =>
      k.startsWith("volsnap.") || k === LABEL_STACK_NAMESPACE
    ),
  );
}

/** Labels a task container of `s` carries, as discovery sees them (service's counted ones merged in). */
export function serviceTaskLabels(s: ServiceSummary): Record<string, string> {
  return { ...countedServiceLabels(s), ...s.containerLabels, [LABEL_SWARM_SERVICE_NAME]: s.name };
}

/** Id of the service a container is a task of, from the label Swarm puts on it. */
export function swarmServiceOf(labels: Record<string, string>): string | undefined {
  return labels[LABEL_SWARM_SERVICE_ID] || undefined;
}

/** Containers with their service's counted labels merged under their own. */
export function withServiceLabels(
  containers: ContainerSummary[],
  services: ServiceSummary[],
): ContainerSummary[] {
  const byId = new Map(services.map((s) => [s.id, s]));
  return containers.map((c) => {
    const svc = byId.get(swarmServiceOf(c.labels) ?? "");
    return svc ? { ...c, labels: { ...countedServiceLabels(svc), ...c.labels } } : c;
  });
}

export function toServiceInfo(s: ServiceSummary): ServiceInfo {
  return {
    id: s.id,
    name: s.name,
    mode: s.mode,
    ...(s.replicas !== undefined ? { replicas: s.replicas } : {}),
    labels: serviceTaskLabels(s),
  };
}

/** Task states in which a task's container may run (or is about to). */
const LIVE_TASK_STATES = new Set([
  "assigned",
  "accepted",
  "preparing",
  "ready",
  "starting",
  "running",
]);

export function taskMayRun(state: string): boolean {
  return LIVE_TASK_STATES.has(state);
}

/** Container states in which a task container holds its mounts. */
export function containerHoldsMounts(state: string): boolean {
  return state === "running" || state === "paused" || state === "restarting";
}
