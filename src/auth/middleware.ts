/** Authentication for every protected route: a verified token and the user it names. */

import type { MiddlewareHandler } from "hono";
import { config } from "../config";
import type { AppEnv } from "../context";
import { getDb } from "../db/client";
import { dbOf } from "../db/request-db";
import { isUserDisabled, signInUser } from "../db/users";
import { ApiError, forbidden, unauthorized, userDisabled } from "../errors";
import type { Role } from "../vocabulary";
import { authenticateApiKey, isApiKey } from "./api-keys";
import { requireUsableSecrets } from "./hmac-key";
import { failedSignInOverLimit, tooManyFailedSignIns } from "./rate-limit";
import { verifyToken } from "./token";

/**
 * Tokens whose role this isolate has written to the user's row, by the token's signature, with
 * the user's id. Nothing mutable is cached: the row's role is what API keys are checked against,
 * and another isolate may change it at any time. What is saved is only the repeat of a write
 * already made: every token a client sends for the first time in an isolate (a demotion, a
 * promotion) writes its role, so no isolate can skip a token's role on the strength of an older
 * token. The write keeps the role of the token issued last (see upsertUser).
 */
export const deliveredTokens = new Map<string, number>();
const USER_CACHE_LIMIT = 10_000;

/** The token from `Authorization: Bearer …` (or a bare token), else `mj-api-secret`. */
export function tokenFrom(headers: Headers): string | null {
	const authorization = headers.get("authorization")?.trim();
	if (authorization) {
		const match = /^Bearer\s+(.+)$/i.exec(authorization);
		return (match ? match[1] : authorization).trim() || null;
	}
	return headers.get("mj-api-secret")?.trim() || null;
}

/** Needs requestDb() before it. Takes a JWT or an API key (`mjk_…`, see api-keys.ts) in the same headers. */
export function authenticate(options: { role?: Role } = {}): MiddlewareHandler<AppEnv> {
	const check = signIn(options);
	return async (c, next) => {
		try {
			await check(c, async () => {});
		} catch (error) {
			// A flood of bad tokens from one address is answered 429 until it calms down.
			if (
				error instanceof ApiError &&
				error.code === "UNAUTHORIZED" &&
				(await failedSignInOverLimit(c.env, c.req.raw.headers))
			) {
				throw tooManyFailedSignIns();
			}
			throw error;
		}
		await next();
	};
}

function signIn(options: { role?: Role }): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		// API keys need no secret to check, but what a signed-in caller gets back does (image
		// links, stream tickets, callback URLs): refuse them all alike.
		requireUsableSecrets(c.env);
		const token = tokenFrom(c.req.raw.headers);
		if (!token) throw unauthorized("missing token: send Authorization: Bearer <token>");
		if (isApiKey(token)) {
			const user = await authenticateApiKey(c, token);
			if (options.role === "admin" && user.role !== "admin") throw forbidden("this endpoint is for admins");
			c.set("user", user);
			return next();
		}
		const claims = await verifyToken(token, c.env, c.get("deps").now());
		// A verified token's signature identifies it (its header and claims are what was signed).
		const signature = token.slice(token.lastIndexOf(".") + 1);
		let id = deliveredTokens.get(signature);
		let disabled: boolean;
		if (id === undefined) {
			const signedIn = await signInUser(
				dbOf(c),
				claims.sub,
				claims.role,
				config(c.env).newUserQuota,
				c.get("deps").now(),
				claims.issuedAt,
			);
			id = signedIn.id;
			disabled = signedIn.disabled;
			if (deliveredTokens.size >= USER_CACHE_LIMIT) deliveredTokens.clear();
			deliveredTokens.set(signature, id);
		} else {
			// The one read a repeated token costs, at most once a second per user and isolate (see
			// ENABLED_TRUST_MS). The primary, as for API keys: a replica may not have seen the disable yet.
			disabled = await isUserDisabled(getDb(c.env.DB), id, c.get("deps").now());
		}
		if (disabled) throw userDisabled();
		// After the write: a user token refused here still demotes the user's keys.
		if (options.role === "admin" && claims.role !== "admin") throw forbidden("this endpoint is for admins");
		c.set("user", { id, sub: claims.sub, role: claims.role });
		await next();
	};
}
