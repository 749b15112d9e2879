/**
 * Frame store benchmark (not a timed test), through the real server API, side
 * by side in one run (SPEC §15, issue 13):
 *
 *  A. full capture vs `tar -cf - . | zstd -3 -T0` on a many-small-files set
 *     (30k files, mean ≈ 20 KiB, half random) and on a ≈1 GiB set with a
 *     database-like part (12 × 64 MiB files) and app files;
 *  B. on the ≈1 GiB set, ≈1 % changed (8 KiB pages rewritten in place in 6 of
 *     the 12 large files, 2 appended to, app files modified / added /
 *     deleted): second capture time and downtime vs the full one, vs restic's
 *     second backup of the same change, disk added vs the compressed size of
 *     what changed;
 *  C. seven daily snapshots (≈1 % change each): store size vs the sum of
 *     seven standalone archives vs restic's repository.
 *
 *   deno run -A bench/incremental_bench.ts   (needs DOCKER_HOST and VOLSNAP_TEST_IMAGE)
 */
import { join } from "node:path";
import { dockerCli, DockerScratch } from "../tests/_helpers/docker_cli.ts";
import { pseudoRandom, volumeMountpoint } from "../tests/_helpers/fixtures.ts";
import { TestServer } from "../tests/_helpers/server.ts";

const MiB = 1 << 20;
/** VOLSNAP_BENCH_SCALE=0.25: a quarter of every set (file counts and large-file sizes). */
const SCALE = Number(Deno.env.get("VOLSNAP_BENCH_SCALE") ?? "1");
const DB_MIB = Math.max(4, Math.round(64 * SCALE));
const SMALL_FILES = Math.round(30_000 * SCALE);
const APP_FILES = Math.round(4000 * SCALE);
const out: string[] = [];
const say = (s: string) => {
  out.push(s);
  console.log(s);
};
const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");

class Rng {
  #x: number;
  constructor(seed: number) {
    this.#x = seed >>> 0 || 1;
  }
  int(n: number): number {
    this.#x ^= this.#x << 13;
    this.#x >>>= 0;
    this.#x ^= this.#x >>> 17;
    this.#x ^= this.#x << 5;
    this.#x >>>= 0;
    return this.#x % n;
  }
}

const text = new TextEncoder().encode(
  Array.from({ length: 40_000 }, (_, i) => `2026-12-01T00:00:${i % 60}Z INFO request ${i * 7919}\n`)
    .join(""),
);
function body(n: number, seed: number): Uint8Array {
  if (seed % 2) return pseudoRandom(n, seed);
  const b = new Uint8Array(n);
  for (let off = 0; off < n; off += text.length) {
    b.set(text.subarray(0, Math.min(text.length, n - off)), off);
  }
  return b;
}

function fillSmall(dir: string) {
  const rng = new Rng(5);
  for (let i = 0; i < SMALL_FILES; i++) {
    const d = join(dir, `d${i % 300}`);
    if (i < 300) Deno.mkdirSync(d, { recursive: true });
    Deno.writeFileSync(join(d, `f${i}`), body(rng.int(40 * 1024), i));
  }
}

function fillDb(dir: string) {
  Deno.mkdirSync(join(dir, "db"), { recursive: true });
  for (let f = 0; f < 12; f++) {
    const h = Deno.openSync(join(dir, "db", `t${f}.ibd`), { write: true, create: true });
    for (let i = 0; i < DB_MIB; i++) h.writeSync(body(MiB, f * 100 + i));
    h.close();
  }
  for (let i = 0; i < APP_FILES; i++) {
    const d = join(dir, `app/${i % 40}`);
    if (i < 40) Deno.mkdirSync(d, { recursive: true });
    Deno.writeFileSync(join(d, `a${i}`), body(64 * 1024, i));
  }
}

