/**
 * Two servers (two host ids) on one file:// bucket prefix, through the real
 * server, real Docker and the CLI: retention prunes each location but only a
 * host's own objects; sync adopts nothing of the other host unless asked;
 * VOLSNAP_LOCAL_KEEP_LAST=0 drops local files once the off-host copy is
 * present, and such a snapshot still restores, streamed from the bucket.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { clearDir } from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";
import { FileStore } from "../../src/storage/file_store.ts";
import { capture, restore, waitRemote, workloadWithVolume } from "./remote_helpers.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

async function cli(server: TestServer, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args, "--url", server.url, "--token", server.token],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout),
    err: new TextDecoder().decode(out.stderr),
  };
}

Deno.test({
  name: "two hosts, one bucket prefix: each prunes and adopts only its own unless asked",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const bucket = await Deno.makeTempDir({ prefix: "volsnap-bucket-" });
    const env = { VOLSNAP_REMOTE: `file://${bucket}`, VOLSNAP_KEEP_LAST: "1" };
    const scratch = new DockerScratch("vs-hosts");
    const a = await TestServer.start({ env });
    const b = await TestServer.start({ env: { ...env, VOLSNAP_LOCAL_KEEP_LAST: "0" } });
    const store = new FileStore(bucket);
    try {
      const wa = await workloadWithVolume(new DockerScratchChild(scratch, "a"));
      const wb = await workloadWithVolume(new DockerScratchChild(scratch, "b"));
      const a1 = await capture(a, wa.wid);
      await waitRemote(a, a1.id, "present");
      const b1 = await capture(b, wb.wid);
      await waitRemote(b, b1.id, "present");
      const hostB = (await Deno.readTextFile(`${b.dataDir}/host-id`)).trim();

      // LOCAL_KEEP_LAST=0 on b: only the off-host copy remains, the row stays.
      let b1row;
      for (let i = 0; i < 50; i++) {
        b1row = (await b.api("GET", `/api/v1/snapshots/${b1.id}`)).json.snapshot;
        if (b1row.locations.length === 1) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assertEquals(b1row.locations.map((l: { kind: string }) => l.kind), ["remote"]);

      // a's second capture prunes a1 in both locations (keep-last 1)...
      const a2 = await capture(a, wa.wid);
      await waitRemote(a, a2.id, "present");
      assertEquals((await a.api("GET", `/api/v1/snapshots/${a1.id}`)).status, 404);
      const keys = (await store.list("")).map((o) => o.key);
      assert(!keys.some((k) => k.includes(a1.id)), `a1 pruned off-host: ${keys}`);
      // ...and never touches b's objects.
      assert(keys.includes(`${wb.wid}/${b1.id}.tar.zst`), `b's object kept: ${keys}`);
      assert(keys.includes(`${wb.wid}/${b1.id}.json`), `b's sidecar kept: ${keys}`);

      // a's own sync adopts nothing of b.
      const own = await a.api("POST", "/api/v1/remote/sync", {});
      assertEquals(own.json.adopted, []);

      // The CLI: ls shows both hosts; sync --host adopts b's snapshot into a.
      const ls = await cli(a, "remote", "ls");
      assertEquals(ls.code, 0, ls.err);
      assert(ls.out.includes(b1.id) && ls.out.includes(hostB), ls.out);
      assert(ls.out.includes(a2.id) && ls.out.includes("this host"), ls.out);
      const sync = await cli(a, "remote", "sync", "--host", hostB);
      assertEquals(sync.code, 0, sync.err);
      assert(sync.out.includes(`adopted 1 snapshot(s)`) && sync.out.includes(b1.id), sync.out);
      // a deleting its adopted copy of b's snapshot leaves b's objects alone.
      const del = await a.api("DELETE", `/api/v1/snapshots/${b1.id}`);
      assertEquals(del.status, 204);
      assert((await store.stat(`${wb.wid}/${b1.id}.tar.zst`)) !== undefined, "b's object kept");

      // b restores its snapshot that has no local file, streamed from the bucket.
      const before = fingerprint(wb.volDir);
      clearDir(wb.volDir);
      const r = await restore(b, wb.wid, b1.id);
      assertEquals(r.status, 200, JSON.stringify(r.json));
      assertEquals(diffTrees(fingerprint(wb.volDir), before), []);
      for (const s of [a, b]) assert(!s.log.includes("AWS_SECRET"), "no secrets in logs");
    } finally {
      await a.stop();
      await b.stop();
      await scratch.cleanup();
      await Deno.remove(bucket, { recursive: true });
    }
  },
});

/** Two workloads from one scratch: distinct prefixes, one cleanup. */
class DockerScratchChild {
  readonly prefix: string;
  constructor(readonly parent: DockerScratch, suffix: string) {
    this.prefix = `${parent.prefix}${suffix}`;
  }
  volume(name: string) {
    return this.parent.volume(`${this.prefix.slice(this.parent.prefix.length)}-${name}`);
  }
  container(spec: Parameters<DockerScratch["container"]>[0] = {}) {
    return this.parent.container({
      ...spec,
      name: `${this.prefix.slice(this.parent.prefix.length)}-${spec.name}`,
    });
  }
}
