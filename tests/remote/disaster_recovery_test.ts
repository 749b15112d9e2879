/**
 * End to end on the real server, real Docker, real s3rver and Debian's age:
 * an encrypted off-host copy that the age CLI, zstd and GNU tar read; then a
 * disaster (the data dir wiped), a new server on the same bucket, sync, and a
 * restore from the bucket alone: without the identity it fails and changes
 * nothing, with it the volume equals the snapshot; and a remote object
 * altered by one byte is refused with integrity_error, live data untouched.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { clearDir, populateTree } from "../_helpers/fixtures.ts";
import { S3rver } from "../_helpers/s3rver.ts";
import { TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";
import { getBytes } from "../../src/storage/store.ts";
import {
  ageKey,
  bucketStore,
  capture,
  remoteEnv,
  restore,
  waitRemote,
  workloadWithVolume,
} from "./remote_helpers.ts";

Deno.test({
  name:
    "disaster recovery: encrypted copy, wiped data dir, new server, sync, restore from the bucket",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const s3 = await S3rver.start();
    const key = await ageKey();
    const scratch = new DockerScratch("vs-dr");
    let server = await TestServer.start({
      env: remoteEnv(s3, "dr", {
        VOLSNAP_AGE_RECIPIENTS: key.recipient,
        VOLSNAP_AGE_IDENTITY_FILE: key.identityFile,
      }),
    });
    try {
      const { wid, volDir } = await workloadWithVolume(scratch, 3 << 20);
      const before = fingerprint(volDir);
      const snap = await capture(server, wid);
      assertEquals(snap.locations[0], { kind: "local", state: "present" });
      const done = await waitRemote(server, snap.id, "present");
      const remoteLoc = done.locations.find((l: { kind: string }) => l.kind === "remote");
      assertEquals(remoteLoc.encrypted, true);
      const oldHost = (await Deno.readTextFile(`${server.dataDir}/host-id`)).trim();

      // The bucket layout, and no plaintext in it.
      const store = bucketStore(s3);
      const keys = (await store.list("dr/")).map((o) => o.key);
      assertEquals(keys, [`dr/${wid}/${snap.id}.json`, `dr/${wid}/${snap.id}.tar.zst.age`]);
      const object = await getBytes(store, `dr/${wid}/${snap.id}.tar.zst.age`);
      assertEquals(new TextDecoder().decode(object.subarray(0, 21)), "age-encryption.org/v1");

      // Interop: Debian's age, zstd and GNU tar read the remote object.
      const tmp = await Deno.makeTempDir({ prefix: "vs-dr-obj-" });
      await Deno.writeFile(`${tmp}/obj.age`, object);
      const listing = await new Deno.Command("sh", {
        args: ["-c", `age -d -i '${key.identityFile}' '${tmp}/obj.age' | zstd -dc | tar -t`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(listing.success, new TextDecoder().decode(listing.stderr));
      const names = new TextDecoder().decode(listing.stdout).split("\n");
      assertEquals(names[0], "volsnap.json");
      assert(names.some((n) => n.startsWith("volumes/0/")), names.join(","));

      // Secrets never in logs or answers.
      const events = await server.api("GET", `/api/v1/events?workload=${wid}`);
      const remoteList = await server.api("GET", "/api/v1/remote/snapshots");
      assertEquals(remoteList.status, 200);
      for (
        const text of [server.log, JSON.stringify(events.json), JSON.stringify(remoteList.json)]
      ) {
        assert(!text.includes("AGE-SECRET-KEY"), "identity leaked");
        assert(!/AWS_SECRET|S3RVER"|secretAccessKey/.test(text), "credential leaked");
      }

      // Disaster: the host is gone. A new server on an empty data dir, no identity yet.
      await server.stop();
      await Deno.remove(server.dataDir, { recursive: true });
      server = await TestServer.start({ env: remoteEnv(s3, "dr") });
      const seen = await server.api("GET", "/api/v1/remote/snapshots");
      assertEquals(seen.json.snapshots.length, 1);
      assertEquals(seen.json.snapshots[0].host, oldHost);
      assertEquals(seen.json.snapshots[0].inCatalog, false);
      // Its own sync adopts nothing of another host...
      const own = await server.api("POST", "/api/v1/remote/sync", {});
      assertEquals(own.json.adopted, []);
      // ...unless asked.
      const sync = await server.api("POST", "/api/v1/remote/sync", { host: oldHost });
      assertEquals(sync.status, 200, JSON.stringify(sync.json));
      assertEquals(sync.json.adopted, [snap.id]);
      const adopted = await server.api("GET", `/api/v1/snapshots/${snap.id}`);
      assertEquals(adopted.json.snapshot.origin, "remote");
      assertEquals(adopted.json.snapshot.locations.map((l: { kind: string }) => l.kind), [
        "remote",
      ]);

      clearDir(volDir);
      populateTree(volDir, "ZZ");
      const changed = fingerprint(volDir);
      const noKey = await restore(server, wid, snap.id);
      assertEquals(noKey.status, 422, JSON.stringify(noKey.json));
      assertEquals(noKey.json.error.code, "decryption_failed");
      assert(
        /VOLSNAP_AGE_IDENTITY_FILE/.test(noKey.json.error.hint ?? ""),
        JSON.stringify(noKey.json),
      );
      assertEquals(diffTrees(fingerprint(volDir), changed), [], "a failed restore changes nothing");

      await server.restart({
        env: remoteEnv(s3, "dr", { VOLSNAP_AGE_IDENTITY_FILE: key.identityFile }),
      });
      const verify = await server.api("POST", `/api/v1/snapshots/${snap.id}/verify?wait=true`);
      assertEquals(verify.json.verify?.ok, true, JSON.stringify(verify.json));
      const dl = await fetch(`${server.url}/api/v1/snapshots/${snap.id}/archive`, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      assertEquals(dl.status, 200);
      const plain = new Uint8Array(await dl.arrayBuffer());
      assertEquals(plain.length, snap.sizeBytes);
      const ok = await restore(server, wid, snap.id);
      assertEquals(ok.status, 200, JSON.stringify(ok.json));
      assertEquals(diffTrees(fingerprint(volDir), before), [], "the volume equals the snapshot");

      // One byte altered in the bucket: refused, live data untouched.
      const restored = fingerprint(volDir);
      const bad = object.slice();
      bad[bad.length - 100] ^= 0x01;
      await store.put(`dr/${wid}/${snap.id}.tar.zst.age`, bad);
      const refused = await restore(server, wid, snap.id);
      assertEquals(refused.status, 422, JSON.stringify(refused.json));
      assertEquals(refused.json.error.code, "integrity_error");
      assertEquals(diffTrees(fingerprint(volDir), restored), [], "live data untouched");
    } finally {
      await server.stop();
      await scratch.cleanup();
      await s3.stop();
    }
  },
});
