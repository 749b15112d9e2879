/** /api/v1/workloads: discovery, capture, restore and import per workload. */
import { z } from "zod";
import { AppError } from "../src/core/errors.ts";
import { CompressionSchema, QuiesceModeSchema, WorkloadIdSchema } from "../src/core/model.ts";
import type { Engine } from "../src/engine/types.ts";
import type { OperationRunner } from "../src/operations/runner.ts";
import { parseInput, parseJsonBody } from "./errors.ts";
import {
  apiRouter,
  COMMON_ERRORS,
  createRoute,
  errorJson,
  json,
  jsonBody,
  type OpenAPIHono,
  register,
} from "./openapi.ts";
import type { OpsDeps } from "./ops_deps.ts";
import { snapshotJson, workloadJson, workloadSummaryJson } from "./json.ts";
import { mapOperation, respondWithOperation } from "./operation_response.ts";
import { SnapshotIdSchema, WaitQuerySchema } from "./schemas.ts";
import { withIdleTimeout } from "./streams.ts";

const CaptureBodySchema = z.strictObject({
  quiesce: QuiesceModeSchema.optional(),
  label: z.string().min(1).max(128).regex(/^[\x20-\x7e]+$/, "label must be printable ASCII")
    .optional(),
  compression: CompressionSchema.optional(),
});

const RestoreBodySchema = z.strictObject({
  snapshotId: SnapshotIdSchema,
  dryRun: z.boolean().optional(),
  allowForeign: z.boolean().optional(),
  volumes: z.array(z.string().min(1).max(4096)).min(1).max(1000).optional(),
});

/** Uploads that stall this long are aborted so a dead client cannot hold a workload lock. */
export const UPLOAD_IDLE_TIMEOUT_MS = 60_000;

/** Bodies that are clearly not a raw archive upload. */
const NOT_AN_ARCHIVE =
  /^(application\/json|multipart\/|application\/x-www-form-urlencoded|text\/)/i;

