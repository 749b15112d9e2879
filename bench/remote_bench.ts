/**
 * Off-host benchmark (SPEC §13), side by side in one run against the same
 * local s3rver (npm s3rver 3.7.1, storage dir on /dev/shm):
 *
 *   1. upload of a 1 GiB snapshot archive: volsnap's uploader (8 MiB parts,
 *      4 in flight, MD5 per part, end-to-end ETag check) vs `rclone copyto`
 *      (Debian rclone, S3 provider Other); wall time and peak RSS of each
 *      (every contender is its own process: VmHWM / `time -v`);
 *   2. restore: extractArchive of a volsnap archive from the local file vs
 *      streamed from the bucket (GET → extract, hashed on the way).
 *
 *   deno run -A bench/remote_bench.ts [--mib 1024] [--restore-mib 512] [--runs 2] [--skip-upload] [--skip-restore]
 *
 * Not a test: prints numbers. The machine is shared: compare within a run.
 */
import { join } from "node:path";
import { S3rver, S3RVER_KEY } from "../tests/_helpers/s3rver.ts";
import { S3Store } from "../src/storage/s3_store.ts";
import { uploadObject } from "../src/storage/upload.ts";
import { extractArchive } from "../src/unpack/extract.ts";
import { DEFAULT_LIMITS } from "../src/tar/limits.ts";
import { writeSnapshotArchive } from "../src/pack/writer.ts";
import { sha256File } from "../src/hash/file_hash.ts";
import { benchManifest } from "./dataset.ts";

const arg = (name: string, dflt: number) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
};
const WORK = "/dev/shm/volsnap-remote-bench";
const vmHwmMiB = () =>
  Number(/VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1]) / 1024;

function store(endpoint: string, bucket: string) {
  return new S3Store({ bucket, endpoint, region: "us-east-1", pathStyle: true, ...S3RVER_KEY });
}

// ---- child modes: one contender per process, so peak RSS is its own
if (Deno.args[0] === "--child-upload") {
  const [, endpoint, bucket, file, key] = Deno.args;
  const t0 = performance.now();
  const r = await uploadObject({
    store: store(endpoint, bucket),
    key,
    open: async () => (await Deno.open(file)).readable,
  });
  console.log(
    JSON.stringify({ s: (performance.now() - t0) / 1000, rss: vmHwmMiB(), by: r.verifiedBy }),
  );
  Deno.exit(0);
}
if (Deno.args[0] === "--child-restore") {
  const [, mode, endpoint, bucket, file, key, out] = Deno.args;
  const t0 = performance.now();
  // A local restore's pre-flight hashes the file first (restore_source.ts); the bucket stream is hashed as it is read.
  if (mode === "local") await sha256File(file);
  const source = mode === "bucket"
    ? { source: await store(endpoint, bucket).get(key) }
    : { sourcePath: file };
  const sha = mode === "bucket" ? { expectedSha256: Deno.args[8] } : {};
  await extractArchive({
    ...source,
    ...sha,
    targetDirFor: (i) => join(out, String(i)),
    limits: DEFAULT_LIMITS,
  });
  console.log(JSON.stringify({ s: (performance.now() - t0) / 1000, rss: vmHwmMiB() }));
  Deno.exit(0);
}

