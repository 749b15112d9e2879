/**
 * The narrow Docker seam the engine uses. The real implementation talks to
 * the Engine API over the unix socket (http_client.ts); unit tests may fake it.
 * Every method throws AppError("docker_unavailable") when the engine cannot be
 * reached and AppError("docker_error"/"not_found") for engine-side failures.
 */
export interface ContainerSummary {
  id: string;
  name: string; // without leading "/"
  state: string; // running, paused, exited, created, restarting, dead
  labels: Record<string, string>;
}

export interface ContainerMount {
  type: string; // volume | bind | tmpfs | npipe | ...
  name?: string; // volume name
  source: string; // host path ("" for tmpfs)
  destination: string;
  driver?: string; // volume driver
  rw: boolean;
}

export interface ContainerDetails extends ContainerSummary {
  mounts: ContainerMount[];
  /** NetworkMode, e.g. "container:<id>" / "service:..." */
  networkMode?: string;
  /** Destinations of `--tmpfs` mounts (HostConfig.Tmpfs); these are not in `mounts`. */
  tmpfs?: string[];
  /** State.StartedAt: when the container last started (RFC 3339). */
  startedAt?: string;
}

export interface VolumeDetails {
  name: string;
  driver: string;
  mountpoint: string;
  labels: Record<string, string>;
  /** Driver options (`type`, `device`, `o` for local volumes backed by a mount). */
  options?: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  output: string; // stdout+stderr, truncated to a sane size
}

/** A Swarm service as volsnap needs it (API v1.41 `GET /services`). */
export interface ServiceSummary {
  id: string;
  name: string;
  /** Spec.Version.Index: an update must name it (optimistic concurrency). */
  version: number;
  /** Service labels (Spec.Labels). */
  labels: Record<string, string>;
  /** Labels its task containers get (ContainerSpec.Labels). */
  containerLabels: Record<string, string>;
  mode: "replicated" | "global" | "replicated-job" | "global-job";
  /** Desired replicas of a replicated service; undefined for other modes. */
  replicas?: number;
  /** The task template's mounts, as a task container would report them. */
  mounts: ContainerMount[];
  /** ContainerSpec.StopGracePeriod in ms, when set. */
  stopGraceMs?: number;
}

export interface TaskSummary {
  id: string;
  serviceId: string;
  nodeId: string;
  /** What the orchestrator wants: running, shutdown, remove, ... */
  desiredState: string;
  /** What the task is: new, pending, ..., starting, running, complete, shutdown, failed, ... */
  state: string;
  containerId?: string;
}

export interface DockerApi {
  ping(): Promise<void>;
  version(): Promise<{ version: string; apiVersion: string }>;
  listContainers(): Promise<ContainerSummary[]>; // all=1
  inspectContainer(idOrName: string): Promise<ContainerDetails>;
  inspectVolume(name: string): Promise<VolumeDetails>;
  /** Idempotent: a container already stopped is fine (304). */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Idempotent: a container already running is fine (304). */
  startContainer(id: string): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  /** Idempotent: a container not paused is fine. */
  unpauseContainer(id: string): Promise<void>;
  exec(id: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
  /**
   * Runs `command` (with /bin/sh -c) in a new container from the image of
   * `fromContainer`: no network, `binds` (host:dest) mounted, labelled
   * `volsnap.exclude=true`; waits, collects its output and removes it on
   * every path.
   */
  runThrowaway(spec: {
    fromContainer: string;
    command: string;
    binds: string[];
    timeoutMs: number;
  }): Promise<ExecResult>;
  /** Swarm services, or null when this engine is not a swarm manager (no swarm, or a worker). */
  listServices(): Promise<ServiceSummary[] | null>;
  /** @throws AppError not_found when the service is gone. */
  inspectService(id: string): Promise<ServiceSummary>;
  /**
   * Sets the replica count of a replicated service through
   * `POST /services/{id}/update?version=<index>` with the rest of its spec
   * unchanged; re-reads and retries when the version moved meanwhile.
   */
  scaleService(id: string, replicas: number): Promise<void>;
  /** Tasks of one service, on every node. */
  listTasks(serviceId: string): Promise<TaskSummary[]>;
  /** This engine's swarm node id, or undefined outside a swarm. */
  swarmNodeId(): Promise<string | undefined>;
}
