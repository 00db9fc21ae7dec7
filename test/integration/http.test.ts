/** What every request meets first: CORS, the body limit, health, and errors for unknown routes. */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { API_BODY_LIMIT, allowedOrigin, createApp } from "../../src/app";
import { BASE, call, json, tokenFor, uniqueSub } from "../helpers/api";

describe("CORS", () => {
	it("answers a browser's preflight for the API", async () => {
		const response = await call("/api/v1/task/list", {
			method: "OPTIONS",
			headers: {
				origin: "https://app.example.com",
				"access-control-request-method": "POST",
				"access-control-request-headers": "authorization, content-type",
			},
		});
		expect(response.status).toBe(204);
		expect(response.headers.get("access-control-allow-origin")).toBe("*");
		expect(response.headers.get("access-control-allow-headers")).toMatch(/authorization/);
		expect(response.headers.get("access-control-allow-methods")).toMatch(/POST/);
	});

	it("lets a browser read the paging and bookmark headers", async () => {
		const response = await call("/api/v1/task/list", {
			token: await tokenFor(uniqueSub()),
			headers: { origin: "https://app.example.com" },
		});
		expect(response.headers.get("access-control-expose-headers")).toMatch(/x-next-cursor/);
		expect(response.headers.get("access-control-expose-headers")).toMatch(/x-d1-bookmark/);
	});

	it("a request without an Origin gets the CORS headers a browser's request gets, on answers, errors and assets", async () => {
		const corsHeaders = (response: Response) =>
			Object.fromEntries(
				[...response.headers].filter(([name]) => name.startsWith("access-control-") || name === "vary"),
			);
		const token = await tokenFor(uniqueSub());
		for (const [path, init] of [
			["/health", {}],
			["/api/v1/task/list", { token }],
			["/api/v1/task/fetch?_id=nope", { token }],
			["/api/v1/nowhere", {}],
			["/mj/task/list", {}],
			["/", {}],
		] as const) {
			const plain = await call(path, init);
			const browser = await call(path, { ...init, headers: { origin: "https://app.example.com" } });
			expect(plain.status, path).toBe(browser.status);
			expect(corsHeaders(plain), path).toEqual(corsHeaders(browser));
			expect(plain.headers.get("access-control-allow-origin"), path).toBe("*");
			expect(plain.headers.get("vary"), path).toMatch(/Origin/);
		}
		// With a list of origins, no Origin means no Allow-Origin, as for an origin not on the list.
		const listed = await createApp().fetch(
			new Request(`${BASE}/health`),
			{ ...env, CORS_ORIGINS: "https://a.example.com" },
			createExecutionContext(),
		);
		expect(listed.headers.get("access-control-allow-origin")).toBeNull();
		expect(listed.headers.get("access-control-expose-headers")).toMatch(/x-d1-bookmark/);
	});

	it("with a list of origins, allows only those", async () => {
		const app = createApp();
		const ask = (origin: string) =>
			app.fetch(
				new Request(`${BASE}/health`, { headers: { origin } }),
				{ ...env, CORS_ORIGINS: "https://a.example.com, https://b.example.com" },
				createExecutionContext(),
			);
		expect((await ask("https://b.example.com")).headers.get("access-control-allow-origin")).toBe(
			"https://b.example.com",
		);
		expect((await ask("https://evil.example.com")).headers.get("access-control-allow-origin")).toBeNull();
		expect(allowedOrigin("https://x.test", undefined)).toBe("*");
	});
});

describe("request bodies", () => {
	it("a body over the limit is refused with 413 in the surface's envelope, before any work", async () => {
		const response = await call("/api/v1/trigger/submit", {
			method: "POST",
			token: await tokenFor(uniqueSub()),
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ action: "IMAGINE", prompt: "x".repeat(API_BODY_LIMIT) }),
		});
		expect(response.status).toBe(413);
		expect(await json(response)).toEqual({ code: 0, description: `request body is over ${API_BODY_LIMIT} bytes` });
	});

	it("a body over the limit is refused with the CORS headers every answer gets", async () => {
		const response = await call("/api/v1/trigger/submit", {
			method: "POST",
			token: await tokenFor(uniqueSub()),
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ action: "IMAGINE", prompt: "x".repeat(API_BODY_LIMIT) }),
		});
		expect(response.status).toBe(413);
		expect(response.headers.get("access-control-allow-origin")).toBe("*");
		expect(response.headers.get("access-control-expose-headers")).toMatch(/x-d1-bookmark/);
	});
});

describe("the D1 bookmark", () => {
	const BOOKMARK = "00000000-00000001-00000000-0123456789abcdef0123456789abcdef";

	it("goes back on a refused sign-in as it came (no session was opened)", async () => {
		for (const token of ["not-a-token", undefined]) {
			const response = await call("/api/v1/task/list", { token, headers: { "x-d1-bookmark": BOOKMARK } });
			expect(response.status).toBe(401);
			expect(response.headers.get("x-d1-bookmark")).toBe(BOOKMARK);
			expect(response.headers.get("access-control-expose-headers")).toMatch(/x-d1-bookmark/);
		}
	});

	it("comes back on a list and on the route's own refusal, from the session the route used", async () => {
		const token = await tokenFor(uniqueSub());
		const listed = await call("/api/v1/task/list", { token, headers: { "x-d1-bookmark": BOOKMARK } });
		expect(listed.status).toBe(200);
		expect(listed.headers.get("x-d1-bookmark")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/);
		const refused = await call("/api/v1/task/list?limit=0", { token, headers: { "x-d1-bookmark": BOOKMARK } });
		expect(refused.status).toBe(400);
		expect(refused.headers.get("x-d1-bookmark")).toBe(BOOKMARK);
	});
});

describe("health and unknown routes", () => {
	it("GET /health needs no token", async () => {
		const response = await call("/health");
		expect(response.status).toBe(200);
		expect(await json(response)).toEqual({ ok: true });
	});

	it.each([
		["/api/v1/nope", { code: 0, description: "no route for GET /api/v1/nope" }],
		["/api/mj/nope", { success: false, message: "no route for GET /api/mj/nope" }],
		["/mj/nope", { code: 3, description: "no route for GET /mj/nope" }],
		["/mj-fast/mj/nope", { code: 3, description: "no route for GET /mj-fast/mj/nope" }],
		["/api/v1", { code: 0, description: "no route for GET /api/v1" }],
		["/userAlbum/nope", { code: 800, msg: "no route for GET /userAlbum/nope" }],
		["/nope", { error: { code: "NOT_FOUND", message: "no route for GET /nope" } }],
	])("an unknown route %s answers 404 in that surface's envelope", async (path, body) => {
		// Authenticated surfaces check the token before routing; with one, the route is unknown.
		const response = await call(path, { token: await tokenFor(uniqueSub()) });
		expect(response.status).toBe(404);
		expect(await json(response)).toEqual(body);
	});
});
