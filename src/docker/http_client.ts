/**
 * DockerApi over the Engine API on a unix socket (stack.md §1).
 *
 *   fetch("http://docker/v1.41/<path>", { client: unixProxyClient,
 *         headers: { "accept-encoding": "identity" }, signal: timeout })
 *   → status check (404 → not_found, 304 → idempotent success where allowed,
 *     other ≥ 400 → docker_error with the engine's message)
 *   → body parsed with a zod schema, or cancelled so the pooled connection is reused.
 *
 * Transport failures (socket missing, connection refused, no answer in time)
 * become docker_unavailable (503): the engine, not the request, is the problem.
 */
import { z } from "zod";
import { AppError, errMessage } from "../core/errors.ts";
import { DEFAULT_DOCKER_HOST, parseDockerHost } from "./docker_host.ts";

export { DEFAULT_DOCKER_HOST, parseDockerHost };
import type {
  ContainerDetails,
  ContainerSummary,
  DockerApi,
  ExecResult,
  VolumeDetails,
} from "./api.ts";
import { type CallInit, engineMessage } from "./caller.ts";
import { demuxRawStream } from "./exec.ts";
import { swarmMethods } from "./swarm.ts";
import {
  ContainerInspectSchema,
  ContainerListSchema,
  ExecCreateSchema,
  ExecInspectSchema,
  VersionSchema,
  VolumeInspectSchema,
} from "./schemas.ts";

/** 1.41 = Docker 20.10; newer engines still accept it. */
export const DOCKER_API_PREFIX = "/v1.41";
/** Exec output kept per command; the rest is drained and dropped. */
export const EXEC_OUTPUT_CAP = 64 * 1024;

export interface DockerClientOptions {
  /** Per-request timeout for ordinary calls (default 15 s). */
  timeoutMs?: number;
  /** Extra time a stop may take beyond its grace period (default 15 s). */
  stopMarginMs?: number;
}

/** The real client: a DockerApi plus the socket it talks to and a close(). */
export interface DockerHttpClient extends DockerApi {
  readonly dockerHost: string;
  readonly socketPath: string;
  /** Releases the pooled connections. The client must not be used afterwards. */
  close(): void;
}

/**
 * Creates the client. No connection is made until the first call.
 * @throws AppError invalid_input for an unsupported DOCKER_HOST.
 */
