/**
 * volsnap layer over the tar parser: the manifest comes first and is
 * validated; every later entry must belong to a volume listed in it, be
 * unique, sit below a directory, and keep its links inside its volume.
 * Extraction and scanning both walk archives through `ArchiveWalker`, so the
 * same rules hold whether or not anything is written.
 */
import { BadArchiveError } from "../core/errors.ts";
import { MANIFEST_NAME } from "../core/manifest_names.ts";
import type { Manifest, ManifestVolume } from "../core/model.ts";
import { checkSymlinkTarget, classifyPath, findEscapingLink, show } from "./contain_paths.ts";
import { type ArchiveLimits, MAX_MANIFEST_BYTES } from "../tar/limits.ts";
import { type TarEntryType, TarParser, tooManyEntries } from "../tar/read_tar.ts";

/**
 * Checks the manifest's parsed JSON (manifest_check.ts) and returns it
 * typed, or throws BadArchiveError. Injected, so that this module does not
 * load zod: the archive worker asks the main thread instead.
 */
export type ManifestValidator = (json: unknown) => Manifest | Promise<Manifest>;

/** A validated entry; plain data, so it can cross to another thread. */
export interface VolumeEntry {
  index: number;
  /** "" for the volume root's own entry. */
  rel: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  size: number;
  /** Symlink: target verbatim. Hard link: the target's `rel` in the same volume. */
  link: string;
  /** Ancestors with no entry of their own, outermost first (created as plain dirs). */
  implicitDirs: string[];
  /** Extended attributes (PAX SCHILY.xattr.*), in archive order. */
  xattrs?: { name: string; value: Uint8Array }[];
  /** A sparse file: `size` data bytes fill these segments of `realSize` bytes. */
  sparse?: { realSize: number; map: number[] };
}

