/**
 * Restore downtime vs data size (not a timed test). For a 100 MiB and a
 * 1 GiB volume: capture, change, restore through the real server, and read
 * the container's stop → start interval from Docker's own events. Downtime
 * must not grow with data size: staging happens while the app still runs.
 *
 *   deno run -A bench/downtime_bench.ts      (needs DOCKER_HOST and VOLSNAP_TEST_IMAGE)
 */
import { join } from "node:path";
import { dockerCli, DockerScratch } from "../tests/_helpers/docker_cli.ts";
import { pseudoRandom, volumeMountpoint } from "../tests/_helpers/fixtures.ts";
import { TestServer } from "../tests/_helpers/server.ts";

const SIZES_MIB = (Deno.env.get("VOLSNAP_DOWNTIME_SIZES") ?? "100,1024").split(",").map(Number);

function fill(dir: string, mib: number) {
  // Mixed: big files plus many small ones, half compressible.
  const chunk = pseudoRandom(1 << 20, 11);
  const text = new TextEncoder().encode("log line 0123456789 abcdefghij\n".repeat(33_000)).subarray(
    0,
    1 << 20,
  );
  let written = 0;
  for (let f = 0; written < mib * 0.8; f++) {
    const file = Deno.openSync(join(dir, `big-${f}.bin`), { write: true, create: true });
    for (let i = 0; i < 64 && written < mib * 0.8; i++, written++) {
      file.writeSync(i % 2 ? chunk : text);
    }
    file.close();
  }
  const small = Math.round((mib * 0.2 * 1024) / 8);
  for (let i = 0; i < small; i++) {
    const d = join(dir, `small/${i % 100}`);
    if (i < 100) Deno.mkdirSync(d, { recursive: true });
    Deno.writeFileSync(
      join(d, `f${i}`),
      i % 2 ? text.subarray(0, 8192) : chunk.subarray(i % 1000, (i % 1000) + 8192),
    );
  }
}

async function dockerDowntime(container: string, since: number, until: number): Promise<number> {
  const ev = await dockerCli([
    "events",
    "--since",
    String(since / 1000),
    "--until",
    String(until / 1000),
    "--filter",
    `container=${container}`,
    "--format",
    "{{.TimeNano}} {{.Status}}",
  ]);
  const lines = ev.stdout.split("\n").filter(Boolean).map((l) => l.split(" ")) as [
    string,
    string,
  ][];
  const down = lines.find(([, s]) => s === "kill" || s === "stop" || s === "die");
  const up = lines.filter(([, s]) => s === "start").pop();
  if (!down || !up) throw new Error(`no stop/start events: ${ev.stdout}`);
  return (Number(BigInt(up[0]) - BigInt(down[0])) / 1e6);
}

const results: string[] = [];
for (const mib of SIZES_MIB) {
  const scratch = new DockerScratch("vs-bench-dt");
  const server = await TestServer.start();
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("data");
    const app = await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data`],
    });
    const dir = await volumeMountpoint(vol);
    fill(dir, mib);
    // The app's own stop/start, for reference.
    const b0 = Date.now();
    await dockerCli(["stop", "-t", "10", app]);
    await dockerCli(["start", app]);
    const baseline = Date.now() - b0;
    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    if (cap.status !== 201) throw new Error(JSON.stringify(cap.json));
    const sid = cap.json.snapshot.id;
    Deno.writeTextFileSync(join(dir, "changed-after-snapshot"), "x");
    const t0 = Date.now();
    const res = await server.api("POST", `/api/v1/workloads/${wid}/restore?wait=true`, {
      snapshotId: sid,
    }, {
      "x-confirm-restore": sid,
    });
    const total = Date.now() - t0;
    if (res.status !== 200) throw new Error(JSON.stringify(res.json));
    await new Promise((r) => setTimeout(r, 300));
    // Only this restore's events: the reference stop/start above happened just before.
    const fromEvents = await dockerDowntime(app, t0, Date.now() + 1000);
    results.push(
      `${String(mib).padStart(5)} MiB: restore total ${(total / 1000).toFixed(2)} s, ` +
        `downtime (docker events stop→start) ${
          fromEvents.toFixed(0)
        } ms, volsnap-measured ${res.json.restore.downtimeMs} ms, ` +
        `app's own stop+start ${baseline} ms, capture downtime ${cap.json.snapshot.downtimeMs} ms`,
    );
    console.log(results.at(-1));
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
}
console.log("\nrestore downtime by data size\n" + results.join("\n"));