/** ≈1 % change; returns the changed bytes (for their compressed size). */
function change(dir: string, day: number): Uint8Array[] {
  const rng = new Rng(1000 + day);
  const changed: Uint8Array[] = [];
  for (let k = 0; k < 6; k++) {
    const f = (day * 5 + k * 2) % 12;
    const h = Deno.openSync(join(dir, "db", `t${f}.ibd`), { write: true });
    for (let p = 0; p < Math.round(150 * SCALE); p++) {
      const page = body(8192, day * 1000 + k * 150 + p);
      h.seekSync(rng.int(DB_MIB * MiB / 8192) * 8192, Deno.SeekMode.Start);
      h.writeSync(page);
      changed.push(page);
    }
    h.close();
  }
  for (let k = 0; k < 2; k++) {
    const h = Deno.openSync(join(dir, "db", `t${(day + k * 6) % 12}.ibd`), { append: true });
    const add = body(Math.round(512 * 1024 * SCALE), day * 7 + k);
    h.writeSync(add);
    h.close();
    changed.push(add);
  }
  for (let i = 0; i < Math.round(30 * SCALE); i++) {
    const n = rng.int(APP_FILES);
    const p = join(dir, `app/${n % 40}/a${n}`);
    const b = body(64 * 1024, 50_000 + day * 100 + i);
    Deno.writeFileSync(p, b);
    changed.push(b);
    const add = join(dir, `app/${i % 40}/new-${day}-${i}`);
    const ab = body(32 * 1024, 60_000 + day * 100 + i);
    Deno.writeFileSync(add, ab);
    changed.push(ab);
    try {
      const m = (n + 7) % APP_FILES;
      Deno.removeSync(join(dir, `app/${m % 40}/a${m}`));
    } catch { /* already gone */ }
  }
  return changed;
}