/** What a path of one volume is; used for parent, duplicate and hard-link checks. */
const Kind = { Dir: 1, File: 2, Symlink: 3, Fifo: 4 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface VolumeState {
  volume: ManifestVolume;
  kinds: Map<string, Kind>;
  links: Map<string, string>;
  rootSeen: boolean;
}

export class ArchiveWalker {
  readonly manifest: Manifest;
  readonly parser: TarParser;
  readonly #limits: ArchiveLimits;
  readonly #volumes = new Map<number, VolumeState>();
  entries = 0;
  regularFiles = 0;
  #volumesDirSeen = false;

  private constructor(manifest: Manifest, parser: TarParser, limits: ArchiveLimits) {
    this.manifest = manifest;
    this.parser = parser;
    this.#limits = limits;
    for (const v of manifest.volumes) {
      this.#volumes.set(v.index, {
        volume: v,
        kinds: new Map(),
        links: new Map(),
        rootSeen: false,
      });
    }
  }

  /** Reads and validates the first entry, which must be the manifest. */
  static async open(
    parser: TarParser,
    limits: ArchiveLimits,
    validate: ManifestValidator,
  ): Promise<ArchiveWalker> {
    const manifest = await readManifestEntry(parser, limits, validate);
    return new ArchiveWalker(manifest, parser, limits);
  }

  /** Next validated entry, or null after the end marker and trailing padding. */
  async next(): Promise<VolumeEntry | null> {
    const e = await this.parser.next();
    if (!e) {
      await this.parser.finish();
      this.#checkLinkChains();
      this.#checkNoEmptyVolume();
      return null;
    }
    if (++this.entries > this.#limits.maxEntries) throw tooManyEntries(this.#limits.maxEntries);
    const where = classifyPath(e.name, this.#limits);
    if (where.kind === "manifest") throw new BadArchiveError(`duplicate entry '${MANIFEST_NAME}'`);
    if (where.kind === "volumes") {
      if (e.type !== "dir" || this.#volumesDirSeen) {
        throw new BadArchiveError(`unexpected entry '${show(e.name)}'`);
      }
      this.#volumesDirSeen = true;
      this.entries--;
      return this.next();
    }
    const vs = this.#volumes.get(where.index);
    if (!vs) {
      throw new BadArchiveError(
        `entry '${
          show(e.name)
        }' belongs to volume ${where.index}, which the manifest does not list`,
      );
    }
    const rel = where.rel;
    const name = `volumes/${where.index}/${rel}`;
    const entry: VolumeEntry = {
      index: where.index,
      rel,
      type: e.type,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtimeMs: e.mtimeMs,
      size: e.size,
      link: e.linkname,
      implicitDirs: [],
      xattrs: e.xattrs,
      sparse: e.sparse,
    };
    if (rel === "") {
      if (e.type !== "dir") throw new BadArchiveError(`volume root '${name}' is not a directory`);
      if (vs.rootSeen) throw new BadArchiveError(`duplicate entry '${name}'`);
      vs.rootSeen = true;
      return entry;
    }
    if (vs.kinds.has(rel)) throw new BadArchiveError(`duplicate entry '${show(name)}'`);
    this.#checkParents(vs, rel, entry, name);
    switch (e.type) {
      case "file":
        this.regularFiles++;
        vs.kinds.set(rel, Kind.File);
        break;
      case "dir":
        vs.kinds.set(rel, Kind.Dir);
        break;
      case "fifo":
        vs.kinds.set(rel, Kind.Fifo);
        break;
      case "symlink":
        checkSymlinkTarget(where.index, rel, e.linkname, this.#limits);
        vs.kinds.set(rel, Kind.Symlink);
        if (!e.linkname.startsWith("/")) vs.links.set(rel, e.linkname);
        break;
      case "hardlink":
        entry.link = this.#hardLinkTarget(vs, where.index, e.linkname, name);
        vs.kinds.set(rel, Kind.File);
        break;
    }
    return entry;
  }

  /** Every ancestor must be a directory; missing ones become implicit dirs. */
  #checkParents(vs: VolumeState, rel: string, entry: VolumeEntry, name: string) {
    let cut = rel.lastIndexOf("/");
    const missing: string[] = [];
    while (cut > 0) {
      const parent = rel.slice(0, cut);
      const kind = vs.kinds.get(parent);
      if (kind === Kind.Dir) break; // its own ancestors were checked when it was added
      if (kind !== undefined) {
        throw new BadArchiveError(
          `entry '${show(name)}' lies below '${show(parent)}', which is not a directory`,
        );
      }
      missing.push(parent);
      cut = parent.lastIndexOf("/");
    }
    for (let i = missing.length - 1; i >= 0; i--) {
      vs.kinds.set(missing[i], Kind.Dir);
      entry.implicitDirs.push(missing[i]);
    }
  }

  #hardLinkTarget(vs: VolumeState, index: number, linkname: string, name: string): string {
    const bad = () =>
      new BadArchiveError(
        `hard link '${show(name)}' -> '${
          show(linkname)
        }' does not point to an earlier regular file of volume ${index}`,
      );
    let target;
    try {
      target = classifyPath(linkname, this.#limits, "hard link target");
    } catch (err) {
      if (err instanceof BadArchiveError) {
        throw new BadArchiveError(`hard link '${show(name)}': ${err.message}`);
      }
      throw err;
    }
    if (target.kind !== "volume" || target.index !== index || target.rel === "") throw bad();
    if (vs.kinds.get(target.rel) !== Kind.File) throw bad();
    return target.rel;
  }

  /**
   * A manifest volume without a single entry (not even its root dir) would
   * restore as an empty volume: refuse it rather than empty the live data.
   */
  #checkNoEmptyVolume() {
    for (const [index, vs] of this.#volumes) {
      if (!vs.rootSeen && vs.kinds.size === 0) {
        throw new BadArchiveError(
          `volume ${index} (${
            show(vs.volume.key)
          }) is listed in the manifest but has no entries, not even its root dir`,
        );
      }
    }
  }

  #checkLinkChains() {
    for (const [index, vs] of this.#volumes) {
      const bad = findEscapingLink(vs.links);
      if (bad !== null) {
        throw new BadArchiveError(
          `symlink 'volumes/${index}/${show(bad)}' resolves outside its volume through other links`,
        );
      }
    }
  }
}

export async function readManifestEntry(
  parser: TarParser,
  limits: ArchiveLimits,
  validate: ManifestValidator,
): Promise<Manifest> {
  const first = await parser.next();
  if (!first) throw new BadArchiveError("archive is empty (no manifest)");
  const where = (() => {
    try {
      return classifyPath(first.name, limits);
    } catch {
      return null;
    }
  })();
  if (where?.kind !== "manifest" || first.type !== "file") {
    throw new BadArchiveError(
      `first entry is '${show(first.name)}', expected '${MANIFEST_NAME}': not a volsnap archive`,
    );
  }
  if (first.size > MAX_MANIFEST_BYTES) {
    throw new BadArchiveError(`manifest is ${first.size} bytes, more than ${MAX_MANIFEST_BYTES}`);
  }
  const bytes = await parser.readBody();
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new BadArchiveError(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  return await validate(json);
}
