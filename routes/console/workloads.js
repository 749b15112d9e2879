/**
 * The workloads view: each workload with its running state, schedule and
 * coverage (snapshotable volumes, and skipped mounts with their reasons).
 */
import { api, paths } from "./api.js";
import { h, table } from "./dom.js";
import { fmtDate, t, tOr } from "./i18n.js";

/** Builds the view (nodes for <main>). */
export async function renderWorkloads() {
  const { workloads } = await api("GET", paths.workloads());
  const details = await Promise.all(
    workloads.map((w) => api("GET", paths.workload(w.id)).then((r) => r.workload)),
  );
  const schedules = await loadSchedules(details);
  return [
    h("h2", {}, t("workloads.heading")),
    details.length ? null : h("p", {}, t("workloads.empty")),
    details.map((w) =>
      h(
        "section",
        { class: "card", "aria-labelledby": `wl-${w.id}` },
        h("h3", { id: `wl-${w.id}` }, h("a", { href: `#/w/${encodeURIComponent(w.id)}` }, w.id)),
        stateLine(w, schedules.get(w.id)),
        coverage(w),
      )
    ),
  ];
}

/**
 * Schedules by workload from GET /api/v1/schedules. Servers without
 * schedules report no `lastVerifiedRestorable` on workloads either; they are
 * not asked (a 404 would be an error in the browser for nothing).
 */
export async function loadSchedules(workloads) {
  const byWorkload = new Map();
  if (!workloads.some((w) => "lastVerifiedRestorable" in w)) return byWorkload;
  const { schedules } = await api("GET", paths.schedules());
  for (const s of schedules ?? []) {
    byWorkload.set(s.workload, [...(byWorkload.get(s.workload) ?? []), s]);
  }
  return byWorkload;
}

/** Running state, schedule and last verified restorable snapshot, as a definition list. */
export function stateLine(w, schedules) {
  const running = w.containers.filter((c) => c.state === "running").length;
  const blocked = typeof w.blocked === "string" ? w.blocked : w.blocked?.reason;
  return h(
    "dl",
    { class: "facts" },
    blocked ? h("dt", {}, t("workload.state")) : null,
    blocked ? h("dd", { class: "err" }, t("workload.blocked", { reason: blocked })) : null,
    h("dt", {}, t("workload.state")),
    h("dd", {}, t("workload.running", { count: running, total: w.containers.length })),
    h("dt", {}, t("workload.containers")),
    h(
      "dd",
      {},
      w.containers.map((c, i) => [
        i ? ", " : "",
        h("span", { class: `state-${c.state}` }, `${c.name} (${tOr(`state.${c.state}`, c.state)})`),
        c.health ? ` ${t("workload.health", { health: c.health })}` : "",
      ]),
    ),
    h("dt", {}, t("workload.schedule")),
    h("dd", {}, schedule(w, schedules)),
    w.lastVerifiedRestorable !== undefined ? h("dt", {}, t("workload.restorable")) : null,
    w.lastVerifiedRestorable !== undefined
      ? h(
        "dd",
        {},
        w.lastVerifiedRestorable
          ? t("workload.restorableAt", {
            id: w.lastVerifiedRestorable.id,
            time: fmtDate(w.lastVerifiedRestorable.lastDrillAt),
          })
          : t("common.none"),
      )
      : null,
  );
}

/**
 * The schedules the API reports (snapshot and drill, with next and last
 * run), else the `volsnap.schedule` label, else "none".
 */
function schedule(w, schedules) {
  if (schedules?.length) {
    return schedules.map((s) =>
      h(
        "div",
        {},
        `${tOr(`schedule.${s.kind}`, s.kind)}: ${s.expression}`,
        s.nextRunAt ? ` · ${t("workload.nextRun", { time: fmtDate(s.nextRunAt) })}` : "",
        s.lastRunAt ? ` · ${t("workload.lastRun", { time: fmtDate(s.lastRunAt) })}` : "",
        s.lastResult ? ` (${s.lastResult})` : "",
      )
    );
  }
  const label = w.containers.map((c) => c.labels?.["volsnap.schedule"]).find((v) => v);
  return label ?? t("workload.noSchedule");
}

/** Snapshotable volumes and skipped mounts (with reasons) as two tables. */
export function coverage(w) {
  const dests = (v) =>
    v.destinations.map((d) =>
      `${d.container}:${d.destination}${d.readOnly ? ` (${t("coverage.readOnly")})` : ""}`
    ).join(", ");
  return h(
    "div",
    { class: "coverage" },
    table(
      t("coverage.volumes", { count: w.volumes.length }),
      [t("coverage.key"), t("coverage.mountedAt"), t("coverage.hostPath")],
      w.volumes.map((v) => [v.key, dests(v), h("code", {}, v.hostPath)]),
    ),
    w.skipped.length
      ? table(
        t("coverage.skipped", { count: w.skipped.length }),
        [t("coverage.mount"), t("coverage.type"), t("coverage.reason")],
        w.skipped.map((s) => [
          `${s.container}:${s.destination}`,
          s.type,
          s.reason,
        ]),
        { class: "skipped" },
      )
      : h("p", { class: "muted" }, t("coverage.skipped", { count: 0 })),
  );
}
