/**
 * API keys as a specification: a key is shown once at creation and stored only as its
 * SHA-256; lists show name, prefix and times, never the key or the hash; a key is accepted
 * wherever a JWT is (seed 002, seed 001, the album, the account API; as `Authorization:
 * Bearer`, a bare `Authorization` and `mj-api-secret`) and acts as its user; revocation takes
 * effect on the next request; users reach only their own keys, admins everyone's; bad keys
 * and bad names are refused in each surface's envelope; the live-key limit holds under
 * concurrent creates.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { LAST_USED_INTERVAL_MS, MAX_LIVE_KEYS } from "../../src/auth/api-keys";
import { deliveredTokens } from "../../src/auth/middleware";
import { touchApiKey } from "../../src/db/api-keys";
import { insertTask } from "../../src/db/tasks";
import { upsertUser } from "../../src/db/users";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db } from "../helpers/db";

const KEY = /^mjk_[A-Za-z0-9_-]{43}$/;
const CREATED_KEYS = ["created_at", "id", "key", "last_used_at", "name", "prefix", "role"];
const LISTED_KEYS = ["created_at", "id", "last_used_at", "name", "prefix", "role"];

interface KeyView {
	id: number;
	name: string;
	prefix: string;
	role: "user" | "admin";
	created_at: number;
	last_used_at: number | null;
}
interface CreatedKey extends KeyView {
	key: string;
}

interface Person {
	sub: string;
	id: number;
	token: string;
	/** Public ids of the person's tasks. */
	tasks: string[];
}

async function person(prefix: string, role: "user" | "admin" = "user", taskCount = 0): Promise<Person> {
	const sub = uniqueSub(prefix);
	const id = await upsertUser(db(), sub, role, 1_000, Date.now());
	const tasks: string[] = [];
	for (let i = 0; i < taskCount; i++) {
		const publicId = crypto.randomUUID();
		await insertTask(
			db(),
			{ publicId, userId: id, action: "IMAGINE", prompt: `${prefix} ${i}`, status: "SUCCESS", updatedAt: Date.now() },
			Date.now(),
		);
		tasks.push(publicId);
	}
	return { sub, id, token: await tokenFor(sub, role), tasks };
}

