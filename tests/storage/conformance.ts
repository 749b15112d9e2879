/**
 * The storage conformance suite (restic's pattern): every ObjectStore backend
 * runs exactly these cases. Backend quirks the suite tolerates are named in
 * `quirks`, never hidden in the backends.
 */
import { createHash } from "node:crypto";
import { getBytes, type ObjectStore, StorageError } from "../../src/storage/store.ts";
import { type UploadCheckpoint, uploadObject } from "../../src/storage/upload.ts";
import { assert, assertEquals, assertRejects } from "../_helpers/assert.ts";

export interface SuiteQuirks {
  /** s3rver 3.7 answers 405 to AbortMultipartUpload. */
  abortUnsupported?: boolean;
  /** s3rver 3.7 reports a multipart object's ETag as the MD5 of the whole object. */
  multipartEtagIsWholeMd5?: boolean;
  /** s3rver 3.7 completes an upload whatever ETags the request lists. */
  completeIgnoresEtags?: boolean;
}

const MiB = 1 << 20;
const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

/** A stream of `bytes` in odd-sized chunks, starting at `offset`. */
function streamOf(bytes: Uint8Array, offset = 0): ReadableStream<Uint8Array> {
  let pos = offset;
  return new ReadableStream({
    pull(c) {
      if (pos >= bytes.length) return c.close();
      const n = Math.min(777_777, bytes.length - pos);
      c.enqueue(bytes.slice(pos, pos + n));
      pos += n;
    },
  });
}

