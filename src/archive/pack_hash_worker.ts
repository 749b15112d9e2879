/**
 * SHA-256 of the archive bytes, off the main thread (the main thread's
 * packing is the capture's critical path). Chunks arrive in order and their
 * buffers are sent back for reuse.
 */
import { createHash } from "node:crypto";

export type HashRequest =
  | { op: "update"; buf: ArrayBuffer; len: number }
  | { op: "digest" };
export type HashReply = { op: "buffer"; buf: ArrayBuffer } | { op: "digest"; hex: string };

interface WorkerScope {
  onmessage: ((e: MessageEvent<HashRequest>) => void) | null;
  postMessage(msg: HashReply, transfer: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;
const hash = createHash("sha256");

scope.onmessage = (e) => {
  const req = e.data;
  if (req.op === "update") {
    hash.update(new Uint8Array(req.buf, 0, req.len));
    scope.postMessage({ op: "buffer", buf: req.buf }, [req.buf]);
  } else {
    scope.postMessage({ op: "digest", hex: hash.digest("hex") }, []);
  }
};
