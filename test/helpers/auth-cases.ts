/**
 * One table of authentication cases for every route group: the tokens the gateway must
 * refuse (with the reason it gives), the protected routes of each surface, and each
 * surface's error envelope. test/integration/auth-matrix.test.ts runs every case on every route.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { expect } from "vitest";
import { signToken } from "../../src/auth/token";
import { tokenFor } from "./api";

/** The error envelopes: seed 002, new-api (seed 001, account, admin), album (seed 000, templates). */
export type Envelope = "seed002" | "newapi" | "album";

export interface ProtectedRoute {
	/** The route group, for test names. */
	group: "seed002" | "seed001" | "account" | "admin" | "album" | "templates";
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	path: string;
	envelope: Envelope;
	/** Only admins may call it: a user's valid token is 403. */
	adminOnly: boolean;
}

/** Every protected route of every surface (harmless parameters: the token check comes first). */
export const PROTECTED_ROUTES: ProtectedRoute[] = [
	{
		group: "seed002",
		method: "GET",
		path: "/api/v1/trigger/submit?action=IMAGINE&prompt=a%20cat",
		envelope: "seed002",
		adminOnly: false,
	},
	{
		group: "seed002",
		method: "POST",
		path: "/api/v1/trigger/submit?action=IMAGINE&prompt=a%20cat",
		envelope: "seed002",
		adminOnly: false,
	},
	{
		group: "seed002",
		method: "GET",
		path: `/api/v1/task/fetch?_id=${crypto.randomUUID()}`,
		envelope: "seed002",
		adminOnly: false,
	},
	{
		group: "seed002",
		method: "POST",
		path: `/api/v1//task/fetch?_id=${crypto.randomUUID()}`,
		envelope: "seed002",
		adminOnly: false,
	},
	{ group: "seed002", method: "GET", path: "/api/v1/task/list", envelope: "seed002", adminOnly: false },
	{ group: "seed002", method: "POST", path: "/api/v1//task/list", envelope: "seed002", adminOnly: false },
	{ group: "seed001", method: "GET", path: "/api/mj/self", envelope: "newapi", adminOnly: false },
	{ group: "seed001", method: "GET", path: "/api/mj/", envelope: "newapi", adminOnly: true },
	{ group: "seed001", method: "GET", path: "/api/mj", envelope: "newapi", adminOnly: true },
	{ group: "seed001", method: "GET", path: "/api/mj/?channel_id=1", envelope: "newapi", adminOnly: true },
	{ group: "admin", method: "GET", path: "/api/admin/tasks?status=SUCCESS", envelope: "newapi", adminOnly: true },
	{ group: "account", method: "GET", path: "/api/user/self", envelope: "newapi", adminOnly: false },
	{ group: "account", method: "POST", path: "/api/user/stream-ticket", envelope: "newapi", adminOnly: false },
	{ group: "admin", method: "GET", path: "/api/admin/users/someone", envelope: "newapi", adminOnly: true },
	{ group: "admin", method: "PUT", path: "/api/admin/users/someone/quota", envelope: "newapi", adminOnly: true },
	{ group: "admin", method: "GET", path: "/api/admin/channels", envelope: "newapi", adminOnly: true },
	{ group: "admin", method: "POST", path: "/api/admin/channels", envelope: "newapi", adminOnly: true },
	{ group: "admin", method: "PATCH", path: "/api/admin/channels/1", envelope: "newapi", adminOnly: true },
	{ group: "admin", method: "GET", path: "/api/admin/banned-words", envelope: "newapi", adminOnly: true },
	{ group: "admin", method: "POST", path: "/api/admin/banned-words", envelope: "newapi", adminOnly: true },
	{ group: "admin", method: "DELETE", path: "/api/admin/banned-words/gore", envelope: "newapi", adminOnly: true },
	{ group: "album", method: "POST", path: "/userAlbum", envelope: "album", adminOnly: false },
	{ group: "album", method: "POST", path: "/userAlbum/create", envelope: "album", adminOnly: false },
	{ group: "templates", method: "POST", path: "/imageTemp/list", envelope: "album", adminOnly: false },
	{ group: "templates", method: "GET", path: "/imageTemp/list", envelope: "album", adminOnly: false },
	{ group: "templates", method: "POST", path: "/imageTemp/create", envelope: "album", adminOnly: true },
	{ group: "templates", method: "POST", path: "/imageTemp/update", envelope: "album", adminOnly: true },
	{ group: "templates", method: "POST", path: "/imageTemp/delete", envelope: "album", adminOnly: true },
	{ group: "templates", method: "POST", path: "/imageTemp/favorite", envelope: "album", adminOnly: false },
	{ group: "templates", method: "POST", path: "/imageTemp/unfavorite", envelope: "album", adminOnly: false },
];

/**
 * Asserts a refusal in the route's envelope with the HTTP status and a reason matching `says`:
 * seed 002 `{code: 0, description}`, new-api `{success: false, message}`, album `{code: status, msg}`.
 */
export async function expectRefused(response: Response, envelope: Envelope, status: number, says: RegExp) {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	const body = JSON.parse(text) as Record<string, unknown>;
	switch (envelope) {
		case "seed002":
			expect(Object.keys(body).sort(), text).toEqual(["code", "description"]);
			expect(body.code, text).toBe(0);
			expect(body.description, text).toMatch(says);
			break;
		case "newapi":
			expect(Object.keys(body).sort(), text).toEqual(["message", "success"]);
			expect(body.success, text).toBe(false);
			expect(body.message, text).toMatch(says);
			break;
		case "album":
			expect(Object.keys(body).sort(), text).toEqual(["code", "msg"]);
			expect(body.code, text).toBe(status);
			expect(body.msg, text).toMatch(says);
			break;
	}
}