async function sha256Hex(text: string): Promise<string> {
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
	return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A token issued at `iat` (epoch seconds), as an issuer that demotes or promotes a user mints it. */
async function tokenIssuedAt(sub: string, role: "user" | "admin", iat: number): Promise<string> {
	return new SignJWT({ role })
		.setProtectedHeader({ alg: "HS256", typ: "JWT" })
		.setSubject(sub)
		.setIssuedAt(iat)
		.setExpirationTime(iat + 3600)
		.sign(new TextEncoder().encode(env.JWT_SECRET));
}

/** The new-api envelope of a success; returns data. */
async function okData<T>(response: Response, status = 200): Promise<T> {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	const body = JSON.parse(text) as { success: boolean; message: string; data: T };
	expect(Object.keys(body).sort()).toEqual(["data", "message", "success"]);
	expect(body.success).toBe(true);
	expect(body.message).toBe("");
	return body.data;
}

/** `{success: false, message}` with this status; returns the message. */
async function failure(response: Response, status: number): Promise<string> {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	const body = JSON.parse(text) as { success: boolean; message: string };
	expect(Object.keys(body).sort()).toEqual(["message", "success"]);
	expect(body.success).toBe(false);
	return body.message;
}

function postKey(token: string, body: unknown): Promise<Response> {
	return call("/api/user/keys", {
		method: "POST",
		token,
		body: typeof body === "string" ? body : JSON.stringify(body),
		headers: { "content-type": "application/json" },
	});
}

async function createKey(token: string, name = "my bot"): Promise<CreatedKey> {
	return okData<CreatedKey>(await postKey(token, { name }), 201);
}

async function listKeys(token: string): Promise<KeyView[]> {
	return okData<KeyView[]>(await call("/api/user/keys", { token }));
}

function keyRow(id: number) {
	return env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(id).first<Record<string, unknown>>();
}

/** The seed-002 list as this key's holder sees it: the public ids. */
async function seed002Ids(headers: HeadersInit): Promise<string[]> {
	const response = await call("/api/v1/task/list?limit=100", { headers });
	const body = await json<{ _id: string }[]>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	return body.map((t) => t._id);
}

async function expectSeed002Unauthorized(response: Response): Promise<string> {
	const body = await json<{ code: number; description: string }>(response);
	expect(response.status, JSON.stringify(body)).toBe(401);
	expect(Object.keys(body).sort()).toEqual(["code", "description"]);
	expect(body.code).toBe(0);
	return body.description;
}

let alice: Person;
let bob: Person;
let admin: Person;

beforeAll(async () => {
	alice = await person("alice", "user", 3);
	bob = await person("bob", "user", 2);
	admin = await person("admin", "admin");
});

describe("creating and listing keys", () => {
	it("shows the whole key once, at creation; lists show name, prefix and times, never the key or its hash", async () => {
		const user = await person("lister");
		const before = Math.floor(Date.now() / 1000);
		const created = await createKey(user.token, "  my bot  ");
		expect(Object.keys(created).sort()).toEqual(CREATED_KEYS);
		expect(created.key).toMatch(KEY);
		expect(created.name).toBe("my bot");
		expect(created.prefix).toBe(created.key.slice(0, 12));
		expect(created.role).toBe("user");
		expect(created.created_at).toBeGreaterThanOrEqual(before);
		expect(created.created_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
		expect(created.last_used_at).toBeNull();

		const response = await call("/api/user/keys", { token: user.token });
		const text = await response.clone().text();
		const listed = await okData<KeyView[]>(response);
		expect(listed).toHaveLength(1);
		expect(Object.keys(listed[0]).sort()).toEqual(LISTED_KEYS);
		const { key, ...view } = created;
		expect(listed[0]).toEqual(view);
		expect(text).not.toContain(key.slice(12));
		expect(text).not.toContain(await sha256Hex(key));
	});

	it("stores the key's SHA-256 and prefix, never the key itself", async () => {
		const user = await person("stored");
		const { id, key } = await createKey(user.token, "stored");
		const row = await keyRow(id);
		expect(row).not.toBeNull();
		expect(row?.hash).toBe(await sha256Hex(key));
		expect(row?.prefix).toBe(key.slice(0, 12));
		expect(row?.user_id).toBe(user.id);
		expect(row?.revoked_at).toBeNull();
		for (const value of Object.values(row ?? {})) {
			if (typeof value === "string") expect(value).not.toContain(key.slice(12));
		}
	});

	it("gives every key a different secret and lists a user's keys newest first", async () => {
		const user = await person("many");
		const first = await createKey(user.token, "first");
		const second = await createKey(user.token, "second");
		expect(first.key).not.toBe(second.key);
		expect((await listKeys(user.token)).map((k) => k.name)).toEqual(["second", "first"]);
	});

	it.each([
		["no name", {}],
		["an empty name", { name: "" }],
		["a name of spaces", { name: "   " }],
		["a name of 65 characters", { name: "x".repeat(65) }],
		["a number as name", { name: 5 }],
		["an unknown field", { name: "ok", role: "admin" }],
	])("refuses %s with 400", async (_, body) => {
		const user = await person("naming");
		expect(await failure(await postKey(user.token, body), 400)).toMatch(/name|key|unrecognized/i);
		expect(await listKeys(user.token)).toEqual([]);
	});

	it("refuses a body that is not JSON with 400, and takes a name of 64 characters", async () => {
		const user = await person("json");
		await failure(await postKey(user.token, "{name: 1"), 400);
		expect((await createKey(user.token, "n".repeat(64))).name).toBe("n".repeat(64));
	});

	it("needs a token or key to create or list keys (401)", async () => {
		expect(await failure(await call("/api/user/keys", { method: "POST", body: "{}" }), 401)).toMatch(/missing token/);
		await failure(await call("/api/user/keys"), 401);
	});

	it(`holds at most ${MAX_LIVE_KEYS} live keys per user, even under concurrent creates (409); a revoke frees a place`, async () => {
		const user = await person("capped");
		const answers = await Promise.all(
			Array.from({ length: MAX_LIVE_KEYS + 5 }, (_, i) => postKey(user.token, { name: `k${i}` })),
		);
		const statuses = answers.map((r) => r.status).sort();
		expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_LIVE_KEYS);
		expect(statuses.filter((s) => s === 409)).toHaveLength(5);
		expect(await failure(await postKey(user.token, { name: "one more" }), 409)).toMatch(/revoke/);
		const keys = await listKeys(user.token);
		expect(keys).toHaveLength(MAX_LIVE_KEYS);
		await okData(await call(`/api/user/keys/${keys[0].id}`, { method: "DELETE", token: user.token }));
		await createKey(user.token, "after a revoke");
	});
});

describe("a key is accepted wherever a token is, and acts as its user", () => {
	let key: string;
	beforeAll(async () => {
		key = (await createKey(alice.token, "everywhere")).key;
	});

	it("seed 002 with Authorization: Bearer: only the key's user's tasks", async () => {
		const ids = await seed002Ids({ authorization: `Bearer ${key}` });
		expect(ids.sort()).toEqual([...alice.tasks].sort());
	});

	it("seed 002 with mj-api-secret (midjourney-proxy clients)", async () => {
		const ids = await seed002Ids({ "mj-api-secret": key });
		expect(ids.sort()).toEqual([...alice.tasks].sort());
	});

	it("seed 002 submit: the task belongs to the key's user", async () => {
		const response = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=a%20fox%20by%20key", {
			headers: { "mj-api-secret": key },
		});
		const body = await json<{ code: number; result: string }>(response);
		expect(body.code, JSON.stringify(body)).toBe(1);
		const row = await env.DB.prepare("SELECT user_id FROM tasks WHERE public_id = ?")
			.bind(body.result)
			.first<{ user_id: number }>();
		expect(row?.user_id).toBe(alice.id);
		alice.tasks.push(body.result);
	});

	it("seed 001 /api/mj/self: only the key's user's tasks", async () => {
		const response = await call("/api/mj/self?page_size=100", { token: key });
		const data = await okData<{ items: { mj_id: string }[] }>(response);
		expect(data.items.map((i) => i.mj_id).sort()).toEqual([...alice.tasks].sort());
	});

	it("the album, POST /userAlbum with the bare key in Authorization", async () => {
		const response = await call("/userAlbum", { method: "POST", headers: { authorization: key } });
		const body = await json<{ code: number; msg: string; data: unknown[] }>(response);
		expect(response.status, JSON.stringify(body)).toBe(200);
		expect(body.code).toBe(200);
		expect(body.data).toEqual([]);
	});

	it("the account API: /api/user/self is the key's user", async () => {
		const data = await okData<{ sub: string; role: string }>(await call("/api/user/self", { token: key }));
		expect(data.sub).toBe(alice.sub);
		expect(data.role).toBe("user");
	});

	it("another user's key sees that user's tasks, not these", async () => {
		const bobKey = (await createKey(bob.token, "bob's")).key;
		const ids = await seed002Ids({ authorization: `Bearer ${bobKey}` });
		expect(ids.sort()).toEqual([...bob.tasks].sort());
	});
});

