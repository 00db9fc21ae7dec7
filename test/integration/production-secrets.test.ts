/**
 * Production refuses to run on secrets anyone knows: with ENVIRONMENT "production" and a
 * JWT_SECRET or SIGNING_SECRET that is a published development value ("change-me"), shorter
 * than 32 characters or unset, every request that needs a secret answers 503 "the gateway's
 * secrets are not configured" in its surface's envelope (never a 500, never a token accepted),
 * and the reason is logged once. Proper secrets work.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { sign } from "../../src/auth/signing";
import { signToken } from "../../src/auth/token";
import { upsertUser } from "../../src/db/users";
import { BASE, uniqueSub } from "../helpers/api";
import { db } from "../helpers/db";

/** The values .dev.vars.example used to hold: public, so anyone could sign tokens with them. */
const PUBLISHED_JWT = "dev-jwt-secret-change-me-0123456789abcdef";
const PUBLISHED_SIGNING = "dev-signing-secret-change-me-0123456789";
const REFUSAL = "the gateway's secrets are not configured";

const production = (secrets: { JWT_SECRET?: string; SIGNING_SECRET?: string }): Env => ({
	...env,
	ENVIRONMENT: "production",
	...secrets,
});

/** A random secret of `length` characters, so no other test has parsed these values yet. */
const randomSecret = (length: number) =>
	Array.from(
		crypto.getRandomValues(new Uint8Array(length)),
		(b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36],
	).join("");

function request(target: Env, path: string, token: string, init: RequestInit = {}): Promise<Response> {
	const headers = new Headers(init.headers);
	headers.set("authorization", `Bearer ${token}`);
	return Promise.resolve(
		createApp().fetch(new Request(`${BASE}${path}`, { ...init, headers }), target, createExecutionContext()),
	);
}

afterEach(() => {
	vi.restoreAllMocks();
});

describe("production with unusable secrets", () => {
	it("refuses a token signed with the published secret on seed 002 and an admin route, logging why once", async () => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const target = production({ JWT_SECRET: PUBLISHED_JWT, SIGNING_SECRET: PUBLISHED_SIGNING });
		const user = await signToken({ sub: uniqueSub("prod-user"), role: "user" }, PUBLISHED_JWT);
		const admin = await signToken({ sub: uniqueSub("prod-admin"), role: "admin" }, PUBLISHED_JWT);

		const list = await request(target, "/api/v1/task/list", user);
		expect(list.status).toBe(503);
		const listBody = (await list.json()) as { code: number; description: string };
		expect(listBody.code).toBe(0);
		expect(listBody.description).toContain(REFUSAL);

		const submit = await request(target, "/api/v1/trigger/submit", user, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ action: "IMAGINE", prompt: "a cat" }),
		});
		expect(submit.status).toBe(503);
		expect(((await submit.json()) as { description: string }).description).toContain(REFUSAL);

		const users = await request(target, "/api/admin/users", admin);
		expect(users.status).toBe(503);
		expect(await users.json()).toEqual({ success: false, message: expect.stringContaining(REFUSAL) });

		const logged = errors.mock.calls.map((args) => String(args[0])).filter((line) => line.includes(REFUSAL));
		expect(logged).toHaveLength(1);
		expect(logged[0]).toContain('JWT_SECRET is a published development value (it contains "change-me")');
		expect(logged[0]).toContain("SIGNING_SECRET is a published development value");
		// The reason stays in the log: clients only learn that the operator must act.
		expect(listBody.description).not.toContain("change-me");
	});

	it("refuses API keys too (what a signed-in caller gets back is signed), in midjourney-proxy's envelope", async () => {
		vi.spyOn(console, "error").mockImplementation(() => {});
		const target = production({ JWT_SECRET: PUBLISHED_JWT, SIGNING_SECRET: PUBLISHED_SIGNING });
		// Any mjk_ key: the refusal comes before the key is looked up.
		const key = `mjk_${"a".repeat(43)}`;
		const proxy = await request(target, "/mj/task/list-by-condition", key, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: "{}",
		});
		expect(proxy.status).toBe(503);
		expect(await proxy.json()).toEqual({ code: 9, description: expect.stringContaining(REFUSAL) });
	});

	it.each([
		["a short JWT_SECRET", { JWT_SECRET: randomSecret(31), SIGNING_SECRET: randomSecret(40) }, "JWT_SECRET is shorter"],
		["a short SIGNING_SECRET", { JWT_SECRET: randomSecret(40), SIGNING_SECRET: randomSecret(20) }, "SIGNING_SECRET is"],
		["an unset SIGNING_SECRET", { JWT_SECRET: randomSecret(40), SIGNING_SECRET: "" }, "SIGNING_SECRET is not set"],
	])("refuses tokens with %s", async (_, secrets, reason) => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const target = production(secrets);
		const token = await signToken({ sub: uniqueSub("prod-short"), role: "user" }, secrets.JWT_SECRET);
		const response = await request(target, "/api/v1/task/list", token);
		expect(response.status).toBe(503);
		expect(((await response.json()) as { description: string }).description).toContain(REFUSAL);
		expect(errors.mock.calls.some((args) => String(args[0]).includes(reason))).toBe(true);
	});

	it("refuses a link signed with the published SIGNING_SECRET instead of serving it", async () => {
		vi.spyOn(console, "error").mockImplementation(() => {});
		const id = crypto.randomUUID();
		// Signed outside production, the way someone holding the published value would.
		const sig = await sign({ ...env, SIGNING_SECRET: PUBLISHED_SIGNING }, "image", id);
		const target = production({ JWT_SECRET: randomSecret(40), SIGNING_SECRET: PUBLISHED_SIGNING });
		const response = await createApp().fetch(
			new Request(`${BASE}/mj/image/${id}?sig=${sig}`),
			target,
			createExecutionContext(),
		);
		expect(response.status).toBe(503);
		expect(await response.text()).toContain(REFUSAL);
	});

	it("still answers /health, so the deployment itself is visible", async () => {
		const target = production({ JWT_SECRET: PUBLISHED_JWT, SIGNING_SECRET: PUBLISHED_SIGNING });
		const response = await createApp().fetch(new Request(`${BASE}/health`), target, createExecutionContext());
		expect(response.status).toBe(200);
	});
});

describe("production with proper secrets", () => {
	it("accepts a token on seed 002 and an admin route", async () => {
		const errors = vi.spyOn(console, "error");
		const secrets = { JWT_SECRET: randomSecret(48), SIGNING_SECRET: randomSecret(48) };
		const target = production(secrets);
		const adminSub = uniqueSub("prod-ok-admin");
		await upsertUser(db(), adminSub, "admin", 0, Date.now());
		const user = await signToken({ sub: uniqueSub("prod-ok"), role: "user" }, secrets.JWT_SECRET);
		const admin = await signToken({ sub: adminSub, role: "admin" }, secrets.JWT_SECRET);

		const list = await request(target, "/api/v1/task/list", user);
		expect(list.status).toBe(200);
		const users = await request(target, "/api/admin/users", admin);
		expect(users.status).toBe(200);
		expect(errors.mock.calls.some((args) => String(args[0]).includes(REFUSAL))).toBe(false);
	});
});
