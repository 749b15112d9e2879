/** Archive downloads over a real Deno.serve: backpressure and client aborts. */
import { assert, assertEquals } from "../_fakes/assert.ts";
import { makeHarness, TEST_TOKEN } from "../_fakes/harness.ts";

const CHUNK = 1 << 20;
const TOTAL_CHUNKS = 2048; // 2 GiB if it were all produced

function countingArchive() {
  const state = { produced: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(ctrl) {
      if (state.produced >= TOTAL_CHUNKS) return ctrl.close();
      state.produced++;
      ctrl.enqueue(new Uint8Array(CHUNK));
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 1 });
  return { state, stream };
}

Deno.test("a download stops producing when the client goes away", async () => {
  const h = await makeHarness();
  const { state, stream } = countingArchive();
  h.engine.openArchive = () =>
    Promise.resolve({
      stream,
      sizeBytes: CHUNK * TOTAL_CHUNKS,
      sha256: "ab".repeat(32),
      fileName: "snap_1.tar.zst",
    });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, h.app.fetch);
  try {
    const ac = new AbortController();
    const res = await fetch(
      `http://127.0.0.1:${server.addr.port}/api/v1/snapshots/snap_1/archive`,
      {
        headers: { Authorization: `Bearer ${TEST_TOKEN}` },
        signal: ac.signal,
      },
    );
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("Content-Length"), String(CHUNK * TOTAL_CHUNKS));
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 3 * CHUNK) got += (await reader.read()).value!.byteLength;
    // A slow reader: the producer must not run far ahead of what was read.
    await new Promise((r) => setTimeout(r, 300));
    assert(state.produced < 64, `producer ran ahead: ${state.produced} MiB`);
    ac.abort();
    await reader.cancel().catch(() => {});
    for (let i = 0; i < 50 && !state.cancelled; i++) await new Promise((r) => setTimeout(r, 20));
    const atAbort = state.produced;
    await new Promise((r) => setTimeout(r, 300));
    assert(state.cancelled, "engine stream was not cancelled");
    assertEquals(state.produced, atAbort);
    assert(state.produced < 64, `produced ${state.produced} MiB for a 3 MiB read`);
  } finally {
    await server.shutdown();
    await h.close();
  }
});

Deno.test("HEAD of an archive gives the headers without reading it", async () => {
  const h = await makeHarness();
  const { state, stream } = countingArchive();
  h.engine.openArchive = () =>
    Promise.resolve({ stream, sizeBytes: 5, sha256: "cd".repeat(32), fileName: "x.tar.gz" });
  try {
    const res = await h.request("/api/v1/snapshots/snap_1/archive", { method: "HEAD" });
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("Content-Type"), "application/gzip");
    assertEquals(await res.text(), "");
    await new Promise((r) => setTimeout(r, 50));
    assert(state.produced <= 1, `HEAD read ${state.produced} chunks`);
    assert(state.cancelled, "HEAD must release the archive it opened");
  } finally {
    await h.close();
  }
});
