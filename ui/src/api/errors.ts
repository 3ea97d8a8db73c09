import type { Error as ApiError } from "../bindings/Error";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { RowError } from "../bindings/RowError";

const CODES: readonly ErrorCode[] = [
  "validation",
  "unauthenticated",
  "permission_denied",
  "not_found",
  "conflict",
  "limit_exceeded",
  "unavailable",
  "internal",
];

/** A failure reported by a backend (or by the way to it), with the API's stable code. */
export class BackendError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  /** Every problem of a refused file, by row and column (an import); empty otherwise. */
  readonly rows: RowError[];

  constructor(code: ErrorCode, message: string, field?: string, rows?: RowError[]) {
    super(message);
    this.name = "BackendError";
    this.code = code;
    this.field = field;
    this.rows = rows ?? [];
  }

  /** The error as the API writes it. */
  toJSON(): ApiError {
    const json: ApiError = { code: this.code, message: this.message };
    if (this.field !== undefined) json.field = this.field;
    if (this.rows.length > 0) json.rows = this.rows;
    return json;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (CODES as readonly string[]).includes(value);
}

/** Whether `value` has the shape of the API's `Error` JSON. */
export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    isErrorCode(v.code) &&
    typeof v.message === "string" &&
    (v.field === undefined || v.field === null || typeof v.field === "string") &&
    (v.rows === undefined || v.rows === null || Array.isArray(v.rows))
  );
}

/** The code an HTTP status stands for when the body is not an API error. */
export function codeFromStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
    case 422:
      return "validation";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "not_found";
    case 409:
      return "conflict";
    case 413:
    case 429:
      return "limit_exceeded";
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return "internal";
  }
}

/** An API error object as a BackendError. */
export function fromApiError(e: ApiError): BackendError {
  return new BackendError(e.code, e.message, e.field ?? undefined, e.rows ?? undefined);
}

/** Any thrown value as a BackendError (API error objects keep their code and field). */
export function toBackendError(e: unknown): BackendError {
  if (e instanceof BackendError) return e;
  if (isApiError(e)) return fromApiError(e);
  if (e instanceof Error) return new BackendError("internal", e.message);
  if (typeof e === "string") return new BackendError("internal", e);
  return new BackendError("internal", "unexpected failure");
}
