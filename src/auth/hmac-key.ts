/** HMAC-SHA256 keys for the gateway's secrets (JWT_SECRET, SIGNING_SECRET), imported once per secret. */
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