export function workloadRoutes(
  deps: {
    engine: Engine;
    runner: OperationRunner;
    ops?: Pick<OpsDeps, "lastVerifiedRestorable">;
  },
): OpenAPIHono {
  const { engine, runner } = deps;
  const app = apiRouter();
  const params = z.object({ wid: WorkloadIdSchema });
  const opResponses = (ok: number, what: string) => ({
    [ok]: json(what),
    202: json("operation started (Location: /api/v1/operations/{oid})"),
    ...COMMON_ERRORS,
    404: errorJson("no such workload"),
    409: errorJson("workload busy"),
    503: errorJson("Docker unreachable"),
  });

  register(
    app,
    createRoute({
      method: "get",
      path: "/",
      summary: "workloads with containers and volume coverage",
      responses: { 200: json("workloads"), ...COMMON_ERRORS },
    }),
    async (c) => {
      const workloads = await engine.listWorkloads();
      return c.json({ workloads: workloads.map(workloadSummaryJson) });
    },
  );

  register(
    app,
    createRoute({
      method: "get",
      path: "/{wid}",
      summary: "one workload: volumes, skipped mounts, last verified restorable",
      request: { params },
      responses: {
        200: json("the workload"),
        ...COMMON_ERRORS,
        404: errorJson("no such workload"),
      },
    }),
    async (c) => {
      const id = c.req.valid("param").wid;
      const workload = await engine.getWorkload(id);
      const verified = await deps.ops?.lastVerifiedRestorable(id);
      return c.json({
        workload: { ...workloadJson(workload), lastVerifiedRestorable: verified ?? null },
      });
    },
  );

  register(
    app,
    createRoute({
      method: "get",
      path: "/{wid}/snapshots",
      summary: "snapshots of a workload, newest first",
      request: { params },
      responses: { 200: json("snapshots"), ...COMMON_ERRORS },
    }),
    async (c) => {
      const rows = await engine.listSnapshots(c.req.valid("param").wid);
      return c.json({ snapshots: rows.map((r) => snapshotJson(r)) });
    },
  );

  register(
    app,
    createRoute({
      method: "post",
      path: "/{wid}/snapshots",
      summary: "capture",
      request: { params, query: WaitQuerySchema, body: jsonBody(CaptureBodySchema) },
      responses: opResponses(201, "the snapshot (with ?wait=true)"),
    }),
    async (c) => {
      const id = c.req.valid("param").wid;
      const { wait } = parseInput(WaitQuerySchema, c.req.query(), "query");
      const body = await parseJsonBody(c, CaptureBodySchema);
      const op = await engine.prepareCapture(id, body);
      return respondWithOperation(c, runner, mapOperation(op, (s) => snapshotJson(s)), {
        wait,
        resultKey: "snapshot",
        okStatus: 201,
      });
    },
  );

  register(
    app,
    createRoute({
      method: "post",
      path: "/{wid}/restore",
      summary: "restore (header X-Confirm-Restore: <snapshotId>; dryRun needs none)",
      request: {
        params,
        query: WaitQuerySchema,
        headers: z.object({ "x-confirm-restore": SnapshotIdSchema.optional() }),
        body: jsonBody(RestoreBodySchema),
      },
      responses: {
        ...opResponses(200, "the restore result or the dry-run plan"),
        412: errorJson("confirmation missing"),
      },
    }),
    async (c) => {
      const id = c.req.valid("param").wid;
      const { wait } = parseInput(WaitQuerySchema, c.req.query(), "query");
      const body = await parseJsonBody(c, RestoreBodySchema);
      if (body.dryRun) {
        // A dry run changes nothing, so it needs no confirmation.
        const plan = await engine.planRestore(id, body);
        return c.json({ plan });
      }
      const confirm = c.req.header("X-Confirm-Restore");
      if (confirm !== body.snapshotId) {
        throw new AppError(
          "confirmation_required",
          confirm === undefined
            ? "restore replaces the workload's live data and needs confirmation"
            : "X-Confirm-Restore does not match snapshotId",
          { hint: `send the header X-Confirm-Restore: ${body.snapshotId}` },
        );
      }
      const op = await engine.prepareRestore(id, body);
      return respondWithOperation(c, runner, op, { wait, resultKey: "restore", okStatus: 200 });
    },
  );

  register(
    app,
    createRoute({
      method: "post",
      path: "/{wid}/snapshots/import",
      summary: "upload an archive (untrusted); raw body",
      request: {
        params,
        body: {
          content: {
            "application/octet-stream": { schema: z.string().meta({ format: "binary" }) },
          },
        },
      },
      responses: {
        ...opResponses(201, "the imported snapshot"),
        413: errorJson("too large"),
        422: errorJson("bad archive"),
      },
    }),
    async (c) => {
      const id = c.req.valid("param").wid;
      const type = c.req.header("Content-Type") ?? "";
      if (NOT_AN_ARCHIVE.test(type)) {
        throw new AppError("invalid_input", `an archive upload cannot be ${type.split(";")[0]}`, {
          hint: "send the archive file as the raw body (application/octet-stream)",
        });
      }
      // Content-Length lets us refuse an oversized upload before reading it;
      // chunked uploads (curl -T -) are accepted and capped while streaming.
      const lengthHeader = c.req.header("Content-Length");
      const contentLength = lengthHeader === undefined ? undefined : parseInput(
        z.string().regex(/^\d{1,16}$/).transform(Number),
        lengthHeader,
        "Content-Length",
      );
      const raw = c.req.raw.body;
      if (!raw || contentLength === 0) throw new AppError("invalid_input", "the upload is empty");
      const body = withIdleTimeout(raw, UPLOAD_IDLE_TIMEOUT_MS);
      const op = await engine.prepareImport(id, body, contentLength);
      // The engine reads the body in run(): it must finish while this request is open.
      return respondWithOperation(c, runner, mapOperation(op, (s) => snapshotJson(s)), {
        wait: true,
        resultKey: "snapshot",
        okStatus: 201,
      });
    },
  );

  return app;
}
