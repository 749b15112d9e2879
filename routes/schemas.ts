/** Zod schemas of path and query parameters shared by several route modules. */
import { z } from "zod";
import { OPERATION_ID_PATTERN } from "../src/operations/runner.ts";

export const OperationIdSchema = z.string().regex(OPERATION_ID_PATTERN, {
  message: "operation id must look like op_<16 hex digits>",
});

export const SnapshotIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, {
  message: "snapshot id must be 1-64 chars of letters, digits, '_', '-'",
});

/** `?wait=true` on long operations: block and answer the result instead of 202. */
export const WaitQuerySchema = z.object({
  wait: z.enum(["true", "false", "1", "0"]).optional().transform((v) => v === "true" || v === "1"),
});
