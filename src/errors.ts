/**
 * The one error type handlers throw. `app.onError` renders it in the envelope of the
 * surface the route belongs to; anything else becomes a generic INTERNAL error whose cause
 * is logged and never sent.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export const ERROR_STATUS = {
	BAD_REQUEST: 400,
	UNAUTHORIZED: 401,
	FORBIDDEN: 403,
	NOT_FOUND: 404,
	CONFLICT: 409,
	PAYLOAD_TOO_LARGE: 413,
	INSUFFICIENT_QUOTA: 402,
	/** A task id (a parent, a modal step's task) the caller has no such task of. */
	UNKNOWN_TASK: 400,
	/** The prompt contains a word of BANNED_WORDS. */
	BANNED_PROMPT: 400,
	/** The caller has USER_QUEUE_LIMIT unfinished tasks. */
	QUEUE_FULL: 429,
	NO_CHANNEL: 503,
	INTERNAL: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
	readonly code: ErrorCode;
	/** Logged only: never reaches the wire. */
	readonly internal?: unknown;
	/** Extra fields a surface may show (midjourney-proxy `properties`, e.g. the banned word). */
	readonly properties?: Record<string, unknown>;

	constructor(
		code: ErrorCode,
		message: string,
		options?: { internal?: unknown; properties?: Record<string, unknown> },
	) {
		super(message);
		this.name = "ApiError";
		this.code = code;
		this.internal = options?.internal;
		this.properties = options?.properties;
	}

	get status(): ContentfulStatusCode {
		return ERROR_STATUS[this.code];
	}
}

export const badRequest = (message: string) => new ApiError("BAD_REQUEST", message);
export const notFound = (message: string) => new ApiError("NOT_FOUND", message);
export const unauthorized = (message: string) => new ApiError("UNAUTHORIZED", message);
export const forbidden = (message: string) => new ApiError("FORBIDDEN", message);
