/** Builds rich volume trees (owners, modes, links, long paths) for round-trip tests. */
import { chownSync, lchownSync, lutimesSync, utimesSync } from "node:fs";
import { basename, join } from "node:path";
import { dockerCli } from "./docker_cli.ts";

export function populateTree(root: string, variant: string, opts: { bytes?: number } = {}) {
  const w = (rel: string, data: string | Uint8Array, mode = 0o644, uid = 0, gid = 0) => {
    const p = join(root, rel);
    Deno.mkdirSync(join(p, ".."), { recursive: true });
    if (typeof data === "string") Deno.writeTextFileSync(p, data);
    else Deno.writeFileSync(p, data);
    chownSync(p, uid, gid);
    Deno.chmodSync(p, mode);
    utimesSync(p, 1_700_000_000 + variant.length, 1_700_000_000.123 + variant.length);
  };
  w("hello.txt", `hello from ${variant}\n`);
  w("owned/secret.key", `key ${variant}`, 0o600, 1234, 2345);
  w(`only-in-${variant}.txt`, variant);
  w("bin/tool", "#!/bin/sh\necho tool\n", 0o755);
  w(`deep/${"d".repeat(60)}/${"e".repeat(60)}/${"f".repeat(90)}/long-${variant}.txt`, variant);
  w("big.bin", pseudoRandom(opts.bytes ?? 300_000, variant.charCodeAt(0)));
  Deno.mkdirSync(join(root, "empty-dir"), { recursive: true });
  Deno.chmodSync(join(root, "empty-dir"), 0o1777);
  try {
    Deno.removeSync(join(root, "link-to-hello"));
  } catch { /* absent */ }
  Deno.symlinkSync("hello.txt", join(root, "link-to-hello"));
  lchownSync(join(root, "link-to-hello"), 1234, 2345);
  lutimesSync(join(root, "link-to-hello"), 1_600_000_000, 1_600_000_000);
  try {
    Deno.removeSync(join(root, "hardlink"));
  } catch { /* absent */ }
  Deno.linkSync(join(root, "hello.txt"), join(root, "hardlink"));
  chownSync(root, 999, 998);
  Deno.chmodSync(root, 0o750);
}

export function pseudoRandom(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = i % 3 === 0 ? 97 + (x % 26) : x & 0xff;
  }
  return out;
}

/** Empties a dir (keeping the dir itself). */
export function clearDir(root: string) {
  for (const e of Deno.readDirSync(root)) Deno.removeSync(join(root, e.name), { recursive: true });
}

export async function volumeMountpoint(name: string): Promise<string> {
  return (await dockerCli(["volume", "inspect", "-f", "{{.Mountpoint}}", name])).stdout;
}

export async function containerState(name: string): Promise<string> {
  return (await dockerCli(["inspect", "-f", "{{.State.Status}}", name])).stdout;
}

/** Lists volsnap staging/old leftovers of the given live dirs (only theirs: /tmp is shared). */
export function leftovers(liveDirs: string[]): string[] {
  const out: string[] = [];
  for (const live of liveDirs) {
    const parent = join(live, "..");
    const mine = `.${basename(live)}.volsnap-`;
    for (const e of Deno.readDirSync(parent)) {
      if (e.name.startsWith(mine)) out.push(join(parent, e.name));
    }
  }
  return out;
}

/** Whether anything (even a dangling link) exists at `p`. */
export function existsSync(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