describe("refused keys: 401 'invalid API key' in each surface's envelope", () => {
	const unknown = `mjk_${"A".repeat(43)}`;
	const malformed = ["mjk_", "mjk_short", `mjk_${"A".repeat(42)}!`, `mjk_${"A".repeat(44)}`, `mjk_${"A".repeat(43)} x`];

	it.each([unknown, ...malformed])("seed 002 refuses %s", async (bad) => {
		const description = await expectSeed002Unauthorized(
			await call("/api/v1/task/list", { headers: { authorization: `Bearer ${bad}` } }),
		);
		expect(description).toBe("invalid API key");
	});

	it("seed 001, the album and mj-api-secret answer in their own envelopes", async () => {
		expect(await failure(await call("/api/mj/self", { token: unknown }), 401)).toBe("invalid API key");
		const album = await call("/userAlbum", { method: "POST", headers: { authorization: unknown } });
		expect(album.status).toBe(401);
		expect(await album.json()).toEqual({ code: 401, msg: "invalid API key" });
		const proxy = await call("/api/v1/task/list", { headers: { "mj-api-secret": "mjk_nope" } });
		expect(await expectSeed002Unauthorized(proxy)).toBe("invalid API key");
	});

	it("never writes a key to the log", async () => {
		const spies = (["log", "error", "warn", "info", "debug"] as const).map((m) =>
			vi.spyOn(console, m).mockImplementation(() => {}),
		);
		try {
			const { key } = await createKey(alice.token, "quiet");
			await call("/api/v1/task/list", { token: key });
			await call("/api/v1/task/list", { token: unknown });
			for (const spy of spies) expect(JSON.stringify(spy.mock.calls)).not.toMatch(/mjk_/);
		} finally {
			for (const spy of spies) spy.mockRestore();
		}
	});
});

