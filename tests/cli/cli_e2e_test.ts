/**
 * The volsnap binary end to end: `serve` as a subprocess on the real Docker
 * engine, and the CLI subcommands as separate processes, as an operator runs them.
 */
import { createHash } from "node:crypto";
import { assert, assertEquals, assertStringIncludes } from "../_fakes/assert.ts";
import { dockerCli, DockerScratch } from "../_helpers/docker_cli.ts";
import { TestServer } from "../_helpers/server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function cli(server: TestServer, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    // The token comes from <data dir>/token, as on a host where serve generated it.
    env: { VOLSNAP_URL: server.url, VOLSNAP_DATA_DIR: server.dataDir, VOLSNAP_TOKEN: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("cli end to end: snapshot, restore, download, import, verify, delete; SIGTERM exits", async () => {
  await using docker = new DockerScratch("vscli");
  const vol = await docker.volume("data");
  const wl = `${docker.prefix}-wl`;
  const c = await docker.container({
    labels: { "volsnap.workload": wl },
    args: ["-v", `${vol}:/data`],
  });
  await dockerCli(["exec", c, "sh", "-c", "echo original > /data/a.txt"]);
  const server = await TestServer.start({ env: { VOLSNAP_TOKEN: "" } });
  const tmp = await Deno.makeTempDir({ prefix: "volsnap-cli-e2e-" });
  try {
    // A generated token: in a 0600 file, and never in the log.
    const token = (await Deno.readTextFile(`${server.dataDir}/token`)).trim();
    assertEquals((await Deno.stat(`${server.dataDir}/token`)).mode! & 0o777, 0o600);
    assert(!server.log.includes(token), "the token must not be logged");
    assertStringIncludes(server.log, `${server.dataDir}/token`);

    const list = await cli(server, ["workloads"]);
    assertEquals(list.code, 0, list.stderr);
    assertStringIncludes(list.stdout, wl);

    const snap = await cli(server, ["snapshot", wl, "--label", "e2e", "--json"]);
    assertEquals(snap.code, 0, snap.stderr);
    const sid = JSON.parse(snap.stdout).snapshot.id as string;
    assertEquals((await dockerCli(["inspect", "-f", "{{.State.Running}}", c])).stdout, "true");

    await dockerCli([
      "exec",
      c,
      "sh",
      "-c",
      "echo changed > /data/a.txt; echo extra > /data/b.txt",
    ]);
    const refused = await cli(server, ["restore", wl, sid]);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, "--yes");
    assertEquals((await dockerCli(["exec", c, "cat", "/data/a.txt"])).stdout, "changed");

    const restored = await cli(server, ["restore", wl, sid, "--yes"]);
    assertEquals(restored.code, 0, restored.stderr);
    assertStringIncludes(restored.stdout, `restored ${sid} into ${wl}`);
    assertEquals((await dockerCli(["exec", c, "cat", "/data/a.txt"])).stdout, "original");
    assertEquals((await dockerCli(["exec", c, "ls", "/data"])).stdout, "a.txt");

    const dl = await cli(server, ["download", sid, "-o", `${tmp}/s.tar.zst`, "--json"]);
    assertEquals(dl.code, 0, dl.stderr);
    const bytes = await Deno.readFile(`${tmp}/s.tar.zst`);
    const sha = createHash("sha256").update(bytes).digest("hex");
    assertEquals(JSON.parse(dl.stdout).sha256, sha);

    const imp = await cli(server, ["import", wl, `${tmp}/s.tar.zst`, "--json"]);
    assertEquals(imp.code, 0, imp.stderr);
    const imported = JSON.parse(imp.stdout).snapshot;
    assertEquals(imported.origin, "imported");

    const ver = await cli(server, ["verify", imported.id]);
    assertEquals(ver.code, 0, ver.stderr);
    assertStringIncludes(ver.stdout, "ok");

    const del = await cli(server, ["delete", sid]);
    assertEquals(del.code, 0, del.stderr);
    const gone = await cli(server, ["download", sid, "-o", `${tmp}/gone.tar.zst`]);
    assertEquals(gone.code, 1);
    assertStringIncludes(gone.stderr, "not_found");

    const ev = await cli(server, ["events", "--workload", wl, "--json"]);
    assertEquals(ev.code, 0, ev.stderr);
    assert(JSON.parse(ev.stdout).events.length >= 4);

    server.kill("SIGTERM");
    const status = await server.exited();
    assertEquals(status.code, 0, server.log);
    assertStringIncludes(server.log, "shutting down");
  } finally {
    await server.stop();
    await Deno.remove(tmp, { recursive: true });
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
});
