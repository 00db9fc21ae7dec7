/**
 * The only way the gateway fetches a URL someone else chose: the URL and every redirect target
 * pass the URL policy before they are requested, so a public URL cannot bounce the gateway to a
 * private one.
 */
import type { Fetch } from "../deps";
import { type UrlPolicyOptions, urlProblem } from "./url-policy";

/** Redirects followed per fetch; each target is checked like the URL itself. */
export const MAX_REDIRECTS = 3;

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** The URL policy refused a URL or a redirect target; nothing was requested from it. */
export class UrlRefusedError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "UrlRefusedError";
	}
}

export interface FetchPublicOptions extends UrlPolicyOptions {
	env: Pick<Env, "ENVIRONMENT">;
	fetch: Fetch;
	/** Names the URL in refusals, e.g. "notifyHook" or "imageUrl". */
	field: string;
}

/**
 * Fetches `url` under the URL policy. Redirects are followed by hand, at most MAX_REDIRECTS, and
 * only for GET and HEAD (a request with a body gets the redirect answer itself, as with
 * `redirect: "manual"`). Throws UrlRefusedError, before that hop is requested, when the URL or a
 * redirect target is refused or there are too many redirects; network errors pass through.
 */
export async function fetchPublic(url: string, init: RequestInit, options: FetchPublicOptions): Promise<Response> {
	const { field } = options;
	const method = (init.method ?? "GET").toUpperCase();
	const follow = method === "GET" || method === "HEAD";
	let current = url.trim();
	for (let hop = 0; ; hop++) {
		const problem = urlProblem(current, options.env, field, options);
		if (problem) throw new UrlRefusedError(problem);
		// Fetch the URL exactly as the policy parsed it.
		current = new URL(current).href;
		const response = await options.fetch(current, { ...init, redirect: "manual" });
		const location = response.headers.get("location");
		if (!follow || !REDIRECT.has(response.status) || !location) return response;
		await response.body?.cancel();
		if (hop >= MAX_REDIRECTS) throw new UrlRefusedError(`${field} redirects more than ${MAX_REDIRECTS} times`);
		try {
			current = new URL(location, current).href;
		} catch {
			throw new UrlRefusedError(`${field} redirects to an invalid URL`);
		}
	}
}