async function child(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`child ${args[0]} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

async function rcloneCopy(endpoint: string, bucket: string, file: string, key: string) {
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    RCLONE_CONFIG_BENCH_TYPE: "s3",
    RCLONE_CONFIG_BENCH_PROVIDER: "Other",
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: "true",
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: S3RVER_KEY.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: S3RVER_KEY.secretAccessKey,
  };
  const t0 = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", "rclone", "copyto", file, `bench:${bucket}/${key}`],
    env,
    clearEnv: true, // AWS_CA_BUNDLE in the environment breaks rclone 1.60
    stdout: "null",
    stderr: "piped",
  }).output();
  const s = (performance.now() - t0) / 1000;
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`rclone failed: ${err.slice(-500)}`);
  return { s, rss: Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)![1]) / 1024 };
}

async function makeArchive(dir: string, mib: number): Promise<{ path: string; sha256: string }> {
  const vol = join(dir, "vol");
  await Deno.mkdir(join(vol, "small"), { recursive: true });
  const chunk = new Uint8Array(1 << 20);
  const big = await Deno.open(join(vol, "big.bin"), { write: true, create: true });
  for (let i = 0; i < mib * 3 / 4; i++) {
    crypto.getRandomValues(chunk.subarray(0, 65536));
    for (let o = 65536; o < chunk.length; o *= 2) chunk.copyWithin(o, 0, o);
    chunk[i % chunk.length] ^= i;
    await big.write(chunk);
  }
  big.close();
  const small = new Uint8Array(8192);
  for (let i = 0; i < (mib / 4) * 128; i++) {
    crypto.getRandomValues(small.subarray(0, 4096));
    await Deno.writeFile(join(vol, "small", `f${i}`), small);
  }
  const path = join(dir, "snap.tar.zst");
  const { stats } = await writeSnapshotArchive({
    finalPath: path,
    compression: "zstd",
    manifest: benchManifest({ key: "volume:bench", type: "volume", name: "bench" }),
    sources: [{ index: 0, hostPath: vol }],
  });
  await Deno.remove(vol, { recursive: true });
  return { path, sha256: stats.sha256 };
}

const mib = arg("mib", 1024);
const runs = arg("runs", 2);
await Deno.remove(WORK, { recursive: true }).catch(() => {});
await Deno.mkdir(WORK, { recursive: true });
const s3 = await S3rver.start({ dir: join(WORK, "s3rver") });
try {
  const file = join(WORK, "snapshot.bin");
  if (!Deno.args.includes("--skip-upload")) {
    const f = await Deno.open(file, { write: true, create: true });
    const buf = new Uint8Array(4 << 20);
    for (let i = 0; i < mib / 4; i++) {
      for (let o = 0; o < buf.length; o += 65536) {
        crypto.getRandomValues(buf.subarray(o, o + 65536));
      }
      await f.write(buf);
    }
    f.close();
    console.log(
      `upload of ${mib} MiB to s3rver at ${s3.endpoint} (load: ${Deno.loadavg().join(" ")})`,
    );
    for (let r = 0; r < runs; r++) {
      const ours = await child(["--child-upload", s3.endpoint, s3.bucket, file, `bench/ours-${r}`]);
      const rc = await rcloneCopy(s3.endpoint, s3.bucket, file, `bench/rclone-${r}`);
      console.log(
        `  run ${r + 1}: volsnap ${ours.s.toFixed(1)} s = ${(mib / ours.s).toFixed(0)} MiB/s, ` +
          `peak RSS ${ours.rss.toFixed(0)} MiB (verified by ${ours.by}); rclone copyto ${
            rc.s.toFixed(1)
          } s = ` +
          `${(mib / rc.s).toFixed(0)} MiB/s, peak RSS ${rc.rss.toFixed(0)} MiB; ratio ${
            (rc.s / ours.s).toFixed(2)
          }x`,
      );
      await store(s3.endpoint, s3.bucket).delete(`bench/ours-${r}`);
      await store(s3.endpoint, s3.bucket).delete(`bench/rclone-${r}`);
    }
    await Deno.remove(file);
  }
  if (!Deno.args.includes("--skip-restore")) {
    const rmib = arg("restore-mib", 512);
    const archive = await makeArchive(WORK, rmib);
    const size = (await Deno.stat(archive.path)).size;
    const key = "bench/snap.tar.zst";
    await uploadObject({
      store: store(s3.endpoint, s3.bucket),
      key,
      open: async () => (await Deno.open(archive.path)).readable,
    });
    console.log(`restore of a ${rmib} MiB volume (${(size / 2 ** 20).toFixed(0)} MiB archive)`);
    for (let r = 0; r < runs; r++) {
      const res: Record<string, { s: number; rss: number }> = {};
      for (const mode of ["local", "bucket"]) {
        const out = join(WORK, `out-${mode}`);
        await Deno.mkdir(out, { recursive: true });
        res[mode] = await child([
          "--child-restore",
          mode,
          s3.endpoint,
          s3.bucket,
          archive.path,
          key,
          out,
          "",
          archive.sha256,
        ]);
        await Deno.remove(out, { recursive: true });
      }
      console.log(
        `  run ${r + 1}: local file ${res.local.s.toFixed(1)} s (RSS ${
          res.local.rss.toFixed(0)
        } MiB), ` +
          `from the bucket ${res.bucket.s.toFixed(1)} s (RSS ${res.bucket.rss.toFixed(0)} MiB); ` +
          `ratio ${(res.bucket.s / res.local.s).toFixed(2)}x`,
      );
    }
  }
} finally {
  await s3.stop();
  await Deno.remove(WORK, { recursive: true }).catch(() => {});
}
