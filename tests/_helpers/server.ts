/**
 * Runs the real volsnap server (main.ts) as a subprocess against the test
 * Docker engine, so tests (and kill tests) see exactly what operators see.
 */
import { join } from "node:path";
import { requireDockerEnv } from "./docker_cli.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

export interface ServerOptions {
  dataDir?: string;
  /** Fault point at which the server SIGKILLs itself (VOLSNAP_TEST_KILL_AT). */
  killAt?: string;
  env?: Record<string, string>;
}

export class TestServer {
  readonly url: string;
  readonly token = "test-token-" + crypto.randomUUID();
  readonly dataDir: string;
  #child?: Deno.ChildProcess;
  #status?: Promise<Deno.CommandStatus>;
  log = "";

  private constructor(readonly port: number, dataDir: string, readonly opts: ServerOptions) {
    this.url = `http://127.0.0.1:${port}`;
    this.dataDir = dataDir;
  }

  static async start(opts: ServerOptions = {}): Promise<TestServer> {
    const s = new TestServer(
      freePort(),
      opts.dataDir ?? await Deno.makeTempDir({ prefix: "volsnap-data-" }),
      opts,
    );
    await s.#spawn();
    return s;
  }

  async #spawn() {
    const { dockerHost } = requireDockerEnv();
    const env: Record<string, string> = {
      VOLSNAP_DATA_DIR: this.dataDir,
      VOLSNAP_LISTEN: `127.0.0.1:${this.port}`,
      VOLSNAP_TOKEN: this.token,
      DOCKER_HOST: dockerHost,
      VOLSNAP_STOP_TIMEOUT: "5",
      ...(this.opts.killAt ? { VOLSNAP_TEST_KILL_AT: this.opts.killAt } : {}),
      ...this.opts.env,
    };
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "serve"],
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const collect = async (r: ReadableStream<Uint8Array>) => {
      for await (const chunk of r.pipeThrough(new TextDecoderStream())) this.log += chunk;
    };
    collect(this.#child.stdout);
    collect(this.#child.stderr);
    this.#status = this.#child.status;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const exited = await Promise.race([
        this.#status.then(() => true),
        sleep(100).then(() => false),
      ]);
      if (exited) throw new Error(`server exited during start:\n${this.log}`);
      try {
        const r = await fetch(`${this.url}/healthz`);
        await r.body?.cancel();
        if (r.ok) return;
      } catch { /* not listening yet */ }
    }
    throw new Error(`server did not become healthy:\n${this.log}`);
  }

  /** Starts a new server process on the same data dir (after a kill). */
  async restart(opts: Partial<ServerOptions> = {}): Promise<void> {
    await this.stop();
    Object.assign(this.opts, { killAt: undefined }, opts);
    await this.#spawn();
  }

  /** Resolves with the exit status once the process is gone. */
  exited(): Promise<Deno.CommandStatus> {
    return this.#status!;
  }

  kill(signal: Deno.Signal = "SIGKILL") {
    try {
      this.#child?.kill(signal);
    } catch { /* already gone */ }
  }

  async stop(): Promise<void> {
    this.kill("SIGKILL");
    await this.#status?.catch(() => {});
  }

  async api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const r = await fetch(this.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    // deno-lint-ignore no-explicit-any
    return { status: r.status, json: json as any, headers: r.headers };
  }

  archivesDir() {
    return join(this.dataDir, "archives");
  }
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
