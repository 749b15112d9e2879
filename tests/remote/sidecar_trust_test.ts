/**
 * A sidecar whose manifest is not the archive's own volsnap.json is not
 * trusted (real server, real Docker, a file:// bucket, Debian's age): sync
 * refuses to adopt it when it can read the archive; when it could not (an
 * encrypted object and no identity yet), the restore's pre-flight and verify
 * refuse it with integrity_error and a hint, and the live data is untouched.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { clearDir, populateTree } from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";
import { ageKey, capture, restore, waitRemote, workloadWithVolume } from "./remote_helpers.ts";

Deno.test({
  name: "a sidecar that disagrees with its archive's manifest is neither adopted nor restored",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const bucket = await Deno.makeTempDir({ prefix: "volsnap-bucket-" });
    const key = await ageKey();
    const remote = { VOLSNAP_REMOTE: `file://${bucket}` };
    const withKey = {
      ...remote,
      VOLSNAP_AGE_RECIPIENTS: key.recipient,
      VOLSNAP_AGE_IDENTITY_FILE: key.identityFile,
    };
    const scratch = new DockerScratch("vs-sidecar");
    let server = await TestServer.start({ env: withKey });
    try {
      const { wid, volDir } = await workloadWithVolume(scratch);
      const snap = await capture(server, wid);
      await waitRemote(server, snap.id, "present");
      const oldHost = (await Deno.readTextFile(`${server.dataDir}/host-id`)).trim();

      // The sidecar is altered: its manifest now maps volume 0 to another destination.
      const sidecarPath = `${bucket}/${wid}/${snap.id}.json`;
      const sidecar = JSON.parse(await Deno.readTextFile(sidecarPath));
      assertEquals(sidecar.manifest.volumes[0].destinations[0].destination, "/data");
      sidecar.manifest.volumes[0].destinations[0].destination = "/elsewhere";
      await Deno.writeTextFile(sidecarPath, JSON.stringify(sidecar));

      // A new host with the identity reads the archive's manifest and refuses the sidecar.
      await server.stop();
      await Deno.remove(server.dataDir, { recursive: true });
      server = await TestServer.start({ env: withKey });
      const refused = await server.api("POST", "/api/v1/remote/sync", { host: oldHost });
      assertEquals(refused.status, 200, JSON.stringify(refused.json));
      assertEquals(refused.json.adopted, []);
      assertEquals(refused.json.skipped.length, 1, JSON.stringify(refused.json));
      assert(
        /not the archive's own volsnap\.json/.test(refused.json.skipped[0].reason),
        JSON.stringify(refused.json),
      );
      assertEquals((await server.api("GET", `/api/v1/snapshots/${snap.id}`)).status, 404);

      // Without the identity the archive cannot be read at sync: it is adopted on the sidecar's word...
      await server.restart({ env: remote });
      const adopted = await server.api("POST", "/api/v1/remote/sync", { host: oldHost });
      assertEquals(adopted.json.adopted, [snap.id], JSON.stringify(adopted.json));

      // ...and the restore's pre-flight, which can, refuses it before touching anything.
      await server.restart({ env: withKey });
      clearDir(volDir);
      populateTree(volDir, "LIVE");
      const live = fingerprint(volDir);
      const r = await restore(server, wid, snap.id);
      assertEquals(r.status, 422, JSON.stringify(r.json));
      assertEquals(r.json.error.code, "integrity_error");
      assert(/sidecar/.test(r.json.error.hint ?? ""), JSON.stringify(r.json));
      assertEquals(diffTrees(fingerprint(volDir), live), [], "live data untouched");

      const v = await server.api("POST", `/api/v1/snapshots/${snap.id}/verify?wait=true`);
      assertEquals(v.json.verify?.ok, false, JSON.stringify(v.json));
      assert(/volsnap\.json/.test(v.json.verify?.error ?? ""), JSON.stringify(v.json));
      assert(!server.log.includes("AGE-SECRET-KEY"), "identity leaked into the log");
    } finally {
      await server.stop();
      await scratch.cleanup();
      await Deno.remove(bucket, { recursive: true }).catch(() => {});
    }
  },
});
