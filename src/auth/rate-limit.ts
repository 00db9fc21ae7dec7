/**
 * Rate limits with the Workers Rate Limiting bindings (wrangler.toml `[[ratelimits]]`, where the
 * limits are set): submits per user, failed sign-ins per address. Over a limit the request answers
 * 429 with Retry-After in its surface's envelope. The counts are per Cloudflare location and
 * eventually consistent, as the platform documents: a guard against floods, not an exact quota.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import { ApiError } from "../errors";

/** The periods configured in wrangler.toml, which Retry-After reports. */
export const SUBMIT_PERIOD_SECONDS = 60;
export const AUTH_FAIL_PERIOD_SECONDS = 10;

/** Needs authenticate() before it: counts the caller's submits. */
export function limitSubmits(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const limiter = c.env.SUBMIT_LIMITER;
		if (limiter && !(await limiter.limit({ key: `user:${c.get("user").id}` })).success) {
			throw new ApiError("RATE_LIMITED", "too many submits: slow down and retry later", {
				headers: { "retry-after": String(SUBMIT_PERIOD_SECONDS) },
			});
		}
		await next();
	};
}

/**
 * Counts a failed sign-in against the caller's address; true once the address is over its limit.
 * Requests without CF-Connecting-IP (local tools, tests) have no address to count against.
 */
export async function failedSignInOverLimit(env: Env, headers: Headers): Promise<boolean> {
	const address = headers.get("cf-connecting-ip");
	if (!address || !env.AUTH_FAIL_LIMITER) return false;
	return !(await env.AUTH_FAIL_LIMITER.limit({ key: `ip:${address}` })).success;
}

export function tooManyFailedSignIns(): ApiError {
	return new ApiError("RATE_LIMITED", "too many failed sign-ins from this address: retry later", {
		headers: { "retry-after": String(AUTH_FAIL_PERIOD_SECONDS) },
	});
}
