/**
 * The Docker engine goes away while volsnap runs: requests that need it get
 * 503 docker_unavailable (never a hang or a 500), /healthz says so, and the
 * server recovers when the engine is back. A unix-socket relay in front of
 * the real engine plays the engine stopping and starting.
 */
import { join } from "node:path";
import { assertEquals } from "../_helpers/assert.ts";
import { requireDockerEnv } from "../_helpers/docker_cli.ts";
import { TestServer } from "../_helpers/server.ts";

class SocketRelay {
  #listener?: Deno.Listener;
  #conns = new Set<Deno.Conn>();
  constructor(readonly path: string, readonly target: string) {}

  start() {
    this.#listener = Deno.listen({ transport: "unix", path: this.path });
    (async () => {
      for await (const client of this.#listener!) {
        this.#conns.add(client);
        Deno.connect({ transport: "unix", path: this.target }).then((up) => {
          this.#conns.add(up);
          client.readable.pipeTo(up.writable).catch(() => {});
          up.readable.pipeTo(client.writable).catch(() => {});
        }).catch(() => client.close());
      }
    })().catch(() => {});
  }

  /** The engine "stops": no new connections, open ones are cut. */
  stop() {
    this.#listener?.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* already closed */ }
    }
    this.#conns.clear();
    Deno.removeSync(this.path);
  }
}

Deno.test("Docker unreachable mid-run: 503 docker_unavailable, healthz reports it, service resumes", async () => {
  const { dockerHost } = requireDockerEnv();
  const dir = await Deno.makeTempDir({ prefix: "vs-relay-" });
  const relay = new SocketRelay(join(dir, "docker.sock"), dockerHost.replace(/^unix:\/\//, ""));
  relay.start();
  const server = await TestServer.start({ env: { DOCKER_HOST: `unix://${relay.path}` } });
  try {
    assertEquals((await server.api("GET", "/api/v1/workloads")).status, 200);
    relay.stop();
    const t0 = Date.now();
    const down = await server.api("GET", "/api/v1/workloads");
    assertEquals(down.status, 503, JSON.stringify(down.json));
    assertEquals(down.json.error.code, "docker_unavailable");
    assertEquals(Date.now() - t0 < 20_000, true, "answers promptly");
    const capture = await server.api("POST", "/api/v1/workloads/anything/snapshots", {});
    assertEquals(capture.status, 503);
    const health = await fetch(`${server.url}/healthz`).then((r) => r.json());
    assertEquals(health.docker.reachable, false);
    relay.start();
    assertEquals((await server.api("GET", "/api/v1/workloads")).status, 200);
  } finally {
    await server.stop();
  }
});
