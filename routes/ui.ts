/**
 * GET /: a small status page for operators. Static HTML and script only; it
 * calls the same API with the token the operator pastes (kept in this tab's
 * sessionStorage, never sent anywhere else). All data is inserted as text.
 */
import { Hono } from "hono";

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>volsnap</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
.muted{color:#777}.err{color:#b00}button{margin-right:.3rem}code{background:#f4f4f4;padding:0 .2rem}
</style></head><body>
<h1>volsnap</h1>
<p id="health" class="muted">checking…</p>
<form id="login"><label>API token <input id="token" type="password" size="40"></label>
<button>Use</button> <span class="muted">(see <code>&lt;data dir&gt;/token</code>)</span></form>
<p id="msg"></p>
<div id="workloads"></div>
<script>
const $ = (id) => document.getElementById(id);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; };
const token = () => sessionStorage.getItem("volsnap-token") || "";
async function api(path, init = {}) {
  const r = await fetch(path, { ...init, headers: { authorization: "Bearer " + token(), "content-type": "application/json", ...(init.headers || {}) } });
  const body = r.status === 204 ? {} : await r.json();
  if (!r.ok) throw new Error(body.error ? body.error.code + ": " + body.error.message : "HTTP " + r.status);
  return body;
}
const size = (n) => n == null ? "" : n < 1024 ? n + " B" : n > 1e9 ? (n / 2 ** 30).toFixed(1) + " GiB" : n > 1e6 ? (n / 2 ** 20).toFixed(1) + " MiB" : (n / 1024).toFixed(0) + " KiB";
function row(cells) { const tr = el("tr"); for (const c of cells) { const td = el("td"); if (c instanceof Node) td.append(c); else td.textContent = c ?? ""; tr.append(td); } return tr; }
function table(head, rows) { const t = el("table"); t.append(row(head.map((h) => el("b", h)))); rows.forEach((r) => t.append(r)); return t; }
async function snapshot(wid) {
  $("msg").textContent = "capturing " + wid + "…";
  try { const r = await api("/api/v1/workloads/" + encodeURIComponent(wid) + "/snapshots?wait=true", { method: "POST", body: "{}" });
    $("msg").textContent = "snapshot " + r.snapshot.id + " created"; } catch (e) { $("msg").textContent = e.message; $("msg").className = "err"; }
  load();
}
async function load() {
  const box = $("workloads"); box.replaceChildren();
  if (!token()) return;
  try {
    const { workloads } = await api("/api/v1/workloads");
    for (const w of workloads) {
      box.append(el("h2", w.id));
      const btn = el("button", "Snapshot now"); btn.onclick = () => snapshot(w.id); box.append(btn);
      const { snapshots } = await api("/api/v1/workloads/" + encodeURIComponent(w.id) + "/snapshots");
      box.append(table(["snapshot", "created", "origin", "size", "files", "downtime", "verified"],
        snapshots.map((s) => row([s.id, s.createdAt, s.origin, size(s.sizeBytes), s.fileCount, s.downtimeMs == null ? "" : s.downtimeMs + " ms", s.lastVerifyOk == null ? "" : s.lastVerifyOk ? "ok" : "FAILED"]))));
    }
    if (!workloads.length) box.append(el("p", "no workloads found", "muted"));
  } catch (e) { $("msg").textContent = e.message; $("msg").className = "err"; }
}
$("login").onsubmit = (e) => { e.preventDefault(); sessionStorage.setItem("volsnap-token", $("token").value); load(); };
fetch("/healthz").then((r) => r.json()).then((h) => { $("health").textContent = "volsnap " + h.version + " — Docker " + (h.docker && h.docker.reachable ? "reachable (" + h.docker.version + ")" : "UNREACHABLE"); });
load();
</script></body></html>`;

export function uiRoutes(): Hono {
  const app = new Hono();
  app.get("/", (c) =>
    c.html(PAGE, 200, {
      "Content-Security-Policy":
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      "X-Frame-Options": "DENY",
    }));
  return app;
}
