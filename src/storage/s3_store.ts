/**
 * S3-compatible backend: aws4fetch signs plain `fetch` requests (SigV4), the
 * multipart calls are the S3 REST API as documented (CreateMultipartUpload,
 * UploadPart with Content-MD5, CompleteMultipartUpload, AbortMultipartUpload).
 * Bodies are always sent plain with a hex sha256 payload hash (never
 * `aws-chunked`), which every S3 implementation accepts.
 *
 * Error texts carry the S3 error `Code`/`Message` only: S3 error bodies may
 * echo the access key id, so they are never passed on whole.
 */
import { AwsClient } from "aws4fetch";
import { createHash } from "node:crypto";
import { putWithBody } from "./body_put.ts";
import {
  checkKey,
  type CompletedPart,
  type ObjectInfo,
  type ObjectStore,
  StorageError,
} from "./store.ts";

export interface S3Options {
  bucket: string;
  /** e.g. `http://127.0.0.1:9000`; absent: AWS (`https://s3.<region>.amazonaws.com`). */
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
}

export function md5Hex(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

export class S3Store implements ObjectStore {
  readonly describe: string;
  readonly #aws: AwsClient;
  readonly #base: string;
  readonly #timeoutMs: number;

  constructor(o: S3Options) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(o.bucket)) {
      throw new StorageError("invalid", `invalid S3 bucket name "${o.bucket}"`);
    }
    const endpoint = (o.endpoint ?? `https://s3.${o.region}.amazonaws.com`).replace(/\/+$/, "");
    const u = new URL(endpoint);
    this.#base = o.pathStyle
      ? `${u.origin}${u.pathname.replace(/\/$/, "")}/${o.bucket}`
      : `${u.protocol}//${o.bucket}.${u.host}${u.pathname.replace(/\/$/, "")}`;
    this.describe = `s3://${o.bucket} at ${u.origin}`;
    this.#timeoutMs = o.timeoutMs ?? 120_000;
    this.#aws = new AwsClient({
      accessKeyId: o.accessKeyId,
      secretAccessKey: o.secretAccessKey,
      sessionToken: o.sessionToken,
      region: o.region,
      service: "s3",
      retries: 0, // the uploader owns retries and backoff
    });
  }

  #url(key: string, query = ""): string {
    const path = key ? "/" + checkKey(key).split("/").map(encodeURIComponent).join("/") : "/";
    return this.#base + path + (query ? "?" + query : "");
  }

  /**
   * One signed request. A body-bearing PUT (`body`) goes through node:http
   * (body_put.ts explains why); everything else through fetch.
   */
  async #call(
    what: string,
    url: string,
    init: RequestInit & { ok?: number[]; put?: Uint8Array; streamBody?: boolean },
  ): Promise<Response> {
    let res: Response;
    try {
      if (init.put) {
        const { put, ok: _ok, ...rest } = init;
        const signed = await this.#aws.sign(url, rest);
        const r = await putWithBody(signed, put, this.#timeoutMs);
        // Only 1xx/204/304 may not have a body; no answer here is one of those.
        res = new Response(r.status === 204 ? null : r.text, {
          status: r.status,
          headers: r.headers,
        });
      } else if (init.streamBody) {
        const { streamBody: _s, ok: _ok, ...rest } = init;
        res = await fetchStreaming(
          (signal) => this.#aws.fetch(url, { ...rest, signal }),
          this.#timeoutMs,
        );
      } else {
        res = await this.#aws.fetch(url, { ...init, signal: AbortSignal.timeout(this.#timeoutMs) });
      }
    } catch (err) {
      throw new StorageError(
        "unavailable",
        `${what}: ${this.describe} unreachable (${errName(err)})`,
        {
          cause: err,
        },
      );
    }
    if (res.ok || init.ok?.includes(res.status)) return res;
    const text = await res.text().catch(() => "");
    const code = /<Code>([^<]{0,100})<\/Code>/.exec(text)?.[1];
    const msg = /<Message>([^<]{0,300})<\/Message>/.exec(text)?.[1];
    const detail = `${what}: HTTP ${res.status}${code ? ` ${code}` : ""}${
      msg ? `: ${xmlText(msg)}` : ""
    }`;
    const kind = res.status === 404
      ? "not_found"
      : res.status === 401 || res.status === 403
      ? "unauthorized"
      : res.status >= 500 || res.status === 429 || res.status === 408
      ? "unavailable"
      : "invalid";
    throw new StorageError(kind, detail, { status: res.status });
  }

  async put(key: string, body: Uint8Array, md5?: string): Promise<ObjectInfo> {
    const res = await this.#call(`put ${key}`, this.#url(key), {
      method: "PUT",
      put: body,
      headers: bodyHeaders(body, md5),
    });
    await res.body?.cancel();
    return { key, size: body.length, etag: unquote(res.headers.get("etag")) };
  }

  async get(key: string, range?: { start: number; end?: number }) {
    const headers: Record<string, string> = {};
    if (range) {
      headers.range = `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ""}`;
    }
    const res = await this.#call(`get ${key}`, this.#url(key), {
      method: "GET",
      headers,
      streamBody: true,
    });
    if (range && res.status !== 206) {
      await res.body?.cancel();
      throw new StorageError("failed", `get ${key}: server ignored the byte range`);
    }
    return res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const res = await this.#call(`stat ${key}`, this.#url(key), { method: "HEAD", ok: [404] });
    await res.body?.cancel();
    if (res.status === 404) return undefined;
    return {
      key,
      size: Number(res.headers.get("content-length") ?? 0),
      etag: unquote(res.headers.get("etag")),
    };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ "list-type": "2", prefix, "max-keys": "1000" });
      if (token) q.set("continuation-token", token);
      const res = await this.#call(`list ${prefix}`, this.#url("", q.toString()), {
        method: "GET",
      });
      const xml = await res.text();
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = xmlText(/<Key>([\s\S]*?)<\/Key>/.exec(m[1])?.[1] ?? "");
        const size = Number(/<Size>(\d+)<\/Size>/.exec(m[1])?.[1] ?? 0);
        const etag = unquote(xmlText(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1])?.[1] ?? ""));
        if (key.startsWith(prefix)) out.push({ key, size, etag });
      }
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
        ? xmlText(/<NextContinuationToken>([\s\S]*?)<\/NextContinuationToken>/.exec(xml)?.[1] ?? "")
        : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const res = await this.#call(`delete ${key}`, this.#url(key), { method: "DELETE", ok: [404] });
    await res.body?.cancel();
  }

  async createMultipart(key: string): Promise<string> {
    const res = await this.#call(`create upload ${key}`, this.#url(key, "uploads="), {
      method: "POST",
    });
    const id = /<UploadId>([\s\S]*?)<\/UploadId>/.exec(await res.text())?.[1];
    if (!id) throw new StorageError("failed", `create upload ${key}: no UploadId in the answer`);
    return xmlText(id);
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    md5?: string,
  ) {
    const q = `partNumber=${partNumber}&uploadId=${encodeURIComponent(uploadId)}`;
    const res = await this.#call(`upload part ${partNumber} of ${key}`, this.#url(key, q), {
      method: "PUT",
      put: body,
      headers: bodyHeaders(body, md5),
    });
    await res.body?.cancel();
    const etag = unquote(res.headers.get("etag"));
    if (!etag) throw new StorageError("failed", `upload part ${partNumber} of ${key}: no ETag`);
    return etag;
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]) {
    const xml = "<CompleteMultipartUpload>" +
      parts.map((p) =>
        `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>"${p.etag}"</ETag></Part>`
      )
        .join("") +
      "</CompleteMultipartUpload>";
    const res = await this.#call(
      `complete upload ${key}`,
      this.#url(key, `uploadId=${encodeURIComponent(uploadId)}`),
      { method: "POST", body: xml, headers: { "content-type": "application/xml" } },
    );
    // S3 may answer 200 with an <Error> body when completion fails late.
    const text = await res.text();
    if (/<Error>/.test(text)) {
      const code = /<Code>([^<]{0,100})<\/Code>/.exec(text)?.[1] ?? "error";
      throw new StorageError("unavailable", `complete upload ${key}: ${code}`);
    }
    const info = await this.stat(key);
    if (!info) {
      throw new StorageError("failed", `complete upload ${key}: object missing afterwards`);
    }
    return info;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    const res = await this.#call(
      `abort upload ${key}`,
      this.#url(key, `uploadId=${encodeURIComponent(uploadId)}`),
      { method: "DELETE", ok: [404] },
    );
    await res.body?.cancel();
  }
}

