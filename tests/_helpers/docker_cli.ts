/**
 * Test helpers that create containers and volumes with the `docker` CLI on the
 * engine at DOCKER_HOST. Every container runs with `--network none` (or shares
 * another test container's network namespace), every name carries a unique
 * prefix, and `cleanup()` removes what was created.
 */

export interface DockerTestEnv {
  dockerHost: string;
  image: string;
}

/** DOCKER_HOST and VOLSNAP_TEST_IMAGE, or a loud failure: never a silent skip. */
export function requireDockerEnv(): DockerTestEnv {
  const dockerHost = Deno.env.get("DOCKER_HOST");
  const image = Deno.env.get("VOLSNAP_TEST_IMAGE");
  if (!dockerHost || !image) {
    throw new Error(
      "This test needs a real Docker engine: set DOCKER_HOST and VOLSNAP_TEST_IMAGE " +
        "(source tests/docker_env.sh, or run tests/run_all.sh).",
    );
  }
  return { dockerHost, image };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker <args>`; throws with stderr unless `allowFail`. */
export async function dockerCli(
  args: string[],
  opts: { allowFail?: boolean } = {},
): Promise<CliResult> {
  const { dockerHost } = requireDockerEnv();
  const out = await new Deno.Command("docker", {
    args,
    env: { DOCKER_HOST: dockerHost },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const res = {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr).trim(),
  };
  if (res.code !== 0 && !opts.allowFail) {
    throw new Error(`docker ${args.join(" ")} failed (${res.code}): ${res.stderr}`);
  }
  return res;
}

export function uniqueName(prefix: string): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `${prefix}-${Date.now().toString(36)}-${rand}`;
}

/** A command that idles and exits promptly on SIGTERM (busybox sh as PID 1). */
export const IDLE_CMD = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"];

export interface ContainerSpec {
  /** Suffix appended to the scratch prefix; default a counter. */
  name?: string;
  labels?: Record<string, string>;
  /** Extra `docker create` arguments, e.g. ["-v", "vol:/data"]. */
  args?: string[];
  cmd?: string[];
  /** Start it (default true). */
  start?: boolean;
}

/** Creates test containers/volumes under one prefix and removes them all at the end. */
export class DockerScratch {
  readonly prefix: string;
  readonly image: string;
  #containers: string[] = [];
  #volumes: string[] = [];
  #n = 0;

  constructor(prefix: string) {
    this.prefix = uniqueName(prefix);
    this.image = requireDockerEnv().image;
  }

  /** Creates (and by default starts) a container; returns its name. */
  async container(spec: ContainerSpec = {}): Promise<string> {
    const name = `${this.prefix}-${spec.name ?? `c${++this.#n}`}`;
    const args = spec.args ?? [];
    // Never reach a network: only "none" or another test container's namespace.
    const netIdx = args.indexOf("--network");
    if (netIdx >= 0 && !/^container:/.test(args[netIdx + 1] ?? "")) {
      throw new Error("test containers may only use --network none or container:<test container>");
    }
    const net = netIdx >= 0 ? [] : ["--network", "none"];
    const labels = Object.entries(spec.labels ?? {}).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
    this.#containers.push(name);
    await dockerCli([
      "create",
      "--name",
      name,
      ...net,
      ...labels,
      ...args,
      this.image,
      ...(spec.cmd ?? IDLE_CMD),
    ]);
    if (spec.start !== false) await dockerCli(["start", name]);
    return name;
  }

  /** Creates a local named volume; returns its name. */
  async volume(suffix = `v${++this.#n}`, opts: string[] = []): Promise<string> {
    const name = `${this.prefix}-${suffix}`;
    this.#volumes.push(name);
    await dockerCli(["volume", "create", ...opts, name]);
    return name;
  }

  /** Removes every container, then every volume, created here. Safe to call twice. */
  async cleanup(): Promise<void> {
    const cs = this.#containers.splice(0);
    if (cs.length) await dockerCli(["rm", "-f", "-v", ...cs], { allowFail: true });
    const vs = this.#volumes.splice(0);
    if (vs.length) await dockerCli(["volume", "rm", "-f", ...vs], { allowFail: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }
}
