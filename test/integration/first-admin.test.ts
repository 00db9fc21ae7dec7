/**
 * The first-admin command (`npm run admin:create`, scripts/admin-create.mjs) as the gateway sees
 * it: the command's own code path (key-format.ts for the key and hash, first-admin.ts for the
 * SQL) run against D1 here, and the printed key then used on the admin API. The command itself
 * is run against a fresh `npm start` database by test/browser/console.mjs.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { firstAdminStatements, subProblem } from "../../src/auth/first-admin";
import { generateApiKey, hashApiKey, KEY_PREFIX_LENGTH, MAX_LIVE_KEYS } from "../../src/auth/key-format";
import { defaultDeps } from "../../src/deps";

const { randomBytes } = defaultDeps();

import { call, json, tokenFor, uniqueSub } from "../helpers/api";

/** What the command does: a new key, its SQL, executed as one batch; the key if it was stored. */
async function adminCreate(sub: string, quota = 500): Promise<string | undefined> {
	const key = generateApiKey(randomBytes);
	const statements = firstAdminStatements({
		sub,
		prefix: key.slice(0, KEY_PREFIX_LENGTH),
		hash: await hashApiKey(key),
		quota,
		now: Date.now(),
		liveLimit: MAX_LIVE_KEYS,
	});
	// The statements the command joins for `wrangler d1 execute --command`, run in order; the last
	// one tells whether the key is stored.
	for (const statement of statements.slice(0, -1)) await env.DB.prepare(statement).run();
	const stored = await env.DB.prepare(statements.at(-1) as string).first<{ stored: number }>();
	return stored?.stored === 1 ? key : undefined;
}

const admin = (path: string, key: string) => call(path, { headers: { authorization: `Bearer ${key}` } });

describe("npm run admin:create", () => {
	it("prints a key the gateway takes as an admin's, for a user that did not exist", async () => {
		const sub = uniqueSub("first-admin");
		const key = await adminCreate(sub, 700);
		expect(key).toMatch(/^mjk_[A-Za-z0-9_-]{43}$/);
		const me = await admin(`/api/admin/users/${sub}`, key as string);
		expect(me.status).toBe(200);
		const body = await json<{ success: boolean; data: { sub: string; role: string; quota: number } }>(me);
		expect(body.data).toMatchObject({ sub, role: "admin", quota: 700 });
		// Admin-only surfaces answer it too.
		expect((await admin("/api/admin/channels", key as string)).status).toBe(200);
	});

	it("keeps the user on a second run and adds another key; both keys work", async () => {
		const sub = uniqueSub("first-admin");
		const first = (await adminCreate(sub, 700)) as string;
		const second = (await adminCreate(sub, 5)) as string;
		expect(second).not.toBe(first);
		const users = await env.DB.prepare("SELECT quota, role FROM users WHERE sub = ?").bind(sub).all();
		expect(users.results).toEqual([{ quota: 700, role: "admin" }]);
		for (const key of [first, second]) expect((await admin("/api/admin/channels", key)).status).toBe(200);
		const keys = await admin(`/api/admin/users/${sub}/keys`, first);
		const listed = await json<{ data: { name: string; role: string }[] }>(keys);
		expect(listed.data.map((k) => [k.name, k.role])).toEqual([
			["admin:create", "admin"],
			["admin:create", "admin"],
		]);
	});

	it("makes an existing user an admin, keeping the balance", async () => {
		const sub = uniqueSub("promoted");
		const before = await call("/api/user/self", { token: await tokenFor(sub) });
		expect(before.status).toBe(200);
		const quota = (await env.DB.prepare("SELECT quota FROM users WHERE sub = ?").bind(sub).first<{ quota: number }>())
			?.quota;
		const key = (await adminCreate(sub, 1)) as string;
		const row = await env.DB.prepare("SELECT quota, role FROM users WHERE sub = ?").bind(sub).first();
		expect(row).toEqual({ quota, role: "admin" });
		expect((await admin("/api/admin/channels", key)).status).toBe(200);
	});

	it("stores a sub with quotes verbatim: the SQL literal cannot be escaped", async () => {
		const sub = `o'brien'); DROP TABLE users; --${uniqueSub("q")}`;
		const key = (await adminCreate(sub)) as string;
		const me = await admin(`/api/admin/users/${encodeURIComponent(sub)}`, key);
		expect(me.status).toBe(200);
		expect((await json<{ data: { sub: string } }>(me)).data.sub).toBe(sub);
	});

	it("adds no key past the live-key limit, and says so", async () => {
		const sub = uniqueSub("full");
		for (let i = 0; i < MAX_LIVE_KEYS; i++) expect(await adminCreate(sub)).toBeDefined();
		expect(await adminCreate(sub)).toBeUndefined();
		const live = await env.DB.prepare(
			"SELECT count(*) AS n FROM api_keys JOIN users ON users.id = api_keys.user_id WHERE users.sub = ?",
		)
			.bind(sub)
			.first<{ n: number }>();
		expect(live?.n).toBe(MAX_LIVE_KEYS);
	});

	it("refuses subs a token could not carry, and values that are not what they claim", () => {
		expect(subProblem("")).toMatch(/empty/);
		expect(subProblem("x".repeat(129))).toMatch(/128/);
		expect(subProblem("a\nb")).toMatch(/control/);
		expect(subProblem("alice")).toBeUndefined();
		const good = { sub: "a", prefix: "mjk_abcdefgh", hash: "0".repeat(64), quota: 0, now: 1, liveLimit: 20 };
		expect(() => firstAdminStatements({ ...good, prefix: "mjk_ab'cdefg" })).toThrow(/prefix/);
		expect(() => firstAdminStatements({ ...good, hash: `${"0".repeat(63)}'` })).toThrow(/hash/);
		expect(() => firstAdminStatements({ ...good, quota: -1 })).toThrow(/quota/);
		expect(() => firstAdminStatements({ ...good, quota: 1.5 })).toThrow(/quota/);
	});
});
