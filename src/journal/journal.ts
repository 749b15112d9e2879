/**
 * Write-ahead journal of destructive steps: one JSON file per operation in
 * <data>/journal, replaced atomically at each checkpoint. The recovery sweep
 * replays whatever it finds there.
 */
import { join } from "node:path";
import { isTempName, syncDir, writeFileDurable } from "../fs/durable.ts";
import type { MountRef } from "../core/model.ts";

export interface JournalContainer {
  id: string;
  name: string;
  /** What we did to it and therefore must undo: start after stop, unpause after pause. */
  action: "stop" | "pause";
  /** When we recorded it; a later StartedAt means an operator has taken over since. */
  since?: string;
  /** It was paused before a restore stopped it: pause it again after the start. */
  repause?: boolean;
}

/**
 * A Swarm service we scale to 0 and must scale back (SPEC §2), recorded with
 * its replica count before the scale. Only volsnap ever sets 0, so a sweep
 * that finds any other count leaves the service alone.
 */
export interface JournalService {
  id: string;
  name: string;
  replicas: number;
  since?: string;
}

export interface CaptureJournal {
  kind: "capture";
  opId: string;
  workload: string;
  snapshotId: string;
  finalPath: string;
  /** Containers we are about to quiesce, recorded before the first is touched. */
  containers: JournalContainer[];
  /** Services we are about to scale to 0, recorded before the first is touched. */
  services?: JournalService[];
  /** Post hooks owed once pre hooks ran; the sweep runs them after a crash. */
  postHooks?: { id: string; name: string; command: string[] }[];
}

export interface RestoreJournalVolume {
  key: string;
  live: string;
  staged: string;
  old: string;
  /** Enough of the target to describe it in the pre-restore snapshot's manifest. */
  type: "volume" | "bind";
  name?: string;
  source?: string;
  destinations: MountRef[];
}

export type RestorePhase =
  | "staging" // extracting into staged dirs; live untouched
  | "quiescing" // containers recorded, being stopped; live untouched
  | "swapping" // renames in progress; swapped = volumes fully swapped
  | "committed" // every volume swapped: the restore wins from here on
  | "preserving"; // containers restarted; turning old dirs into a pre-restore snapshot

export interface RestoreJournal {
  kind: "restore";
  opId: string;
  workload: string;
  snapshotId: string;
  phase: RestorePhase;
  containers: JournalContainer[];
  services?: JournalService[];
  volumes: RestoreJournalVolume[];
  swapped: number;
  /** Set when the pre-restore capture failed; the old dirs are kept. */
  preserveError?: string;
  preRestoreSnapshotId?: string;
}

export type Journal = CaptureJournal | RestoreJournal;

export class JournalStore {
  constructor(readonly dir: string) {}

  #path(opId: string) {
    return join(this.dir, `${opId}.json`);
  }

  /** Durably replaces the journal of `j.opId` (temp + fsync + rename + fsync dir). */
  async write(j: Journal): Promise<void> {
    await writeFileDurable(this.#path(j.opId), JSON.stringify(j, null, 1), 0o600);
  }

  async remove(opId: string): Promise<void> {
    try {
      await Deno.remove(this.#path(opId));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    await syncDir(this.dir);
  }

  /** All journals, oldest first. Unparseable files are returned as errors, never deleted. */
  async list(): Promise<{ file: string; journal?: Journal; error?: string }[]> {
    const out: { file: string; journal?: Journal; error?: string }[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      if (!e.isFile || !e.name.endsWith(".json") || isTempName(e.name)) continue;
      const file = join(this.dir, e.name);
      try {
        out.push({ file, journal: JSON.parse(await Deno.readTextFile(file)) as Journal });
      } catch (err) {
        out.push({ file, error: String(err) });
      }
    }
    return out.sort((a, b) => a.file.localeCompare(b.file));
  }
}
