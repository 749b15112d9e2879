/**
 * Catalog at scale (not a timed test): 100 workloads × 100 snapshots (10k
 * rows, 10k events, 10k operations) behind the real server, 100 real Docker
 * workloads (created containers with a volume each), and a capture of a
 * further workload running in a loop meanwhile. A second process sends
 * 1,000 requests (4 at a time) to each of
 *   GET /api/v1/workloads/{wid}/snapshots, GET /api/v1/workloads, GET /metrics
 * and reports p50/p99. Needs DOCKER_HOST and VOLSNAP_TEST_IMAGE (bench/run.sh
 * or tests/docker_env.sh provide them).
 *
 *   deno run -A bench/catalog_bench.ts [--requests 1000] [--concurrency 4]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Catalog } from "../db/catalog.ts";
import { openCatalogDb } from "../db/client.ts";
import { loadOrCreateHostId } from "../src/core/host_id.ts";
import { DockerScratch } from "../tests/_helpers/docker_cli.ts";
import { populateTree, volumeMountpoint } from "../tests/_helpers/fixtures.ts";
import { TestServer } from "../tests/_helpers/server.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: false,
  allowPositionals: true,
  options: {
    requests: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "4" },
    workloads: { type: "string", default: "100" },
    snapshots: { type: "string", default: "100" },
  },
});
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const WORKLOADS = Number(values.workloads);
const PER = Number(values.snapshots);

async function seed(dataDir: string, wids: string[]) {
  const host = await loadOrCreateHostId(dataDir);
  const { db, close } = await openCatalogDb(`file:${dataDir}/volsnap.db`);
  const catalog = new Catalog(db, host);
  const client = db.$client;
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  for (const wid of wids) {
    await Deno.mkdir(join(dataDir, "archives", wid), { recursive: true });
    const stmts = [];
    for (let i = 0; i < PER; i++) {
      const id = `s${String(i).padStart(4, "0")}-${wid}`;
      const at = new Date(t0 + i * 3_600_000).toISOString();
      await Deno.writeFile(join(dataDir, "archives", wid, `${id}.tar.zst`), new Uint8Array());
      stmts.push({
        sql: `INSERT INTO snapshots (id, host, workload, created_at, origin, label, status,
          compression, file, size_bytes, uncompressed_bytes, file_count, skipped_special, sha256,
          quiesce, downtime_ms, consistent, warnings, manifest, pinned, duration_ms)
          VALUES (?, ?, ?, ?, 'scheduled', NULL, 'complete', 'zstd', ?, 1000, 4000, 10, 0, ?,
          'stop', 120, 1, '[]', '{"format":"volsnap/1"}', 0, 900)`,
        args: [id, host, wid, at, `${wid}/${id}.tar.zst`, "ab".repeat(32)],
      });
      stmts.push({
        sql: `INSERT INTO events (time, workload, kind, message, data, host)
          VALUES (?, ?, 'snapshot_created', ?, '{}', ?)`,
        args: [at, wid, `snapshot ${id} of ${wid} created`, host],
      });
      stmts.push({
        sql: `INSERT INTO operations (id, host, kind, workload, snapshot_id, state, phase,
          bytes_done, started_at, finished_at) VALUES (?, ?, 'capture', ?, NULL, 'succeeded',
          'done', 0, ?, ?)`,
        args: [`op_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`, host, wid, at, at],
      });
    }
    await client.batch(stmts, "write");
  }
  void catalog;
  close();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The load generator, run as a second process (`--client url token path`). */
async function client(url: string, token: string, path: string) {
  const times: number[] = [];
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      next++;
      const t = performance.now();
      const r = await fetch(url + path, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      if (!r.ok) failures++;
      times.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({
    path,
    requests: times.length,
    failures,
    p50: +percentile(times, 50).toFixed(1),
    p99: +percentile(times, 99).toFixed(1),
    max: +times[times.length - 1].toFixed(1),
  }));
}

async function main() {
  const scratch = new DockerScratch("vs-bench-cat");
  const dataDir = await Deno.makeTempDir({ prefix: "volsnap-catbench-" });
  let server: TestServer | undefined;
  let capturing = true;
  try {
    const wids: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < WORKLOADS; i++) {
      const wid = `${scratch.prefix}-w${i}`;
      const vol = await scratch.volume(`v${i}`);
      await scratch.container({
        name: `w${i}`,
        labels: { "volsnap.workload": wid },
        args: ["-v", `${vol}:/data`],
        start: false,
      });
      wids.push(wid);
    }
    console.error(
      `docker: ${WORKLOADS} workloads in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const busyVol = await scratch.volume("busy");
    const busy = `${scratch.prefix}-busy`;
    await scratch.container({
      name: "busy",
      labels: { "volsnap.workload": busy },
      args: ["-v", `${busyVol}:/data`],
    });
    populateTree(await volumeMountpoint(busyVol), "B");
    // 100 MiB that does not compress: each capture takes a while.
    const big = await Deno.open(join(await volumeMountpoint(busyVol), "big.bin"), {
      write: true,
      create: true,
    });
    for (let i = 0; i < 1600; i++) await big.write(crypto.getRandomValues(new Uint8Array(65536)));
    big.close();
    const s0 = performance.now();
    await seed(dataDir, wids);
    console.error(
      `catalog: ${WORKLOADS * PER} snapshots + events + operations in ${
        ((performance.now() - s0) / 1000).toFixed(1)
      } s`,
    );
    server = await TestServer.start({ dataDir });
    const srv = server;
    // Captures in a loop while the load runs.
    let captures = 0;
    const loop = (async () => {
      while (capturing) {
        const r = await srv.api("POST", `/api/v1/workloads/${busy}/snapshots?wait=true`, {});
        if (r.status === 201) captures++;
      }
    })();
    const results = [];
    for (
      const path of [`/api/v1/workloads/${wids[7]}/snapshots`, "/api/v1/workloads", "/metrics"]
    ) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL(import.meta.url).pathname,
          "--client",
          srv.url,
          srv.token,
          path,
          "--requests",
          String(REQUESTS),
          "--concurrency",
          String(CONCURRENCY),
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      const r = JSON.parse(new TextDecoder().decode(out.stdout));
      console.log(JSON.stringify(r)); // as each finishes: a long run keeps what it measured
      results.push(r);
    }
    capturing = false;
    await loop;
    console.log(JSON.stringify({ capturesDuringLoad: captures, load: Deno.loadavg() }));
  } finally {
    capturing = false;
    await server?.stop();
    await scratch.cleanup();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

const ci = Deno.args.indexOf("--client");
if (ci >= 0) await client(Deno.args[ci + 1], Deno.args[ci + 2], Deno.args[ci + 3]);
else await main();
