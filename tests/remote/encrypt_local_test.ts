/**
 * VOLSNAP_ENCRYPT_LOCAL=true on the real server, real Docker and Debian's
 * age: the capture is kept as `<id>.tar.zst.age` (no frames, no plaintext on
 * disk) that `age -d | zstd -dc | tar -t` reads; the off-host copy is that
 * ciphertext as it is; download, verify and restore decrypt it with the
 * identity; without the identity a restore fails with decryption_failed and
 * a hint and changes nothing; no secret reaches the log or the answers.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { clearDir, populateTree } from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";
import { parseRemoteSettings } from "../../src/remote/config.ts";
import { ageKey, capture, restore, waitRemote, workloadWithVolume } from "./remote_helpers.ts";

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("VOLSNAP_ENCRYPT_LOCAL needs recipients", () => {
  let msg = "";
  try {
    parseRemoteSettings({ encryptLocal: "true" }, {});
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/VOLSNAP_ENCRYPT_LOCAL.*VOLSNAP_AGE_RECIPIENTS/.test(msg), msg);
});

Deno.test({
  name:
    "encrypted local snapshots: age file on disk, interop, copy as is, restore with the key only",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const bucket = await Deno.makeTempDir({ prefix: "volsnap-bucket-" });
    const key = await ageKey();
    const base = {
      VOLSNAP_REMOTE: `file://${bucket}`,
      VOLSNAP_AGE_RECIPIENTS: key.recipient,
      VOLSNAP_ENCRYPT_LOCAL: "true",
    };
    const withKey = { ...base, VOLSNAP_AGE_IDENTITY_FILE: key.identityFile };
    const scratch = new DockerScratch("vs-enclocal");
    const server = await TestServer.start({ env: withKey });
    try {
      const { wid, volDir } = await workloadWithVolume(scratch, 3 << 20);
      const before = fingerprint(volDir);
      const snap = await capture(server, wid);

      // On disk: one age file, no frame list, nothing plain.
      const dir = `${server.dataDir}/archives/${wid}`;
      const names = [...Deno.readDirSync(dir)].map((e) => e.name);
      assertEquals(names, [`${snap.id}.tar.zst.age`]);
      const path = `${dir}/${snap.id}.tar.zst.age`;
      const local = await Deno.readFile(path);
      assertEquals(new TextDecoder().decode(local.subarray(0, 21)), "age-encryption.org/v1");

      // Interop: Debian's age, zstd and GNU tar read the local file.
      const listing = await new Deno.Command("sh", {
        args: ["-c", `age -d -i '${key.identityFile}' '${path}' | zstd -dc | tar -t`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(listing.success, new TextDecoder().decode(listing.stderr));
      const members = new TextDecoder().decode(listing.stdout).split("\n");
      assertEquals(members[0], "volsnap.json");
      assert(members.some((n) => n.startsWith("volumes/0/")), members.join(","));

      // The off-host copy is the local ciphertext, byte for byte.
      await waitRemote(server, snap.id, "present");
      const object = await Deno.readFile(`${bucket}/${wid}/${snap.id}.tar.zst.age`);
      assertEquals(await sha256Hex(object), await sha256Hex(local));

      // Download is the plain standalone stream: the snapshot's size and sha256.
      const dl = await fetch(`${server.url}/api/v1/snapshots/${snap.id}/archive`, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      assertEquals(dl.status, 200);
      const plain = new Uint8Array(await dl.arrayBuffer());
      assertEquals(plain.length, snap.sizeBytes);
      assertEquals(await sha256Hex(plain), snap.sha256);

      const verify = await server.api("POST", `/api/v1/snapshots/${snap.id}/verify?wait=true`);
      assertEquals(verify.json.verify?.ok, true, JSON.stringify(verify.json));

      clearDir(volDir);
      populateTree(volDir, "CHANGED");
      const ok = await restore(server, wid, snap.id);
      assertEquals(ok.status, 200, JSON.stringify(ok.json));
      assertEquals(diffTrees(fingerprint(volDir), before), [], "the volume equals the snapshot");
      // The pre-restore snapshot is kept encrypted too.
      const kept = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n !== names[0]);
      assertEquals(kept.length, 1, kept.join(","));
      assert(kept[0].endsWith(".tar.zst.age"), kept[0]);

      // Without the identity: refused before anything is touched, with a hint.
      await server.restart({ env: base });
      populateTree(volDir, "LIVE2");
      const live = fingerprint(volDir);
      const noKey = await restore(server, wid, snap.id);
      assertEquals(noKey.status, 422, JSON.stringify(noKey.json));
      assertEquals(noKey.json.error.code, "decryption_failed");
      assert(/VOLSNAP_AGE_IDENTITY_FILE/.test(noKey.json.error.hint ?? ""), JSON.stringify(noKey));
      assertEquals(diffTrees(fingerprint(volDir), live), [], "a failed restore changes nothing");

      const events = await server.api("GET", `/api/v1/events?workload=${wid}`);
      for (const text of [server.log, JSON.stringify(events.json), JSON.stringify(noKey.json)]) {
        assert(!text.includes("AGE-SECRET-KEY"), "identity leaked");
      }
    } finally {
      await server.stop();
      await scratch.cleanup();
      await Deno.remove(bucket, { recursive: true }).catch(() => {});
    }
  },
});
