/**
 * GET / and /console/*: the web console (SPEC §14). Its files are plain ES
 * modules, a stylesheet and an HTML shell, imported as text so they are part
 * of the module graph (embedded by `deno compile`); nothing is built at run
 * time and nothing comes from a CDN. The CSP allows only this origin's own
 * scripts and styles (no inline code). The page then talks to /api/v1 with
 * the token the operator signs in with.
 */
import { apiRouter, createRoute, errorJson, type OpenAPIHono, register } from "./openapi.ts";
import { z } from "zod";
import { LANGUAGES } from "./console/messages.js";
import indexHtml from "./console/index.html" with { type: "text" };
import actionsJs from "./console/actions.js" with { type: "text" };
import apiJs from "./console/api.js" with { type: "text" };
import chartJs from "./console/chart.js" with { type: "text" };
import consoleCss from "./console/console.css" with { type: "text" };
import domJs from "./console/dom.js" with { type: "text" };
import eventsJs from "./console/events.js" with { type: "text" };
import faviconSvg from "./console/favicon.svg" with { type: "text" };
import i18nJs from "./console/i18n.js" with { type: "text" };
import mainJs from "./console/main.js" with { type: "text" };
import messagesJs from "./console/messages.js" with { type: "text" };
import messagesEnJs from "./console/messages_en.js" with { type: "text" };
import messagesRuJs from "./console/messages_ru.js" with { type: "text" };
import restoreJs from "./console/restore.js" with { type: "text" };
import statusJs from "./console/status.js" with { type: "text" };
import workloadJs from "./console/workload.js" with { type: "text" };
import workloadsJs from "./console/workloads.js" with { type: "text" };

const JS = "text/javascript; charset=utf-8";
const ASSETS: Record<string, { body: string; type: string }> = {
  "actions.js": { body: actionsJs, type: JS },
  "api.js": { body: apiJs, type: JS },
  "chart.js": { body: chartJs, type: JS },
  "console.css": { body: consoleCss, type: "text/css; charset=utf-8" },
  "dom.js": { body: domJs, type: JS },
  "events.js": { body: eventsJs, type: JS },
  "favicon.svg": { body: faviconSvg, type: "image/svg+xml" },
  "i18n.js": { body: i18nJs, type: JS },
  "main.js": { body: mainJs, type: JS },
  "messages.js": { body: messagesJs, type: JS },
  "messages_en.js": { body: messagesEnJs, type: JS },
  "messages_ru.js": { body: messagesRuJs, type: JS },
  "restore.js": { body: restoreJs, type: JS },
  "status.js": { body: statusJs, type: JS },
  "workload.js": { body: workloadJs, type: JS },
  "workloads.js": { body: workloadsJs, type: JS },
};

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "Content-Security-Policy": CONSOLE_CSP,
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** The first language of the catalog that Accept-Language asks for (by q), else English. */
export function pickLanguage(acceptLanguage: string | undefined): string {
  const wanted = (acceptLanguage ?? "").split(",").map((part, i) => {
    const [tag, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return { base: tag.split("-")[0], q: q ? Number(q.slice(2)) || 0 : 1, i };
  }).filter((w) => w.base && w.q > 0).sort((a, b) => b.q - a.q || a.i - b.i);
  return wanted.find((w) => LANGUAGES.includes(w.base))?.base ?? LANGUAGES[0];
}

export function consoleRoutes(): OpenAPIHono {
  const app = apiRouter();
  register(
    app,
    createRoute({
      method: "get",
      path: "/",
      summary: "the web console (HTML, no auth; it asks for the token)",
      responses: {
        200: { description: "HTML shell", content: { "text/html": { schema: z.string() } } },
      },
    }),
    (c) => {
      const lang = pickLanguage(c.req.header("Accept-Language"));
      return c.html(indexHtml.replace("{{lang}}", lang), 200, {
        ...SECURITY_HEADERS,
        "Cache-Control": "no-cache",
        Vary: "Accept-Language",
      });
    },
  );
  register(
    app,
    createRoute({
      method: "get",
      path: "/console/{file}",
      summary: "console assets",
      request: { params: z.object({ file: z.string() }) },
      responses: {
        200: {
          description: "a console file",
          content: { "application/octet-stream": { schema: z.string() } },
        },
        404: errorJson("no such console file"),
      },
    }),
    (c) => {
      const asset = ASSETS[c.req.valid("param").file];
      if (!asset) {
        return c.json({ error: { code: "not_found", message: "no such console file" } }, 404);
      }
      return c.body(asset.body, 200, {
        ...SECURITY_HEADERS,
        "Content-Type": asset.type,
        "Cache-Control": "no-cache",
      });
    },
  );
  return app;
}
