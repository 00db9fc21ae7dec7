/**
 * Who may use the seed-002 endpoints: an HS256 token with `exp` and `sub` (role user or
 * admin), sent as `Authorization: Bearer` or `mj-api-secret`. Everything else is a 401 in
 * the seed's `{code: 0, description}` envelope, with a description that says why.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/token";
import { call, json, tokenFor, uniqueSub } from "../helpers/api";
import { fetchTask, taskRowCount, UUID } from "../helpers/surface";

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

/** The seed-002 endpoints, each in its GET and POST form, with harmless valid params. */
const ENDPOINTS: { name: string; path: string; method: "GET" | "POST" }[] = [
	{ name: "GET submit", path: "/api/v1/trigger/submit?action=IMAGINE&prompt=a%20cat", method: "GET" },
	{ name: "POST submit", path: "/api/v1/trigger/submit?action=IMAGINE&prompt=a%20cat", method: "POST" },
	{ name: "GET fetch", path: `/api/v1/task/fetch?_id=${crypto.randomUUID()}`, method: "GET" },
	{ name: "POST fetch", path: `/api/v1//task/fetch?_id=${crypto.randomUUID()}`, method: "POST" },
	{ name: "GET list", path: "/api/v1/task/list", method: "GET" },
	{ name: "POST list", path: "/api/v1//task/list", method: "POST" },
];

async function expectUnauthorized(response: Response, says: RegExp): Promise<void> {
	const body = await json<{ code: number; description: string }>(response);
	expect(response.status, JSON.stringify(body)).toBe(401);
	expect(Object.keys(body).sort()).toEqual(["code", "description"]);
	expect(body.code).toBe(0);
	expect(body.description).toMatch(says);
}

async function userRow(sub: string) {
	return env.DB.prepare("SELECT role FROM users WHERE sub = ?").bind(sub).first<{ role: string }>();
}

describe("requests without a usable token are 401 {code: 0, description}", () => {
	it.each(ENDPOINTS)("$name without any token", async ({ path, method }) => {
		await expectUnauthorized(await call(path, { method }), /missing token/);
	});

	it("an empty mj-api-secret header counts as no token", async () => {
		await expectUnauthorized(await call("/api/v1/task/list", { headers: { "mj-api-secret": "  " } }), /missing token/);
	});

	const badTokens: { name: string; says: RegExp; make: (sub: string) => Promise<string> }[] = [
		{
			name: "a token signed with another secret",
			says: /signature is invalid/,
			make: (sub) => signToken({ sub, role: "user" }, "another-secret-0123456789abcdef0123456789", "1h"),
		},
		{
			name: "an `alg: none` token",
			says: /algorithm not allowed/,
			make: (sub) =>
				handMade(
					{ alg: "none", typ: "JWT" },
					{ sub, role: "user", iat: nowSeconds(), exp: nowSeconds() + 3600 },
					false,
				),
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
		{ name: "a garbage string", says: /malformed/, make: async () => "this-is-not-a-jwt" },
		{
			name: "a token with a tampered payload",
			says: /signature is invalid/,
			make: async (sub) => {
				const [header, , signature] = (await tokenFor(sub)).split(".");
				const payload = base64url(JSON.stringify({ sub, role: "admin", exp: nowSeconds() + 3600 }));
				return `${header}.${payload}.${signature}`;
			},
		},
	];

	it.each(badTokens)("$name, on every endpoint and in both headers", async ({ make, says }) => {
		const sub = uniqueSub("badtoken");
		const token = await make(sub);
		for (const { path, method } of ENDPOINTS) {
			await expectUnauthorized(await call(path, { method, token }), says);
			await expectUnauthorized(await call(path, { method, headers: { "mj-api-secret": token } }), says);
		}
		// A refused token creates nothing.
		expect(await userRow(sub)).toBeNull();
	});
});

describe("accepted tokens", () => {
	it("mj-api-secret works like Authorization: Bearer, for the same user", async () => {
		const sub = uniqueSub();
		const token = await tokenFor(sub);
		const submitted = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=a%20secret%20cat", {
			headers: { "mj-api-secret": token },
		});
		expect(submitted.status).toBe(200);
		const { result } = await json<{ result: string }>(submitted);
		expect(result).toMatch(UUID);
		// Bearer sees the task submitted with mj-api-secret, and the other way round.
		expect(await fetchTask(token, result)).toMatchObject({ _id: result, prompt: "a secret cat" });
		const viaSecret = await call(`/api/v1/task/fetch?_id=${result}`, { headers: { "mj-api-secret": token } });
		expect(viaSecret.status).toBe(200);
		expect(await json(viaSecret)).toMatchObject({ _id: result });
		const list = await call("/api/v1/task/list", { method: "POST", headers: { "mj-api-secret": token } });
		expect((await json<{ _id: string }[]>(list)).map((t) => t._id)).toEqual([result]);
	});

	it("the Bearer scheme is case-insensitive", async () => {
		const token = await tokenFor(uniqueSub());
		const response = await call("/api/v1/task/list", { headers: { authorization: `bearer ${token}` } });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual([]);
	});

	it("creates the user on first use, so a new sub can submit right away", async () => {
		const sub = uniqueSub("newcomer");
		expect(await userRow(sub)).toBeNull();
		const token = await tokenFor(sub);
		const response = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=a%20first%20task", { token });
		expect(response.status).toBe(200);
		expect(await json(response)).toMatchObject({ code: 1 });
		expect(await userRow(sub)).toEqual({ role: "user" });
		expect(await taskRowCount(sub)).toBe(1);
	});

	it("an admin token may use the seed-002 endpoints too", async () => {
		const sub = uniqueSub("admin");
		const response = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=an%20admin%20task", {
			token: await tokenFor(sub, "admin"),
		});
		expect(response.status).toBe(200);
		expect(await userRow(sub)).toEqual({ role: "admin" });
	});
});
