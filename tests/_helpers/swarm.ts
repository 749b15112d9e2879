/**
 * A one-node Swarm on the private test engine (SPEC §9), shared by the tests
 * of one file: `ensureSwarm()` initialises it on first use (advertise and
 * listen on 127.0.0.1, a random free port: other sessions may run swarms on
 * their own engines at the same time) and `leaveSwarm()` leaves it again, only
 * if this process created it.
 *
 * Services run the test image without resolving it in a registry
 * (`--no-resolve-image`), with `--init` (a `sh` PID 1 ignores SIGTERM) and a
 * short stop grace period, so a scale to 0 takes about a second.
 */
import { dockerCli } from "./docker_cli.ts";
import { freePort, sleep } from "./server.ts";

let owned = false;
let ready: Promise<void> | undefined;

export function ensureSwarm(): Promise<void> {
  ready ??= (async () => {
    const state = (await dockerCli(["info", "--format", "{{.Swarm.LocalNodeState}}"])).stdout;
    if (state === "active") return; // someone else's swarm on this engine: reuse, never leave it
    for (let attempt = 1;; attempt++) {
      const r = await dockerCli([
        "swarm",
        "init",
        "--advertise-addr",
        "127.0.0.1",
        "--listen-addr",
        `127.0.0.1:${freePort()}`,
      ], { allowFail: true });
      if (r.code === 0) break;
      if (attempt >= 5) throw new Error(`docker swarm init failed: ${r.stderr}`);
    }
    owned = true;
  })();
  return ready;
}

export async function leaveSwarm(): Promise<void> {
  if (!owned) return;
  owned = false;
  ready = undefined;
  await dockerCli(["swarm", "leave", "--force"], { allowFail: true });
}

export interface ServiceSpec {
  name: string;
  replicas?: number;
  global?: boolean;
  /** `--mount` values, e.g. `type=volume,source=v,target=/data`. */
  mounts?: string[];
  labels?: Record<string, string>;
  containerLabels?: Record<string, string>;
  cmd?: string[];
}

/** Creates a service (without waiting for it); returns its id. */
export async function createService(spec: ServiceSpec): Promise<string> {
  const kv = (flag: string, o: Record<string, string> = {}) =>
    Object.entries(o).flatMap(([k, v]) => [flag, `${k}=${v}`]);
  const image = Deno.env.get("VOLSNAP_TEST_IMAGE")!;
  const r = await dockerCli([
    "service",
    "create",
    "--detach",
    "--quiet",
    "--no-resolve-image",
    "--init",
    "--stop-grace-period",
    "1s",
    "--name",
    spec.name,
    ...(spec.global ? ["--mode", "global"] : ["--replicas", String(spec.replicas ?? 1)]),
    ...(spec.mounts ?? []).flatMap((m) => ["--mount", m]),
    ...kv("--label", spec.labels),
    ...kv("--container-label", spec.containerLabels),
    image,
    ...(spec.cmd ?? ["sh", "-c", "while :; do sleep 1; done"]),
  ]);
  return r.stdout.trim();
}

/** Ids of the running containers of a service on this engine. */
export async function runningTasks(service: string): Promise<string[]> {
  const r = await dockerCli([
    "ps",
    "-q",
    "--no-trunc",
    "--filter",
    `label=com.docker.swarm.service.name=${service}`,
    "--filter",
    "status=running",
  ]);
  return r.stdout ? r.stdout.split("\n") : [];
}

/** Desired replicas in the service's spec. */
export async function specReplicas(service: string): Promise<number> {
  const r = await dockerCli([
    "service",
    "inspect",
    service,
    "--format",
    "{{.Spec.Mode.Replicated.Replicas}}",
  ]);
  return Number(r.stdout);
}

/** Polls `check` until it returns true, or fails with `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export async function waitRunning(service: string, n: number): Promise<string[]> {
  let ids: string[] = [];
  await waitUntil(`${n} running task(s) of ${service}`, async () => {
    ids = await runningTasks(service);
    return ids.length === n;
  });
  return ids;
}

export async function removeServices(names: string[]): Promise<void> {
  if (names.length) await dockerCli(["service", "rm", ...names], { allowFail: true });
}
