/**
 * A tiny raw tar/PAX writer for crafting malformed and hostile archives in
 * tests. It writes exactly what it is told (no validation), so tests can
 * produce `../` names, device nodes, lying sizes and broken headers.
 */
import fs from "node:fs";
import type { Manifest } from "../../src/core/model.ts";
import { concatBytes } from "../../src/core/bytes.ts";

const enc = new TextEncoder();

export interface CraftEntry {
  name: string;
  /** Raw typeflag: "0" file, "1" hard link, "2" symlink, "3" char, "4" block, "5" dir, "6" fifo, "x", "g", "L", "K"… */
  type?: string;
  data?: Uint8Array | string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds. */
  mtime?: number;
  linkname?: string;
  /** PAX records emitted in an `x` header right before this entry. */
  pax?: Record<string, string>;
  /** Overrides the size field (to lie about the body). */
  size?: number;
}

export function paxRecords(records: Record<string, string>): Uint8Array {
  let out = "";
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = enc.encode(body).length;
    len += String(len + String(len).length).length;
    out += `${len}${body}`;
  }
  return enc.encode(out);
}

function octal(buf: Uint8Array, off: number, len: number, v: number) {
  const s = v.toString(8).padStart(len - 1, "0");
  buf.set(enc.encode(s.slice(-(len - 1))), off);
}

