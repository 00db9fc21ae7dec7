/**
 * One renderer per client API's envelope, for successes and errors alike. The surface is the
 * one the mount table in src/app.ts tags each request with (c.get("surface")).
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv, Surface } from "../context";
import type { ApiError, ErrorCode } from "../errors";

/**
 * Seed 000 lists 800 (parameter error) and 510 (system error); the gateway adds 401 (missing
 * or invalid token), 402 (not enough quota) and 403 (admins only); see each surface's page in docs/.
 */
const ALBUM_CODES = {
	BAD_REQUEST: 800,
	UNAUTHORIZED: 401,
	FORBIDDEN: 403,
	NOT_FOUND: 800,
	CONFLICT: 800,
	PAYLOAD_TOO_LARGE: 800,
	RANGE_NOT_SATISFIABLE: 800,
	UNKNOWN_TASK: 800,
	QUEUE_FULL: 800,
	IDEMPOTENCY_MISMATCH: 800,
	RATE_LIMITED: 429,
	BANNED_PROMPT: 800,
	INSUFFICIENT_QUOTA: 402,
	NO_CHANNEL: 510,
	SECRETS_NOT_CONFIGURED: 510,
	NOT_SUPPORTED: 800,
	INTERNAL: 510,
} as const satisfies Record<ErrorCode, number>;

/** midjourney-proxy style numeric codes for the proxy surface; 9 is its "other failure". */
const PROXY_CODES = {
	BAD_REQUEST: 4,
	UNAUTHORIZED: 9,
	FORBIDDEN: 9,
	NOT_FOUND: 3,
	UNKNOWN_TASK: 3,
	CONFLICT: 4,
	PAYLOAD_TOO_LARGE: 4,
	RANGE_NOT_SATISFIABLE: 4,
	QUEUE_FULL: 23,
	IDEMPOTENCY_MISMATCH: 4,
	RATE_LIMITED: 23,
	BANNED_PROMPT: 24,
	INSUFFICIENT_QUOTA: 9,
	NO_CHANNEL: 9,
	SECRETS_NOT_CONFIGURED: 9,
	NOT_SUPPORTED: 4,
	INTERNAL: 9,
} as const satisfies Record<ErrorCode, number>;

/** The error in `surface`'s envelope, with the error's HTTP status. */
export function renderError(c: Context, surface: Surface, error: ApiError): Response {
	switch (surface) {
		case "seed002":
			return c.json({ code: 0, description: error.message }, error.status);
		case "seed001":
			return c.json({ success: false, message: error.message }, error.status);
		case "album":
			return c.json({ code: ALBUM_CODES[error.code], msg: error.message }, error.status);
		case "proxy":
			return c.json(
				{
					code: PROXY_CODES[error.code],
					description: error.message,
					...(error.properties ? { properties: error.properties } : {}),
				},
				error.status,
			);
		case "plain":
			return c.json({ error: { code: error.code, message: error.message } }, error.status);
	}
}

/**
 * midjourney-proxy's answer to a call that did something (a submit, a cancel, an upload, a seed):
 * `{code, description, result, properties}`, code 1 when done (21 and 22: waiting, queued).
 */
export function proxyResult(
	result: unknown,
	{
		code = 1,
		description = "Success",
		properties = {},
	}: { code?: number; description?: string; properties?: object } = {},
) {
	return { code, description, result, properties };
}

/** What Hono's c.json sends as the content type (no charset: JSON is UTF-8 by definition). */
const JSON_TYPE = { "Content-Type": "application/json" } as const;

/**
 * A success in the envelope of the route's surface: seed 001's `{success: true, message: "",
 * data}`, the album's `{code: 200, msg: "SUCCESS", data}`. Seed 002, midjourney-proxy and plain
 * routes answer bare: their documents define each answer's own shape, so `data` is the body.
 *
 * The JSON is made here, not by c.json: the same bytes and headers, but the stringify (the
 * largest part of a list answer's own cost) stays in this frame in a profile, and the envelope
 * is written around the data's text instead of as one more object to walk.
 */
export function ok<T>(c: Context<AppEnv>, data: T, status: ContentfulStatusCode = 200): Response {
	return c.body(okText(c.get("surface"), data), status, JSON_TYPE);
}

/** The text of `ok`'s body: `JSON.stringify` of the envelope, written around the data's own text. */
export function okText(surface: Surface | undefined, data: unknown): string {
	const text = JSON.stringify(data);
	switch (surface) {
		case "seed001":
			// JSON.stringify drops a property whose value is undefined (or a function): so does this.
			return text === undefined ? '{"success":true,"message":""}' : `{"success":true,"message":"","data":${text}}`;
		case "album":
			return text === undefined ? '{"code":200,"msg":"SUCCESS"}' : `{"code":200,"msg":"SUCCESS","data":${text}}`;
		default:
			return text;
	}
}