export function storageSuite(
  name: string,
  make: () => Promise<{ store: ObjectStore; cleanup(): Promise<void> }>,
  quirks: SuiteQuirks = {},
) {
  const t = (what: string, fn: (s: ObjectStore, p: string) => Promise<void>) =>
    Deno.test({
      name: `${name}: ${what}`,
      sanitizeResources: false,
      sanitizeOps: false,
      fn: async () => {
        const { store, cleanup } = await make();
        try {
          await fn(store, `t-${crypto.randomUUID().slice(0, 8)}`);
        } finally {
          await cleanup();
        }
      },
    });

  t("put, stat and get round-trip the bytes; ETag is the MD5", async (s, p) => {
    const body = random(300_001);
    const put = await s.put(`${p}/a/one.bin`, body);
    assertEquals(put.size, body.length);
    const st = await s.stat(`${p}/a/one.bin`);
    assertEquals(st?.size, body.length);
    assertEquals(st?.etag, md5(body));
    assertEquals(sha(await getBytes(s, `${p}/a/one.bin`)), sha(body));
    // Overwrite replaces.
    await s.put(`${p}/a/one.bin`, body.subarray(0, 10));
    assertEquals((await getBytes(s, `${p}/a/one.bin`)).length, 10);
  });

  t("an empty object round-trips", async (s, p) => {
    await s.put(`${p}/empty`, new Uint8Array());
    assertEquals((await s.stat(`${p}/empty`))?.size, 0);
    assertEquals((await getBytes(s, `${p}/empty`)).length, 0);
  });

  t("ranged get returns exactly the bytes asked for", async (s, p) => {
    const body = random(2 * MiB + 5);
    await s.put(`${p}/r`, body);
    const part = new Uint8Array(
      await new Response(await s.get(`${p}/r`, { start: 1000, end: 1000 + MiB })).arrayBuffer(),
    );
    assertEquals(sha(part), sha(body.subarray(1000, 1000 + MiB)));
    const tail = new Uint8Array(
      await new Response(await s.get(`${p}/r`, { start: 2 * MiB })).arrayBuffer(),
    );
    assertEquals(sha(tail), sha(body.subarray(2 * MiB)));
  });

  t("list returns the objects under a prefix in key order, nothing else", async (s, p) => {
    for (const k of ["w1/b.json", "w1/a.tar.zst", "w2/c.json", "w1x/d"]) {
      await s.put(`${p}/${k}`, new TextEncoder().encode(k));
    }
    const w1 = await s.list(`${p}/w1/`);
    assertEquals(w1.map((o) => o.key), [`${p}/w1/a.tar.zst`, `${p}/w1/b.json`]);
    assertEquals(w1[0].size, "w1/a.tar.zst".length);
    const all = await s.list(`${p}/`);
    assertEquals(all.length, 4);
    assertEquals((await s.list(`${p}/nothing/`)).length, 0);
  });

  t("delete is idempotent; a missing key: stat undefined, get not_found", async (s, p) => {
    await s.put(`${p}/d`, random(10));
    await s.delete(`${p}/d`);
    await s.delete(`${p}/d`);
    assertEquals(await s.stat(`${p}/d`), undefined);
    await assertRejects(
      () => s.get(`${p}/d`),
      (e) => e instanceof StorageError && e.kind === "not_found",
    );
    assertEquals((await s.list(`${p}/`)).length, 0);
  });

  t("invalid keys are refused before any request", async (s) => {
    for (const k of ["", "/abs", "a/../b", "a//b", "./a"]) {
      await assertRejects(
        () => s.put(k, random(1)),
        (e) => e instanceof StorageError && e.kind === "invalid",
      );
    }
  });

  t(
    "multipart: parts uploaded out of order complete into one object; ETag is S3's composite",
    async (s, p) => {
      const parts = [random(5 * MiB), random(5 * MiB), random(MiB + 3)];
      const key = `${p}/mp.bin`;
      const id = await s.createMultipart(key);
      const etags: string[] = [];
      for (const i of [2, 0, 1]) etags[i] = await s.uploadPart(key, id, i + 1, parts[i]);
      parts.forEach((b, i) => assertEquals(etags[i], md5(b), `part ${i + 1} ETag`));
      const info = await s.completeMultipart(
        key,
        id,
        etags.map((etag, i) => ({ partNumber: i + 1, etag })),
      );
      const whole = new Uint8Array(11 * MiB + 3);
      whole.set(parts[0]);
      whole.set(parts[1], 5 * MiB);
      whole.set(parts[2], 10 * MiB);
      assertEquals(info.size, whole.length);
      const composite = createHash("md5");
      for (const e of etags) {
        composite.update(
          Uint8Array.from(e.match(/../g)!, (h) => parseInt(h, 16)),
        );
      }
      const etag = (await s.stat(key))?.etag;
      assertEquals(
        etag,
        quirks.multipartEtagIsWholeMd5 ? md5(whole) : `${composite.digest("hex")}-3`,
      );
      assertEquals(sha(await getBytes(s, key)), sha(whole));
    },
  );

  t(
    "multipart resume: a part sent again replaces it, and the upload id survives a new client",
    async (s, p) => {
      const key = `${p}/resume.bin`;
      const id = await s.createMultipart(key);
      const a = random(5 * MiB);
      const b = random(2 * MiB);
      await s.uploadPart(key, id, 1, random(5 * MiB)); // lost in the "crash", sent again below
      const ea = await s.uploadPart(key, id, 1, a);
      const eb = await s.uploadPart(key, id, 2, b);
      await s.completeMultipart(key, id, [{ partNumber: 1, etag: ea }, {
        partNumber: 2,
        etag: eb,
      }]);
      const got = await getBytes(s, key);
      assertEquals(sha(got.subarray(0, 5 * MiB)), sha(a));
      assertEquals(sha(got.subarray(5 * MiB)), sha(b));
    },
  );

  t("multipart: completing with a wrong ETag fails and stores nothing", async (s, p) => {
    const key = `${p}/bad.bin`;
    const id = await s.createMultipart(key);
    await s.uploadPart(key, id, 1, random(MiB));
    const bad = [{ partNumber: 1, etag: "0".repeat(32) }];
    if (quirks.completeIgnoresEtags) return void await s.completeMultipart(key, id, bad);
    await assertRejects(() => s.completeMultipart(key, id, bad));
    assertEquals(await s.stat(key), undefined);
  });

  t("abort of a multipart upload leaves no object", async (s, p) => {
    const key = `${p}/aborted.bin`;
    const id = await s.createMultipart(key);
    await s.uploadPart(key, id, 1, random(MiB));
    if (quirks.abortUnsupported) {
      await assertRejects(() => s.abortMultipart(key, id));
    } else {
      await s.abortMultipart(key, id);
      await assertRejects(() => s.uploadPart(key, id, 2, random(10)));
    }
    assertEquals(await s.stat(key), undefined);
  });

  t("uploadObject streams in bounded parts, checkpoints, and verifies end to end", async (s, p) => {
    const body = random(23 * MiB + 17);
    const checkpoints: UploadCheckpoint[] = [];
    let maxProgress = 0;
    const r = await uploadObject({
      store: s,
      key: `${p}/stream.bin`,
      open: (off) => Promise.resolve(streamOf(body, off)),
      partSize: 5 * MiB,
      concurrency: 3,
      onCheckpoint: (c) => {
        checkpoints.push(structuredClone(c));
        return Promise.resolve();
      },
      onProgress: (n) => (maxProgress = Math.max(maxProgress, n)),
    });
    assertEquals(r.size, body.length);
    assertEquals(r.sha256, sha(body));
    assertEquals(maxProgress, body.length);
    assert(checkpoints.length === 5, `5 checkpoints, got ${checkpoints.length}`);
    assertEquals(checkpoints.at(-1)!.parts.length, 5);
    assertEquals(sha(await getBytes(s, `${p}/stream.bin`)), sha(body));
  });

  t("uploadObject resumes from a checkpoint after the process 'died'", async (s, p) => {
    const body = random(17 * MiB);
    const key = `${p}/crash.bin`;
    let saved: UploadCheckpoint | undefined;
    await assertRejects(() =>
      uploadObject({
        store: s,
        key,
        open: (off) => Promise.resolve(streamOf(body, off)),
        partSize: 5 * MiB,
        concurrency: 1,
        onCheckpoint: (c) => {
          saved = structuredClone(c);
          if (c.parts.length === 2) throw new Error("simulated crash");
          return Promise.resolve();
        },
      }), (e) => (e as Error).message === "simulated crash");
    assertEquals(saved?.parts.length, 2);
    assertEquals(await s.stat(key), undefined);
    const offsets: number[] = [];
    const r = await uploadObject({
      store: s,
      key,
      resume: saved,
      sha256: sha(body),
      open: (off) => {
        offsets.push(off);
        return Promise.resolve(streamOf(body, off));
      },
    });
    assertEquals(offsets, [10 * MiB]);
    assertEquals(r.size, body.length);
    assertEquals(sha(await getBytes(s, key)), sha(body));
  });

  t("uploadObject of a small stream is a single put", async (s, p) => {
    const body = random(1000);
    const r = await uploadObject({
      store: s,
      key: `${p}/small`,
      open: () => Promise.resolve(streamOf(body)),
    });
    assertEquals(r.etag, md5(body));
    assertEquals(r.verifiedBy, "etag");
  });
}
