/**
 * Bucket layout and the `<sid>.json` sidecar (SPEC §13):
 *
 *   <prefix>/<workload>/<sid>.tar.zst[.age]   the snapshot's standalone stream
 *   <prefix>/<workload>/<sid>.json            manifest + what the catalog knows
 *
 * The sidecar is written only after the archive object was verified, so a
 * sidecar always points at a complete object. Sidecars read back from a
 * bucket are untrusted input: parsed with a strict schema, ids and names
 * checked like any API input.
 */
import { z } from "zod";
import type { SnapshotRow } from "../../db/catalog.ts";
import { AppError } from "../core/errors.ts";
import { type Manifest, ManifestSchema, WorkloadIdSchema } from "../core/model.ts";
import { AGE_SUFFIX } from "../crypto/age.ts";

export const SIDECAR_FORMAT = "volsnap-remote/1";
const SidHex = z.string().regex(/^[0-9a-f]{64}$/);

export const SidecarSchema = z.object({
  format: z.literal(SIDECAR_FORMAT),
  host: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  object: z.object({
    key: z.string().min(1).max(1024),
    sizeBytes: z.number().int().min(0),
    sha256: SidHex,
    encrypted: z.boolean(),
  }),
  snapshot: z.object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    workload: WorkloadIdSchema,
    createdAt: z.string().max(64),
    origin: z.string().max(32),
    label: z.string().max(256).nullable(),
    compression: z.enum(["zstd", "gzip", "none"]),
    sizeBytes: z.number().int().min(0),
    uncompressedBytes: z.number().int().min(0),
    fileCount: z.number().int().min(0),
    skippedSpecial: z.number().int().min(0),
    sha256: SidHex,
    quiesce: z.string().max(16),
    downtimeMs: z.number().int().min(0).nullable(),
    consistent: z.boolean(),
    warnings: z.array(z.string().max(4096)).max(10_000),
  }),
  manifest: ManifestSchema,
});
export type Sidecar = z.infer<typeof SidecarSchema>;

const EXT: Record<string, string> = { zstd: ".tar.zst", gzip: ".tar.gz", none: ".tar" };

export function objectKeys(
  prefix: string,
  row: Pick<SnapshotRow, "id" | "workload" | "compression">,
  encrypted: boolean,
): { archive: string; sidecar: string } {
  const dir = `${prefix ? prefix + "/" : ""}${row.workload}`;
  return {
    archive: `${dir}/${row.id}${EXT[row.compression] ?? ".tar"}${encrypted ? AGE_SUFFIX : ""}`,
    sidecar: `${dir}/${row.id}.json`,
  };
}

export function buildSidecar(
  host: string,
  row: SnapshotRow,
  object: Sidecar["object"],
): Sidecar {
  return {
    format: SIDECAR_FORMAT,
    host,
    object,
    snapshot: {
      id: row.id,
      workload: row.workload,
      createdAt: row.createdAt,
      origin: row.origin,
      label: row.label,
      compression: row.compression as "zstd",
      sizeBytes: row.sizeBytes,
      uncompressedBytes: row.uncompressedBytes,
      fileCount: row.fileCount,
      skippedSpecial: row.skippedSpecial,
      sha256: row.sha256,
      quiesce: row.quiesce,
      downtimeMs: row.downtimeMs,
      consistent: row.consistent,
      warnings: row.warnings,
    },
    manifest: row.manifest as Sidecar["manifest"],
  };
}

/** Parses an untrusted sidecar; the object must sit beside it under the expected name. */
export function parseSidecar(key: string, bytes: Uint8Array, prefix: string): Sidecar | string {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return "not JSON";
  }
  const r = SidecarSchema.safeParse(json);
  if (!r.success) return `invalid sidecar: ${r.error.issues[0]?.message ?? "schema"}`;
  const s = r.data;
  const want = objectKeys(prefix, s.snapshot, s.object.encrypted);
  if (want.sidecar !== key || want.archive !== s.object.key) {
    return "sidecar does not match its place in the bucket";
  }
  return s;
}

/**
 * Whether the manifest a sidecar (or the catalog row adopted from one)
 * carries is the archive's own `volsnap.json`. A restore plans its volume
 * mapping from the manifest, so a sidecar that says otherwise is not trusted.
 */
export function manifestsAgree(recorded: unknown, archived: Manifest): boolean {
  const parsed = ManifestSchema.safeParse(recorded);
  return parsed.success && stableJson(parsed.data) === stableJson(archived);
}

export function sidecarDisagrees(id: string): AppError {
  return new AppError(
    "integrity_error",
    `snapshot ${id}: the manifest in its off-host sidecar is not the archive's own volsnap.json`,
    {
      hint:
        "the sidecar <sid>.json in the bucket was altered or belongs to another archive; do not trust this copy: restore another snapshot, or copy it again from a host that has its local file",
    },
  );
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
