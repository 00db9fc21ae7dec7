/**
 * API keys: long-lived secrets for clients that are configured once with one static secret
 * (midjourney-proxy clients, relays, bots), where a JWT that expires does not fit.
 *
 * The key format and hash live in ./key-format (shared with the first-admin command). Lookups
 * are never cached, so a revoked key fails on the very next request in every isolate, and they
 * read the primary database (not a read replica) for the same reason.
 *
 * A key acts with the role its creator had when making it, capped by the role on the user's
 * row (which follows the token the user was issued last): an admin's key stops acting as admin once the
 * user is no longer an admin.
 */
import type { Context } from "hono";
import type { AppEnv, AuthUser } from "../context";
import { type ApiKeyListing, findLiveKeyByHash, insertApiKey, touchApiKey } from "../db/api-keys";
import { type Db, getDb } from "../db/client";
import { type Deps, runtimeDeps } from "../deps";
import { ApiError, unauthorized, userDisabled } from "../errors";
import { logError } from "../log";
import { generateApiKey, hashApiKey, KEY_PREFIX_LENGTH, KEY_SHAPE, MAX_LIVE_KEYS } from "./key-format";

export {
	API_KEY_PREFIX,
	generateApiKey,
	hashApiKey,
	isApiKey,
	KEY_PREFIX_LENGTH,
	MAX_LIVE_KEYS,
} from "./key-format";

/** `last_used_at` is written at most this often per key, so a busy key costs no write per request. */
export const LAST_USED_INTERVAL_MS = 60_000;

export interface CreatedApiKey extends ApiKeyListing {
	/** The whole key: returned once, at creation, and never stored. */
	key: string;
}

/** Makes a key for the user, acting with the user's current role; CONFLICT at the live-key limit. */
export async function createApiKey(
	db: Db,
	user: AuthUser,
	name: string,
	now: number,
	deps: Pick<Deps, "randomBytes"> = runtimeDeps(),
): Promise<CreatedApiKey> {
	const key = generateApiKey(deps.randomBytes);
	const row = await insertApiKey(
		db,
		{
			userId: user.id,
			name,
			prefix: key.slice(0, KEY_PREFIX_LENGTH),
			hash: await hashApiKey(key),
			role: user.role,
			createdAt: now,
		},
		MAX_LIVE_KEYS,
	);
	if (!row) throw new ApiError("CONFLICT", `at most ${MAX_LIVE_KEYS} live API keys per user: revoke one first`);
	return { ...row, key };
}

/**
 * The user a key acts as. Unknown, revoked and malformed keys get the same 401 (the reason
 * never says which, and never echoes the key). Records the use in the background.
 */
export async function authenticateApiKey(c: Context<AppEnv>, key: string): Promise<AuthUser> {
	if (!KEY_SHAPE.test(key)) throw unauthorized("invalid API key");
	// The primary, not the request's session: a replica may not have seen a revocation yet.
	const primary = getDb(c.env.DB);
	const found = await findLiveKeyByHash(primary, await hashApiKey(key));
	if (!found) throw unauthorized("invalid API key");
	if (found.userDisabledAt !== null) throw userDisabled();
	const now = c.get("deps").now();
	if (found.lastUsedAt === null || found.lastUsedAt < now - LAST_USED_INTERVAL_MS) {
		inBackground(c, touchApiKey(primary, found.id, now, LAST_USED_INTERVAL_MS));
	}
	const role = found.keyRole === "admin" && found.userRole === "admin" ? "admin" : "user";
	return { id: found.userId, sub: found.sub, role };
}

/** Runs work after the response when the runtime allows it; a failure is logged, never sent. */
function inBackground(c: Context<AppEnv>, work: Promise<void>): void {
	const logged = work.catch((error: unknown) => logError("recording an API key's use failed", error));
	try {
		c.executionCtx.waitUntil(logged);
	} catch {
		// No execution context (app.fetch called without one, as some tests do): it still runs.
	}
}
