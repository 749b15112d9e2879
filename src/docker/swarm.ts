/**
 * Swarm endpoints of the Engine API (v1.41): services, their tasks, and the
 * node id. Only a manager answers `/services` and `/tasks`; on an engine
 * outside a swarm (or on a worker) they answer 503 "not a swarm manager",
 * which listServices turns into null so discovery works on every host.
 *
 *   scaleService(id, n):
 *     GET /services/{id}            → spec (kept whole, unknown fields too) + Version.Index
 *     POST /services/{id}/update?version=<index> with Mode.Replicated.Replicas = n
 *     "update out of sequence"      → someone updated it in between: read again, retry
 */
import { z } from "zod";
import { AppError } from "../core/errors.ts";
import type { ContainerMount, DockerApi, ServiceSummary, TaskSummary } from "./api.ts";
import { type EngineCaller, engineMessage } from "./caller.ts";
import { ServiceListSchema, ServiceSchema, SwarmInfoSchema, TaskListSchema } from "./schemas.ts";

type SwarmApi = Pick<
  DockerApi,
  "listServices" | "inspectService" | "scaleService" | "listTasks" | "swarmNodeId"
>;

/** Attempts of a scale whose version keeps moving under it. */
const SCALE_ATTEMPTS = 5;

export function swarmMethods({ call, json }: EngineCaller): SwarmApi {
  const enc = encodeURIComponent;

  async function readService(id: string): Promise<{ svc: ServiceSummary; spec: unknown }> {
    const res = await call("inspect service", id, `/services/${enc(id)}`);
    const raw = await json(res, z.unknown(), "inspect service", id);
    const parsed = ServiceSchema.safeParse(raw);
    if (!parsed.success) {
      throw new AppError(
        "docker_error",
        `inspect service ${id}: unexpected engine response: ${parsed.error.issues[0]?.message}`,
      );
    }
    return { svc: toService(parsed.data), spec: (raw as { Spec: unknown }).Spec };
  }

  return {
    async listServices() {
      const res = await call("list services", "", "/services", { accept: [503] });
      if (res.status === 503) {
        const message = await engineMessage(res);
        if (/swarm/i.test(message)) return null; // not a manager: no service view here
        throw new AppError("docker_unavailable", `list services: ${message} (HTTP 503)`);
      }
      return (await json(res, ServiceListSchema, "list services", "")).map(toService);
    },

    async inspectService(id) {
      return (await readService(id)).svc;
    },

    async scaleService(id, replicas) {
      for (let attempt = 1;; attempt++) {
        const { svc, spec } = await readService(id);
        if (svc.mode !== "replicated") {
          throw new AppError(
            "docker_error",
            `scale service ${svc.name}: it is a ${svc.mode} service; only replicated services scale`,
          );
        }
        if (svc.replicas === replicas) return;
        const body = {
          ...(spec as Record<string, unknown>),
          Mode: { Replicated: { Replicas: replicas } },
        };
        const res = await call(
          "update service",
          svc.name,
          `/services/${enc(id)}/update?version=${svc.version}`,
          { method: "POST", body, accept: [500] },
        );
        if (res.ok) {
          await res.body?.cancel();
          return;
        }
        const message = await engineMessage(res);
        if (!/out of sequence/i.test(message) || attempt >= SCALE_ATTEMPTS) {
          throw new AppError(
            "docker_error",
            `scale service ${svc.name} to ${replicas}: ${message} (HTTP ${res.status})`,
          );
        }
        // The version moved (another update landed first): read it again.
      }
    },

    async listTasks(serviceId) {
      const filters = enc(JSON.stringify({ service: [serviceId] }));
      const res = await call("list tasks", serviceId, `/tasks?filters=${filters}`);
      const tasks = await json(res, TaskListSchema, "list tasks", serviceId);
      return tasks.filter((t) => t.ServiceID === serviceId).map((t): TaskSummary => ({
        id: t.ID,
        serviceId: t.ServiceID,
        nodeId: t.NodeID,
        desiredState: t.DesiredState,
        state: t.Status.State,
        containerId: t.Status.ContainerStatus?.ContainerID || undefined,
      }));
    },

    async swarmNodeId() {
      const info = await json(await call("info", "", "/info"), SwarmInfoSchema, "info", "");
      const s = info.Swarm;
      return s && s.LocalNodeState === "active" && s.NodeID ? s.NodeID : undefined;
    },
  };
}

function toService(s: z.infer<typeof ServiceSchema>): ServiceSummary {
  const cs = s.Spec.TaskTemplate?.ContainerSpec;
  const m = s.Spec.Mode;
  const mode = m?.Global
    ? "global"
    : m?.ReplicatedJob
    ? "replicated-job"
    : m?.GlobalJob
    ? "global-job"
    : "replicated";
  return {
    id: s.ID,
    name: s.Spec.Name,
    version: s.Version.Index,
    labels: s.Spec.Labels,
    containerLabels: cs?.Labels ?? {},
    mode,
    // A replicated spec without Replicas means 1 (the engine's default).
    ...(mode === "replicated" ? { replicas: m?.Replicated?.Replicas ?? 1 } : {}),
    mounts: (cs?.Mounts ?? []).map((x): ContainerMount => ({
      type: x.Type,
      ...(x.Type === "volume" && x.Source ? { name: x.Source } : {}),
      source: x.Type === "bind" ? x.Source : "",
      destination: x.Target,
      ...(x.VolumeOptions?.DriverConfig?.Name ? { driver: x.VolumeOptions.DriverConfig.Name } : {}),
      rw: !x.ReadOnly,
    })),
    ...(cs?.StopGracePeriod !== undefined
      ? { stopGraceMs: Math.round(cs.StopGracePeriod / 1e6) }
      : {}),
  };
}