export function createDockerClient(
  dockerHost: string = DEFAULT_DOCKER_HOST,
  opts: DockerClientOptions = {},
): DockerHttpClient {
  const socketPath = parseDockerHost(dockerHost);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const stopMarginMs = opts.stopMarginMs ?? 15_000;
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });

  const unavailable = (reason: string, cause?: unknown) =>
    new AppError("docker_unavailable", `Docker engine unreachable at ${dockerHost}: ${reason}`, {
      cause,
      hint:
        "Check that dockerd is running and that DOCKER_HOST points at its socket (volsnap needs read/write access to it).",
    });

  const isTimeout = (err: unknown) =>
    err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError");

  /** Sends one request; returns the response for 2xx and `accept` statuses. */
  async function call(op: string, target: string, path: string, init: CallInit = {}) {
    const ms = init.timeoutMs ?? timeoutMs;
    const signal = init.signal ?? AbortSignal.timeout(ms);
    let res: Response;
    try {
      res = await fetch(`http://docker${DOCKER_API_PREFIX}${path}`, {
        method: init.method ?? "GET",
        client,
        signal,
        headers: {
          // Without this Docker gzips responses and fetch inflates them (7-9× slower).
          "accept-encoding": "identity",
          ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        },
        body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      } as RequestInit);
    } catch (err) {
      if (isTimeout(err)) throw unavailable(`no answer to ${op} within ${ms} ms`, err);
      throw unavailable(transportReason(err), err);
    }
    if (res.ok || init.accept?.includes(res.status)) return res;
    const message = await engineMessage(res);
    const subject = target ? `${op} ${target}` : op;
    if (res.status === 404) throw new AppError("not_found", `${subject}: ${message}`);
    throw new AppError("docker_error", `${subject}: ${message} (HTTP ${res.status})`);
  }

  async function json<S extends z.ZodType>(
    res: Response,
    schema: S,
    op: string,
    target: string,
  ): Promise<z.infer<S>> {
    let raw: unknown;
    try {
      raw = await res.json();
    } catch (err) {
      if (isTimeout(err)) throw unavailable(`${op} ${target}: response timed out`, err);
      throw new AppError("docker_error", `${op} ${target}: unreadable engine response`, {
        cause: err,
      });
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new AppError(
        "docker_error",
        `${op} ${target}: unexpected engine response: ${parsed.error.issues[0]?.message}`,
        { cause: parsed.error },
      );
    }
    return parsed.data;
  }

  const done = (res: Response) => res.body?.cancel();
  const enc = encodeURIComponent;

  async function inspectContainer(idOrName: string): Promise<ContainerDetails> {
    const res = await call("inspect container", idOrName, `/containers/${enc(idOrName)}/json`);
    const c = await json(res, ContainerInspectSchema, "inspect container", idOrName);
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ""),
      state: c.State.Status,
      startedAt: c.State.StartedAt,
      labels: c.Config?.Labels ?? {},
      networkMode: c.HostConfig?.NetworkMode,
      tmpfs: Object.keys(c.HostConfig?.Tmpfs ?? {}).sort(),
      mounts: c.Mounts.map((m) => ({
        type: m.Type,
        name: m.Name || undefined,
        source: m.Source,
        destination: m.Destination,
        driver: m.Driver || undefined,
        rw: m.RW,
      })),
    };
  }

  /**
   * A refused pause/unpause is fine when the container already is where we want
   * it. Engines disagree on the status (20.10 answers 500 "is not paused", newer
   * ones 409), so the container's state decides, not the message.
   */
  async function settleConflict(res: Response, id: string, op: string, wantPaused: boolean) {
    if (res.ok) return done(res);
    const message = await engineMessage(res);
    const state = (await inspectContainer(id)).state;
    if ((state === "paused") === wantPaused) return;
    throw new AppError(
      "docker_error",
      `${op} ${id}: ${message} (HTTP ${res.status}, state ${state})`,
    );
  }

  return {
    dockerHost,
    socketPath,
    close: () => client.close(),

    async ping() {
      await done(await call("ping", "", "/_ping"));
    },

    async version() {
      const v = await json(await call("version", "", "/version"), VersionSchema, "version", "");
      return { version: v.Version, apiVersion: v.ApiVersion };
    },

    async listContainers(): Promise<ContainerSummary[]> {
      const res = await call("list containers", "", "/containers/json?all=1");
      const list = await json(res, ContainerListSchema, "list containers", "");
      return list.map((c) => ({
        id: c.Id,
        name: primaryName(c.Names) ?? c.Id.slice(0, 12),
        state: c.State,
        labels: c.Labels,
      }));
    },

    inspectContainer,

    ...swarmMethods({ call, json }),

    async inspectVolume(name: string): Promise<VolumeDetails> {
      const res = await call("inspect volume", name, `/volumes/${enc(name)}`);
      const v = await json(res, VolumeInspectSchema, "inspect volume", name);
      return {
        name: v.Name,
        driver: v.Driver,
        mountpoint: v.Mountpoint,
        labels: v.Labels,
        options: v.Options,
      };
    },

    // A paused container can be stopped directly: the engine delivers the signal
    // and thaws it (measured on 20.10: stop of a paused container → exited).
    async stopContainer(id: string, timeoutSeconds: number) {
      const t = Math.max(0, Math.floor(timeoutSeconds));
      // The engine waits t seconds before SIGKILL, so our deadline must be longer.
      const res = await call("stop container", id, `/containers/${enc(id)}/stop?t=${t}`, {
        method: "POST",
        timeoutMs: t * 1000 + stopMarginMs,
        accept: [304],
      });
      await done(res);
    },

    async startContainer(id: string) {
      const res = await call("start container", id, `/containers/${enc(id)}/start`, {
        method: "POST",
        timeoutMs: Math.max(timeoutMs, 60_000), // a start may wait on mounts and hooks
        accept: [304],
      });
      await done(res);
    },

    async pauseContainer(id: string) {
      const res = await call("pause container", id, `/containers/${enc(id)}/pause`, {
        method: "POST",
        accept: [409, 500],
      });
      await settleConflict(res, id, "pause container", true);
    },

    async unpauseContainer(id: string) {
      const res = await call("unpause container", id, `/containers/${enc(id)}/unpause`, {
        method: "POST",
        accept: [409, 500],
      });
      await settleConflict(res, id, "unpause container", false);
    },

    async exec(id: string, cmd: string[], execTimeoutMs: number): Promise<ExecResult> {
      const shown = JSON.stringify(cmd);
      // One deadline for create + run + inspect: the caller's budget is for the whole hook.
      const signal = AbortSignal.timeout(execTimeoutMs);
      try {
        const created = await json(
          await call("exec in", id, `/containers/${enc(id)}/exec`, {
            method: "POST",
            body: { AttachStdout: true, AttachStderr: true, Tty: false, Cmd: cmd },
            signal,
          }),
          ExecCreateSchema,
          "exec in",
          id,
        );
        const started = await call("exec start", id, `/exec/${created.Id}/start`, {
          method: "POST",
          body: { Detach: false, Tty: false },
          signal,
        });
        const out = started.body
          ? await demuxRawStream(started.body, EXEC_OUTPUT_CAP)
          : { output: new Uint8Array(), truncated: false, totalBytes: 0 };
        let output = new TextDecoder().decode(out.output);
        if (out.truncated) output += `\n[output truncated: ${out.totalBytes} bytes in total]`;
        // The stream can end a moment before the engine records the exit code.
        for (let i = 0;; i++) {
          const res = await call("exec inspect", id, `/exec/${created.Id}/json`, { signal });
          const st = await json(res, ExecInspectSchema, "exec inspect", id);
          if (!st.Running && st.ExitCode !== null) return { exitCode: st.ExitCode, output };
          if (i >= 100) {
            throw new AppError("docker_error", `exec ${shown} in ${id}: no exit code reported`);
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      } catch (err) {
        if (signal.aborted && !(err instanceof AppError && err.code !== "docker_unavailable")) {
          throw new AppError(
            "docker_error",
            `exec ${shown} in ${id} did not finish within ${execTimeoutMs} ms`,
            {
              cause: err,
              hint:
                "The command may still be running inside the container; raise the hook timeout or make the hook faster.",
            },
          );
        }
        throw err;
      }
    },

    async runThrowaway(spec): Promise<ExecResult> {
      const signal = AbortSignal.timeout(spec.timeoutMs);
      const src = spec.fromContainer;
      const info = await json(
        await call("inspect container", src, `/containers/${enc(src)}/json`),
        ImageRefSchema,
        "inspect container",
        src,
      );
      const created = await json(
        await call("create container", "", "/containers/create", {
          method: "POST",
          body: {
            Image: info.Image,
            Entrypoint: ["/bin/sh", "-c"],
            Cmd: [spec.command],
            Labels: { "volsnap.exclude": "true", "volsnap.throwaway": "drill" },
            NetworkDisabled: true,
            HostConfig: { NetworkMode: "none", Binds: spec.binds },
          },
        }),
        ExecCreateSchema,
        "create container",
        "",
      );
      const id = created.Id;
      try {
        await call("start container", id, `/containers/${id}/start`, { method: "POST", signal })
          .then(done);
        const waited = await json(
          await call("wait for container", id, `/containers/${id}/wait`, {
            method: "POST",
            signal,
            timeoutMs: spec.timeoutMs,
          }),
          WaitResultSchema,
          "wait for container",
          id,
        );
        const logs = await call(
          "logs of container",
          id,
          `/containers/${id}/logs?stdout=1&stderr=1`,
        );
        const out = logs.body
          ? await demuxRawStream(logs.body, EXEC_OUTPUT_CAP)
          : { output: new Uint8Array(), truncated: false, totalBytes: 0 };
        return { exitCode: waited.StatusCode, output: new TextDecoder().decode(out.output) };
      } catch (err) {
        if (signal.aborted) {
          throw new AppError(
            "docker_error",
            `throwaway container did not finish within ${spec.timeoutMs} ms`,
            { cause: err },
          );
        }
        throw err;
      } finally {
        await call("remove container", id, `/containers/${id}?force=1&v=1`, {
          method: "DELETE",
          accept: [404],
        }).then(done, () => {});
      }
    },
  };
}

const ImageRefSchema = z.object({ Image: z.string().min(1) });
const WaitResultSchema = z.object({ StatusCode: z.number().int() });

/** `/name` of the container itself; other entries are link aliases like `/a/b`. */
function primaryName(names: string[]): string | undefined {
  const plain = names.map((n) => n.replace(/^\//, ""));
  return plain.find((n) => !n.includes("/")) ?? plain[0];
}

/** A short reason from Deno's fetch error chain ("No such file or directory", ...). */
function transportReason(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    parts.push(errMessage(e));
  }
  const all = parts.join(": ");
  if (/No such file|os error 2\b|ENOENT/i.test(all)) return "socket not found";
  if (/Connection refused|os error 111|ECONNREFUSED/i.test(all)) return "connection refused";
  if (/Permission denied|os error 13\b|EACCES/i.test(all)) return "permission denied on the socket";
  return all.slice(0, 300);
}
