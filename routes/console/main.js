/**
 * The volsnap web console (SPEC §14): plain ES modules served from the
 * binary, no build step. main.js signs in, draws the header and routes by
 * the URL hash: #/ workloads, #/w/<id> one workload, #/events the log.
 */
import { api, ApiError, getToken, paths, setToken } from "./api.js";
import { fill, h } from "./dom.js";
import { getLang, initialLang, setLang, t } from "./i18n.js";
import { LANGUAGE_NAMES, LANGUAGES } from "./messages.js";
import { clearMessages, sayError } from "./status.js";
import { renderEvents } from "./events.js";
import { renderWorkload } from "./workload.js";
import { renderWorkloads } from "./workloads.js";

const $ = (id) => document.getElementById(id);

setLang(initialLang());

function header() {
  const lang = h(
    "select",
    {
      id: "lang",
      onchange: (e) => {
        setLang(e.target.value, true);
        render();
        $("lang")?.focus();
      },
    },
    LANGUAGES.map((l) =>
      h("option", { value: l, selected: l === getLang(), lang: l }, LANGUAGE_NAMES[l])
    ),
  );
  const signedIn = !!getToken();
  fill(
    $("top"),
    h("h1", {}, t("app.title")),
    h("p", { id: "health", class: "muted" }, t("app.healthUnknown")),
    signedIn
      ? h(
        "nav",
        { "aria-label": t("nav.label") },
        h("a", { href: "#/" }, t("nav.workloads")),
        h("a", { href: "#/events" }, t("nav.events")),
        h("button", { type: "button", onclick: signOut }, t("nav.signOut")),
      )
      : null,
    h("label", { class: "lang" }, t("app.language"), " ", lang),
  );
  document.title = t("app.title");
  fetch("/healthz").then((r) => r.json()).then((hz) => {
    const docker = hz.docker?.reachable
      ? t("app.dockerUp", { version: hz.docker.version ?? "" })
      : t("app.dockerDown");
    const el = $("health");
    if (el) el.textContent = t("app.health", { version: hz.version, docker });
  }).catch(() => {});
}

function signInForm() {
  const input = h("input", {
    id: "token",
    type: "password",
    autocomplete: "current-password",
    required: true,
    "aria-describedby": "token-hint",
  });
  const form = h(
    "form",
    { class: "signin", onsubmit: (e) => (e.preventDefault(), signIn(input.value.trim())) },
    h("h2", {}, t("signin.heading")),
    h("label", { for: "token" }, t("signin.token")),
    input,
    h("p", { id: "token-hint", class: "muted" }, t("signin.hint")),
    h("button", { type: "submit" }, t("signin.submit")),
  );
  fill($("main"), form);
  input.focus();
}

async function signIn(token) {
  setToken(token);
  try {
    await api("GET", paths.workloads());
  } catch (err) {
    setToken("");
    if (err instanceof ApiError && err.status === 401) sayError({ code: "unauthorized" });
    else sayError(err);
    return;
  }
  clearMessages();
  render();
}

function signOut() {
  setToken("");
  clearMessages();
  location.hash = "#/";
  render();
}

let renderSeq = 0;

/**
 * Draws the view for the current hash; API failures are shown in words.
 * Views are built off-screen and shown only if no newer render started
 * meanwhile, so a slow answer never paints over the view the user went to.
 */
async function render() {
  const seq = ++renderSeq;
  header();
  const main = $("main");
  if (!getToken()) return signInForm();
  const hash = location.hash.replace(/^#/, "") || "/";
  main.setAttribute("aria-busy", "true");
  try {
    const view = hash.startsWith("/w/")
      ? await renderWorkload(decodeURIComponent(hash.slice(3)), render)
      : hash === "/events"
      ? await renderEvents()
      : await renderWorkloads();
    if (seq !== renderSeq) return;
    const focused = document.activeElement;
    const label = main.contains(focused) ? focused.getAttribute("aria-label") : null;
    fill(main, view);
    // Keep the keyboard user's place: the same button in the redrawn view gets focus back.
    if (label) {
      [...main.querySelectorAll("button[aria-label]")]
        .find((b) => b.getAttribute("aria-label") === label)?.focus();
    }
  } catch (err) {
    if (seq !== renderSeq) return;
    if (err instanceof ApiError && err.status === 401) {
      setToken("");
      sayError({ code: "unauthorized" });
      return signInForm();
    }
    sayError(err);
  } finally {
    main.removeAttribute("aria-busy");
  }
}

addEventListener("hashchange", () => {
  clearMessages();
  render();
});
render();