export function header(e: CraftEntry, size: number): Uint8Array {
  const b = new Uint8Array(512);
  b.set(enc.encode(e.name).subarray(0, 100), 0);
  octal(b, 100, 8, e.mode ?? (e.type === "5" ? 0o755 : 0o644));
  octal(b, 108, 8, e.uid ?? 0);
  octal(b, 116, 8, e.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, e.mtime ?? 1_700_000_000);
  b[156] = (e.type ?? "0").charCodeAt(0);
  if (e.linkname) b.set(enc.encode(e.linkname).subarray(0, 100), 157);
  b.set(enc.encode("ustar\x0000"), 257);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  octal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

function padded(data: Uint8Array): Uint8Array[] {
  const pad = (512 - (data.length % 512)) % 512;
  return pad ? [data, new Uint8Array(pad)] : [data];
}

/** Encodes entries; `eof: false` leaves out the end-of-archive marker. */
export function craftTar(entries: CraftEntry[], opts: { eof?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = typeof e.data === "string" ? enc.encode(e.data) : e.data ?? new Uint8Array(0);
    const pax = { ...e.pax };
    if (enc.encode(e.name).length > 100 && !pax.path) pax.path = e.name;
    if (e.linkname && enc.encode(e.linkname).length > 100 && !pax.linkpath) {
      pax.linkpath = e.linkname;
    }
    if (Object.keys(pax).length) {
      const body = paxRecords(pax);
      parts.push(header({ name: "PaxHeader", type: "x" }, body.length), ...padded(body));
    }
    parts.push(header(e, e.size ?? data.length));
    if (data.length) parts.push(...padded(data));
  }
  if (opts.eof !== false) parts.push(new Uint8Array(1024));
  return concatBytes(parts);
}

/** A valid manifest with the given volume indexes. */
export function testManifest(indexes: number[] = [0], extra: Partial<Manifest> = {}): Manifest {
  return {
    format: "volsnap/1",
    snapshotId: "snap_test1",
    workload: "app",
    createdAt: "2026-11-22T00:00:00.000Z",
    tool: { name: "volsnap", version: "test" },
    quiesce: "stop",
    volumes: indexes.map((index) => ({
      index,
      key: `volume:v${index}`,
      type: "volume" as const,
      name: `v${index}`,
      destinations: [{ container: "app", destination: `/data${index}` }],
      root: { uid: 0, gid: 0, mode: 0o755 },
    })),
    ...extra,
  };
}

export function manifestEntry(m: unknown = testManifest()): CraftEntry {
  return { name: "volsnap.json", data: typeof m === "string" ? m : JSON.stringify(m), mode: 0o644 };
}

/** manifest + `volumes/0/` root + the given entries. */
export function volsnapTar(
  entries: CraftEntry[],
  opts: { indexes?: number[]; eof?: boolean } = {},
) {
  const roots = (opts.indexes ?? [0]).map((i) => ({ name: `volumes/${i}/`, type: "5" }));
  return craftTar([manifestEntry(testManifest(opts.indexes)), ...roots, ...entries], opts);
}

/** Writes bytes to `path`, compressed with the real CLI tools when asked. */
export async function writeArchiveFile(
  path: string,
  tar: Uint8Array,
  compression: "none" | "zstd" | "gzip" = "zstd",
): Promise<string> {
  if (compression === "none") {
    await Deno.writeFile(path, tar);
    return path;
  }
  const cmd = compression === "zstd" ? ["zstd", "-q", "-3", "-c"] : ["gzip", "-c"];
  const p = new Deno.Command(cmd[0], { args: cmd.slice(1), stdin: "piped", stdout: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  const out = p.output();
  await w.write(tar);
  await w.close();
  const res = await out;
  if (!res.success) throw new Error(`${cmd[0]} failed`);
  await Deno.writeFile(path, res.stdout);
  return path;
}

/**
 * A temp dir with a staging parent and a canary outside it; `assertUntouched`
 * proves an extraction left nothing behind and wrote nothing outside.
 */
export async function sandbox() {
  const base = await Deno.makeTempDir({ prefix: "vs_reader_" });
  const stageParent = `${base}/stage`;
  const outside = `${base}/outside`;
  await Deno.mkdir(stageParent);
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/canary`, "canary");
  const list = (d: string) => [...Deno.readDirSync(d)].map((e) => e.name).sort();
  return {
    base,
    stageParent,
    outside,
    staging: `${stageParent}/v0`,
    assertUntouched() {
      const errors: string[] = [];
      if (Deno.readTextFileSync(`${outside}/canary`) !== "canary") errors.push("canary changed");
      if (list(outside).join() !== "canary") errors.push(`outside holds ${list(outside)}`);
      if (list(stageParent).length) errors.push(`staging leftovers: ${list(stageParent)}`);
      if (list(base).join() !== "outside,stage") errors.push(`base holds ${list(base)}`);
      if (errors.length) throw new Error(errors.join("; "));
    },
    cleanup: () => Deno.remove(base, { recursive: true }),
  };
}

const LONG = `${"deep-directory-name-".repeat(8)}/${"x".repeat(150)}`;

/** Builds the edge-case tree (stack.md §2 "edge") below `root`. */
/** Root-owned edge cases: owners up to 3000000, sticky/setgid dirs, links, long names, odd mtimes. */
export function buildEdgeTree(root: string) {
  const w = (p: string, data: string | Uint8Array, mode = 0o644, uid = 0, gid = 0) => {
    fs.writeFileSync(`${root}/${p}`, data);
    fs.chownSync(`${root}/${p}`, uid, gid);
    fs.chmodSync(`${root}/${p}`, mode);
  };
  const d = (p: string, mode = 0o755, uid = 0, gid = 0) => {
    fs.mkdirSync(`${root}/${p}`, { recursive: true });
    fs.chownSync(`${root}/${p}`, uid, gid);
    fs.chmodSync(`${root}/${p}`, mode);
  };
  const t = (p: string, sec: number) => fs.lutimesSync(`${root}/${p}`, sec, sec);
  fs.chownSync(root, 999, 998);
  fs.chmodSync(root, 0o750);
  d("empty");
  d("sticky", 0o1777);
  d("setgid-dir", 0o2775, 50, 50);
  d("private", 0o700, 1234, 1234);
  d("readonly", 0o555);
  w("readonly/inside", "ro");
  w("plain.txt", "hello\n");
  w("empty-file", "");
  w("secret", "s", 0o600, 1234, 4321);
  w("bigid", "b", 0o640, 3_000_000, 3_000_001);
  w("exec.sh", "#!/bin/sh\n", 0o755);
  w("grüße ☃.txt", "unicode");
  const big = new Uint8Array(3 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  w("private/big.bin", big, 0o600, 1234, 1234);
  d(LONG.slice(0, LONG.lastIndexOf("/")));
  w(LONG, "long");
  w("hard1", "linked", 0o640, 7, 8);
  fs.linkSync(`${root}/hard1`, `${root}/private/hard2`);
  fs.linkSync(`${root}/hard1`, `${root}/setgid-dir/hard3`);
  fs.symlinkSync("plain.txt", `${root}/rel-link`);
  fs.symlinkSync("/etc/passwd", `${root}/abs-link`);
  fs.symlinkSync("does/not/exist", `${root}/dangling`);
  fs.symlinkSync("private", `${root}/dir-link`);
  fs.symlinkSync(`../${"t".repeat(200)}`.slice(3), `${root}/private/long-target`);
  fs.lchownSync(`${root}/rel-link`, 1234, 1234);
  t("plain.txt", 1);
  t("bigid", 4_102_444_800); // 2100-01-01
  fs.utimesSync(`${root}/exec.sh`, 1_700_000_000.25, 1_700_000_000.25);
  t("rel-link", 1_600_000_000);
  t("private", 1_500_000_000);
  t("empty", 1_400_000_000);
  t("sticky", 1_300_000_000);
  t(".", 1_200_000_000);
}
