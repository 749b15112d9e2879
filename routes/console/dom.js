/**
 * Small DOM helpers. Everything from the server is inserted as text nodes or
 * attribute values, never as HTML, so no API answer can inject markup.
 */

/**
 * h("button", {class: "x", onclick: f, "aria-label": "…"}, "text", child…):
 * `on*` keys become listeners, `class`/`text` are shortcuts, `null`,
 * `false` and `undefined` children and attributes are left out.
 */
export function h(tag, props = {}, ...children) {
  return build(document.createElement(tag), props, children);
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, props = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), props, children);
}

function build(el, props, children) {
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else if (k === "text") el.textContent = String(v);
    else if (k === "value" || k === "checked" || k === "disabled" || k === "selected") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** Replaces the children of `el`; arrays are flattened, null/false/undefined left out. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** A table with a caption, header cells with scope, and rows of cells (text or nodes). */
export function table(caption, head, rows, props = {}) {
  return h(
    "table",
    props,
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))),
  );
}

let dialogSeq = 0;

/**
 * Opens a modal <dialog> (focus moves into it, Escape cancels, focus goes
 * back to what had it). `build(close)` returns the body; call close(value)
 * to finish. Resolves with that value, or undefined when cancelled.
 */
export function openDialog(title, build, { danger = false } = {}) {
  const opener = document.activeElement;
  const id = `dlg-title-${++dialogSeq}`;
  const dlg = h("dialog", { "aria-labelledby": id, class: danger ? "danger" : null });
  return new Promise((resolve) => {
    let result;
    const close = (value) => {
      result = value;
      dlg.close();
    };
    dlg.addEventListener("close", () => {
      dlg.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(result);
    });
    dlg.append(h("h2", { id }, title), build(close));
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector("[autofocus]") ?? dlg.querySelector("input, select, button");
    if (first instanceof HTMLElement) first.focus();
  });
}
