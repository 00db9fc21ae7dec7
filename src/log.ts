/**
 * The logging point for errors: what reaches the log is redacted here, whoever logs. A drizzle
 * query error carries the statement's parameters (a channel's secret when a channel write fails),
 * a fetch error may carry a URL with a token in its query, and request headers carry credentials.
 */

const SECRET_PATTERNS: readonly [RegExp, string][] = [
	// drizzle's "Failed query: … params: a,b,c": parameters are user data and secrets.
	[/(params:)[^\n]*/gi, "$1 [redacted]"],
	[/\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi, "$1 [redacted]"],
	[/\b(mj-api-secret|authorization|x-api-key)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, "$1$2[redacted]"],
	[/\bmjk_[A-Za-z0-9_-]+/g, "mjk_[redacted]"],
	[/\bwhsec_[A-Za-z0-9+/=]+/g, "whsec_[redacted]"],
	// Query strings of URLs: signatures, tokens, presigned credentials.
	[/(https?:\/\/[^\s?"']+)\?[^\s"']*/gi, "$1?[redacted]"],
	// A Discord user token (a discord channel's secret): base64 user id, timestamp, HMAC.
	[/\b[A-Za-z0-9_-]{20,40}\.[A-Za-z0-9_-]{5,8}\.[A-Za-z0-9_-]{20,50}\b/g, "[redacted discord token]"],
	// The gateway's IDENTIFY / RESUME carry it as "token".
	[/("token"\s*:\s*")[^"]*/gi, "$1[redacted]"],
	// A JWT anywhere (three base64url parts).
	[/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, "[redacted jwt]"],
];

/** The text with every secret-looking part replaced. */
export function redact(text: string): string {
	let out = text;
	for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
	return out;
}

function describe(value: unknown): string {
	if (value instanceof Error) {
		const cause = value.cause === undefined ? "" : `\ncaused by: ${describe(value.cause)}`;
		return `${value.name}: ${value.message}${value.stack ? `\n${value.stack}` : ""}${cause}`;
	}
	if (typeof value === "string") return value;
	try {
		return JSON.stringify(value);
	} catch {
		return String(value);
	}
}

/** console.error with every part redacted: use it for anything that may carry an error or a URL. */
export function logError(message: string, ...details: unknown[]): void {
	console.error(redact([message, ...details.map(describe)].join(" ")));
}

/** console.warn, redacted the same way. */
export function logWarning(message: string, ...details: unknown[]): void {
	console.warn(redact([message, ...details.map(describe)].join(" ")));
}
