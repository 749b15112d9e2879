/**
 * A thin client of the volsnap HTTP API for the CLI. Uploads go through
 * node:http with a Content-Length (chunked uploads into Deno.serve stall,
 * stack.md §5); downloads stream into a durable file and are hashed on the way.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import http from "node:http";
import https from "node:https";
import { openDurableWriter } from "../src/fs/durable.ts";
import { concatBytes } from "../src/core/bytes.ts";

/** An error to print as one line; `status` is the HTTP status when there was one. */
export class CliError extends Error {
  constructor(message: string, readonly status?: number, readonly code?: string) {
    super(message);
    this.name = "CliError";
  }
}

export interface OperationJson {
  id: string;
  kind: string;
  state: "running" | "succeeded" | "failed" | "interrupted";
  phase: string;
  bytesDone: number;
  bytesTotal: number | null;
  result: unknown;
  error: { code: string; message: string } | null;
}

/** Turns an API error body into one line: "code: message (hint)". */
function errorLine(status: number, text: string): CliError {
  try {
    const e = JSON.parse(text).error;
    if (e?.code) {
      return new CliError(`${e.code}: ${e.message}${e.hint ? ` (${e.hint})` : ""}`, status, e.code);
    }
  } catch { /* not JSON: fall through */ }
  return new CliError(`HTTP ${status}: ${text.slice(0, 200).replace(/\s+/g, " ")}`, status);
}

export class ApiClient {
  readonly baseUrl: string;
  #token: string;
  #fetch: typeof fetch;

  constructor(opts: { url: string; token: string; fetch?: typeof fetch }) {
    this.baseUrl = opts.url.replace(/\/+$/, "");
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? fetch;
  }

  async #send(method: string, path: string, init: { body?: unknown; headers?: HeadersInit } = {}) {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${this.#token}`);
    let body: string | undefined;
    if (init.body !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(init.body);
    }
    try {
      return await this.#fetch(this.baseUrl + path, { method, headers, body });
    } catch (err) {
      throw new CliError(
        `cannot reach volsnap at ${this.baseUrl}: ${
          (err as Error).message
        } (is "volsnap serve" running? set --url or VOLSNAP_URL)`,
      );
    }
  }

  /** A JSON request; non-2xx statuses become a CliError with the server's message. */
  async json<T = Record<string, unknown>>(
    method: string,
    path: string,
    init: { body?: unknown; headers?: HeadersInit } = {},
  ): Promise<{ status: number; headers: Headers; body: T }> {
    const res = await this.#send(method, path, init);
    const text = await res.text();
    if (!res.ok) throw errorLine(res.status, text);
    let body = {} as T;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        throw new CliError(`unexpected non-JSON answer from ${path} (HTTP ${res.status})`);
      }
    }
    return { status: res.status, headers: res.headers, body };
  }

  /**
   * Starts a long operation (202 + Location) and polls it to the end.
   * Returns its result; a failed operation becomes a CliError.
   */
  async runOperation(
    path: string,
    init: { body?: unknown; headers?: HeadersInit },
    onProgress?: (op: OperationJson) => void,
    pollMs = 500,
  ): Promise<unknown> {
    const started = await this.json<{ operation: OperationJson }>("POST", path, init);
    let op = started.body.operation;
    const location = started.headers.get("Location") ?? `/api/v1/operations/${op.id}`;
    while (op.state === "running") {
      onProgress?.(op);
      await new Promise((r) => setTimeout(r, pollMs));
      op = (await this.json<{ operation: OperationJson }>("GET", location)).body.operation;
    }
    if (op.state !== "succeeded") {
      const e = op.error ?? { code: op.state, message: `operation ${op.id} ${op.state}` };
      throw new CliError(`${e.code}: ${e.message}`, undefined, e.code);
    }
    return op.result;
  }

  /** POSTs a file as the raw body with its Content-Length; resolves with the JSON answer. */
  upload(
    path: string,
    filePath: string,
    onProgress?: (sent: number, total: number) => void,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      let size: number;
      try {
        size = Deno.statSync(filePath).size;
      } catch (err) {
        return reject(new CliError(`cannot read ${filePath}: ${(err as Error).message}`));
      }
      const url = new URL(this.baseUrl + path);
      const mod = url.protocol === "https:" ? https : http;
      const req = mod.request({
        method: "POST",
        hostname: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || undefined,
        path: url.pathname + url.search,
        headers: {
          Authorization: `Bearer ${this.#token}`,
          "Content-Type": "application/octet-stream",
          "Content-Length": String(size),
        },
      }, (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (c: Uint8Array) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = new TextDecoder().decode(concatBytes(chunks));
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return reject(errorLine(status, text));
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new CliError(`unexpected non-JSON answer (HTTP ${status})`));
          }
        });
      });
      req.on(
        "error",
        (err: Error) => reject(new CliError(`upload to ${this.baseUrl} failed: ${err.message}`)),
      );
      const file = createReadStream(filePath, { highWaterMark: 1 << 20 });
      let sent = 0;
      file.on("data", (chunk) => {
        sent += chunk.length;
        onProgress?.(sent, size);
      });
      file.on("error", (err) => {
        req.destroy(err);
        reject(new CliError(`cannot read ${filePath}: ${err.message}`));
      });
      file.pipe(req);
    });
  }

  /**
   * Streams an archive to `outPath` (durably: temp file, fsync, rename) or to
   * `sink`. The bytes are checked against Content-Length and the sha256 ETag.
   */
  async download(
    path: string,
    target: { outPath: string } | { sink: WritableStream<Uint8Array> },
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ bytes: number; sha256: string; fileName?: string }> {
    const res = await this.#send("GET", path);
    if (!res.ok) throw errorLine(res.status, await res.text());
    if (!res.body) throw new CliError("empty download");
    const total = Number(res.headers.get("Content-Length") ?? NaN);
    const etag = res.headers.get("ETag")?.replace(/^"|"$/g, "");
    const fileName = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") ?? "")?.[1];
    const hash = createHash("sha256");
    let bytes = 0;
    const writer = "outPath" in target ? await openDurableWriter(target.outPath, 0o600) : undefined;
    const sinkWriter = "sink" in target ? target.sink.getWriter() : undefined;
    try {
      for await (const chunk of res.body) {
        hash.update(chunk);
        bytes += chunk.byteLength;
        if (writer) await writer.write(chunk);
        else await sinkWriter!.write(chunk);
        onProgress?.(bytes, total);
      }
      const sha256 = hash.digest("hex");
      if (Number.isFinite(total) && bytes !== total) {
        throw new CliError(`download truncated: got ${bytes} of ${total} bytes`);
      }
      if (etag && etag !== sha256) {
        throw new CliError(`download corrupted: sha256 ${sha256} does not match ${etag}`);
      }
      if (writer) await writer.commit();
      else await sinkWriter!.close();
      return { bytes, sha256, fileName };
    } catch (err) {
      await writer?.abort();
      sinkWriter?.releaseLock();
      throw err;
    }
  }
}
