/**
 * The headers of the gateway's own pages, the web console (/, /app/*) and the API reference
 * (/docs): a Content-Security-Policy that lets each load only what it is built from, no framing,
 * nosniff and no Referer. The console keeps its credential in localStorage, which any script on
 * the gateway's origin could read; these policies are why no other script ever runs there (no
 * inline script but /docs's one, by hash; no other origin's script; media answers sandboxed,
 * src/images/serve.ts).
 */
import { config } from "../config";
import { base64, sha256 } from "../encoding";

/** What every page answer carries besides its CSP. */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
	"x-content-type-options": "nosniff",
	"referrer-policy": "no-referrer",
	// For browsers without CSP frame-ancestors.
	"x-frame-options": "DENY",
};

/** Directives both pages share: nothing by default, no plugins, no <base>, never framed. */
const BASE_DIRECTIVES = ["default-src 'none'", "base-uri 'none'", "object-src 'none'", "frame-ancestors 'none'"];

/** PUBLIC_BASE_URL's origin when it names one: result links point there, which may not be this origin. */
function linkOrigin(env: Env): string {
	const base = config(env).publicBaseUrl;
	if (!base) return "";
	try {
		const url = new URL(base);
		return url.protocol === "https:" || url.protocol === "http:" ? ` ${url.origin}` : "";
	} catch {
		return "";
	}
}

/**
 * The console (web/, one module script and one style sheet under /app): its own files, the API and
 * its event stream on this origin, result pictures and videos from the link origin, and the
 * data:/blob: pictures it makes itself (upload previews, the painted mask).
 */
export function consoleCsp(env: Env): string {
	const links = linkOrigin(env);
	return [
		...BASE_DIRECTIVES,
		"script-src 'self'",
		"style-src 'self'",
		`img-src 'self' data: blob:${links}`,
		`media-src 'self' blob:${links}`,
		"connect-src 'self'",
		"form-action 'self'",
	].join("; ");
}

/**
 * /docs (Scalar's bundle from this origin and the one inline script that starts it, by its hash):
 * Scalar writes its styles inline and fetches /openapi.json, and its "try it" calls this origin.
 */
export function docsCsp(inlineScriptHash: string): string {
	return [
		...BASE_DIRECTIVES,
		`script-src 'self' '${inlineScriptHash}'`,
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data: blob:",
		"font-src 'self' data:",
		"connect-src 'self'",
		"form-action 'self'",
	].join("; ");
}

/** `sha256-…` of a script's text, as a CSP source names an inline script. */
export async function scriptHash(text: string): Promise<string> {
	return `sha256-${base64(await sha256(text))}`;
}

/** The page answer with its headers (a copy: an assets answer's own headers cannot be changed). */
export function withPageHeaders(response: Response, csp: string): Response {
	const page = new Response(response.body, response);
	for (const [name, value] of Object.entries(PAGE_HEADERS)) page.headers.set(name, value);
	page.headers.set("content-security-policy", csp);
	return page;
}
