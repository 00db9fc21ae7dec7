/**
 * The API key format and its hash: the Worker (src/auth/api-keys.ts) and the first-admin command
 * (scripts/admin-create.mjs, run by Node) both use this file, so a key the command prints is one
 * the gateway accepts. Node loads it as it is, so its one import names the file with `.ts`.
 *
 * A key is `mjk_` + 32 random bytes in base64url. Only its SHA-256 is stored: the key is a
 * high-entropy random secret, so a fast hash cannot be brute-forced and a slow one would only
 * cost every request.
 */

import { base64url, sha256Hex } from "../encoding.ts";

/** What every key starts with; a JWT never does (its header encodes to "eyJ…"). */
export const API_KEY_PREFIX = "mjk_";
const KEY_BYTES = 32;
/** `mjk_` + base64url of 32 bytes (43 characters, no padding). */
export const KEY_SHAPE = /^mjk_[A-Za-z0-9_-]{43}$/;
/** How much of a key lists show: `mjk_` and 8 characters (48 of its 256 bits). */
export const KEY_PREFIX_LENGTH = 12;
/** Live keys one user may hold; a leaked key is revoked and replaced, not accumulated. */
export const MAX_LIVE_KEYS = 20;

/** True for anything shaped like a key attempt, so it never reaches the JWT verifier. */
export function isApiKey(token: string): boolean {
	return token.startsWith(API_KEY_PREFIX);
}

/** `randomBytes` is Deps' (src/deps.ts); the first-admin command passes Node's crypto. */
export function generateApiKey(randomBytes: (length: number) => Uint8Array): string {
	return API_KEY_PREFIX + base64url(randomBytes(KEY_BYTES));
}

/** Hex SHA-256 of the key: what the api_keys table stores and looks keys up by. */
export async function hashApiKey(key: string): Promise<string> {
	return sha256Hex(key);
}
