/**
 * Authentication on every route group, from one table (test/helpers/auth-cases.ts): each
 * refused token on each protected route is a 401 in that surface's envelope with the reason,
 * in every header a client may use; a user's token on an admin route is a 403; a refused
 * token creates no user.
 */
import { describe, expect, it } from "vitest";
import { call, tokenFor, uniqueSub } from "../helpers/api";
import {
	BAD_TOKENS,
	expectRefused,
	NO_TOKEN,
	PROTECTED_ROUTES,
	storedRole,
	TOKEN_HEADERS,
} from "../helpers/auth-cases";

const ADMIN_ROUTES = PROTECTED_ROUTES.filter((route) => route.adminOnly);

describe("every protected route refuses a request without a usable token: 401 in its envelope", () => {
	it.each(NO_TOKEN)("with $name: missing token", async ({ headers }) => {
		for (const { method, path, envelope } of PROTECTED_ROUTES) {
			await expectRefused(await call(path, { method, headers }), envelope, 401, /missing token/);
		}
	});

	it.each(BAD_TOKENS)("$name, in every header, and creates no user", async ({ make, says }) => {
		const sub = uniqueSub("badtoken");
		const token = await make(sub);
		for (const { method, path, envelope } of PROTECTED_ROUTES) {
			for (const { headers } of TOKEN_HEADERS) {
				await expectRefused(await call(path, { method, headers: headers(token) }), envelope, 401, says);
			}
		}
		expect(await storedRole(sub)).toBeNull();
	});
});

describe("admin routes refuse a user's valid token: 403 in their envelope", () => {
	it.each(ADMIN_ROUTES)("$group $method $path", async ({ method, path, envelope }) => {
		const token = await tokenFor(uniqueSub("not-admin"));
		const response = await call(path, { method, token });
		await expectRefused(response, envelope, 403, /^this endpoint is for admins$/);
	});

	it("the table covers every route group, and user routes do take a user's token", async () => {
		expect(new Set(PROTECTED_ROUTES.map((route) => route.group))).toEqual(
			new Set(["seed002", "seed001", "account", "admin", "album", "templates"]),
		);
		const token = await tokenFor(uniqueSub("user-routes"));
		for (const { method, path } of PROTECTED_ROUTES.filter((route) => !route.adminOnly)) {
			const response = await call(path, { method, token });
			await response.body?.cancel();
			expect([401, 403], `${method} ${path} answered ${response.status}`).not.toContain(response.status);
		}
	});
});

/** The midjourney-proxy routes (envelope {code, description}) and the stream routes (a ticket, not a token). */
const PROXY_ROUTES = [
	{ method: "POST", path: "/mj/submit/imagine" },
	{ method: "GET", path: `/mj/task/${crypto.randomUUID()}/fetch` },
	{ method: "POST", path: "/mj-fast/mj/task/list-by-condition" },
	{ method: "GET", path: "/mj/task/queue" },
] as const;

describe("a disabled user is refused at once on every surface: 403 in its envelope", () => {
	it("its token (in every header) and its API key, on every protected route, proxy and streams; enabling restores", async () => {
		const admin = await tokenFor(uniqueSub("matrix-admin"), "admin");
		const sub = uniqueSub("matrix-disabled");
		const token = await tokenFor(sub, "admin");
		// An admin while enabled, so admin routes too must answer "disabled", not "for admins".
		const created = await call("/api/admin/users", {
			method: "POST",
			token: admin,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ sub, role: "admin", quota: 1000 }),
		});
		expect(created.status, await created.text()).toBe(201);
		const made = await call(`/api/admin/users/${sub}/keys`, {
			method: "POST",
			token: admin,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ name: "matrix" }),
		});
		const key = ((await made.json()) as { data: { key: string } }).data.key;
		const ticketAnswer = await call("/api/user/stream-ticket", { method: "POST", token });
		const ticket = ((await ticketAnswer.json()) as { data: { ticket: string } }).data.ticket;

		const disable = await call(`/api/admin/users/${sub}/disable`, {
			method: "POST",
			token: admin,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ tasks: "finish" }),
		});
		expect(disable.status, await disable.text()).toBe(200);

		for (const secret of [token, key]) {
			for (const { method, path, envelope } of PROTECTED_ROUTES) {
				for (const { headers } of TOKEN_HEADERS) {
					const response = await call(path, { method, headers: headers(secret) });
					await expectRefused(response, envelope, 403, /^this user is disabled/);
				}
			}
			for (const { method, path } of PROXY_ROUTES) {
				const response = await call(path, { method, headers: { "mj-api-secret": secret } });
				const text = await response.text();
				expect(response.status, `${method} ${path}: ${text}`).toBe(403);
				expect((JSON.parse(text) as { description: string }).description, text).toMatch(/^this user is disabled/);
			}
		}
		// The stream a ticket opens: a ticket issued before the disable opens nothing after it.
		const stream = await call(`/api/user/stream?ticket=${encodeURIComponent(ticket)}`);
		await expectRefused(stream, "newapi", 403, /^this user is disabled/);

		const enable = await call(`/api/admin/users/${sub}/enable`, { method: "POST", token: admin });
		expect(enable.status, await enable.text()).toBe(200);
		for (const secret of [token, key]) {
			for (const { method, path } of PROTECTED_ROUTES) {
				const response = await call(path, { method, headers: { authorization: `Bearer ${secret}` } });
				const text = await response.text();
				expect([401, 403], `${method} ${path} answered ${response.status}: ${text}`).not.toContain(response.status);
			}
		}
	});
});
