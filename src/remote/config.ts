/**
 * Settings of off-host copies and encryption (SPEC §13), validated once at
 * start. Credentials come from the environment only (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN): a flag would show them in `ps`.
 * `describe` strings never carry a credential.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseRecipients } from "../crypto/age.ts";

export interface RemoteConfig {
  kind: "s3" | "file";
  /** The configured URL (it holds no credential). */
  url: string;
  /** Key prefix inside the bucket or directory ("" for none), no slashes at the ends. */
  prefix: string;
  bucket?: string;
  root?: string;
  endpoint?: string;
  region: string;
  pathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** First retry of a failed copy after this long; doubled per attempt, capped at 1 h. */
  retryBaseMs: number;
}

export interface AgeConfig {
  recipients: string[];
  identityFile?: string;
  encryptLocal: boolean;
}

/** A setting with env var and `serve` flag; `secret` ones are env only. */
export const REMOTE_SETTINGS = [
  { key: "remote", env: "VOLSNAP_REMOTE", flag: "remote" },
  { key: "s3Endpoint", env: "VOLSNAP_S3_ENDPOINT", flag: "s3-endpoint" },
  { key: "s3Region", env: "VOLSNAP_S3_REGION", flag: "s3-region" },
  { key: "s3PathStyle", env: "VOLSNAP_S3_PATH_STYLE", flag: "s3-path-style" },
  { key: "ageRecipients", env: "VOLSNAP_AGE_RECIPIENTS", flag: "age-recipients" },
  { key: "ageIdentityFile", env: "VOLSNAP_AGE_IDENTITY_FILE", flag: "age-identity-file" },
  { key: "encryptLocal", env: "VOLSNAP_ENCRYPT_LOCAL", flag: "encrypt-local" },
  { key: "localKeepLast", env: "VOLSNAP_LOCAL_KEEP_LAST", flag: "local-keep-last" },
  { key: "remoteRetryMs", env: "VOLSNAP_REMOTE_RETRY_MS", flag: "remote-retry-ms" },
] as const;

export type RemoteRaw = Partial<Record<(typeof REMOTE_SETTINGS)[number]["key"], string>>;

/** Throws `Error(<one line naming the env var>)`; config.ts turns it into a ConfigError. */
export function parseRemoteSettings(
  raw: RemoteRaw,
  env: Record<string, string | undefined>,
): { remote?: RemoteConfig; age?: AgeConfig; localKeepLast?: number } {
  const out: { remote?: RemoteConfig; age?: AgeConfig; localKeepLast?: number } = {};
  const bool = (v: string | undefined, name: string, dflt: boolean) => {
    if (v === undefined || v === "") return dflt;
    if (/^(true|1|yes)$/i.test(v)) return true;
    if (/^(false|0|no)$/i.test(v)) return false;
    throw new Error(`invalid ${name}: "${v}" is not true or false`);
  };
  if (raw.remote) {
    const m = /^(s3):\/\/([^/]+)\/?(.*)$|^file:\/\/(\/.*)$/.exec(raw.remote);
    if (!m) {
      throw new Error(
        `invalid VOLSNAP_REMOTE: "${raw.remote}" is not s3://bucket[/prefix] or file:///absolute/path`,
      );
    }
    const endpoint = raw.s3Endpoint?.replace(/\/+$/, "");
    if (endpoint && !/^https?:\/\/[^/\s]+/.test(endpoint)) {
      throw new Error(`invalid VOLSNAP_S3_ENDPOINT: "${endpoint}" is not an http(s) URL`);
    }
    const retryBaseMs = raw.remoteRetryMs === undefined ? 30_000 : Number(raw.remoteRetryMs);
    if (!Number.isInteger(retryBaseMs) || retryBaseMs < 100 || retryBaseMs > 3_600_000) {
      throw new Error(
        "invalid VOLSNAP_REMOTE_RETRY_MS: must be a whole number from 100 to 3600000",
      );
    }
    const base = {
      url: raw.remote,
      region: raw.s3Region || "us-east-1",
      pathStyle: bool(raw.s3PathStyle, "VOLSNAP_S3_PATH_STYLE", endpoint !== undefined),
      retryBaseMs,
    };
    if (m[1]) {
      const key = env.AWS_ACCESS_KEY_ID;
      const secret = env.AWS_SECRET_ACCESS_KEY;
      if (!key || !secret) {
        throw new Error(
          "VOLSNAP_REMOTE is s3:// but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set",
        );
      }
      out.remote = {
        ...base,
        kind: "s3",
        bucket: m[2],
        prefix: trimSlashes(m[3] ?? ""),
        endpoint,
        accessKeyId: key,
        secretAccessKey: secret,
        sessionToken: env.AWS_SESSION_TOKEN || undefined,
      };
    } else {
      out.remote = { ...base, kind: "file", root: m[4].replace(/\/+$/, "") || "/", prefix: "" };
    }
  }
  if (raw.ageRecipients) {
    let text = raw.ageRecipients;
    if (!text.trim().startsWith("age1") && existsSync(text.trim())) {
      text = readFileSync(text.trim(), "utf8");
    }
    let recipients: string[];
    try {
      recipients = parseRecipients(text);
    } catch (err) {
      throw new Error(`invalid VOLSNAP_AGE_RECIPIENTS: ${(err as Error).message}`);
    }
    const identityFile = raw.ageIdentityFile || undefined;
    if (identityFile && !existsSync(identityFile)) {
      throw new Error(`invalid VOLSNAP_AGE_IDENTITY_FILE: ${identityFile} does not exist`);
    }
    out.age = {
      recipients,
      identityFile,
      encryptLocal: bool(raw.encryptLocal, "VOLSNAP_ENCRYPT_LOCAL", false),
    };
  } else if (raw.ageIdentityFile) {
    if (!existsSync(raw.ageIdentityFile)) {
      throw new Error(`invalid VOLSNAP_AGE_IDENTITY_FILE: ${raw.ageIdentityFile} does not exist`);
    }
    // Restores of encrypted snapshots (e.g. disaster recovery) need only the identity.
    out.age = { recipients: [], identityFile: raw.ageIdentityFile, encryptLocal: false };
  }
  if (!out.age?.recipients.length && bool(raw.encryptLocal, "VOLSNAP_ENCRYPT_LOCAL", false)) {
    throw new Error(
      "VOLSNAP_ENCRYPT_LOCAL=true needs VOLSNAP_AGE_RECIPIENTS (the keys to encrypt for)",
    );
  }
  if (raw.localKeepLast !== undefined && raw.localKeepLast !== "") {
    const n = Number(raw.localKeepLast);
    if (!Number.isInteger(n) || n < 0 || n > 100_000) {
      throw new Error("invalid VOLSNAP_LOCAL_KEEP_LAST: must be a whole number from 0 to 100000");
    }
    if (!out.remote) throw new Error("VOLSNAP_LOCAL_KEEP_LAST needs VOLSNAP_REMOTE");
    out.localKeepLast = n;
  }
  return out;
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}
