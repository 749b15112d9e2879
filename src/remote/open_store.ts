/** Builds the configured backend (SPEC §13 settings, validated in src/remote/config.ts). */
import type { RemoteConfig } from "./config.ts";
import { FileStore } from "../storage/file_store.ts";
import { S3Store } from "../storage/s3_store.ts";
import type { ObjectStore } from "../storage/store.ts";

export function openStore(c: RemoteConfig): ObjectStore {
  if (c.kind === "file") return new FileStore(c.root!);
  return new S3Store({
    bucket: c.bucket!,
    endpoint: c.endpoint,
    region: c.region,
    pathStyle: c.pathStyle,
    accessKeyId: c.accessKeyId!,
    secretAccessKey: c.secretAccessKey!,
    sessionToken: c.sessionToken,
  });
}
