/** Shared set-up of the off-host tests: s3rver, an age key, a workload with a volume. */
import { join } from "node:path";
import { DockerScratch } from "../_helpers/docker_cli.ts";
import { populateTree, volumeMountpoint } from "../_helpers/fixtures.ts";
import { S3rver, S3RVER_KEY } from "../_helpers/s3rver.ts";
import { sleep, type TestServer } from "../_helpers/server.ts";
import { S3Store } from "../../src/storage/s3_store.ts";

export interface AgeKey {
  identityFile: string;
  recipient: string;
}

export async function ageKey(): Promise<AgeKey> {
  const dir = await Deno.makeTempDir({ prefix: "volsnap-age-" });
  const identityFile = join(dir, "key.txt");
  const out = await new Deno.Command("age-keygen", { args: ["-o", identityFile], stderr: "piped" })
    .output();
  if (!out.success) throw new Error("age-keygen failed");
  const recipient = /age1[0-9a-z]+/.exec(new TextDecoder().decode(out.stderr))![0];
  return { identityFile, recipient };
}

export function remoteEnv(s3: S3rver, prefix: string, extra: Record<string, string> = {}) {
  return {
    VOLSNAP_REMOTE: `s3://${s3.bucket}/${prefix}`,
    VOLSNAP_S3_ENDPOINT: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_KEY.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_KEY.secretAccessKey,
    VOLSNAP_REMOTE_RETRY_MS: "500",
    ...extra,
  };
}

export function bucketStore(s3: S3rver): S3Store {
  return new S3Store({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: "us-east-1",
    pathStyle: true,
    ...S3RVER_KEY,
  });
}

/** One container with one named volume holding `bytes` of pseudo-random files. */
export async function workloadWithVolume(
  scratch: Pick<DockerScratch, "prefix" | "volume" | "container">,
  bytes = 2 << 20,
) {
  const wid = scratch.prefix;
  const vol = await scratch.volume("data");
  await scratch.container({
    name: "db",
    labels: { "com.docker.compose.project": wid, "com.docker.compose.service": "db" },
    args: ["-v", `${vol}:/data`],
  });
  const volDir = await volumeMountpoint(vol);
  populateTree(volDir, "A", { bytes });
  return { wid, volDir };
}

/** Polls the snapshot until its remote location is `state`; returns the snapshot JSON. */
export async function waitRemote(
  server: TestServer,
  sid: string,
  state: string,
  ms = 90_000,
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    const r = await server.api("GET", `/api/v1/snapshots/${sid}`);
    last = r.json;
    // deno-lint-ignore no-explicit-any
    const loc = r.json?.snapshot?.locations?.find((l: any) => l.kind === "remote");
    if (loc?.state === state) return r.json.snapshot;
    await sleep(300);
  }
  throw new Error(
    `remote copy of ${sid} never became ${state}: ${JSON.stringify(last)}\n${
      server.log.slice(-3000)
    }`,
  );
}

export async function capture(server: TestServer, wid: string) {
  const cap = await server.api("POST", `/api/v1/workloads/${wid}/snapshots?wait=true`, {});
  if (cap.status !== 201) throw new Error(`capture: ${cap.status} ${JSON.stringify(cap.json)}`);
  return cap.json.snapshot;
}

export async function restore(server: TestServer, wid: string, sid: string) {
  return await server.api(
    "POST",
    `/api/v1/workloads/${wid}/restore?wait=true`,
    { snapshotId: sid },
    { "X-Confirm-Restore": sid },
  );
}
