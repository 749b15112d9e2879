/**
 * age encryption as a pipe stage (SPEC §13): the Debian `age` program, run
 * like the zstd CLI is (stdin → stdout). Measured on this machine against npm
 * `age-encryption` 0.3.1 (bench/age_bench.ts, 512 MiB): the CLI encrypts at
 * 240–480 MiB/s and decrypts at 250–370 MiB/s, the library at 87–93 and
 * 81–129 MiB/s, so the library would be the slowest stage of a capture.
 *
 * Only public keys are passed on the command line; the identity is a file
 * path the program opens itself, so no secret is ever in argv, a log or an
 * error message (age's stderr is passed on only as its first line, which
 * never contains key material).
 */
import { AppError } from "../core/errors.ts";
import { libc } from "../fs/libc.ts";
import { growPipe, ownFdOfChildPipe } from "../compression/pipe_size.ts";

export const AGE_BIN = "age";
export const AGE_SUFFIX = ".age";
/** The first bytes of every binary age file. */
export const AGE_MAGIC = "age-encryption.org/v1\n";

/** `age1…` X25519 recipients (and plugin/ssh keys age itself accepts). */
export function parseRecipients(text: string): string[] {
  const out = text.split(/[\n,]/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  for (const r of out) {
    if (
      !/^(age1[02-9ac-hj-np-z]{58}|age1[a-z0-9]+1[02-9ac-hj-np-z]+|ssh-(ed25519|rsa) \S+)/.test(r)
    ) {
      throw new Error(`"${r.slice(0, 12)}…" is not an age recipient (age1…)`);
    }
  }
  if (!out.length) throw new Error("no recipient given");
  return out;
}

/** Whether a stored archive file is age-encrypted (by its name: volsnap names what it writes). */
export function isAgeFile(file: string): boolean {
  return file.endsWith(AGE_SUFFIX);
}

export function ageAvailable(): boolean {
  try {
    return new Deno.Command(AGE_BIN, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Encrypts `input` for `recipients`; the stream errors if age fails. */
export function encryptStream(
  input: ReadableStream<Uint8Array>,
  recipients: string[],
): ReadableStream<Uint8Array> {
  return pipeStage(input, recipients.flatMap((r) => ["-r", r]), "encrypt");
}

/**
 * Decrypts `input` with the identity file. A wrong or missing identity fails
 * the stream with `decryption_failed` (422) and a hint; nothing is written by then.
 */
export function decryptStream(
  input: ReadableStream<Uint8Array>,
  identityFile: string | undefined,
): ReadableStream<Uint8Array> {
  if (!identityFile) {
    input.cancel().catch(() => {});
    throw new AppError(
      "decryption_failed",
      "this snapshot is age-encrypted and no identity is configured",
      {
        hint:
          "set VOLSNAP_AGE_IDENTITY_FILE to the age identity (key) file that matches VOLSNAP_AGE_RECIPIENTS",
      },
    );
  }
  return pipeStage(input, ["-d", "-i", identityFile], "decrypt");
}

function pipeStage(
  input: ReadableStream<Uint8Array>,
  args: string[],
  what: "encrypt" | "decrypt",
): ReadableStream<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(AGE_BIN, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
      .spawn();
  } catch (err) {
    input.cancel().catch(() => {});
    throw new AppError("internal", `cannot run ${AGE_BIN} to ${what}: ${(err as Error).message}`, {
      hint: "install Debian's age package",
    });
  }
  const stderr = new Response(child.stderr).text();
  // Feeding stdin may fail when age exits early (e.g. a wrong key): that
  // failure is reported through age's exit status below instead.
  const fed = input.pipeTo(child.stdin).catch((err) => err);
  const reader = child.stdout.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const { done, value } = await reader.read();
      if (!done) return c.enqueue(value);
      const status = await child.status;
      const feedError = await fed;
      if (!status.success) {
        const line = (await stderr).split("\n").map((l) => l.trim()).find(Boolean) ?? "";
        const why = line.replace(/^age:\s*(error:\s*)?/, "").slice(0, 300) || `exit ${status.code}`;
        return c.error(
          what === "decrypt"
            ? new AppError("decryption_failed", `age could not decrypt the archive: ${why}`, {
              hint: "VOLSNAP_AGE_IDENTITY_FILE must hold the identity of one of the recipients",
            })
            : new AppError("internal", `age could not encrypt the archive: ${why}`),
        );
      }
      if (feedError) return c.error(feedError);
      c.close();
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      await child.status;
    },
  });
}

/** Bytes in, ciphertext appended to a file by age itself. */
export interface AgeFileSink {
  write(bytes: Uint8Array): Promise<void>;
  /**
   * This process's raw fd of age's stdin pipe, for a writer on another
   * thread (OffThreadSha256.relay) instead of `write`; null when it cannot
   * be found or libc is unavailable. `finish` and `close` close it.
   */
  stdinFd: number | null;
  /** age's own error if it has exited unsuccessfully (waits up to 1 s for it), else undefined. */
  exitError(): Promise<AppError | undefined>;
  /** Ends the input and waits for age; throws if it failed. */
  finish(): Promise<void>;
  /** Kills age (any path; safe after finish). */
  close(): Promise<void>;
}

/**
 * Encrypts for `recipients` into `path` (an existing empty temp file of the
 * durable writer): age appends its output itself, as the zstd CLI does, so
 * the ciphertext never passes back through this process and the writer's
 * fsync covers it (same inode).
 */
export function ageToFile(recipients: string[], path: string): AgeFileSink {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("sh", {
      args: [
        "-c",
        `exec "$0" "$@" >> "$VOLSNAP_AGE_OUT"`,
        AGE_BIN,
        ...recipients.flatMap((r) => ["-r", r]),
      ],
      env: { VOLSNAP_AGE_OUT: path },
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new AppError("internal", `cannot run ${AGE_BIN} to encrypt: ${(err as Error).message}`, {
      hint: "install Debian's age package",
    });
  }
  const stderr = new Response(child.stderr).text().catch(() => "");
  const stdin = child.stdin.getWriter();
  stdin.closed.catch(() => {});
  const stdinFd = libc() ? ownFdOfChildPipe(child.pid, 0) : null;
  if (stdinFd !== null) growPipe(stdinFd); // zstd's output comes in 1 MiB reads
  const failed = async (cause?: unknown) => {
    const status = await child.status;
    const line = (await stderr).split("\n").map((l) => l.trim()).find(Boolean) ?? "";
    const why = line.replace(/^age:\s*(error:\s*)?/, "").slice(0, 300) || `exit ${status.code}`;
    return new AppError("internal", `age could not encrypt the archive: ${why}`, { cause });
  };
  return {
    stdinFd,
    async exitError() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        child.status,
        new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 1000)),
      ]);
      clearTimeout(timer);
      return status && !status.success ? await failed() : undefined;
    },
    async write(bytes) {
      try {
        await stdin.write(bytes);
      } catch (err) {
        throw await failed(err); // a broken pipe: age exited, its stderr says why
      }
    },
    async finish() {
      await stdin.close().catch(() => {});
      if (!(await child.status).success) throw await failed();
    },
    async close() {
      try {
        child.kill("SIGKILL");
      } catch { /* exited */ }
      stdin.abort().catch(() => {});
      await child.status.catch(() => {});
    },
  };
}
