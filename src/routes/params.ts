/**
 * Parameters for APIs that accept them anywhere: the query string, a urlencoded or
 * multipart form, or a JSON object. Body values win over query values of the same name.
 */
import type { Context } from "hono";
import type { z } from "zod";
import { badRequest } from "../errors";

export type Params = Record<string, string>;

function stringify(value: unknown): string | undefined {
	if (value === null || value === undefined) return undefined;
	if (typeof value === "string") return value;
	if (typeof value === "number" || typeof value === "boolean") return String(value);
	return JSON.stringify(value);
}

export async function readParams(c: Context): Promise<Params> {
	const params: Params = { ...c.req.query() };
	if (c.req.method === "GET" || c.req.method === "HEAD") return params;
	const type = (c.req.header("content-type") ?? "").toLowerCase();
	if (type.includes("application/json") || type.includes("+json")) {
		const text = await c.req.text();
		if (text.trim() === "") return params;
		let body: unknown;
		try {
			body = JSON.parse(text);
		} catch {
			throw badRequest("malformed JSON body");
		}
		if (typeof body !== "object" || body === null || Array.isArray(body))
			throw badRequest("JSON body must be an object");
		for (const [key, value] of Object.entries(body)) {
			const text = stringify(value);
			if (text !== undefined) params[key] = text;
		}
	} else if (type.includes("application/x-www-form-urlencoded") || type.includes("multipart/form-data")) {
		let form: Record<string, string | File | (string | File)[]>;
		try {
			form = await c.req.parseBody({ all: true });
		} catch {
			throw badRequest("malformed form body");
		}
		for (const [key, value] of Object.entries(form)) {
			const first = Array.isArray(value) ? value[0] : value;
			if (typeof first === "string") params[key] = first;
		}
	}
	return params;
}

/** Validates with zod; the first problem becomes a 400 naming the field. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
	const result = schema.safeParse(input);
	if (result.success) return result.data;
	const issue = result.error.issues[0];
	const field = issue.path.join(".");
	throw badRequest(field && !issue.message.includes(field) ? `${field}: ${issue.message}` : issue.message);
}
