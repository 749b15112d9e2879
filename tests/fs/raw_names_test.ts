/** Names as bytes: decodeName/encodeName are exact both ways for any bytes. */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { decodeName, encodeName, isRawName, nameBytes, printable } from "../../src/fs/raw_names.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("valid UTF-8 decodes as usual and is not raw", () => {
  for (const s of ["plain", "ünïcødé", "日本語", "emoji 😀", "a\uFFFDb"]) {
    const b = new TextEncoder().encode(s);
    assertEquals(decodeName(b), s);
    assertEquals([...encodeName(s)], [...b]);
    assert(!isRawName(s));
    assertEquals(nameBytes(s), b.length);
  }
});

Deno.test("bytes that are not UTF-8 round-trip exactly and are marked raw", () => {
  const cases = [
    bytes(0x63, 0x61, 0x66, 0xe9), // latin-1 "café"
    bytes(0xff),
    bytes(0xfe, 0xff, 0x80),
    bytes(0xc3), // truncated 2-byte sequence
    bytes(0xe2, 0x82), // truncated 3-byte sequence
    bytes(0xed, 0xa0, 0x80), // UTF-8 of a surrogate: invalid
    bytes(0xed, 0xb2, 0x80), // UTF-8 of U+DC80, the first escape: invalid, stays distinct
    bytes(0xc0, 0xaf), // overlong "/"
    bytes(0xf4, 0x90, 0x80, 0x80), // above U+10FFFF
    bytes(0x61, 0xf0, 0x9f, 0x98, 0x80, 0xff, 0xc3, 0xa9), // valid emoji and é around a bad byte
  ];
  const seen = new Set<string>();
  for (const b of cases) {
    const s = decodeName(b);
    assert(isRawName(s), `raw: ${[...b]}`);
    assertEquals([...encodeName(s)], [...b]);
    assertEquals(nameBytes(s), b.length);
    assert(!seen.has(s), "distinct bytes, distinct names");
    seen.add(s);
  }
  assertEquals(printable(decodeName(cases[0])), "caf\\xe9");
});

Deno.test("every single byte and every byte pair round-trips", () => {
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      const raw = bytes(a, b);
      const got = encodeName(decodeName(raw));
      if (got.length !== 2 || got[0] !== a || got[1] !== b) {
        throw new Error(`${a},${b} → ${[...got]}`);
      }
    }
  }
});

Deno.test("a lone surrogate that is no escape is refused, not written as U+FFFD", () => {
  let threw = false;
  try {
    encodeName("x\uD800y");
  } catch {
    threw = true;
  }
  assert(threw);
});
