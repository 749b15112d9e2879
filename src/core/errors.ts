/**
 * Typed errors. Every error a user can see carries a stable `code`, the HTTP
 * status it maps to, and a message that names what failed and what to do.
 */
export type ErrorCode =
  | "invalid_input"
  | "unauthorized"
  | "not_found"
  | "workload_busy"
  | "workload_recovery_failed"
  | "confirmation_required"
  | "too_large"
  | "bad_archive"
  | "integrity_error"
  | "decryption_failed"
  | "storage_unavailable"
  | "docker_unavailable"
  | "docker_error"
  | "insufficient_space"
  | "quiesce_failed"
  | "quiesce_refused"
  | "no_volumes"
  | "interrupted"
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  not_found: 404,
  workload_busy: 409,
  workload_recovery_failed: 409,
  confirmation_required: 412,
  too_large: 413,
  bad_archive: 422,
  integrity_error: 422,
  decryption_failed: 422,
  storage_unavailable: 503,
  no_volumes: 422,
  docker_unavailable: 503,
  docker_error: 502,
  insufficient_space: 507,
  quiesce_failed: 500,
  quiesce_refused: 409,
  interrupted: 503,
  internal: 500,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; hint?: string } = {}) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.hint = opts.hint;
  }
  get status(): number {
    return STATUS[this.code];
  }
}

export const notFound = (what: string) => new AppError("not_found", `${what} not found`);

/** Archive is malformed or hostile; the message says precisely why (422). */
export class BadArchiveError extends AppError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super("bad_archive", message, opts);
    this.name = "BadArchiveError";
  }
}

/** ENOSPC and friends: maps to 507. */
export function isNoSpace(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  return e?.code === "ENOSPC" || /ENOSPC|No space left/i.test(String(e?.message ?? ""));
}

/** Turns any thrown value into an AppError (unknown errors become `internal`). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isNoSpace(err)) {
    return new AppError("insufficient_space", `not enough disk space: ${errMessage(err)}`, {
      cause: err,
    });
  }
  return new AppError("internal", errMessage(err), { cause: err });
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
