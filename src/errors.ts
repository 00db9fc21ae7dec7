/**
 * The one error type handlers throw. `app.onError` renders it in the envelope of the
 * surface the route belongs to; anything else becomes a generic INTERNAL error whose cause
 * is logged and never sent.
 */
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

const ERROR_STATUS = {
	BAD_REQUEST: 400,
	UNAUTHORIZED: 401,
	FORBIDDEN: 403,
	NOT_FOUND: 404,
	CONFLICT: 409,
	PAYLOAD_TOO_LARGE: 413,
	/** A Range past the end of a file. */
	RANGE_NOT_SATISFIABLE: 416,
	INSUFFICIENT_QUOTA: 402,
	/** A task id (a parent, a modal step's task) the caller has no such task of. */
	UNKNOWN_TASK: 400,
	/** The prompt contains a word of BANNED_WORDS. */
	BANNED_PROMPT: 400,
	/** The caller has USER_QUEUE_LIMIT unfinished tasks. */
	QUEUE_FULL: 429,
	/** Too many requests from one user (submits) or one address (failed sign-ins): see Retry-After. */
	RATE_LIMITED: 429,
	/** An Idempotency-Key the caller already used for a different request. */
	IDEMPOTENCY_MISMATCH: 422,
	NO_CHANNEL: 503,
	/** Production runs with an unset, short or published JWT_SECRET / SIGNING_SECRET (config's secretsProblem). */
	SECRETS_NOT_CONFIGURED: 503,
	/** A part of a protocol the gateway knowingly does not serve (midjourney-proxy's personalization profiles). */
	NOT_SUPPORTED: 400,
	INTERNAL: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The code of an HTTPException thrown by Hono's own middleware and validators (body limit,
 * malformed JSON, ...) by its status; other 4xx are BAD_REQUEST, other 5xx INTERNAL.
 */
const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
	401: "UNAUTHORIZED",
	413: "PAYLOAD_TOO_LARGE",
};

export class ApiError extends Error {
	readonly code: ErrorCode;
	/** Logged only: never reaches the wire. */
	readonly internal?: unknown;
	/** Extra fields a surface may show (midjourney-proxy `properties`, e.g. the banned word). */
	readonly properties?: Record<string, unknown>;
	/** Headers the answer carries (Retry-After, Content-Range). */
	readonly headers?: Record<string, string>;

	constructor(
		code: ErrorCode,
		message: string,
		options?: { internal?: unknown; properties?: Record<string, unknown>; headers?: Record<string, string> },
	) {
		super(message);
		this.name = "ApiError";
		this.code = code;
		this.internal = options?.internal;
		this.properties = options?.properties;
		this.headers = options?.headers;
	}

	get status(): ContentfulStatusCode {
		return ERROR_STATUS[this.code];
	}

	/** Anything thrown, as an ApiError: unknown errors become INTERNAL with the cause kept for the log. */
	static from(error: unknown): ApiError {
		if (error instanceof ApiError) return error;
		if (error instanceof HTTPException) {
			const code = CODE_OF_STATUS[error.status] ?? (error.status < 500 ? "BAD_REQUEST" : "INTERNAL");
			return new ApiError(code, error.message || "request rejected");
		}
		return new ApiError("INTERNAL", "internal error", { internal: error });
	}
}

export const badRequest = (message: string) => new ApiError("BAD_REQUEST", message);
export const notFound = (message: string) => new ApiError("NOT_FOUND", message);
export const unauthorized = (message: string) => new ApiError("UNAUTHORIZED", message);
export const forbidden = (message: string) => new ApiError("FORBIDDEN", message);
/** Every request that needs JWT_SECRET or SIGNING_SECRET while they are unusable; the reason is in the log only. */
export const secretsNotConfigured = () =>
	new ApiError(
		"SECRETS_NOT_CONFIGURED",
		"the gateway's secrets are not configured: its operator must set JWT_SECRET and SIGNING_SECRET",
	);
/** The refusal for every token, key, stream and submit of a disabled user, on every surface (in its envelope). */
export const userDisabled = () => forbidden("this user is disabled: ask an admin to enable it");
