/**
 * The conformance suite on both backends: file:// on a temp dir, and S3 on a
 * real s3rver on loopback (started once for this file, stopped at the end).
 */
import { FileStore } from "../../src/storage/file_store.ts";
import { S3Store } from "../../src/storage/s3_store.ts";
import { StorageError } from "../../src/storage/store.ts";
import { S3rver, S3RVER_KEY } from "../_helpers/s3rver.ts";
import { freePort } from "../_helpers/server.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";
import { random, storageSuite } from "./conformance.ts";

storageSuite("file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "volsnap-filestore-" });
  return { store: new FileStore(dir), cleanup: () => Deno.remove(dir, { recursive: true }) };
});

let server: Promise<S3rver> | undefined;
const s3 = () => (server ??= S3rver.start());
const s3Store = async (endpoint?: string) =>
  new S3Store({
    bucket: (await s3()).bucket,
    endpoint: endpoint ?? (await s3()).endpoint,
    region: "us-east-1",
    pathStyle: true,
    ...S3RVER_KEY,
    timeoutMs: 30_000,
  });

storageSuite("s3 (s3rver)", async () => ({ store: await s3Store(), cleanup: async () => {} }), {
  abortUnsupported: true,
  multipartEtagIsWholeMd5: true,
  completeIgnoresEtags: true,
});

Deno.test({
  name: "s3: the configured key id is the one sent, signed, and the secret never travels",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    // s3rver does not check signatures, so a loopback proxy records what is sent.
    const upstream = (await s3()).endpoint;
    const seen: string[] = [];
    const port = freePort();
    const proxy = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
      const u = new URL(req.url);
      const headers = new Headers(req.headers);
      seen.push([...headers].map(([k, v]) => `${k}: ${v}`).join("\n") + "\n" + u.search);
      const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
      return await fetch(upstream + u.pathname + u.search, { method: req.method, headers, body });
    });
    try {
      const store = new S3Store({
        bucket: (await s3()).bucket,
        endpoint: `http://127.0.0.1:${port}`,
        region: "eu-west-3",
        pathStyle: true,
        accessKeyId: S3RVER_KEY.accessKeyId, // s3rver knows only this id
        secretAccessKey: "very-secret-key-material",
      });
      await store.put("keyid/x", random(100));
      await store.stat("keyid/x");
      assert(seen.length >= 2);
      for (const s of seen) {
        assert(
          /authorization: AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/eu-west-3\/s3\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}/
            .test(s),
          s,
        );
        assert(!s.includes("very-secret-key-material"), "the secret was sent");
        assert(!/aws-chunked/i.test(s), "aws-chunked body sent");
      }
    } finally {
      await proxy.shutdown();
    }
  },
});

Deno.test({
  name: "s3: an unreachable endpoint is a retryable 'unavailable' error without credentials in it",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = new S3Store({
      bucket: "snaps",
      endpoint: `http://127.0.0.1:${freePort()}`,
      region: "us-east-1",
      pathStyle: true,
      accessKeyId: "AKIDLEAKCHECK",
      secretAccessKey: "SECRETLEAKCHECK",
      timeoutMs: 5000,
    });
    const err = await assertRejects(() => store.put("a/b", random(10)));
    assert(err instanceof StorageError && err.kind === "unavailable" && err.retryable, String(err));
    assert(!/LEAKCHECK/.test(String(err) + JSON.stringify(err)), String(err));
  },
});

Deno.test({
  name: "s3: a missing bucket is a not-found error naming the operation",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = new S3Store({
      bucket: "no-such-bucket",
      endpoint: (await s3()).endpoint,
      region: "us-east-1",
      pathStyle: true,
      ...S3RVER_KEY,
    });
    const err = await assertRejects(() => store.put("a/b", random(10)));
    assert(err instanceof StorageError && err.kind === "not_found", String(err));
    assertEquals(err.status, 404);
  },
});

Deno.test({
  name: "s3: the timeout bounds each wait for the body, not the whole (slowly read) download",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const bytes = random(3 << 20);
    await (await s3Store()).put("slow/read", bytes);
    const store = new S3Store({
      bucket: (await s3()).bucket,
      endpoint: (await s3()).endpoint,
      region: "us-east-1",
      pathStyle: true,
      ...S3RVER_KEY,
      timeoutMs: 400,
    });
    // A restore reads at the pace it writes files: here a pause past the timeout.
    const reader = (await store.get("slow/read")).getReader();
    const parts: Uint8Array[] = [];
    let n = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      n += r.value.length;
      if (parts.length === 1) await new Promise((r) => setTimeout(r, 900));
    }
    assertEquals(n, bytes.length);

    // A server that stops sending mid-body: the read fails after the timeout.
    const port = freePort();
    const stall = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      () =>
        new Response(
          new ReadableStream({ start: (c) => c.enqueue(new Uint8Array(1000)) }),
          { headers: { "content-length": "100000" } },
        ),
    );
    try {
      const stalled = new S3Store({
        bucket: "stalling",
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        pathStyle: true,
        ...S3RVER_KEY,
        timeoutMs: 400,
      });
      const t0 = performance.now();
      const body = await stalled.get("x/y");
      await assertRejects(async () => {
        for await (const _ of body) { /* drain until the stall fails it */ }
      });
      const waited = performance.now() - t0;
      assert(waited >= 350 && waited < 5000, `failed after ${waited} ms`);
    } finally {
      await stall.shutdown();
    }
  },
});

Deno.test({
  name: "stop s3rver",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    if (server) await (await server).stop();
  },
});
