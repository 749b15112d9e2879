/**
 * Large files go from the page cache into zstd's input pipe by splice(2),
 * between batches written the ordinary way. The stream must arrive byte-exact
 * and in order, also when a file is larger than the pipe (zstd must drain it
 * while we wait) and when it ends early.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { createFrameCompressor } from "../../src/compression/compress.ts";
import { captureDir, run } from "../pack/writer_helpers.ts";

const MiB = 1024 * 1024;
const HEAD = 3 * MiB;

/** Deno.FsFile hides its fd; read it from /proc like any process could. */
function fdOf(path: string): number {
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === path) return Number(e.name);
    } catch { /* closed meanwhile */ }
  }
  throw new Error(`${path} is not open`);
}

/** A zstd CLI compressor that writes `out` itself, as capture uses it. */
function zstdInto(out: string, batchSize = 64 * 1024) {
  return createFrameCompressor({
    compression: "zstd",
    zstdEngine: "cli",
    batchSize,
    outputFile: out,
    output: () => Promise.resolve(),
  });
}

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

Deno.test("spliceFile puts file bytes between pushed batches, in order, through a full pipe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vs_splice_" });
  try {
    const big = randomBytes(9 * MiB + 7); // > the 1 MiB pipe: the full-pipe wait is taken
    Deno.writeFileSync(`${dir}/big`, big);
    const out = `${dir}/out.zst`;
    Deno.writeFileSync(out, new Uint8Array(0));
    const c = zstdInto(out, 4 * MiB);
    try {
      assert(c.spliceFile, "the zstd CLI compressor offers splice here");
      const head = c.acquire();
      // More than the pipe holds: still being written when the splice starts.
      head.fill(0x41, 0, HEAD);
      await c.push(head.subarray(0, HEAD));
      const f = await Deno.open(`${dir}/big`);
      const fd = fdOf(`${dir}/big`);
      assertEquals(await c.spliceFile(fd, big.length), big.length);
      // Asked for more than the file holds: stops at its end.
      assertEquals(await c.spliceFile(fd, 10), 0);
      f.close();
      const tail = c.acquire();
      tail.fill(0x5a, 0, 500);
      await c.push(tail.subarray(0, 500));
      await c.finish();
    } finally {
      await c.close();
    }
    const p = await new Deno.Command("zstd", { args: ["-dc", out], stdout: "piped" }).output();
    assert(p.success);
    const got = p.stdout;
    assertEquals(got.length, HEAD + big.length + 500);
    assert(got.subarray(0, HEAD).every((b) => b === 0x41), "batch before the file");
    assert(got.subarray(HEAD, HEAD + big.length).every((b, i) => b === big[i]), "file bytes");
    assert(got.subarray(HEAD + big.length).every((b) => b === 0x5a), "batch after the file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("large and small files interleaved round-trip byte-exact through GNU tar", async () => {
  const base = await Deno.makeTempDir({ prefix: "vs_splice_rt_" });
  try {
    const vol = `${base}/vol`;
    Deno.mkdirSync(vol);
    const sizes = [MiB + 1, 3, 5 * MiB + 511, 0, 17 * MiB + 123, 4095, 2 * MiB];
    sizes.forEach((n, i) => Deno.writeFileSync(`${vol}/f${i}`, randomBytes(n)));
    const finalPath = `${base}/s.tar.zst`;
    const { stats } = await captureDir(vol, finalPath, { zstdEngine: "cli" });
    assertEquals(stats.warnings, []);
    const dest = `${base}/out`;
    Deno.mkdirSync(dest);
    await run("tar", ["-xpf", finalPath, "-C", dest]);
    for (let i = 0; i < sizes.length; i++) {
      const a = Deno.readFileSync(`${vol}/f${i}`);
      const b = Deno.readFileSync(`${dest}/volumes/0/f${i}`);
      assertEquals(b.length, a.length, `f${i} size`);
      assert(a.every((x, j) => x === b[j]), `f${i} content`);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

/** The zstd child of this process (the compressor's). */
function zstdChildPid(): number {
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const [, comm, rest] = Deno.readTextFileSync(`/proc/${e.name}/stat`)
        .match(/^\d+ \((.*)\) (.*)$/s)!;
      if (comm === "zstd" && Number(rest.split(" ")[1]) === Deno.pid) return Number(e.name);
    } catch { /* gone meanwhile */ }
  }
  throw new Error("no zstd child");
}

Deno.test("spliceFile: a failing file side moves nothing and returns (the caller's read explains); an abort ends a wait on a full pipe", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vs_splice_err_" });
  const out = `${dir}/out.zst`;
  Deno.writeFileSync(out, new Uint8Array(0));
  const c = zstdInto(out);
  let stopped = 0;
  try {
    // A closed fd (EBADF): no hang, nothing moved, the stream stays usable.
    assertEquals(await c.spliceFile!(987_654, 4096), 0);
    // zstd stopped: its pipe fills and spliceFile waits for room until aborted.
    Deno.writeFileSync(`${dir}/big`, randomBytes(8 * MiB));
    const f = await Deno.open(`${dir}/big`);
    const fd = fdOf(`${dir}/big`);
    stopped = zstdChildPid();
    Deno.kill(stopped, "SIGSTOP");
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 300);
    const err = await c.spliceFile!(fd, 8 * MiB, ac.signal).then(() => null, (e) => e);
    const ms = performance.now() - t0;
    f.close();
    assert(err instanceof DOMException && err.name === "AbortError", String(err));
    assert(ms >= 250 && ms < 1500, `rejected after ${ms} ms`);
  } finally {
    if (stopped) Deno.kill(stopped, "SIGCONT");
    await c.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spliceFile rejects with zstd's exit when zstd dies (EPIPE), never hangs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vs_splice_pipe_" });
  const out = `${dir}/out.zst`;
  Deno.writeFileSync(out, new Uint8Array(0));
  const c = zstdInto(out);
  try {
    Deno.writeFileSync(`${dir}/big`, randomBytes(8 * MiB));
    const f = await Deno.open(`${dir}/big`);
    const fd = fdOf(`${dir}/big`);
    const pid = zstdChildPid();
    Deno.kill(pid, "SIGKILL");
    // Wait until it is really gone (reaped, or a zombie that holds nothing open).
    const alive = () => {
      try {
        return Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1][0] !== "Z";
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 10));
    const err = await c.spliceFile!(fd, 8 * MiB).then(() => null, (e) => e);
    f.close();
    assert(err instanceof Error && /zstd exited/.test(err.message), String(err));
  } finally {
    await c.close();
    await Deno.remove(dir, { recursive: true });
  }
});