describe("revoking", () => {
	it("refuses the key on the very next request; the list no longer shows it; a second revoke is 404", async () => {
		const user = await person("revoker", "user", 1);
		const { id, key } = await createKey(user.token, "to revoke");
		const kept = await createKey(user.token, "kept");
		expect(await seed002Ids({ "mj-api-secret": key })).toEqual(user.tasks);

		const data = await okData<{ id: number }>(await call(`/api/user/keys/${id}`, { method: "DELETE", token: key }));
		expect(data).toEqual({ id });
		expect(
			await expectSeed002Unauthorized(await call("/api/v1/task/list", { headers: { "mj-api-secret": key } })),
		).toBe("invalid API key");
		expect((await listKeys(user.token)).map((k) => k.id)).toEqual([kept.id]);
		expect((await keyRow(id))?.revoked_at).toBeTypeOf("number");
		await failure(await call(`/api/user/keys/${id}`, { method: "DELETE", token: user.token }), 404);
		// The other key is untouched.
		expect(await seed002Ids({ "mj-api-secret": kept.key })).toEqual(user.tasks);
	});

	it("another user can neither revoke nor list my keys: 404, exactly as an unknown id", async () => {
		const { id, key } = await createKey(alice.token, "mine");
		const message = await failure(await call(`/api/user/keys/${id}`, { method: "DELETE", token: bob.token }), 404);
		expect(await failure(await call("/api/user/keys/999999999", { method: "DELETE", token: bob.token }), 404)).toBe(
			message,
		);
		expect((await listKeys(bob.token)).map((k) => k.id)).not.toContain(id);
		expect((await keyRow(id))?.revoked_at).toBeNull();
		expect(await seed002Ids({ "mj-api-secret": key })).toEqual(expect.arrayContaining(alice.tasks));
	});

	it("refuses a key id that is not a number with 400", async () => {
		expect(await failure(await call("/api/user/keys/abc", { method: "DELETE", token: alice.token }), 400)).toMatch(
			/id/,
		);
	});
});

