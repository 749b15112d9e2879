/**
 * Property: after any mix of mutations, an incremental capture's stream is
 * byte for byte the tar a full capture writes of the same tree, and GNU tar
 * extracts it to exactly that tree. Rounds of random mutations (seeded, the
 * seed is in the failure message): content, size, mode, owner, rename, hard
 * links, new and deleted files, a page rewritten inside a large file, and a
 * same-size rewrite with its mtime put back by `touch -d`.
 */
import { join } from "node:path";
import { chownSync } from "node:fs";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { diffTrees, fingerprint } from "../_helpers/tree.ts";
import { FrameStore } from "../../src/frames/store.ts";
import {
  type Framed,
  framedCapture,
  incrementalRound,
  Rng,
  streamBytes,
} from "./frames_helpers.ts";

const ROUNDS = 10;
const MIB = 1024 * 1024;

function files(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(root, rel))) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...files(root, p));
    else if (e.isFile) out.push(p);
  }
  return out.sort();
}

async function run(cmd: string, args: string[]) {
  const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  }
}

async function seedTree(root: string, rng: Rng) {
  for (const d of ["db", "app/static", "app/uploads"]) {
    await Deno.mkdir(join(root, d), { recursive: true });
  }
  // Four tables of whole 4 KiB pages (their chunks are sub-frames), one not.
  for (let i = 0; i < 5; i++) {
    const size = i < 4 ? 2 * MIB + rng.int(256) * 4096 : 2 * MIB + rng.int(MIB);
    await Deno.writeFile(join(root, "db", `table${i}.ibd`), pseudoRandom(size, i));
  }
  for (let i = 0; i < 150; i++) {
    const dir = i % 2 ? "app/static" : "app/uploads";
    await Deno.writeFile(join(root, dir, `f${i}.dat`), pseudoRandom(rng.int(40_000), 100 + i));
  }
  await Deno.symlink("../db/table0.ibd", join(root, "app/db-link"));
}

/** One random mutation; returns what it did (for the failure message). */
async function mutate(root: string, rng: Rng, n: number): Promise<string> {
  const all = files(root);
  const big = all.filter((f) => f.startsWith("db/"));
  const small = all.filter((f) => !f.startsWith("db/"));
  const f = rng.pick(rng.int(3) === 0 && big.length ? big : small.length ? small : all);
  const p = join(root, f);
  switch (rng.int(10)) {
    case 0:
      await Deno.writeFile(p, pseudoRandom(rng.int(30_000), 7000 + n));
      return `content ${f}`;
    case 1: {
      await Deno.truncate(p, Math.max(0, (await Deno.stat(p)).size + rng.int(20_000) - 10_000));
      return `size ${f}`;
    }
    case 2:
      await Deno.chmod(p, rng.pick([0o600, 0o644, 0o755, 0o4755, 0o640]));
      return `mode ${f}`;
    case 3:
      chownSync(p, 1000 + rng.int(5), 1000 + rng.int(5));
      return `owner ${f}`;
    case 4: {
      const to = `${f}.renamed${n}`;
      await Deno.rename(p, join(root, to));
      return `rename ${f} → ${to}`;
    }
    case 5: {
      const to = `app/hard${n}`;
      await Deno.link(p, join(root, to));
      return `hard link ${to} → ${f}`;
    }
    case 6: {
      const to = rng.int(2) ? `app/uploads/new${n}` : `db/new${n}.ibd`;
      await Deno.writeFile(join(root, to), pseudoRandom(to.startsWith("db") ? 3 * MIB : 5000, n));
      return `new ${to}`;
    }
    case 7:
      await Deno.remove(p);
      return `delete ${f}`;
    case 8: {
      // A database page rewritten in place inside a large file.
      const target = join(root, big.length ? rng.pick(big) : f);
      const size = (await Deno.stat(target)).size;
      const fh = await Deno.open(target, { write: true });
      await fh.seek(Math.floor(rng.int(Math.max(1, size - 8192)) / 8192) * 8192, 0);
      await fh.write(pseudoRandom(8192, 9000 + n));
      fh.close();
      return `page rewrite ${target.slice(root.length + 1)}`;
    }
    default: {
      // Same size, mtime put back: only ctime tells.
      const target = join(root, big.length && rng.int(2) ? rng.pick(big) : f);
      const st = await Deno.stat(target);
      const bytes = await Deno.readFile(target);
      if (bytes.length) bytes[rng.int(bytes.length)] ^= 0xff;
      await Deno.writeFile(target, bytes);
      const ms = st.mtime!.getTime();
      await run("touch", [
        "-m",
        "-d",
        `@${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}`,
        target,
      ]);
      return `same-size rewrite with mtime restored ${target.slice(root.length + 1)}`;
    }
  }
}

Deno.test("incremental captures after random mutations stream the full capture's tar", async () => {
  const seed = Number(Deno.env.get("VOLSNAP_PROPERTY_SEED") ?? Date.now() % 1_000_000);
  const rng = new Rng(seed);
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_prop_" });
  try {
    const src = join(tmp, "src");
    await seedTree(src, rng);
    const store = await FrameStore.open(join(tmp, "store"));
    let prev: Framed = await framedCapture(store, src, tmp, "r0");
    const log: string[] = [];
    let reused = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const k = 1 + rng.int(6);
      for (let i = 0; i < k; i++) log.push(`r${round}: ${await mutate(src, rng, round * 10 + i)}`);
      const where = `seed ${seed}, round ${round}, after:\n${log.join("\n")}`;
      const cur = await incrementalRound(store, src, tmp, `r${round}`, prev, where);
      reused += cur.stats.frames.reusedRawBytes;
      if (round % 3 === 0 || round === ROUNDS) {
        const out = join(tmp, `x${round}`);
        await Deno.mkdir(out);
        await Deno.writeFile(join(tmp, "s.tar.zst"), await streamBytes(store, cur.path));
        await run("tar", ["-x", "--zstd", "-f", join(tmp, "s.tar.zst"), "-C", out]);
        const diff = diffTrees(fingerprint(src), fingerprint(join(out, "volumes/0")));
        assertEquals(diff, [], where);
      }
      prev = cur;
    }
    // Unchanged large files were referenced without being read.
    assert(reused > 0, `no round reused a large file; seed ${seed}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
