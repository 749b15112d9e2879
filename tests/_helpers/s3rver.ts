/**
 * A real S3-compatible server on loopback for the tests: npm `s3rver` 3.7.1,
 * started with `npx -y` in its own process group (so stop() ends npx and the
 * node child it runs, by pid), on a free port, with a bucket configured.
 *
 * s3rver 3.7 quirks, kept here and in the suite's options, not in src/:
 * it never checks signatures (the test proxy below records the key id sent),
 * listing unfinished multipart uploads answers 501, aborting one answers 405.
 */
import { freePort, sleep } from "./server.ts";

export const S3RVER_VERSION = "3.7.1";
export const S3RVER_KEY = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export class S3rver {
  #child?: Deno.ChildProcess;
  log = "";
  private constructor(readonly dir: string, readonly port: number, readonly bucket: string) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(opts: { dir?: string; port?: number; bucket?: string } = {}) {
    const s = new S3rver(
      opts.dir ?? await Deno.makeTempDir({ prefix: "volsnap-s3rver-" }),
      opts.port ?? freePort(),
      opts.bucket ?? "snaps",
    );
    await s.restart();
    return s;
  }

  /** (Re)starts on the same port and directory, so stored objects survive. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error("s3rver already running");
    this.#child = new Deno.Command("setsid", {
      args: [
        "npx",
        "-y",
        `s3rver@${S3RVER_VERSION}`,
        "-d",
        this.dir,
        "-a",
        "127.0.0.1",
        "-p",
        String(this.port),
        "--configure-bucket",
        this.bucket,
        "--silent",
      ],
      stdout: "piped",
      stderr: "piped",
      env: { npm_config_loglevel: "error", npm_config_update_notifier: "false" },
    }).spawn();
    const collect = async (r: ReadableStream<Uint8Array>) => {
      for await (const c of r.pipeThrough(new TextDecoderStream())) this.log += c;
    };
    collect(this.#child.stdout);
    collect(this.#child.stderr);
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${this.endpoint}/${this.bucket}?list-type=2&max-keys=1`);
        await res.body?.cancel();
        if (res.status < 500) return;
      } catch { /* not yet listening */ }
      await sleep(200);
    }
    await this.stop();
    throw new Error(`s3rver did not start within 120 s:\n${this.log}`);
  }

  /** Ends the whole process group (npx and its node child), by pid. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    // The port must really be free before a restart binds it again.
    for (let i = 0; i < 50; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: this.port })).close();
        await sleep(100);
      } catch {
        return;
      }
    }
  }
}