const secret = new TextEncoder().encode(env.JWT_SECRET);
const nowSeconds = () => Math.floor(Date.now() / 1000);

function base64url(value: string | Uint8Array): string {
	const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
	let binary = "";
	for (const b of bytes) binary += String.fromCharCode(b);
	return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A compact JWT with any header, signed with HMAC-SHA256 under the real secret (or unsigned). */
async function handMade(header: object, payload: object, signed: boolean): Promise<string> {
	const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
	if (!signed) return `${input}.`;
	const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
	const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
	return `${input}.${base64url(new Uint8Array(mac))}`;
}

export interface BadToken {
	name: string;
	/** The reason the 401 must give. */
	says: RegExp;
	make: (sub: string) => Promise<string>;
}

/** Tokens every protected route refuses with 401. */
export const BAD_TOKENS: BadToken[] = [
	{ name: "a garbage string (malformed)", says: /malformed/, make: async () => "this-is-not-a-jwt" },
	{ name: "three dots of nothing (malformed)", says: /malformed/, make: async () => "not.a.token" },
	{
		name: "a token signed with another secret",
		says: /signature is invalid/,
		make: (sub) => signToken({ sub, role: "user" }, "another-secret-0123456789abcdef0123456789", "1h"),
	},
	{
		name: "a token with a tampered payload",
		says: /signature is invalid/,
		make: async (sub) => {
			const [header, , signature] = (await tokenFor(sub)).split(".");
			const payload = base64url(JSON.stringify({ sub, role: "admin", exp: nowSeconds() + 3600 }));
			return `${header}.${payload}.${signature}`;
		},
	},
	{
		name: "an expired token",
		says: /expired/,
		make: (sub) =>
			new SignJWT({ role: "user" })
				.setProtectedHeader({ alg: "HS256", typ: "JWT" })
				.setSubject(sub)
				.setIssuedAt(nowSeconds() - 3600)
				.setExpirationTime(nowSeconds() - 60)
				.sign(secret),
	},
	{
		name: "an `alg: none` token",
		says: /algorithm not allowed/,
		make: (sub) =>
			handMade({ alg: "none", typ: "JWT" }, { sub, role: "user", iat: nowSeconds(), exp: nowSeconds() + 3600 }, false),
	},
	{
		name: "an HS512 token under the right secret",
		says: /algorithm not allowed/,
		make: (sub) =>
			new SignJWT({ role: "user" })
				.setProtectedHeader({ alg: "HS512", typ: "JWT" })
				.setSubject(sub)
				.setExpirationTime("1h")
				.sign(secret),
	},
	{
		name: "a token whose header claims RS256 (key confusion)",
		says: /algorithm not allowed/,
		make: (sub) => handMade({ alg: "RS256", typ: "JWT" }, { sub, role: "user", exp: nowSeconds() + 3600 }, true),
	},
	{
		name: "a token without exp",
		says: /exp/,
		make: (sub) =>
			new SignJWT({ role: "user" }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject(sub).sign(secret),
	},
	{
		name: "a token living longer than JWT_MAX_LIFETIME (31d over the default 30d)",
		says: /^token lifetime exceeds the maximum of 30d$/,
		make: (sub) => signToken({ sub, role: "user" }, env.JWT_SECRET, "31d"),
	},
	{
		name: "a token without iat while JWT_MAX_LIFETIME is set",
		says: /token lifetime exceeds the maximum of 30d: the token has no iat/,
		make: (sub) =>
			new SignJWT({ role: "user" })
				.setProtectedHeader({ alg: "HS256", typ: "JWT" })
				.setSubject(sub)
				.setExpirationTime("1h")
				.sign(secret),
	},
	{
		name: "a token without sub",
		says: /sub/,
		make: () =>
			new SignJWT({ role: "user" })
				.setProtectedHeader({ alg: "HS256", typ: "JWT" })
				.setExpirationTime("1h")
				.sign(secret),
	},
	{
		name: "a token with an empty sub",
		says: /sub/,
		make: () =>
			new SignJWT({ role: "user", sub: "" })
				.setProtectedHeader({ alg: "HS256", typ: "JWT" })
				.setExpirationTime("1h")
				.sign(secret),
	},
	{
		name: 'a token with role "root"',
		says: /role must be user or admin/,
		make: (sub) =>
			new SignJWT({ role: "root" })
				.setProtectedHeader({ alg: "HS256", typ: "JWT" })
				.setSubject(sub)
				.setExpirationTime("1h")
				.sign(secret),
	},
];

/** The ways a client may send a token: Bearer, the bare token (the album seed's header), mj-api-secret. */
export const TOKEN_HEADERS: { name: string; headers: (token: string) => Record<string, string> }[] = [
	{ name: "Authorization: Bearer", headers: (token) => ({ authorization: `Bearer ${token}` }) },
	{ name: "a bare Authorization", headers: (token) => ({ authorization: token }) },
	{ name: "mj-api-secret", headers: (token) => ({ "mj-api-secret": token }) },
];

/** Headers that carry no token at all. */
export const NO_TOKEN: { name: string; headers: Record<string, string> }[] = [
	{ name: "no header", headers: {} },
	{ name: "a blank mj-api-secret", headers: { "mj-api-secret": "  " } },
];

/** The role stored for a sub, or null when the gateway never created the user. */
export async function storedRole(sub: string): Promise<string | null> {
	const row = await env.DB.prepare("SELECT role FROM users WHERE sub = ?").bind(sub).first<{ role: string }>();
	return row?.role ?? null;
}