/**
 * Content-MD5 makes S3 refuse a body damaged on the way; with it the payload
 * is sent UNSIGNED-PAYLOAD (allowed for S3 PUTs), which spares a sha256 pass.
 */
function bodyHeaders(body: Uint8Array, md5Hex?: string): Record<string, string> {
  const md5 = md5Hex
    ? btoa(String.fromCharCode(...md5Hex.match(/../g)!.map((h) => parseInt(h, 16))))
    : createHash("md5").update(body).digest("base64");
  return {
    "content-md5": md5,
    "content-length": String(body.length),
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
  };
}

function unquote(etag: string | null | undefined): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "").replace(/^&quot;|&quot;$/g, "");
}

function xmlText(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d)))
    .replace(/&amp;/g, "&");
}

function errName(err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (e?.name === "TimeoutError") return "timed out";
  return (e?.message ?? String(err)).split("\n")[0].slice(0, 200);
}

/**
 * A response whose body may take longer than `ms` to arrive in full (a
 * restore streams a whole archive, at the pace the restore writes it): `ms`
 * bounds the wait for the headers and then each wait for more bytes, not the
 * transfer. (A fetch signal that fires after the headers cuts the body off.)
 */
async function fetchStreaming(
  send: (signal: AbortSignal) => Promise<Response>,
  ms: number,
): Promise<Response> {
  const ac = new AbortController();
  // One coarse watchdog instead of a timer per chunk (a GET of 90 MiB is
  // ~1,500 chunks): it aborts once a wait has lasted `ms`.
  let waitingSince = performance.now();
  const watchdog = setInterval(() => {
    if (waitingSince && performance.now() - waitingSince >= ms) {
      ac.abort(new DOMException(`no data for ${ms} ms`, "TimeoutError"));
    }
  }, Math.max(10, Math.min(1000, ms / 8)));
  Deno.unrefTimer(watchdog);
  let res: Response;
  try {
    res = await send(ac.signal);
  } catch (err) {
    clearInterval(watchdog);
    throw err;
  }
  waitingSince = 0;
  if (!res.body) {
    clearInterval(watchdog);
    return res;
  }
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      // Timed only while waiting: a consumer that reads slowly is no stalled server.
      waitingSince = performance.now();
      try {
        const r = await reader.read();
        if (r.done) {
          clearInterval(watchdog);
          c.close();
        } else c.enqueue(r.value);
      } catch (err) {
        clearInterval(watchdog);
        throw err;
      } finally {
        waitingSince = 0;
      }
    },
    cancel: (reason) => {
      clearInterval(watchdog);
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(body, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
  });
}
