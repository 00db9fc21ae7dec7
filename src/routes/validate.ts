/**
 * The one way routes validate input: zod schemas, and a first problem that becomes a 400
 * naming the field, whether the input came through a route's createRoute schemas (zod-openapi's
 * validators, with validationHook) or the route's own reader + parseWith.
 * Parameters arrive as text (query strings and forms; JSON values are turned to text by
 * readParams), so the helpers here read numbers and flags from optional text.
 */
import { z } from "zod";
import { HOOK_EVENT_MODES } from "../db/schema";
import { badRequest } from "../errors";

/** "field: message", unless the message already names the field. */
function problem(error: z.core.$ZodError): string {
	const issue = error.issues[0];
	const field = issue.path.join(".");
	return field && !issue.message.includes(field) ? `${field}: ${issue.message}` : issue.message;
}

/** The defaultHook of every route group (src/openapi/define.ts): throws the first problem as a 400 (BAD_REQUEST). */
export function validationHook(result: { success: true } | { success: false; error: z.core.$ZodError }): void {
	if (!result.success) throw badRequest(problem(result.error));
}

/** Validates with zod; the first problem becomes a 400 naming the field. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
	const result = schema.safeParse(input);
	if (result.success) return result.data;
	throw badRequest(problem(result.error));
}

/**
 * An integer in [min, max] given as text ("12", " 12 "; JSON numbers arrive as text too):
 * decimal digits only, with a leading "-" only when min < 0, so "0x10", "1e2", "+2" and
 * "1.5" are refused like words and values out of range, naming the field. Missing or ""
 * gives `fallback`, or undefined when there is none. `message` replaces the default
 * "`name` must be an integer from `min` to `max`" where a surface words it otherwise.
 */
export function integer<F extends number | undefined = undefined>(
	name: string,
	min: number,
	max: number,
	fallback?: F,
	message = `${name} must be an integer from ${min} to ${max}`,
) {
	const digits = min < 0 ? /^-?\d{1,16}$/ : /^\d{1,16}$/;
	return z
		.string()
		.describe(`an integer from ${min} to ${max}, as text`)
		.optional()
		.transform((raw, ctx): number | F => {
			const text = raw?.trim() ?? "";
			if (text === "") return fallback as F;
			const value = digits.test(text) ? Number(text) : Number.NaN;
			if (!Number.isSafeInteger(value) || value < min || value > max) {
				ctx.addIssue({ code: "custom", message });
				return z.NEVER;
			}
			return value;
		});
}

/** integer() that must be given. */
export function requiredInteger(name: string, min: number, max: number) {
	return integer(name, min, max)
		.pipe(z.number({ error: `${name} is required` }))
		.describe(`required: an integer from ${min} to ${max}, as text`);
}

/** 0 or 1 (true / false accepted too), or undefined when missing. */
export function flag(name: string) {
	return z
		.string()
		.describe("0 or 1 (true or false)")
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

/**
 * A submit's `notifyHookEvents`: "all" (every change) or "final" (the end only), any case;
 * absent or "" follows the caller's setting.
 */
export const notifyHookEvents = z.preprocess(
	(v) => (typeof v === "string" ? v.trim().toLowerCase() || undefined : (v ?? undefined)),
	z.enum(HOOK_EVENT_MODES, { error: 'notifyHookEvents must be "all" or "final"' }).optional(),
);
