/** What the off-host copy service is built from, and the shapes it answers with. */
import type { Catalog, RemoteCopyRow, SnapshotRow } from "../../db/catalog.ts";
import type { Clock } from "../core/clock.ts";
import type { Logger } from "../core/log.ts";
import type { ObjectStore } from "../storage/store.ts";
import type { AgeConfig, RemoteConfig } from "./config.ts";

export interface RemoteDeps {
  config: RemoteConfig;
  age?: AgeConfig;
  localKeepLast?: number;
  catalog: Catalog;
  log: Logger;
  clock: Clock;
  event(kind: string, message: string, workload?: string, data?: unknown): Promise<void>;
  /**
   * Opens a snapshot's stored bytes (engine/local_archive.ts `openStored`):
   * its standalone stream, or (`encrypted`) the ciphertext of a local file
   * kept age-encrypted, which is copied as it is.
   */
  openSnapshot(
    row: SnapshotRow,
  ): Promise<{ size: number; stream: ReadableStream<Uint8Array>; encrypted?: boolean }>;
  fault(name: string): Promise<void>;
  /** §11 hook: called once per snapshot when its copy first fails. */
  onCopyFailed?(snap: SnapshotRow, error: string): void;
  /** Test seam: a backend other than the configured one. */
  store?: ObjectStore;
  partSize?: number;
}

export interface RemoteContext extends RemoteDeps {
  store: ObjectStore;
  location: string;
  forgetObjects(copy: RemoteCopyRow): Promise<void>;
}

export interface Location {
  kind: "local" | "remote";
  state: "present" | "pending" | "failed";
  location?: string;
  encrypted?: boolean;
  attempts?: number;
  lastError?: string | null;
  uploadedAt?: string | null;
}

export interface RemoteListing {
  key: string;
  id: string;
  workload: string;
  host: string;
  createdAt: string;
  origin: string;
  sizeBytes: number;
  encrypted: boolean;
  inCatalog: boolean;
}
