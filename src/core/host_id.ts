/**
 * This host's identity in a shared catalog: a random id created once in
 * <data>/host-id (durably) and reused. Rows carry it, so hosts sharing one
 * catalog never judge, prune or reconcile each other's archives.
 */
import { join } from "node:path";
import { writeFileDurable } from "../fs/durable.ts";

export async function loadOrCreateHostId(dataDir: string): Promise<string> {
  const path = join(dataDir, "host-id");
  try {
    const id = (await Deno.readTextFile(path)).trim();
    if (/^h_[0-9a-f]{16}$/.test(id)) return id;
    throw new Error(`${path} is malformed; delete it only if this host has no archives yet`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const id = "h_" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  await writeFileDurable(path, id + "\n", 0o600);
  return id;
}
