/**
 * HMAC-SHA256 signatures for capability URLs the gateway hands out: image links and the
 * per-task callback URL given to upstreams. Keyed by SIGNING_SECRET, separate per purpose.
 */
import { base64url, fromBase64url } from "../encoding";
import { hmacKey, requireUsableSecrets } from "./hmac-key";

const encoder = new TextEncoder();

/** `album-origin`: links to the user's own photo behind an album picture (src/images/album-files.ts). */
/** `stream-ticket`: the short-lived tickets that open live-progress streams (src/live/ticket.ts). */
export type SignaturePurpose = "image" | "upstream-callback" | "album-origin" | "stream-ticket";

const signingKey = (env: Env) => hmacKey(env.SIGNING_SECRET, "SIGNING_SECRET");

/** The signature's bytes, or null for anything that is not short unpadded base64url. */
function signatureBytes(value: string): Uint8Array<ArrayBuffer> | null {
	if (!/^[A-Za-z0-9_-]{1,128}$/.test(value)) return null;
	try {
		// Copied into an ArrayBuffer of its own, as crypto.subtle.verify takes.
		return fromBase64url(value);
	} catch {
		// A length of 4n+1 is never valid base64.
		return null;
	}
}

/**
 * Signatures are deterministic: a list page of recent tasks signs the same ids again and again.
 * Kept by secret, then purpose, then value, so a lookup builds no key string.
 */
const signed = new Map<string, Map<SignaturePurpose, Map<string, string>>>();
let signedCount = 0;
const SIGNED_LIMIT = 20_000;

function signedOf(env: Env, purpose: SignaturePurpose): Map<string, string> {
	const secret = env.SIGNING_SECRET;
	let byPurpose = signed.get(secret);
	if (!byPurpose) {
		byPurpose = new Map();
		signed.set(secret, byPurpose);
	}
	let values = byPurpose.get(purpose);
	if (!values) {
		values = new Map();
		byPurpose.set(purpose, values);
	}
	return values;
}

/** The signature this isolate already made for `value`, without waiting: undefined when it has not. */
export function knownSignature(env: Env, purpose: SignaturePurpose, value: string): string | undefined {
	requireUsableSecrets(env);
	return signedOf(env, purpose).get(value);
}

export async function sign(env: Env, purpose: SignaturePurpose, value: string): Promise<string> {
	const known = knownSignature(env, purpose, value);
	if (known) return known;
	const signature = await computeSignature(env, purpose, value);
	if (signedCount >= SIGNED_LIMIT) {
		signed.clear();
		signedCount = 0;
	}
	const values = signedOf(env, purpose);
	if (!values.has(value)) signedCount++;
	values.set(value, signature);
	return signature;
}

/**
 * sign() of each value (a null stays null), in order, in one wait: the values this isolate signed
 * before (a list page's usual case) without a promise each, the rest side by side.
 */
export async function signEach(
	env: Env,
	purpose: SignaturePurpose,
	values: readonly (string | null)[],
): Promise<(string | null)[]> {
	// Looked up once a page (and the secrets checked) on the first value to sign, as sign() would.
	let signatures: Map<string, string> | undefined;
	const out: (string | null)[] = [];
	let missing: Promise<void>[] | undefined;
	for (const [i, value] of values.entries()) {
		if (value !== null && signatures === undefined) {
			requireUsableSecrets(env);
			signatures = signedOf(env, purpose);
		}
		const known = value === null ? null : signatures?.get(value);
		out.push(known ?? null);
		if (known === undefined && value !== null) {
			missing ??= [];
			missing.push(
				sign(env, purpose, value).then((signature) => {
					out[i] = signature;
				}),
			);
		}
	}
	if (missing) await Promise.all(missing);
	return out;
}

async function computeSignature(env: Env, purpose: SignaturePurpose, value: string): Promise<string> {
	const mac = await crypto.subtle.sign("HMAC", await signingKey(env), encoder.encode(`${purpose}:${value}`));
	return base64url(new Uint8Array(mac));
}

/** Constant-time check (crypto.subtle.verify). */
export async function verify(
	env: Env,
	purpose: SignaturePurpose,
	value: string,
	signature: string | undefined,
): Promise<boolean> {
	requireUsableSecrets(env);
	if (!signature) return false;
	const mac = signatureBytes(signature);
	if (!mac) return false;
	return crypto.subtle.verify("HMAC", await signingKey(env), mac, encoder.encode(`${purpose}:${value}`));
}