describe("admin endpoints", () => {
	it("an admin lists any user's keys and revokes any key", async () => {
		const user = await person("managed", "user", 1);
		const { id, key } = await createKey(user.token, "managed");
		const listed = await okData<KeyView[]>(await call(`/api/admin/users/${user.sub}/keys`, { token: admin.token }));
		expect(listed.map((k) => k.id)).toEqual([id]);
		expect(Object.keys(listed[0]).sort()).toEqual(LISTED_KEYS);

		expect(await okData(await call(`/api/admin/keys/${id}`, { method: "DELETE", token: admin.token }))).toEqual({
			id,
		});
		await expectSeed002Unauthorized(await call("/api/v1/task/list", { token: key }));
		expect(await okData<KeyView[]>(await call(`/api/admin/users/${user.sub}/keys`, { token: admin.token }))).toEqual(
			[],
		);
		await failure(await call(`/api/admin/keys/${id}`, { method: "DELETE", token: admin.token }), 404);
	});

	it("answers 404 for an unknown user or key", async () => {
		expect(
			await failure(await call(`/api/admin/users/${uniqueSub("nobody")}/keys`, { token: admin.token }), 404),
		).toMatch(/user/);
		await failure(await call("/api/admin/keys/999999999", { method: "DELETE", token: admin.token }), 404);
	});

	it("refuses non-admins with 403, whether they come with a token or a key", async () => {
		const { id, key } = await createKey(alice.token, "not an admin");
		for (const credential of [alice.token, key]) {
			await failure(await call(`/api/admin/users/${alice.sub}/keys`, { token: credential }), 403);
			await failure(await call(`/api/admin/keys/${id}`, { method: "DELETE", token: credential }), 403);
			await failure(await call("/api/mj/", { token: credential }), 403);
		}
		expect((await keyRow(id))?.revoked_at).toBeNull();
	});

	it("an admin's key acts as admin while the user row is admin, and as a user once it is not", async () => {
		const boss = await person("boss", "admin");
		const created = await createKey(boss.token, "admin bot");
		expect(created.role).toBe("admin");
		await okData(await call("/api/mj/?page_size=1", { token: created.key }));
		await okData(await call(`/api/admin/users/${alice.sub}/keys`, { token: created.key }));

		await env.DB.prepare("UPDATE users SET role = 'user' WHERE id = ?").bind(boss.id).run();
		await failure(await call("/api/mj/?page_size=1", { token: created.key }), 403);
		expect((await okData<{ role: string }>(await call("/api/user/self", { token: created.key }))).role).toBe("user");
	});

	it("a token that demotes its user refuses the user's admin key at once; a later admin token restores it", async () => {
		const sub = uniqueSub("demoted");
		const t = Math.floor(Date.now() / 1000);
		const adminToken = await tokenIssuedAt(sub, "admin", t - 30);
		const admin = await createKey(adminToken, "admin bot");
		expect(admin.role).toBe("admin");
		const adminPage = () => call("/api/mj/?page_size=1", { token: admin.key });
		await okData(await adminPage());

		// The issuer demotes the user: its next token says user. Any request with it demotes the keys,
		// even one /api/admin/* refuses.
		const userToken = await tokenIssuedAt(sub, "user", t - 20);
		await failure(await call("/api/mj/?page_size=1", { token: userToken }), 403);
		await failure(await adminPage(), 403);
		await failure(await call(`/api/admin/users/${sub}/keys`, { token: admin.key }), 403);
		expect((await okData<{ role: string }>(await call("/api/user/self", { token: admin.key }))).role).toBe("user");

		// The old admin token, still valid, does not take the demotion back, in this isolate or in a
		// fresh one (an emptied cache) that sees it for the first time.
		await okData(await call("/api/mj/?page_size=1", { token: adminToken }));
		await failure(await adminPage(), 403);
		deliveredTokens.clear();
		await okData(await call("/api/mj/?page_size=1", { token: adminToken }));
		await failure(await adminPage(), 403);

		// Promoted again: a newer admin token.
		await okData(await call("/api/user/self", { token: await tokenIssuedAt(sub, "admin", t - 10) }));
		await okData(await adminPage());
		// And demoted once more with a token of the same second as that promotion: user wins the tie.
		await okData(await call("/api/user/self", { token: await tokenIssuedAt(sub, "user", t - 10) }));
		await failure(await adminPage(), 403);
	});

	it("a user's key never acts as admin, even if the user becomes one", async () => {
		const riser = await person("riser");
		const { key } = await createKey(riser.token);
		await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(riser.id).run();
		await failure(await call("/api/mj/?page_size=1", { token: key }), 403);
	});
});

describe("last_used_at", () => {
	it("is set after a key is used, and shown in the list", async () => {
		const user = await person("used");
		const { id, key } = await createKey(user.token, "used");
		expect((await keyRow(id))?.last_used_at).toBeNull();
		const before = Date.now();
		await okData(await call("/api/user/self", { token: key }));
		const usedAt = await waitFor(async () => (await keyRow(id))?.last_used_at as number | null, 5_000, "last_used_at");
		expect(usedAt).toBeGreaterThanOrEqual(before);
		expect(usedAt).toBeLessThanOrEqual(Date.now());
		expect((await listKeys(user.token))[0].last_used_at).toBe(Math.floor(usedAt / 1000));
	});

	it(`is written at most once per ${LAST_USED_INTERVAL_MS / 1000} s per key`, async () => {
		const user = await person("throttled");
		const { id } = await createKey(user.token, "throttled");
		const now = Date.now();
		const recent = now - LAST_USED_INTERVAL_MS + 5_000;
		await env.DB.prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?").bind(recent, id).run();
		await touchApiKey(db(), id, now, LAST_USED_INTERVAL_MS);
		expect((await keyRow(id))?.last_used_at).toBe(recent);

		const old = now - LAST_USED_INTERVAL_MS - 1;
		await env.DB.prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?").bind(old, id).run();
		await touchApiKey(db(), id, now, LAST_USED_INTERVAL_MS);
		expect((await keyRow(id))?.last_used_at).toBe(now);
	});
});
