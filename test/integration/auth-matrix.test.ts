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
