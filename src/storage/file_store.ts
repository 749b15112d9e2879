/**
 * `file:///path` backend: a directory on another disk or a NAS mount, with
 * the same semantics as the S3 backend. Objects are written with the durable
 * recipe (temp + fsync + rename + fsync dir); multipart parts are kept under
 * `<root>/.volsnap-uploads/<uploadId>/` until completion concatenates them.
 * ETags are computed the way S3 does (MD5, `<md5 of md5s>-<n>` for multipart)
 * so the uploader's end-to-end check is the same for both backends.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { isTempName, openDurableWriter, syncDir, writeFileDurable } from "../fs/durable.ts";
import { md5Hex } from "./s3_store.ts";
import {
  checkKey,
  type CompletedPart,
  type ObjectInfo,
  type ObjectStore,
  StorageError,
} from "./store.ts";

const UPLOADS = ".volsnap-uploads";
const ETAG_SUFFIX = ".etag";

export class FileStore implements ObjectStore {
  readonly describe: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = root.replace(/\/+$/, "") || "/";
    this.describe = `file://${this.#root}`;
  }

  #path(key: string): string {
    const k = checkKey(key);
    if (k.split("/")[0] === UPLOADS || k.endsWith(ETAG_SUFFIX)) {
      throw new StorageError("invalid", `object key "${key}" is reserved`);
    }
    return join(this.#root, k);
  }

  async #ensureRoot(): Promise<void> {
    try {
      if (!(await Deno.stat(this.#root)).isDirectory) throw new Error("not a directory");
    } catch (err) {
      throw new StorageError("unavailable", `${this.describe} is not an accessible directory`, {
        cause: err,
      });
    }
  }

  // The ETag is computed here from what is stored, never taken from the caller.
  async put(key: string, body: Uint8Array, _md5?: string): Promise<ObjectInfo> {
    const path = this.#path(key);
    await this.#ensureRoot();
    await Deno.mkdir(dirname(path), { recursive: true });
    const etag = md5Hex(body);
    await writeFileDurable(path + ETAG_SUFFIX, etag);
    await writeFileDurable(path, body);
    return { key, size: body.length, etag };
  }

  async get(key: string, range?: { start: number; end?: number }) {
    const path = this.#path(key);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (err) {
      throw mapFsError(`get ${key}`, err);
    }
    const size = (await file.stat()).size;
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? size, size);
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    let left = Math.max(0, end - start);
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        if (left <= 0) {
          file.close();
          c.close();
          return;
        }
        const buf = new Uint8Array(Math.min(left, 1 << 20));
        const n = await file.read(buf);
        if (n === null) {
          file.close();
          c.error(new StorageError("failed", `get ${key}: object shorter than expected`));
          return;
        }
        left -= n;
        c.enqueue(buf.subarray(0, n));
      },
      cancel() {
        file.close();
      },
    });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.#path(key);
    try {
      const st = await Deno.stat(path);
      if (!st.isFile) return undefined;
      return { key, size: st.size, etag: await readEtag(path) };
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw mapFsError(`stat ${key}`, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    await this.#ensureRoot();
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, rel: string) => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(dir));
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return;
        throw mapFsError(`list ${prefix}`, err);
      }
      for (const e of entries) {
        const key = rel ? `${rel}/${e.name}` : e.name;
        if (!rel && e.name === UPLOADS) continue;
        if (isTempName(e.name) || e.name.endsWith(ETAG_SUFFIX)) continue;
        // Only descend where the prefix can still match.
        if (e.isDirectory && (prefix.startsWith(key + "/") || key.startsWith(prefix))) {
          await walk(join(dir, e.name), key);
        } else if (e.isFile && key.startsWith(prefix)) {
          const path = join(dir, e.name);
          out.push({ key, size: (await Deno.stat(path)).size, etag: await readEtag(path) });
        }
      }
    };
    await walk(this.#root, "");
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    for (const p of [path, path + ETAG_SUFFIX]) {
      try {
        await Deno.remove(p);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw mapFsError(`delete ${key}`, err);
      }
    }
  }

  #uploadDir(uploadId: string): string {
    if (!/^[0-9a-f]{32}$/.test(uploadId)) {
      throw new StorageError("not_found", `no such upload "${uploadId}"`);
    }
    return join(this.#root, UPLOADS, uploadId);
  }

  async createMultipart(key: string): Promise<string> {
    this.#path(key);
    await this.#ensureRoot();
    const id = Array.from(
      crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    await Deno.mkdir(this.#uploadDir(id), { recursive: true });
    await writeFileDurable(join(this.#uploadDir(id), "key"), key);
    return id;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    _md5?: string,
  ) {
    const dir = await this.#openUpload(key, uploadId);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new StorageError("invalid", `invalid part number ${partNumber}`);
    }
    await writeFileDurable(join(dir, `${partNumber}.part`), body);
    return md5Hex(body);
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]) {
    const dir = await this.#openUpload(key, uploadId);
    const path = this.#path(key);
    await Deno.mkdir(dirname(path), { recursive: true });
    const w = await openDurableWriter(path);
    const md5s = createHash("md5");
    let size = 0;
    try {
      let last = 0;
      for (const p of parts) {
        if (p.partNumber <= last) throw new StorageError("invalid", "parts out of order");
        last = p.partNumber;
        let bytes: Uint8Array;
        try {
          bytes = await Deno.readFile(join(dir, `${p.partNumber}.part`));
        } catch {
          throw new StorageError("invalid", `part ${p.partNumber} of ${key} was never uploaded`);
        }
        const etag = md5Hex(bytes);
        if (etag !== p.etag) {
          throw new StorageError("invalid", `part ${p.partNumber}: ETag differs`);
        }
        md5s.update(Uint8Array.from(etag.match(/../g)!.map((h) => parseInt(h, 16))));
        await w.write(bytes);
        size += bytes.length;
      }
      const etag = `${md5s.digest("hex")}-${parts.length}`;
      await writeFileDurable(path + ETAG_SUFFIX, etag);
      await w.commit();
      await Deno.remove(dir, { recursive: true });
      await syncDir(join(this.#root, UPLOADS));
      return { key, size, etag };
    } catch (err) {
      await w.abort();
      throw err;
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      const dir = await this.#openUpload(key, uploadId);
      await Deno.remove(dir, { recursive: true });
    } catch (err) {
      if (!(err instanceof StorageError && err.kind === "not_found")) throw err;
    }
  }

  async #openUpload(key: string, uploadId: string): Promise<string> {
    const dir = this.#uploadDir(uploadId);
    let owner: string;
    try {
      owner = await Deno.readTextFile(join(dir, "key"));
    } catch {
      throw new StorageError("not_found", `no such upload "${uploadId}"`);
    }
    if (owner !== key) throw new StorageError("invalid", `upload "${uploadId}" is for another key`);
    return dir;
  }
}

async function readEtag(path: string): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(path + ETAG_SUFFIX)).trim();
  } catch {
    return undefined;
  }
}

function mapFsError(what: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  if (err instanceof Deno.errors.NotFound) {
    return new StorageError("not_found", `${what}: not found`);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new StorageError("unauthorized", `${what}: permission denied`, { cause: err });
  }
  return new StorageError("failed", `${what}: ${(err as Error).message}`, { cause: err });
}
