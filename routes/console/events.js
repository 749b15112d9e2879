/** The events log: newest first, filtered by workload, paged back with "older". */
import { api, paths } from "./api.js";
import { h } from "./dom.js";
import { fmtDate, t } from "./i18n.js";
import { sayError } from "./status.js";

/** Builds the view (nodes for <main>). */
export async function renderEvents() {
  const { workloads } = await api("GET", paths.workloads());
  const select = h(
    "select",
    { id: "events-workload" },
    h("option", { value: "" }, t("events.all")),
    workloads.map((w) => h("option", { value: w.id }, w.id)),
  );
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, t("events.more"));
  const empty = h("p", { hidden: true }, t("events.empty"));
  let before;
  const load = async (reset) => {
    if (reset) {
      body.replaceChildren();
      before = undefined;
    }
    const q = { limit: "50" };
    if (select.value) q.workload = select.value;
    if (before) q.before = String(before);
    const r = await api("GET", paths.events(q));
    for (const e of r.events) {
      body.append(h(
        "tr",
        {},
        h("td", {}, h("time", { datetime: e.time }, fmtDate(e.time))),
        h("td", {}, e.workload ?? t("common.none")),
        h("td", {}, e.kind),
        h("td", {}, e.message),
      ));
    }
    before = r.nextBefore;
    more.hidden = !before;
    empty.hidden = body.children.length > 0;
  };
  select.addEventListener("change", () => load(true).catch(sayError));
  more.addEventListener("click", () => load(false).catch(sayError));
  const view = [
    h("h2", {}, t("events.heading")),
    h("label", { for: "events-workload" }, t("events.workload")),
    " ",
    select,
    h(
      "table",
      { class: "events" },
      h("caption", {}, t("events.heading")),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          [t("events.time"), t("events.workload"), t("events.kind"), t("events.message")].map((c) =>
            h("th", { scope: "col" }, c)
          ),
        ),
      ),
      body,
    ),
    empty,
    more,
  ];
  await load(true);
  return view;
}
