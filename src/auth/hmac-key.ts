/** HMAC-SHA256 keys for the gateway's secrets (JWT_SECRET, SIGNING_SECRET), imported once per secret. */
import { type ConfigVars, config } from "../config";
import { secretsNotConfigured } from "../errors";

const encoder = new TextEncoder();
/** Importing is the costly part of an HMAC: given raw bytes, jose and crypto.subtle would import on every call. */
const keys = new Map<string, Promise<CryptoKey>>();

/** The key for `secret`; throws naming `name` when the secret is not configured. */
export function hmacKey(secret: string | undefined, name: string): Promise<CryptoKey> {
	if (!secret) throw new Error(`${name} is not configured`);
	let key = keys.get(secret);
	if (!key) {
		key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
			"sign",
			"verify",
		]);
		keys.set(secret, key);
	}
	return key;
}

/**
 * Fails closed (503 in the surface's envelope) when production's secrets are unusable: a token
 * signed with a published secret is never accepted and no link is signed with one. Called
 * before any cached answer, since a cache hit would skip the key.
 */
export function requireUsableSecrets(env: ConfigVars): void {
	if (config(env).secretsProblem) throw secretsNotConfigured();
}
