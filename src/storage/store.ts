/**
 * Off-host object storage (SPEC §13): one interface, several backends (S3
 * compatible over aws4fetch, and `file:///path` for another disk or a NAS
 * mount). Every backend passes the conformance suite in tests/storage/.
 *
 * Keys are `/`-separated relative paths (`<prefix>/<workload>/<sid>.tar.zst`);
 * the backend owns the mapping to its own namespace. Large objects go through
 * the multipart calls (see upload.ts), which is what makes an upload
 * resumable after a crash: the upload id and the finished parts are journaled
 * by the caller, and `uploadPart` of a part already sent simply replaces it.
 *
 * Contract of every method:
 *   - `get` of a missing key and `stat` of a missing key differ: `get`
 *     throws StorageError("not_found"), `stat` answers undefined.
 *   - `delete` is idempotent (a missing key is fine).
 *   - a part's `etag` is what the backend reports; for S3 without SSE-KMS and
 *     for the file backend it is the hex MD5 of the part, which upload.ts uses
 *     to check every part end to end.
 *   - nothing a backend throws or logs contains a credential.
 */

export interface ObjectInfo {
  key: string;
  size: number;
  /** Backend ETag without quotes (MD5 hex, or `<md5>-<parts>` for multipart). */
  etag?: string;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface ObjectStore {
  /** Where it points, for messages: never carries a credential. */
  readonly describe: string;
  /** Single PUT of a body whose length is known; `md5` (hex) if the caller computed it. */
  put(key: string, body: Uint8Array, md5?: string): Promise<ObjectInfo>;
  /** Streams an object; `range` is inclusive of `start`, exclusive of `end`. */
  get(key: string, range?: { start: number; end?: number }): Promise<ReadableStream<Uint8Array>>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
  createMultipart(key: string): Promise<string>;
  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    md5?: string,
  ): Promise<string>;
  completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<ObjectInfo>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}

export type StorageErrorKind =
  | "not_found"
  | "unauthorized"
  | "unavailable"
  | "invalid"
  | "failed";

/**
 * A storage call failed. `retryable` says whether trying again may help
 * (connection refused, 5xx, throttling), which the uploader's backoff uses.
 */
export class StorageError extends Error {
  readonly kind: StorageErrorKind;
  readonly status?: number;
  constructor(
    kind: StorageErrorKind,
    message: string,
    opts: { status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "StorageError";
    this.kind = kind;
    this.status = opts.status;
  }
  get retryable(): boolean {
    return this.kind === "unavailable" || this.kind === "failed";
  }
}

/** Keys must be relative, `/`-separated and free of `.`/`..` segments. */
export function checkKey(key: string): string {
  if (
    !key || key.startsWith("/") || key.includes("\\") || key.includes("\0") ||
    key.split("/").some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new StorageError("invalid", `invalid object key "${key}"`);
  }
  return key;
}

/** Reads a whole (small) object: sidecars and tests only. */
export async function getBytes(store: ObjectStore, key: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response(await store.get(key)).arrayBuffer());
}
