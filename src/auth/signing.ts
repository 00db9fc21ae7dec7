/**
 * HMAC-SHA256 signatures for capability URLs the gateway hands out: image links and the
 * per-task callback URL given to upstreams. Keyed by SIGNING_SECRET, separate per purpose.
 */
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** `album-origin`: links to the user's own photo behind an album picture (src/images/album-files.ts). */
export type SignaturePurpose = "image" | "upstream-callback" | "album-origin";

function hmacKey(secret: string | undefined): Promise<CryptoKey> {
	if (!secret) throw new Error("SIGNING_SECRET is not configured");
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

function toBase64Url(bytes: ArrayBuffer): string {
	let binary = "";
	for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
	return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(value: string): Uint8Array | null {
	// A length of 4n+1 is never valid base64 (atob throws on it).
	if (!/^[A-Za-z0-9_-]{1,128}$/.test(value) || value.length % 4 === 1) return null;
	const binary = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
	return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Signatures are deterministic: a list page of recent tasks signs the same ids again and again. */
const signed = new Map<string, string>();
const SIGNED_LIMIT = 20_000;

export async function sign(env: Env, purpose: SignaturePurpose, value: string): Promise<string> {
	const memo = `${env.SIGNING_SECRET}\u0000${purpose}:${value}`;
	const known = signed.get(memo);
	if (known) return known;
	const signature = await computeSignature(env, purpose, value);
	if (signed.size >= SIGNED_LIMIT) signed.clear();
	signed.set(memo, signature);
	return signature;
}

async function computeSignature(env: Env, purpose: SignaturePurpose, value: string): Promise<string> {
	const mac = await crypto.subtle.sign(
		"HMAC",
		await hmacKey(env.SIGNING_SECRET),
		encoder.encode(`${purpose}:${value}`),
	);
	return toBase64Url(mac);
}

/** Constant-time check (crypto.subtle.verify). */
export async function verify(
	env: Env,
	purpose: SignaturePurpose,
	value: string,
	signature: string | undefined,
): Promise<boolean> {
	if (!signature) return false;
	const mac = fromBase64Url(signature);
	if (!mac) return false;
	return crypto.subtle.verify("HMAC", await hmacKey(env.SIGNING_SECRET), mac, encoder.encode(`${purpose}:${value}`));
}
