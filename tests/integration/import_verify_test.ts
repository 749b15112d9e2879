/**
 * Archives from outside, through the HTTP API: a download re-imported into
 * another workload restores there; hostile uploads are refused with 422/413
 * and leave nothing; a corrupted archive fails verify and restore pre-flight.
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { craftTar, manifestEntry, testManifest, volsnapTar } from "../_helpers/craft_tar.ts";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { TestServer } from "../_helpers/server.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";

async function upload(server: TestServer, wid: string, bytes: Uint8Array) {
  const body = new Uint8Array(bytes); // a plain ArrayBuffer-backed copy for fetch
  const r = await fetch(`${server.url}/api/v1/workloads/${wid}/snapshots/import`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${server.token}`,
      "content-type": "application/octet-stream",
      "content-length": String(body.length),
    },
    body,
  });
  return { status: r.status, json: await r.json() };
}

function archiveFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.isDirectory) out.push(...archiveFiles(join(dir, e.name)));
    else out.push(e.name);
  }
  return out;
}

Deno.test("download → import into another workload → restore there; foreign restore needs allowForeign", async () => {
  const scratch = new DockerScratch("vs-imp");
  const server = await TestServer.start();
  try {
    const mk = async (suffix: string) => {
      const wid = `${scratch.prefix}-${suffix}`;
      const vol = await scratch.volume(`d${suffix}`);
      await scratch.container({
        name: `app${suffix}`,
        labels: { "volsnap.workload": wid },
        args: ["-v", `${vol}:/data`],
      });
      return { wid, dir: await volumeMountpoint(vol) };
    };
    const src = await mk("src");
    const dst = await mk("dst");
    populateTree(src.dir, "SRC");
    populateTree(dst.dir, "DST");
    const srcTree = fingerprint(src.dir);
    const cap = await server.api("POST", `/api/v1/workloads/${src.wid}/snapshots?wait=true`, {});
    assertEquals(cap.status, 201);
    const sid = cap.json.snapshot.id;

    const foreign = await server.api("POST", `/api/v1/workloads/${dst.wid}/restore?wait=true`, {
      snapshotId: sid,
    }, {
      "x-confirm-restore": sid,
    });
    assertEquals(foreign.status, 400, JSON.stringify(foreign.json));
    assert(/allowForeign/.test(JSON.stringify(foreign.json)), "the error names the flag");

    const dl = await fetch(`${server.url}/api/v1/snapshots/${sid}/archive`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    assertEquals(dl.status, 200);
    assertEquals(dl.headers.get("etag"), `"${cap.json.snapshot.sha256}"`);
    const bytes = new Uint8Array(await dl.arrayBuffer());
    assertEquals(Number(dl.headers.get("content-length")), bytes.length);

    const imp = await upload(server, dst.wid, bytes);
    assertEquals(imp.status, 201, JSON.stringify(imp.json));
    const iid = imp.json.snapshot.id;
    const res = await server.api("POST", `/api/v1/workloads/${dst.wid}/restore?wait=true`, {
      snapshotId: iid,
    }, {
      "x-confirm-restore": iid,
    });
    assertEquals(res.status, 200, JSON.stringify(res.json));
    assertEquals(diffTrees(fingerprint(dst.dir), srcTree), []);

    const ver = await server.api("POST", `/api/v1/snapshots/${iid}/verify?wait=true`);
    assertEquals(ver.status, 200);
    assertEquals(ver.json.verify.ok, true);
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});

Deno.test("hostile uploads are refused with 422 and leave no file; a corrupted archive fails verify and restore", async () => {
  const scratch = new DockerScratch("vs-hos");
  const server = await TestServer.start();
  try {
    const wid = scratch.prefix;
    const vol = await scratch.volume("d");
    await scratch.container({
      name: "app",
      labels: { "volsnap.workload": wid },
      args: ["-v", `${vol}:/data0`],
    });
    const dir = await volumeMountpoint(vol);
    populateTree(dir, "LIVE");
    const live = fingerprint(dir);

    const hostile: [string, Uint8Array][] = [
      ["dot-dot", volsnapTar([{ name: "volumes/0/../../escape", data: "x" }])],
      ["absolute", volsnapTar([{ name: "/etc/volsnap-pwned", data: "x" }])],
      [
        "symlink then write through",
        volsnapTar([
          { name: "volumes/0/sl", type: "2", linkname: "../../../../tmp" },
          { name: "volumes/0/sl/pwned", data: "x" },
        ]),
      ],
      [
        "hard link outside",
        volsnapTar([{ name: "volumes/0/h", type: "1", linkname: "/etc/passwd" }]),
      ],
      ["device node", volsnapTar([{ name: "volumes/0/dev", type: "3" }])],
      ["index not in manifest", volsnapTar([{ name: "volumes/7/x", data: "x" }])],
      [
        "manifest not first",
        craftTar([{ name: "volumes/0/x", data: "x" }, manifestEntry(testManifest())]),
      ],
      ["truncated", volsnapTar([{ name: "volumes/0/big", data: "y".repeat(5000) }]).slice(0, 3000)],
      ["not an archive", new TextEncoder().encode("hello, I am not a tar file at all".repeat(40))],
    ];
    for (const [name, bytes] of hostile) {
      const r = await upload(server, wid, bytes);
      assertEquals(r.status, 422, `${name}: ${JSON.stringify(r.json)}`);
      assertEquals(
        r.json.error.code === "bad_archive" || r.json.error.code === "integrity_error",
        true,
        name,
      );
    }
    assertEquals(archiveFiles(server.archivesDir()), [], "no file from a refused upload");
    assertEquals(diffTrees(fingerprint(dir), live), []);

    const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
    const sid = cap.json.snapshot.id;
    const file = join(server.archivesDir(), wid, archiveFiles(server.archivesDir())[0]);
    const f = await Deno.open(file, { write: true });
    await f.seek(100, Deno.SeekMode.Start);
    await f.write(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));
    f.close();
    const ver = await server.api("POST", `/api/v1/snapshots/${sid}/verify?wait=true`);
    assertEquals(ver.json.verify.ok, false);
    const snap = await server.api("GET", `/api/v1/snapshots/${sid}`);
    assertEquals(snap.json.snapshot.lastVerifyOk, false);
    const res = await server.api("POST", `/api/v1/workloads/${wid}/restore?wait=true`, {
      snapshotId: sid,
    }, {
      "x-confirm-restore": sid,
    });
    assertEquals(res.status, 422, JSON.stringify(res.json));
    assertEquals(res.json.error.code, "integrity_error");
    assertEquals(diffTrees(fingerprint(dir), live), []);
  } finally {
    await server.stop();
    await scratch.cleanup();
  }
});
