/**
 * API keys: long-lived secrets for clients that are configured once with one static secret
 * (midjourney-proxy clients, relays, bots), where a JWT that expires does not fit.
 *
 * A key is `mjk_` + 32 random bytes in base64url. Only its SHA-256 is stored: the key is a
 * high-entropy random secret, so a fast hash cannot be brute-forced and a slow one would only
 * cost every request. Lookups are never cached, so a revoked key fails on the very next
 * request in every isolate, and they read the primary database (not a read replica) for the
 * same reason.
 *
 * A key acts with the role its creator had when making it, capped by the role on the user's
 * row (which follows the token the user was issued last): an admin's key stops acting as admin once the
 * user is no longer an admin.
 */
import type { Context } from "hono";
import type { AppEnv, AuthUser } from "../context";
import { type ApiKeyListing, findLiveKeyByHash, insertApiKey, touchApiKey } from "../db/api-keys";
import { type Db, getDb } from "../db/client";
import { ApiError, unauthorized } from "../errors";
import { logError } from "../log";

/** What every key starts with; a JWT never does (its header encodes to "eyJ…"). */
export const API_KEY_PREFIX = "mjk_";
const KEY_BYTES = 32;
/** `mjk_` + base64url of 32 bytes (43 characters, no padding). */
const KEY_SHAPE = /^mjk_[A-Za-z0-9_-]{43}$/;
/** How much of a key lists show: `mjk_` and 8 characters (48 of its 256 bits). */
export const KEY_PREFIX_LENGTH = 12;
/** Live keys one user may hold; a leaked key is revoked and replaced, not accumulated. */
export const MAX_LIVE_KEYS = 20;
/** `last_used_at` is written at most this often per key, so a busy key costs no write per request. */
export const LAST_USED_INTERVAL_MS = 60_000;

const encoder = new TextEncoder();

/** True for anything shaped like a key attempt, so it never reaches the JWT verifier. */
export function isApiKey(token: string): boolean {
	return token.startsWith(API_KEY_PREFIX);
}

function base64url(bytes: Uint8Array): string {
	let binary = "";
	for (const b of bytes) binary += String.fromCharCode(b);
	return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function generateApiKey(): string {
	return API_KEY_PREFIX + base64url(crypto.getRandomValues(new Uint8Array(KEY_BYTES)));
}

/** Hex SHA-256 of the key: what the api_keys table stores and looks keys up by. */
export async function hashApiKey(key: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(key)));
	return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface CreatedApiKey extends ApiKeyListing {
	/** The whole key: returned once, at creation, and never stored. */
	key: string;
}

/** Makes a key for the user, acting with the user's current role; CONFLICT at the live-key limit. */
export async function createApiKey(db: Db, user: AuthUser, name: string, now: number): Promise<CreatedApiKey> {
	const key = generateApiKey();
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
	const now = Date.now();
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
