import { join, relative } from "node:path";
import { assert } from "../_helpers/assert.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Every worker module the code starts, found by its `new Worker(new URL("./x.ts", …))`. */
async function workerModules(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (p.endsWith(".ts")) {
        const text = await Deno.readTextFile(p);
        for (const m of text.matchAll(/new Worker\(\s*new URL\("(\.[^"]+)"/g)) {
          found.push(relative(ROOT, join(dir, m[1])));
        }
      }
    }
  };
  for (const d of ["src", "routes", "cli", "db"]) await walk(join(ROOT, d));
  return found;
}

Deno.test("deno task compile --includes every worker module the code starts", async () => {
  const task: string = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.compile;
  const workers = await workerModules();
  assert(workers.length >= 4, `found only ${workers.join(", ")}`);
  for (const w of workers) {
    assert(task.includes(`--include ${w}`), `compile task lacks --include ${w}`);
  }
  for (const asset of ["db/migrations", "routes/console"]) {
    assert(task.includes(`--include ${asset}`), `compile task lacks --include ${asset}`);
  }
});
