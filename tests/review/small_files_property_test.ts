/**
 * Property, aimed at the unchanged-small-file path (virtual data, recipes,
 * copies out of the parent's frames): sizes around block and 1 MiB
 * boundaries, long (PAX) names, xattrs, sparse files, type changes, hard
 * links. After each round of mutations the incremental stream must equal a
 * full capture's tar, and the recorded digest must equal treeDigest(src).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { pseudoRandom } from "../_helpers/fixtures.ts";
import { FrameStore } from "../../src/frames/store.ts";
import { treeDigest } from "../../src/drill/digest.ts";
import { type Framed, framedCapture, incrementalRound, Rng } from "../frames/frames_helpers.ts";

const MIB = 1 << 20;
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 8);
const SIZES = [0, 1, 511, 512, 513, 4096, MIB - 513, MIB - 1, MIB, MIB + 1, 70_000, 300_000];

async function sh(cmd: string) {
  const r = await new Deno.Command("sh", { args: ["-c", cmd], stderr: "piped" }).output();
  if (!r.success) throw new Error(`${cmd}: ${new TextDecoder().decode(r.stderr)}`);
}

function files(root: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(root, rel))) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...files(root, p));
    else if (e.isFile) out.push(p);
  }
  return out.sort();
}

const longName = (i: number) => `${"L".repeat(120)}-${i}.bin`;

async function seed(root: string, rng: Rng) {
  await Deno.mkdir(join(root, "a/b"), { recursive: true });
  await Deno.mkdir(join(root, "d"), { recursive: true });
  for (let i = 0; i < 60; i++) {
    const dir = i % 3 === 0 ? "a" : i % 3 === 1 ? "a/b" : "d";
    const name = i % 7 === 0 ? longName(i) : `f${i}`;
    await Deno.writeFile(join(root, dir, name), pseudoRandom(rng.pick(SIZES), i));
  }
  for (let i = 0; i < 200; i++) {
    await Deno.writeFile(join(root, "d", `t${i}`), pseudoRandom(rng.int(3000), 1000 + i));
  }
}

async function mutate(root: string, rng: Rng, n: number): Promise<string> {
  const all = files(root);
  const f = rng.pick(all);
  const p = join(root, f);
  switch (rng.int(11)) {
    case 0:
      await Deno.writeFile(p, pseudoRandom(rng.pick(SIZES), 5000 + n));
      return `rewrite ${f}`;
    case 1: {
      const st = await Deno.stat(p);
      const to = st.size <= MIB ? MIB + 1 + rng.int(2) : MIB - rng.int(2);
      await Deno.truncate(p, to);
      return `truncate ${f} ${st.size}→${to}`;
    }
    case 2:
      await sh(`setfattr -n user.k${n} -v v${n} '${p}'`);
      return `xattr ${f}`;
    case 3:
      await Deno.chmod(p, rng.pick([0o600, 0o644, 0o755]));
      return `chmod ${f}`;
    case 4: {
      const to = `${f}.mv${n}`;
      await Deno.rename(p, join(root, to));
      return `rename ${f} → ${to}`;
    }
    case 5: {
      const other = rng.pick(all);
      if (other === f) return "noop";
      await Deno.rename(p, join(root, other));
      return `rename ${f} over ${other}`;
    }
    case 6:
      await Deno.link(p, join(root, `d/h${n}`));
      return `hard link d/h${n} → ${f}`;
    case 7: {
      const st = await Deno.stat(p);
      if (st.size < 16384) return "noop";
      await sh(`fallocate -p -o 4096 -l 8192 '${p}'`);
      return `punch hole ${f}`;
    }
    case 8:
      await Deno.remove(p);
      await Deno.mkdir(p);
      await Deno.writeFile(join(p, "x"), pseudoRandom(100, n));
      return `file ${f} → dir`;
    case 9: {
      const dirs = ["a", "a/b", "d"];
      const d = rng.pick(dirs);
      await Deno.writeFile(join(root, d, `new${n}`), pseudoRandom(rng.pick(SIZES), 8000 + n));
      return `new ${d}/new${n}`;
    }
    default:
      await Deno.remove(p);
      return `delete ${f}`;
  }
}

Deno.test("unchanged small files: incremental stream == full tar, digest == tree", async () => {
  const seedN = Number(Deno.env.get("SEED") ?? Date.now() % 1_000_000);
  const rng = new Rng(seedN);
  const tmp = await Deno.makeTempDir({ prefix: "volsnap_rev_small_" });
  try {
    const src = join(tmp, "src");
    await seed(src, rng);
    const store = await FrameStore.open(join(tmp, "store"));
    let prev: Framed = await framedCapture(store, src, tmp, "r0");
    const log: string[] = [];
    let reused = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const k = 1 + rng.int(4);
      for (let i = 0; i < k; i++) log.push(`r${round}: ${await mutate(src, rng, round * 10 + i)}`);
      const where = `seed ${seedN}, round ${round}:\n${log.join("\n")}`;
      const cur = await incrementalRound(store, src, tmp, `r${round}`, prev, where);
      assertEquals(cur.stats.contentDigest["0"], await treeDigest(src), where);
      reused += cur.stats.frames.reusedRawBytes;
      await Deno.remove(prev.path);
      prev = cur;
    }
    assert(reused > 0, "nothing reused");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
