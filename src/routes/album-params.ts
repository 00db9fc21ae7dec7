/**
 * Parameters of the album surface (/userAlbum, /imageTemp): whole numbers with the seed's
 * "800 parameter error" on anything else, and forms that carry pictures as file parts.
 */
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { ApiError } from "../errors";
import { MAX_UPLOAD_BYTES } from "../images/upload";
import { type Params, readParams } from "./params";

/**
 * A whole number in [min, max] given as text ("12"; JSON numbers arrive as text too). Missing
 * or "" gives `fallback`, or undefined when there is none; "0", "-1", "1.5", "abc" outside the
 * range or not whole are refused, naming the field.
 */
export function wholeNumber<F extends number | undefined = undefined>(
	name: string,
	min: number,
	max: number,
	fallback?: F,
) {
	return z
		.string()
		.optional()
		.transform((raw, ctx): number | F => {
			const text = raw?.trim() ?? "";
			if (text === "") return fallback as F;
			const value = /^-?\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
			if (!Number.isSafeInteger(value) || value < min || value > max) {
				ctx.addIssue({ code: "custom", message: `${name} must be a whole number from ${min} to ${max}` });
				return z.NEVER;
			}
			return value;
		});
}

/** wholeNumber that must be given. */
export function requiredWholeNumber(name: string, min: number, max: number) {
	return wholeNumber(name, min, max).pipe(z.number({ error: `${name} is required` }));
}

/** 0 or 1 (true / false accepted too), or undefined when missing. */
export function flag(name: string) {
	return z
		.string()
		.optional()
		.transform((raw, ctx) => {
			const text = raw?.trim().toLowerCase() ?? "";
			if (text === "") return undefined;
			if (text === "1" || text === "true") return 1 as const;
			if (text === "0" || text === "false") return 0 as const;
			ctx.addIssue({ code: "custom", message: `${name} must be 0 or 1` });
			return z.NEVER;
		});
}

/** Optional text of at most `max` characters, trimmed; "" counts as given (to clear a field). */
export function text(name: string, max: number) {
	return z
		.string()
		.max(max, `${name} must be at most ${max} characters`)
		.optional()
		.transform((v) => v?.trim());
}

export interface Upload {
	params: Params;
	/** File parts of a multipart form, by field name (the first file of each field). */
	files: Record<string, File>;
}

/** The parameters (query, form or JSON) and, for a multipart form, its files. */
export async function readUpload(c: Context): Promise<Upload> {
	const params = await readParams(c);
	const files: Record<string, File> = {};
	if ((c.req.header("content-type") ?? "").toLowerCase().includes("multipart/form-data")) {
		// Parsed once by readParams; Hono hands back the same form.
		const form = await c.req.parseBody({ all: true });
		for (const [key, value] of Object.entries(form)) {
			const first = Array.isArray(value) ? value.find((v) => v instanceof File) : value;
			if (first instanceof File) files[key] = first;
		}
	}
	return { params, files };
}

/** Room for a form's other fields and boundaries next to its pictures. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/**
 * Refuses a body that could only hold more than `pictures` pictures of the largest size, from
 * its Content-Length before reading any of it, or as soon as a streamed body passes the limit.
 */
export function uploadLimit(pictures: number) {
	const maxSize = pictures * MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES;
	return bodyLimit({
		maxSize,
		onError: () => {
			throw new ApiError(
				"PAYLOAD_TOO_LARGE",
				`request body is larger than ${maxSize} bytes: a picture may be at most ${MAX_UPLOAD_BYTES} bytes (10 MB)`,
			);
		},
	});
}
