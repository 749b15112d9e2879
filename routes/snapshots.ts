/** /api/v1/snapshots/{sid}: metadata, archive download, verify, delete. */
import { Hono } from "hono";
import { ARCHIVE_FORMATS } from "../src/core/model.ts";
import type { Engine } from "../src/engine/types.ts";
import type { OperationRunner } from "../src/operations/runner.ts";
import { parseInput } from "./errors.ts";
import { snapshotJson } from "./json.ts";
import { respondWithOperation } from "./operation_response.ts";
import { SnapshotIdSchema, WaitQuerySchema } from "./schemas.ts";
import { pullStream } from "./streams.ts";

/** The media type of what is sent, from the name of what is sent (it may be encrypted). */
function contentTypeFor(fileName: string): string {
  const format = Object.values(ARCHIVE_FORMATS).find((f) => fileName.endsWith(f.extension));
  return format?.contentType ?? "application/octet-stream";
}

/** A file name safe inside a quoted Content-Disposition parameter. */
function safeFileName(name: string): string {
  const base = name.split("/").pop() ?? "";
  const clean = base.replace(/[^A-Za-z0-9._-]/g, "_");
  return clean && clean !== "." && clean !== ".." ? clean : "snapshot.tar";
}

/** If-None-Match: a list of quoted tags (possibly weak) or `*`. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === "*") return true;
  return header.split(",").map((t) => t.trim().replace(/^W\//, "")).includes(etag);
}

export function snapshotRoutes(deps: { engine: Engine; runner: OperationRunner }): Hono {
  const { engine, runner } = deps;
  const app = new Hono();
  const sid = (raw: string) => parseInput(SnapshotIdSchema, raw, "snapshot id");

  app.get("/:sid", async (c) => {
    const row = await engine.getSnapshot(sid(c.req.param("sid")));
    return c.json({ snapshot: snapshotJson(row, { manifest: true }) });
  });

  app.get("/:sid/archive", async (c) => {
    const id = sid(c.req.param("sid"));
    const row = await engine.getSnapshot(id);
    const etag = `"${row.sha256}"`;
    if (matchesEtag(c.req.header("If-None-Match"), etag)) {
      return c.body(null, 304, { ETag: etag });
    }
    const dl = await engine.openArchive(id);
    const headers = {
      "Content-Type": contentTypeFor(dl.fileName),
      "Content-Length": String(dl.sizeBytes),
      ETag: `"${dl.sha256}"`,
      "Content-Disposition": `attachment; filename="${safeFileName(dl.fileName)}"`,
      "Cache-Control": "no-store",
    };
    if (c.req.method === "HEAD") {
      await dl.stream.cancel();
      return c.body(null, 200, headers);
    }
    return c.body(pullStream(dl.stream), 200, headers);
  });

  app.post("/:sid/verify", async (c) => {
    const id = sid(c.req.param("sid"));
    const { wait } = parseInput(WaitQuerySchema, c.req.query(), "query");
    const op = await engine.prepareVerify(id);
    return respondWithOperation(c, runner, op, { wait, resultKey: "verify", okStatus: 200 });
  });

  app.delete("/:sid", async (c) => {
    await engine.deleteSnapshot(sid(c.req.param("sid")));
    return c.body(null, 204);
  });

  return app;
}
