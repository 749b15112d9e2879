/**
 * The API bearer token: taken from config, or generated once into
 * `<data>/token` (0600) and reused on every later start.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { AppError } from "../core/errors.ts";
import { writeFileDurable } from "../fs/durable.ts";
import type { Logger } from "../core/log.ts";

export const TOKEN_FILE = "token";

export interface TokenInfo {
  token: string;
  /** Where the operator finds it: "VOLSNAP_TOKEN" or the token file path. */
  source: string;
}

export function tokenPath(dataDir: string): string {
  return join(dataDir, TOKEN_FILE);
}

function generateToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Reads the token file; undefined when it does not exist. */
export async function readTokenFile(dataDir: string): Promise<string | undefined> {
  try {
    const t = (await Deno.readTextFile(tokenPath(dataDir))).trim();
    return t || undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Returns the configured token, else the one in `<data>/token`, else a new
 * random one written there durably. Never logs the token itself.
 */
export async function loadOrCreateToken(
  dataDir: string,
  configured: string | undefined,
  log: Logger,
): Promise<TokenInfo> {
  if (configured) return { token: configured, source: "VOLSNAP_TOKEN" };
  const path = tokenPath(dataDir);
  const existing = await readTokenFile(dataDir);
  if (existing) {
    const st = await Deno.stat(path);
    if (st.mode !== null && (st.mode & 0o077) !== 0) {
      // A readable token is a leaked token; tighten it rather than refuse to start.
      await Deno.chmod(path, 0o600);
      log.warn("token file was readable by others; mode set to 0600", { path });
    }
    return { token: existing, source: path };
  }
  const token = generateToken();
  await writeFileDurable(path, token + "\n", 0o600);
  log.info("generated a new API token", { path });
  return { token, source: path };
}

/** Constant-time: hashing first makes the compared lengths equal. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Checks an `Authorization: Bearer <token>` header; throws 401 otherwise. */
export function checkBearer(header: string | undefined | null, expected: string): void {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m || !tokensEqual(m[1], expected)) {
    throw new AppError("unauthorized", "missing or invalid bearer token", {
      hint: "send Authorization: Bearer <token> (see VOLSNAP_TOKEN or <data dir>/token)",
    });
  }
}
