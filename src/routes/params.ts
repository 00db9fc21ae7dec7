/**
 * Parameters for APIs that accept them anywhere: the query string, a urlencoded or
 * multipart form, or a JSON object. Body values win over query values of the same name.
 */
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError, badRequest } from "../errors";
import { MAX_UPLOAD_BYTES } from "../images/upload";

export type Params = Record<string, string>;

export interface RequestParams {
	/** Every parameter as text (JSON numbers and booleans too; nested JSON as its JSON text). */
	params: Params;
	/** File parts of a multipart form, by field name (the first file of each field). */
	files: Record<string, File>;
}

function stringify(value: unknown): string | undefined {
	if (value === null || value === undefined) return undefined;
	if (typeof value === "string") return value;
	if (typeof value === "number" || typeof value === "boolean") return String(value);
	return JSON.stringify(value);
}

/**
 * The body as a JSON object: the one reader of every body a route reads as JSON itself
 * (readParams, midjourney-proxy's submits and lists, the stream ticket). An empty body is
 * `undefined` where the route takes none (`emptyIsAbsent`), else malformed like any non-JSON.
 */
export async function readJsonObject(
	c: Context,
	{ emptyIsAbsent = false }: { emptyIsAbsent?: boolean } = {},
): Promise<Record<string, unknown> | undefined> {
	const text = await c.req.text();
	if (emptyIsAbsent && text.trim() === "") return undefined;
	let body: unknown;
	try {
		body = JSON.parse(text);
	} catch {
		throw badRequest("malformed JSON body");
	}
	if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("JSON body must be an object");
	return body as Record<string, unknown>;
}

async function readJson(c: Context, params: Params): Promise<void> {
	const body = await readJsonObject(c, { emptyIsAbsent: true });
	for (const [key, value] of Object.entries(body ?? {})) {
		const text = stringify(value);
		if (text !== undefined) params[key] = text;
	}
}

async function readForm(c: Context, params: Params, files: Record<string, File>): Promise<void> {
	let form: Record<string, string | File | (string | File)[]>;
	try {
		form = await c.req.parseBody({ all: true });
	} catch {
		throw badRequest("malformed form body");
	}
	for (const [key, value] of Object.entries(form)) {
		const values = Array.isArray(value) ? value : [value];
		const first = values[0];
		if (typeof first === "string") params[key] = first;
		const file = values.find((v) => v instanceof File);
		if (file instanceof File) files[key] = file;
	}
}

/** The media type of a Content-Type header, lower-cased, without its parameters ("" when missing). */
export function mediaType(header: string | undefined): string {
	return (header ?? "").split(";")[0].trim().toLowerCase();
}

/** application/json, or any +json type. */
export function isJsonType(type: string): boolean {
	return type === "application/json" || type.endsWith("+json");
}

/**
 * Whether a Content-Type header declares JSON: application/json or any +json type, or for
 * `lenient` callers (midjourney-proxy's clients send text/json, application/json;charset and
 * worse) any type that mentions json.
 */
export function declaresJson(header: string | undefined, lenient = false): boolean {
	return lenient ? (header ?? "").toLowerCase().includes("json") : isJsonType(mediaType(header));
}

/** The request's parameters (query, then form or JSON) and, for a multipart form, its files. */
export async function readParams(c: Context): Promise<RequestParams> {
	const params: Params = { ...c.req.query() };
	const files: Record<string, File> = {};
	if (c.req.method === "GET" || c.req.method === "HEAD") return { params, files };
	const type = mediaType(c.req.header("content-type"));
	if (isJsonType(type)) await readJson(c, params);
	else if (type === "application/x-www-form-urlencoded" || type === "multipart/form-data")
		await readForm(c, params, files);
	else if ((await c.req.arrayBuffer()).byteLength > 0) {
		throw badRequest(
			`unsupported content type ${JSON.stringify(type || "none")}: send JSON, a urlencoded form or multipart/form-data`,
		);
	}
	return { params, files };
}

/**
 * The one body limit: refused from Content-Length before any of the body is read, or as soon as a
 * streamed body passes `maxSize`, as a 413 in the surface's envelope.
 */
export function limitBody(maxSize: number, message = `request body is over ${maxSize} bytes`) {
	return bodyLimit({
		maxSize,
		onError: () => {
			throw new ApiError("PAYLOAD_TOO_LARGE", message);
		},
	});
}

/** Room for a form's other fields and boundaries next to its pictures. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/**
 * Refuses a body that could only hold more than `pictures` pictures of the largest size, from
 * its Content-Length before reading any of it, or as soon as a streamed body passes the limit.
 */
export function uploadLimit(pictures: number) {
	const maxSize = pictures * MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES;
	return limitBody(
		maxSize,
		`request body is larger than ${maxSize} bytes: a picture may be at most ${MAX_UPLOAD_BYTES} bytes (10 MB)`,
	);
}
