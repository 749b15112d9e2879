/**
 * The console's only way to the server: the public /api/v1 with the bearer
 * token the operator signed in with (kept in this tab's sessionStorage).
 */

const TOKEN_KEY = "volsnap-token";

export const getToken = () => sessionStorage.getItem(TOKEN_KEY) ?? "";
export const setToken = (v) =>
  v ? sessionStorage.setItem(TOKEN_KEY, v) : sessionStorage.removeItem(TOKEN_KEY);

/** An answer that was not 2xx (code from the API's error body), or no answer (`network`). */
export class ApiError extends Error {
  constructor(status, code, message, hint) {
    super(message);
    this.status = status;
    this.code = code;
    this.hint = hint;
  }
}

const auth = () => ({ authorization: `Bearer ${getToken()}` });
const enc = encodeURIComponent;

async function request(method, path, { body, headers = {}, signal } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      signal,
      headers: {
        ...auth(),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "network", String(err?.message ?? err));
  }
  return res;
}

async function failure(res) {
  let e = {};
  try {
    e = (await res.json()).error ?? {};
  } catch { /* not JSON */ }
  return new ApiError(res.status, e.code ?? `http_${res.status}`, e.message ?? "", e.hint);
}

/** JSON call; resolves with the body (`{}` for 204), rejects with ApiError. */
export async function api(method, path, opts = {}) {
  const res = await request(method, path, opts);
  if (!res.ok) throw await failure(res);
  return res.status === 204 ? {} : await res.json();
}

export const paths = {
  workloads: () => "/api/v1/workloads",
  workload: (wid) => `/api/v1/workloads/${enc(wid)}`,
  snapshots: (wid) => `/api/v1/workloads/${enc(wid)}/snapshots`,
  restore: (wid) => `/api/v1/workloads/${enc(wid)}/restore`,
  import: (wid) => `/api/v1/workloads/${enc(wid)}/snapshots/import`,
  snapshot: (sid) => `/api/v1/snapshots/${enc(sid)}`,
  archive: (sid) => `/api/v1/snapshots/${enc(sid)}/archive`,
  verify: (sid) => `/api/v1/snapshots/${enc(sid)}/verify`,
  drill: (sid) => `/api/v1/snapshots/${enc(sid)}/drill`,
  pin: (sid) => `/api/v1/snapshots/${enc(sid)}/pin`,
  operationEvents: (oid) => `/api/v1/operations/${enc(oid)}/events`,
  schedules: () => "/api/v1/schedules",
  events: (q) => `/api/v1/events?${new URLSearchParams(q)}`,
};

/**
 * Follows a long operation over its server-sent events stream (read with
 * fetch, since EventSource cannot send the token), calling `onUpdate(op)` on
 * every change. Resolves with the final operation; rejects with ApiError
 * when the operation failed.
 */
export async function followOperation(oid, onUpdate) {
  const res = await request("GET", paths.operationEvents(oid), {
    headers: { accept: "text/event-stream" },
  });
  if (!res.ok) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let last;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += value;
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5))
        .join("\n");
      if (!data) continue;
      last = JSON.parse(data).operation;
      onUpdate(last);
    }
  }
  if (!last || last.state === "running") {
    throw new ApiError(0, "network", "the progress stream ended early");
  }
  if (last.state !== "succeeded") {
    const e = last.error ?? {};
    throw new ApiError(0, e.code ?? "internal", e.message ?? last.state);
  }
  return last;
}

/** Starts an operation (202) and follows it to its end. */
export async function runOperation(method, path, body, headers, onUpdate) {
  const { operation } = await api(method, path, { body, headers });
  onUpdate(operation);
  return await followOperation(operation.id, onUpdate);
}

/**
 * Uploads `file` as the raw body with XMLHttpRequest, which reports upload
 * progress and sends Content-Length. Resolves with the JSON answer.
 */
export function uploadFile(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("authorization", `Bearer ${getToken()}`);
    xhr.setRequestHeader("content-type", "application/octet-stream");
    xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded, e.total || file.size));
    xhr.upload.addEventListener("load", () => onProgress(file.size, file.size, true));
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "upload failed")));
    xhr.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        const e = body.error ?? {};
        reject(new ApiError(xhr.status, e.code ?? `http_${xhr.status}`, e.message ?? "", e.hint));
      }
    });
    xhr.send(file);
  });
}

/**
 * Downloads an archive with the token (a plain link could not send it),
 * reporting bytes received, then hands it to the browser as a file.
 */
export async function downloadArchive(sid, onProgress) {
  const res = await request("GET", paths.archive(sid));
  if (!res.ok) throw await failure(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ??
    `${sid}.tar`;
  const parts = [];
  let got = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.byteLength;
    onProgress(got);
  }
  const url = URL.createObjectURL(new Blob(parts, { type: "application/octet-stream" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name, size: got };
}
