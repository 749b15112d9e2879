/**
 * age as a pipe stage (SPEC §13 choice): npm `age-encryption` 0.3.1 (pure JS,
 * web streams) against Debian's `age` CLI fed through stdin/stdout, on the
 * same random file, both directions, and each one's output decrypted by the
 * other (interop). Not a test: prints MiB/s.
 *
 *   deno run -A bench/age_bench.ts [--mib 512] [--runs 2]
 */
import { Decrypter, Encrypter } from "age-encryption";
import { join } from "node:path";

const arg = (name: string, dflt: number) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
};
const mib = arg("mib", 512);
const dir = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "volsnap-age-bench-" });
try {
  const keyFile = join(dir, "key.txt");
  const kg = await new Deno.Command("age-keygen", { args: ["-o", keyFile], stderr: "piped" })
    .output();
  const recipient = /age1[0-9a-z]+/.exec(new TextDecoder().decode(kg.stderr))![0];
  const identity = (await Deno.readTextFile(keyFile)).split("\n").find((l) =>
    l.startsWith("AGE-SECRET")
  )!;
  const plain = join(dir, "plain.bin");
  const f = await Deno.open(plain, { write: true, create: true });
  const buf = new Uint8Array(1 << 20);
  for (let i = 0; i < mib; i++) {
    for (let o = 0; o < buf.length; o += 65536) crypto.getRandomValues(buf.subarray(o, o + 65536));
    await f.write(buf);
  }
  f.close();
  const drain = async (s: ReadableStream<Uint8Array>) => {
    let n = 0;
    for await (const c of s) n += c.length;
    return n;
  };
  const cli = async (args: string[], input: string) => {
    const p = new Deno.Command("age", { args, stdin: "piped", stdout: "piped" }).spawn();
    const [n] = await Promise.all([
      drain(p.stdout),
      (await Deno.open(input)).readable.pipeTo(p.stdin),
    ]);
    if (!(await p.status).success) throw new Error("age failed");
    return n;
  };
  const time = async (fn: () => Promise<unknown>) => {
    const t = performance.now();
    await fn();
    return mib / ((performance.now() - t) / 1000);
  };
  console.log(`age on ${mib} MiB (load ${Deno.loadavg().join(" ")})`);
  for (let r = 0; r < arg("runs", 2); r++) {
    const libEnc = await time(async () => {
      const e = new Encrypter();
      e.addRecipient(recipient);
      const out = await Deno.open(join(dir, "lib.age"), {
        write: true,
        create: true,
        truncate: true,
      });
      await (await e.encrypt((await Deno.open(plain)).readable)).pipeTo(out.writable);
    });
    const cliEnc = await time(async () => {
      const p = new Deno.Command("age", {
        args: ["-r", recipient, "-o", join(dir, "cli.age")],
        stdin: "piped",
      })
        .spawn();
      await (await Deno.open(plain)).readable.pipeTo(p.stdin);
      if (!(await p.status).success) throw new Error("age failed");
    });
    // Interop: each decrypts the other's output.
    const libDec = await time(async () => {
      const d = new Decrypter();
      d.addIdentity(identity);
      const n = await drain(await d.decrypt((await Deno.open(join(dir, "cli.age"))).readable));
      if (n !== mib << 20) throw new Error("lib could not decrypt the CLI's file");
    });
    const cliDec = await time(async () => {
      const n = await cli(["-d", "-i", keyFile], join(dir, "lib.age"));
      if (n !== mib << 20) throw new Error("CLI could not decrypt the lib's file");
    });
    console.log(
      `  run ${r + 1}: encrypt lib ${libEnc.toFixed(0)} MiB/s, CLI ${cliEnc.toFixed(0)} MiB/s; ` +
        `decrypt lib ${libDec.toFixed(0)} MiB/s, CLI ${
          cliDec.toFixed(0)
        } MiB/s (interop both ways ok)`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
