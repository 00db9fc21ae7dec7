/**
 * The byte encodings the gateway writes: base64, base64url and hex SHA-256. One copy of each, on
 * the ground floor, so keys, signatures, webhook ids and data URLs cannot drift apart.
 * It imports only jose: scripts/admin-create.mjs loads src/auth/key-format.ts, and through it
 * this file, in plain Node, where a relative import must name its file with `.ts`.
 */
import { base64url as joseBase64url } from "jose";

const encoder = new TextEncoder();
/** Below the engine's argument limit for String.fromCharCode(...chunk). */
const CHUNK = 0x8000;

/** Standard base64 with padding (data URLs, Standard Webhooks secrets and signatures, CSP hashes). */
export function base64(bytes: Uint8Array): string {
	let binary = "";
	for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
	return btoa(binary);
}

/** Standard base64 back to bytes; throws on text that is not base64. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
	return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** base64url without padding (RFC 4648 §5): what URLs, tokens and keys carry. */
export function base64url(bytes: Uint8Array): string {
	return joseBase64url.encode(bytes);
}

/** base64url (padded or not) back to bytes; throws on anything else. */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
	return new Uint8Array(joseBase64url.decode(text));
}

/** SHA-256 of text (as UTF-8) or bytes. */
export async function sha256(data: string | ArrayBuffer | ArrayBufferView): Promise<Uint8Array<ArrayBuffer>> {
	return new Uint8Array(await crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data));
}

/** SHA-256 as 64 lower-case hex digits (API key hashes, idempotency fingerprints). */
export async function sha256Hex(data: string | ArrayBuffer | ArrayBufferView): Promise<string> {
	return Array.from(await sha256(data), (b) => b.toString(16).padStart(2, "0")).join("");
}
