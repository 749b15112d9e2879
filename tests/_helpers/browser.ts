/**
 * A real headless Chromium (Debian's /usr/bin/chromium) driven by
 * playwright-core, with everything that can go wrong in a page recorded:
 * console errors, uncaught exceptions, failed requests and HTTP error
 * answers. Tests assert on these lists instead of ignoring them.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing: tests/docker_env.sh installs Debian's chromium`);
  }
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export interface PageProblems {
  consoleErrors: { text: string; url: string }[];
  pageErrors: string[];
  failedRequests: string[];
  errorResponses: { status: number; method: string; url: string }[];
}

/** Records every console error, page error, failed request and 4xx/5xx answer of `page`. */
export function watchPage(page: Page): PageProblems {
  const p: PageProblems = {
    consoleErrors: [],
    pageErrors: [],
    failedRequests: [],
    errorResponses: [],
  };
  page.on("console", (m) => {
    if (m.type() === "error") p.consoleErrors.push({ text: m.text(), url: m.location().url });
  });
  page.on("pageerror", (e) => p.pageErrors.push(String(e)));
  page.on("requestfailed", (r) => {
    p.failedRequests.push(`${r.method()} ${new URL(r.url()).pathname}: ${r.failure()?.errorText}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) {
      p.errorResponses.push({ status: r.status(), method: r.request().method(), url: r.url() });
    }
  });
  return p;
}

export async function newContext(browser: Browser, locale: string): Promise<BrowserContext> {
  return await browser.newContext({
    locale,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
}

/** Where screenshots of test runs are kept (gitignored). */
export const ARTIFACTS = new URL("../../test-artifacts/console/", import.meta.url).pathname;
