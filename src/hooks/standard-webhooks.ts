/**
 * Standard Webhooks (https://www.standardwebhooks.com): secrets, signatures and event ids.
 * Pure functions on Web Crypto, so receivers can check them with any library of the spec.
 */
import type { Deps } from "../deps";
import { base64, base64url, fromBase64, sha256 } from "../encoding";

const encoder = new TextEncoder();

const SECRET_PREFIX = "whsec_";
/** The spec allows 24 to 64 bytes; 32 (256 bits) is as strong as HMAC-SHA256 gets. */
const SECRET_BYTES = 32;

/** A new signing secret: `whsec_` + base64 of random bytes. */
export function generateWebhookSecret(deps: Pick<Deps, "randomBytes">): string {
	return SECRET_PREFIX + base64(deps.randomBytes(SECRET_BYTES));
}

function secretKey(secret: string): Promise<CryptoKey> {
	if (!secret.startsWith(SECRET_PREFIX)) throw new Error("a webhook secret starts with whsec_");
	const raw = fromBase64(secret.slice(SECRET_PREFIX.length));
	return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/**
 * The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per secret,
 * space-separated (the spec's way of signing with a new and an old secret during a rotation).
 */
export async function signatureHeader(
	secrets: readonly string[],
	id: string,
	timestamp: number,
	body: string,
): Promise<string> {
	const content = encoder.encode(`${id}.${timestamp}.${body}`);
	const entries = await Promise.all(
		secrets.map(async (secret) => {
			const mac = await crypto.subtle.sign("HMAC", await secretKey(secret), content);
			return `v1,${base64(new Uint8Array(mac))}`;
		}),
	);
	return entries.join(" ");
}

/**
 * The `webhook-id` of a task's end: derived from the task id and its final status, so every
 * queue message about the same end (retries, duplicates) names the same event.
 */
export function eventIdFor(taskId: string, status: string): Promise<string> {
	return hashedId(`task-end:${taskId}:${status}`);
}

/** The `webhook-id` of a change before the task's end: one per task version. */
export function changeEventIdFor(taskId: string, seq: number): Promise<string> {
	return hashedId(`task-change:${taskId}:${seq}`);
}

async function hashedId(name: string): Promise<string> {
	return `msg_${base64url(await sha256(name)).slice(0, 32)}`;
}
