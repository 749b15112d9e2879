import { assertEquals } from "../_helpers/assert.ts";
import { BatchEncoder, decodeBatch } from "../../src/unpack/batch_codec.ts";
import type { VolumeEntry } from "../../src/unpack/reader.ts";

const entry = (over: Partial<VolumeEntry>): VolumeEntry => ({
  index: 0,
  rel: "a",
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  mtimeMs: 1_700_000_000_123,
  size: 0,
  link: "",
  implicitDirs: [],
  ...over,
});

Deno.test("batch codec replays entries and data pieces in order, losslessly", () => {
  const data = new Uint8Array(64).map((_, i) => i);
  const sent: VolumeEntry[] = [
    entry({ rel: "dir/sub", type: "dir", mode: 0o2750, implicitDirs: ["dir"] }),
    entry({ rel: "dir/sub/f", size: 10, uid: 2 ** 31, gid: 0, mtimeMs: -5 }),
    entry({ index: 3, rel: "ln", type: "symlink", link: "/abs/target ü" }),
    entry({ index: 3, rel: "hard", type: "hardlink", link: "dir/sub/f" }),
    entry({ rel: "x/y/z/empty", implicitDirs: ["x", "x/y", "x/y/z"] }),
    entry({ rel: "pipe", type: "fifo", mode: 0o640 }),
    entry({
      rel: "holes",
      size: 7,
      xattrs: [{ name: "user.a", value: new Uint8Array([0, 255]) }, {
        name: "system.posix_acl_access",
        value: new Uint8Array([2, 0, 0, 0]),
      }],
      sparse: { realSize: 1 << 40, map: [4096, 3, 1 << 30, 4, 1 << 40, 0] },
    }),
    entry({
      rel: "d\udcff/x\udce9",
      type: "dir",
      xattrs: [{ name: "user.d", value: new Uint8Array() }],
    }),
  ];
  const enc = new BatchEncoder();
  enc.entry(sent[0]);
  enc.entry(sent[1]);
  enc.data(4, 6);
  enc.data(20, 4);
  for (const e of sent.slice(2)) enc.entry(e);
  // Enough events to make the encoder grow its number array.
  for (let i = 0; i < 2000; i++) enc.data(i % 60, 1);
  const got: (VolumeEntry | number[])[] = [];
  decodeBatch(enc.take(), data, {
    entry: (e) => got.push(e),
    data: (p) => got.push([...p]),
  });
  assertEquals(got.slice(0, 10), [
    sent[0],
    sent[1],
    [4, 5, 6, 7, 8, 9],
    [20, 21, 22, 23],
    ...sent.slice(2),
  ]);
  assertEquals(got.length, 10 + 2000);
  assertEquals(got[10 + 1999], [1999 % 60]);
  // take() starts afresh.
  const none: unknown[] = [];
  decodeBatch(enc.take(), data, { entry: (e) => none.push(e), data: (p) => none.push(p) });
  assertEquals(none, []);
});
