/** /api/v1/snapshots/{sid}: metadata, archive download, verify, delete. */
import {
  apiRouter,
  COMMON_ERRORS,
  createRoute,
  errorJson,
  json,
  type OpenAPIHono,
  register,
} from "./openapi.ts";
import { z } from "zod";
import { ARCHIVE_FORMATS } from "../src/core/model.ts";
import type { Engine } from "../src/engine/types.ts";
import type { OperationRunner } from "../src/operations/runner.ts";
import { parseInput } from "./errors.ts";
import { snapshotJson } from "./json.ts";
import { respondWithOperation } from "./operation_response.ts";
import { SnapshotIdSchema, WaitQuerySchema } from "./schemas.ts";
import { pullStream } from "./streams.ts";

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

export function snapshotRoutes(deps: { engine: Engine; runner: OperationRunner }): OpenAPIHono {
  const { engine, runner } = deps;
  const app = apiRouter();

  register(
    app,
    createRoute({
      method: "get",
      path: "/{sid}",
      summary: "snapshot metadata and manifest",
      request: { params: z.object({ sid: SnapshotIdSchema }) },
      responses: {
        200: json("the snapshot"),
        ...COMMON_ERRORS,
        404: errorJson("no such snapshot"),
      },
    }),
    async (c) => {
      const row = await engine.getSnapshot(c.req.valid("param").sid);
      return c.json({ snapshot: snapshotJson(row, { manifest: true }) });
    },
  );

  register(
    app,
    createRoute({
      method: "get",
      path: "/{sid}/archive",
      summary: "streaming download (Content-Length, sha256 ETag; HEAD too)",
      request: {
        params: z.object({ sid: SnapshotIdSchema }),
        headers: z.object({ "if-none-match": z.string().optional() }),
      },
      responses: {
        200: {
          description: "the archive file",
          content: {
            "application/octet-stream": { schema: z.string().meta({ format: "binary" }) },
          },
        },
        304: { description: "ETag matches" },
        ...COMMON_ERRORS,
        404: errorJson("no such snapshot"),
      },
    }),
    async (c) => {
      const id = c.req.valid("param").sid;
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
    },
  );

  register(
    app,
    createRoute({
      method: "post",
      path: "/{sid}/verify",
      summary: "re-hash and fully read the archive",
      request: { params: z.object({ sid: SnapshotIdSchema }), query: WaitQuerySchema },
      responses: {
        200: json("the verify result (with ?wait=true)"),
        202: json("operation started"),
        ...COMMON_ERRORS,
        404: errorJson("no such snapshot"),
      },
    }),
    async (c) => {
      const id = c.req.valid("param").sid;
      const { wait } = parseInput(WaitQuerySchema, c.req.query(), "query");
      const op = await engine.prepareVerify(id);
      return respondWithOperation(c, runner, op, { wait, resultKey: "verify", okStatus: 200 });
    },
  );

  register(
    app,
    createRoute({
      method: "delete",
      path: "/{sid}",
      summary: "delete file and row",
      request: { params: z.object({ sid: SnapshotIdSchema }) },
      responses: {
        204: { description: "deleted" },
        ...COMMON_ERRORS,
        404: errorJson("no such snapshot"),
        409: errorJson("workload busy"),
      },
    }),
    async (c) => {
      await engine.deleteSnapshot(c.req.valid("param").sid);
      return c.body(null, 204);
    },
  );

  return app;
}