async function sh(cmd: string, env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const r = await new Deno.Command("sh", {
    args: ["-c", cmd],
    env,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!r.success) throw new Error(`${cmd}: ${new TextDecoder().decode(r.stderr)}`);
  return (performance.now() - t0) / 1000;
}

async function zstdSize(parts: Uint8Array[]): Promise<number> {
  const p = new Deno.Command("zstd", { args: ["-3", "-c", "-q"], stdin: "piped", stdout: "piped" })
    .spawn();
  const size = new Response(p.stdout).arrayBuffer().then((b) => b.byteLength);
  const w = p.stdin.getWriter();
  for (const c of parts) await w.write(c);
  await w.close();
  await p.status;
  return await size;
}

function duBytes(path: string): number {
  const r = new Deno.Command("du", { args: ["-sb", path], stdout: "piped" }).outputSync();
  return Number(new TextDecoder().decode(r.stdout).split("\t")[0]);
}

const scratchDir = await Deno.makeTempDir({ prefix: "volsnap-bench-inc-" });
const scratch = new DockerScratch("vs-bench-inc");
const server = await TestServer.start();
try {
  say(`scale ${SCALE}; load average at start: ${load()} (2 cores, shared)`);
  const capture = async (wid: string) => {
    const t0 = performance.now();
    const r = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    if (r.status !== 201) throw new Error(JSON.stringify(r.json));
    return { s: (performance.now() - t0) / 1000, snap: r.json.snapshot };
  };
  const storage = async () => (await server.api("GET", "/api/v1/storage")).json.storage;
  const workload = async (name: string, fill: (d: string) => void) => {
    const wid = `${scratch.prefix}-${name}`;
    const vol = await scratch.volume(name);
    const app = await scratch.container({
      name,
      labels: { "volsnap.workload": wid, "volsnap.keep-last": "20" },
      args: ["-v", `${vol}:/data`],
    });
    const dir = await volumeMountpoint(vol);
    fill(dir);
    return { wid, app, dir };
  };

  let smallStore = 0;
  // A. Full captures vs tar | zstd -3 -T0.
  for (const [name, fill] of [["small", fillSmall], ["db", fillDb]] as const) {
    const w = await workload(name, fill);
    await sh("sync");
    const tz = await sh(
      `tar -C '${w.dir}' -cf - . | zstd -3 -T0 -q -o '${scratchDir}/ref.tar.zst'`,
    );
    const refSize = Deno.statSync(`${scratchDir}/ref.tar.zst`).size;
    Deno.removeSync(`${scratchDir}/ref.tar.zst`);
    await sh("sync");
    const c = await capture(w.wid);
    say(
      `A ${name}: full capture ${c.s.toFixed(2)} s (${(c.snap.sizeBytes / MiB).toFixed(0)} MiB, ` +
        `${c.snap.frameCount} frames, downtime ${c.snap.downtimeMs} ms) vs tar|zstd -3 -T0 ` +
        `${tz.toFixed(2)} s (${(refSize / MiB).toFixed(0)} MiB): ${(c.s / tz).toFixed(2)}× ` +
        `[load ${load()}]`,
    );
    if (name === "small") {
      smallStore = (await storage()).storeBytes;
      continue;
    }

    // B. ≈1 % change: second capture vs the full one and vs restic.
    const repo = join(scratchDir, "restic");
    const renv = { RESTIC_PASSWORD: "bench", RESTIC_REPOSITORY: repo };
    await sh("restic init -q", renv);
    const r1 = await sh(`restic backup -q '${w.dir}'`, renv);
    const b0 = performance.now();
    await dockerCli(["stop", "-t", "10", w.app]);
    await dockerCli(["start", w.app]);
    const own = performance.now() - b0;
    const st1 = await storage();
    const changed = change(w.dir, 1);
    const changedBytes = changed.reduce((n, b) => n + b.length, 0);
    const changedZ = await zstdSize(changed);
    const c2 = await capture(w.wid);
    const st2 = await storage();
    const r2 = await sh(`restic backup -q '${w.dir}'`, renv);
    say(
      `B db ≈1%: changed ${(changedBytes / MiB).toFixed(1)} MiB (${
        (changedZ / MiB).toFixed(1)
      } MiB zstd-3); ` +
        `second capture ${c2.s.toFixed(2)} s = ${(c2.s / c.s).toFixed(3)}× the full ${
          c.s.toFixed(2)
        } s; ` +
        `downtime ${c2.snap.downtimeMs} ms vs full ${c.snap.downtimeMs} ms, app's own stop+start ${
          own.toFixed(0)
        } ms ` +
        `→ above own: ${
          ((c2.snap.downtimeMs - own) / Math.max(1, c.snap.downtimeMs - own)).toFixed(3)
        }×; ` +
        `restic backup 1st ${r1.toFixed(2)} s, 2nd ${r2.toFixed(2)} s → ${
          (c2.s / r2).toFixed(2)
        }× restic's 2nd; ` +
        `disk added ${((st2.storeBytes - st1.storeBytes) / MiB).toFixed(2)} MiB = ` +
        `${((st2.storeBytes - st1.storeBytes) / changedZ).toFixed(2)}× the compressed change; ` +
        `parent ${c2.snap.parentId}, stored ${c2.snap.storedBytes}, shared ${c2.snap.sharedBytes} [load ${load()}]`,
    );

    // C. Seven daily snapshots.
    for (let day = 2; day <= 6; day++) {
      change(w.dir, day);
      await capture(w.wid);
      await sh(`restic backup -q '${w.dir}'`, renv);
    }
    const list = (await server.api("GET", `/api/v1/workloads/${w.wid}/snapshots`)).json.snapshots;
    const seven = list.slice(0, 7).reduce(
      (n: number, s: { sizeBytes: number }) => n + s.sizeBytes,
      0,
    );
    const st7 = await storage();
    say(
      `C seven daily snapshots: frame store ${
        ((st7.storeBytes - smallStore) / MiB).toFixed(0)
      } MiB ` +
        `(without the small set's ${
          (smallStore / MiB).toFixed(0)
        } MiB; dedup ratio of all ${st7.dedupRatio}) ` +
        `vs seven standalone archives ${(seven / MiB).toFixed(0)} MiB ` +
        `vs restic repo ${(duBytes(repo) / MiB).toFixed(0)} MiB [load ${load()}]`,
    );
  }
} finally {
  await server.stop();
  await scratch.cleanup();
  await Deno.remove(scratchDir, { recursive: true }).catch(() => {});
}
console.log("\nframe store benchmark\n" + out.join("\n"));
