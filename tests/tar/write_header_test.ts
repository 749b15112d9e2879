/** Unit tests of the ustar/PAX header encoder (GNU tar checks the rest end to end). */
import { assert, assertEquals } from "../_helpers/assert.ts";
import {
  encodeHeader,
  encodeHeaderInto,
  MAX_FAST_HEADER,
  padding,
  type TarEntryHeader,
} from "../../src/tar/write_header.ts";

const dec = new TextDecoder();
const base: TarEntryHeader = {
  path: "volumes/0/a.txt",
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  size: 5,
  mtimeMs: 1_700_000_000_000,
};

function field(b: Uint8Array, off: number, len: number): string {
  return dec.decode(b.subarray(off, off + len)).replace(/\0.*$/s, "");
}

function checksumOk(block: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return parseInt(field(block, 148, 8), 8) === sum;
}

/** PAX records of a header that has them, as key → value; checks each length prefix. */
function paxRecords(h: Uint8Array): Map<string, string> {
  assertEquals(String.fromCharCode(h[156]), "x");
  const size = parseInt(field(h, 124, 12), 8);
  const body = h.subarray(512, 512 + size);
  const out = new Map<string, string>();
  let off = 0;
  while (off < body.length) {
    const sp = body.indexOf(0x20, off);
    const len = Number(dec.decode(body.subarray(off, sp)));
    const rec = dec.decode(body.subarray(sp + 1, off + len - 1));
    assertEquals(body[off + len - 1], 0x0a, "record ends with a newline at its declared length");
    const eq = rec.indexOf("=");
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return out;
}

Deno.test("encodeHeader writes one valid ustar block when every field fits", () => {
  const h = encodeHeader(base);
  assertEquals(h.length, 512);
  assert(checksumOk(h));
  assertEquals(field(h, 0, 100), "volumes/0/a.txt");
  assertEquals(field(h, 257, 6), "ustar");
  assertEquals(parseInt(field(h, 100, 8), 8), 0o644);
  assertEquals(parseInt(field(h, 136, 12), 8), 1_700_000_000);
});

Deno.test("encodeHeader adds PAX records for long paths, large ids, huge sizes and ms mtimes", () => {
  const path = `volumes/0/${"é".repeat(120)}`;
  const link = "t".repeat(150);
  const h = encodeHeader({
    ...base,
    path,
    type: "symlink",
    uid: 3_000_000,
    gid: 4_000_000,
    size: 9_227_468_800,
    mtimeMs: 4_102_444_800_123,
    linkTarget: link,
  });
  const pax = paxRecords(h);
  assertEquals(pax.get("path"), path);
  assertEquals(pax.get("linkpath"), link);
  assertEquals(pax.get("uid"), "3000000");
  assertEquals(pax.get("gid"), "4000000");
  assertEquals(pax.get("size"), "9227468800");
  assertEquals(pax.get("mtime"), "4102444800.123");
  const main = h.subarray(h.length - 512);
  assert(checksumOk(h.subarray(0, 512)) && checksumOk(main));
  assertEquals(String.fromCharCode(main[156]), "2");
  assertEquals(h.length % 512, 0);
});

Deno.test("encodeHeader keeps the sign of a pre-1970 mtime in PAX", () => {
  const pax = paxRecords(encodeHeader({ ...base, mtimeMs: -1500 }));
  assertEquals(pax.get("mtime"), "-1.500");
});

Deno.test("PAX record lengths stay right across a digit boundary", () => {
  // Record lengths near 99/100 and 999/1000 need the self-referential length fix-up.
  for (let n = 101; n < 1100; n++) {
    paxRecords(encodeHeader({ ...base, path: "p".repeat(n) }));
  }
});

Deno.test("padding rounds data up to the next 512-byte block", () => {
  assertEquals([padding(0), padding(1), padding(511), padding(512), padding(513)], [
    0,
    511,
    1,
    0,
    511,
  ]);
});

Deno.test("encodeHeaderInto writes the same bytes as encodeHeader, or declines the cases it leaves to it", () => {
  const cases: TarEntryHeader[] = [
    base,
    { ...base, mtimeMs: 1_700_000_000_123 },
    { ...base, mtimeMs: -1500 },
    { ...base, mtimeMs: 0 },
    { ...base, path: "volumes/0/dir/", type: "dir", size: 0, mtimeMs: 1_234_567_890_001 },
    { ...base, path: "volumes/0/s", type: "symlink", size: 0, linkTarget: "../x".repeat(25) },
    { ...base, path: "volumes/0/h", type: "hardlink", size: 0, linkTarget: "volumes/0/a.txt" },
    { ...base, path: `volumes/0/${"n".repeat(90)}`, mtimeMs: 1_700_000_000_010 },
    { ...base, uid: 0o7777777, gid: 0, mode: 0o7777, size: 0o77777777777 },
  ];
  const declined: TarEntryHeader[] = [
    { ...base, path: `volumes/0/${"p".repeat(91)}` },
    { ...base, path: "volumes/0/é" },
    { ...base, type: "symlink", linkTarget: "t".repeat(101) },
    { ...base, uid: 0o7777777 + 1 },
    { ...base, size: 0o77777777777 + 1 },
  ];
  const buf = new Uint8Array(MAX_FAST_HEADER + 7).fill(0xaa); // dirty buffer, odd offset
  for (const h of cases) {
    const n = encodeHeaderInto(h, buf, 7);
    assertEquals(buf.subarray(7, 7 + n), encodeHeader(h), h.path);
  }
  for (const h of declined) assertEquals(encodeHeaderInto(h, buf, 0), 0, h.path);
});

Deno.test("octal fields read back exactly on both sides of 2^31", () => {
  for (const size of [0x7fffffff, 0x80000000, 0o77777777777, 12345]) {
    for (const h of [{ ...base, size }, { ...base, size, path: `volumes/0/${"p".repeat(91)}` }]) {
      const b = encodeHeader(h);
      const ustar = b.length === 512 ? b : b.subarray(b.length - 512);
      assertEquals(parseInt(field(ustar, 124, 12), 8), size);
      assertEquals(parseInt(field(ustar, 136, 12), 8), Math.floor(base.mtimeMs / 1000));
      assert(checksumOk(ustar));
    }
  }
});
