/**
 * Path rules that keep every archive entry inside its volume: entry names are
 * canonical relative paths under `volumes/<index>/`, and link targets cannot
 * lead out of the volume root. Pure functions, no I/O.
 */
import { BadArchiveError } from "../core/errors.ts";
import { MANIFEST_NAME } from "../core/manifest_names.ts";
import { type ArchiveLimits, pathDepth, storedBytes } from "../tar/limits.ts";
import { printable } from "../fs/raw_names.ts";

const INDEX = /^(0|[1-9][0-9]{0,3})$/;

export type ArchivePath =
  | { kind: "manifest" }
  /** The bare `volumes/` directory that re-packing with GNU tar adds; carries nothing. */
  | { kind: "volumes" }
  /** `rel` is "" for the volume root, else a canonical relative path. */
  | { kind: "volume"; index: number; rel: string };

/**
 * Validates a stored entry name and says where it belongs. Refuses absolute
 * paths, `..`, `.` and empty components, NUL, and names beyond the limits.
 * A single leading `./` (GNU tar's `-C dir .` style) is tolerated.
 */
export function classifyPath(raw: string, limits: ArchiveLimits, what = "entry"): ArchivePath {
  const parts = splitChecked(raw, limits, what);
  if (parts.length === 1 && parts[0] === MANIFEST_NAME) return { kind: "manifest" };
  if (parts.length === 1 && parts[0] === "volumes") return { kind: "volumes" };
  if (parts.length >= 2 && parts[0] === "volumes" && INDEX.test(parts[1])) {
    return { kind: "volume", index: Number(parts[1]), rel: parts.slice(2).join("/") };
  }
  throw new BadArchiveError(`${what} '${show(raw)}' is not under volumes/<index>/`);
}

function splitChecked(raw: string, limits: ArchiveLimits, what: string): string[] {
  const bad = (why: string) => new BadArchiveError(`${what} '${show(raw)}' ${why}`);
  if (raw.includes("\0")) throw bad("contains a NUL byte");
  if (storedBytes(raw) > limits.maxPathBytes) {
    throw bad(`is longer than ${limits.maxPathBytes} bytes (maxPathBytes)`);
  }
  if (raw.startsWith("/")) throw bad("is an absolute path");
  let p = raw.startsWith("./") ? raw.slice(2) : raw;
  if (p.endsWith("/")) p = p.slice(0, -1);
  if (p === "") throw bad("is empty");
  if (pathDepth(raw) > limits.maxDepth) {
    throw bad(`is deeper than ${limits.maxDepth} levels (maxDepth)`);
  }
  const parts = p.split("/");
  for (const c of parts) {
    if (c === "..") throw bad("contains a '..' component");
    if (c === "" || c === ".") throw bad("has an empty or '.' component");
  }
  return parts;
}

/**
 * Policy for symlink targets. Targets are stored verbatim and never followed
 * by volsnap. An absolute target is allowed: it resolves inside the
 * container's mount namespace, not the host's, and volumes legitimately hold
 * links such as `current -> /data/v2`. A relative target must not climb
 * above the volume root at any step (checked lexically here, and across
 * chains of links in `findEscapingLink`).
 */
export function checkSymlinkTarget(
  index: number,
  rel: string,
  target: string,
  limits: ArchiveLimits,
): void {
  const where = `symlink 'volumes/${index}/${rel}'`;
  if (target === "") throw new BadArchiveError(`${where} has an empty target`);
  if (target.includes("\0")) throw new BadArchiveError(`${where} target contains a NUL byte`);
  if (storedBytes(target) > limits.maxPathBytes) {
    throw new BadArchiveError(
      `${where} target is longer than ${limits.maxPathBytes} bytes (maxPathBytes)`,
    );
  }
  if (target.startsWith("/")) return;
  let depth = rel.split("/").length - 1;
  for (const c of target.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (--depth < 0) {
        throw new BadArchiveError(`${where} -> '${show(target)}' points outside its volume`);
      }
    } else depth++;
  }
}

/**
 * Resolves every relative symlink of one volume through the other symlinks
 * of the same volume (as the kernel would) and returns the first one whose
 * resolution climbs above the volume root, e.g. `d/up -> ..` + `x -> d/up/..`.
 */
export function findEscapingLink(links: Map<string, string>): string | null {
  for (const [path, target] of links) {
    if (!target.startsWith("/") && escapes(links, path, target)) return path;
  }
  return null;
}

const MAX_HOPS = 40; // Linux MAXSYMLINKS

function escapes(links: Map<string, string>, path: string, target: string): boolean {
  const stack = path.split("/").slice(0, -1);
  let queue = target.split("/");
  let hops = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (!stack.length) return true;
      stack.pop();
      continue;
    }
    stack.push(c);
    const next = links.get(stack.join("/"));
    if (next === undefined) continue;
    // A loop fails with ELOOP at runtime, and an absolute hop leaves by policy.
    if (++hops > MAX_HOPS || next.startsWith("/")) return false;
    stack.pop();
    queue = next.split("/").concat(queue);
  }
  return false;
}

/** Keeps error messages printable and short. */
export function show(s: string): string {
  const clean = printable(s).replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
