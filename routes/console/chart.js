/**
 * Inline SVG chart of a workload's snapshots over time: size (top) and
 * downtime (bottom) on one time axis. Drawn with SVG elements only (no style
 * attributes, so the strict CSP holds); each point has a <title>, and the
 * whole chart a text summary for screen readers.
 */
import { h, svg } from "./dom.js";
import { fmtBytes, fmtDate, fmtDuration, fmtShortDate, t } from "./i18n.js";

const W = 720;
const PANEL = 90;
const TOP = 24;
const LEFT = 80;
const RIGHT = 16;
const GAP = 36;

export function snapshotChart(snapshots) {
  const pts = snapshots
    .map((s) => ({ s, time: Date.parse(s.createdAt) }))
    .filter((p) => Number.isFinite(p.time))
    .sort((a, b) => a.time - b.time);
  if (!pts.length) return null;
  const t0 = pts[0].time;
  const t1 = pts[pts.length - 1].time;
  const x = (time) =>
    LEFT + (t1 === t0 ? (W - LEFT - RIGHT) / 2 : ((time - t0) / (t1 - t0)) * (W - LEFT - RIGHT));
  const maxSize = Math.max(1, ...pts.map((p) => p.s.sizeBytes ?? 0));
  const maxDown = Math.max(1, ...pts.map((p) => p.s.downtimeMs ?? 0));
  const height = TOP + PANEL * 2 + GAP + 30;
  const summary = t("chart.summary", {
    count: pts.length,
    from: fmtDate(pts[0].s.createdAt),
    to: fmtDate(pts[pts.length - 1].s.createdAt),
    size: fmtBytes(maxSize),
    downtime: fmtDuration(maxDown),
  });

  const panel = (y0, label, max, fmt, value, cls) => {
    const y = (v) => y0 + PANEL - (v / max) * PANEL;
    const withValue = pts.filter((p) => value(p.s) !== null && value(p.s) !== undefined);
    const line = withValue.map((p) => `${x(p.time).toFixed(1)},${y(value(p.s)).toFixed(1)}`).join(
      " ",
    );
    return svg(
      "g",
      { class: cls },
      svg("text", { x: 4, y: y0 - 8, class: "chart-label" }, label),
      svg("text", { x: LEFT - 6, y: y0 + 4, "text-anchor": "end", class: "chart-axis" }, fmt(max)),
      svg(
        "text",
        { x: LEFT - 6, y: y0 + PANEL, "text-anchor": "end", class: "chart-axis" },
        fmt(0),
      ),
      svg("line", { x1: LEFT, y1: y0 + PANEL, x2: W - RIGHT, y2: y0 + PANEL, class: "chart-base" }),
      withValue.length > 1
        ? svg("polyline", { points: line, class: "chart-line", fill: "none" })
        : null,
      withValue.map((p) =>
        svg(
          "circle",
          { cx: x(p.time).toFixed(1), cy: y(value(p.s)).toFixed(1), r: 4, class: "chart-dot" },
          svg(
            "title",
            {},
            t("chart.point", { time: fmtDate(p.s.createdAt), value: fmt(value(p.s)) }),
          ),
        )
      ),
    );
  };

  return h(
    "figure",
    { class: "chart" },
    svg(
      "svg",
      { viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": summary, width: "100%" },
      svg("title", {}, summary),
      panel(TOP, t("chart.size"), maxSize, fmtBytes, (s) => s.sizeBytes, "size"),
      panel(
        TOP + PANEL + GAP,
        t("chart.downtime"),
        maxDown,
        fmtDuration,
        (s) => s.downtimeMs,
        "downtime",
      ),
      svg(
        "text",
        { x: LEFT, y: height - 6, class: "chart-axis" },
        fmtShortDate(pts[0].s.createdAt),
      ),
      t1 !== t0
        ? svg(
          "text",
          { x: W - RIGHT, y: height - 6, "text-anchor": "end", class: "chart-axis" },
          fmtShortDate(pts[pts.length - 1].s.createdAt),
        )
        : null,
    ),
    h("figcaption", {}, t("chart.heading")),
  );
}
