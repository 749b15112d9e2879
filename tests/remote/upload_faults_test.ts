/**
 * Faults of the off-host copy on the real server and a real s3rver:
 *   - S3 stopped while the copy runs: the capture succeeds, the copy is
 *     pending with its error, and completes once S3 is back;
 *   - volsnap SIGKILLed after the first uploaded part: after a restart the
 *     copy resumes, completes and verifies (the object equals the archive).
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { S3rver } from "../_helpers/s3rver.ts";
import { sleep, TestServer } from "../_helpers/server.ts";
import {
  bucketStore,
  capture,
  remoteEnv,
  waitRemote,
  workloadWithVolume,
} from "./remote_helpers.ts";

const sha = async (s: ReadableStream<Uint8Array>) => {
  const h = createHash("sha256");
  for await (const c of s) h.update(c);
  return h.digest("hex");
};

Deno.test({
  name: "S3 down during the copy: the capture succeeds, the copy stays pending and completes later",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const s3 = await S3rver.start();
    const scratch = new DockerScratch("vs-s3down");
    const server = await TestServer.start({ env: remoteEnv(s3, "down") });
    try {
      const { wid } = await workloadWithVolume(scratch, 24 << 20);
      await s3.stop();
      const snap = await capture(server, wid);
      assertEquals(snap.status, "complete");
      // Pending, with the reason, and retried (attempts grow) while S3 is away.
      const deadline = Date.now() + 60_000;
      let remote;
      while (Date.now() < deadline) {
        const r = await server.api("GET", `/api/v1/snapshots/${snap.id}`);
        remote = r.json.snapshot.locations.find((l: { kind: string }) => l.kind === "remote");
        if (remote?.state === "pending" && remote.attempts >= 2) break;
        await sleep(300);
      }
      assertEquals(remote?.state, "pending", JSON.stringify(remote));
      assert(/unreachable|unavailable/i.test(remote.lastError ?? ""), JSON.stringify(remote));
      const events = await server.api("GET", `/api/v1/events?workload=${wid}`);
      const failed = events.json.events.filter((e: { kind: string }) => e.kind === "upload_failed");
      assertEquals(failed.length, 1, "one upload_failed event, not one per retry");

      await s3.restart();
      const done = await waitRemote(server, snap.id, "present");
      assert(done.locations.some((l: { kind: string }) => l.kind === "local"));
      const store = bucketStore(s3);
      const key = `down/${wid}/${snap.id}.tar.zst`;
      assertEquals(await sha(await store.get(key)), snap.sha256);
      assert(await store.stat(`down/${wid}/${snap.id}.json`), "sidecar written");
    } finally {
      await server.stop();
      await scratch.cleanup();
      await s3.stop();
    }
  },
});

Deno.test({
  name: "SIGKILL after the first uploaded part: after a restart the copy resumes and verifies",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const s3 = await S3rver.start();
    const scratch = new DockerScratch("vs-s3kill");
    const server = await TestServer.start({
      env: remoteEnv(s3, "kill"),
      killAt: "remote.part_uploaded",
    });
    try {
      // Incompressible data, so the archive spans several 16 MiB parts.
      const { wid } = await workloadWithVolume(scratch, 40 << 20);
      const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
      assertEquals(cap.status, 201, JSON.stringify(cap.json));
      const snap = cap.json.snapshot;
      assert(snap.sizeBytes > 32 << 20, `archive of ${snap.sizeBytes} bytes spans 3+ parts`);
      const status = await server.exited();
      assertEquals(status.signal, "SIGKILL", "killed at the first part checkpoint");
      assert(Deno.statSync(join(server.archivesDir(), wid)).isDirectory);

      await server.restart();
      const done = await waitRemote(server, snap.id, "present");
      const remote = done.locations.find((l: { kind: string }) => l.kind === "remote");
      assertEquals(remote.attempts, 2, "the interrupted attempt and the resumed one");
      assert(server.log.includes("resuming off-host copy"), "resumed from the checkpoint");
      const store = bucketStore(s3);
      assertEquals(await sha(await store.get(`kill/${wid}/${snap.id}.tar.zst`)), snap.sha256);
      const verify = await server.api("POST", `/api/v1/snapshots/${snap.id}/verify?wait=true`);
      assertEquals(verify.json.verify?.ok, true);
    } finally {
      await server.stop();
      await scratch.cleanup();
      await s3.stop();
    }
  },
});
