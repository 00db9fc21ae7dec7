/**
 * Users and access for admins: the user list (newest, by spend, a search by sub prefix; paged
 * by cursor, each page index-served), creating a user with a role and a starting quota, an API
 * key made for another user (shown once, acting as that user), disabling (every token, key and
 * stream ticket refused at once; unfinished tasks cancelled with one refund each, or left to
 * finish) and enabling. Admins only. The refusals on every surface are in auth-matrix.test.ts.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { insertTask, type NewTaskInput, UserDisabledError } from "../../src/db/tasks";
import { ENABLED_TRUST_MS, userListQuery } from "../../src/db/users";
import { userHub } from "../../src/live/hub";
import { DEFAULT_PRICES } from "../../src/tasks/pricing";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";
import { resetDeps, useDeps } from "../helpers/deps";
import { proxyGet, proxyPost, reply, submitted } from "../helpers/proxy";

interface UserItem {
	sub: string;
	role: "user" | "admin";
	quota: number;
	task_count: number;
	created_at: number;
	disabled: boolean;
	disabled_at: number | null;
	spent: number;
}
interface UserPage {
	items: UserItem[];
	order: string;
	next_cursor: string | null;
}

async function okData<T>(response: Response, status = 200): Promise<T> {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	const body = JSON.parse(text) as { success: boolean; data: T };
	expect(body.success, text).toBe(true);
	return body.data;
}

async function refused(response: Response, status: number, says: RegExp): Promise<void> {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	const body = JSON.parse(text) as { success: boolean; message: string };
	expect(body.success, text).toBe(false);
	expect(body.message, text).toMatch(says);
}

const adminToken = () => tokenFor(uniqueSub("users-admin"), "admin");

function post(path: string, token: string, body?: unknown): Promise<Response> {
	return call(path, {
		method: "POST",
		token,
		...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
	});
}

async function createUser(admin: string, sub: string, role: "user" | "admin" = "user", quota = 0) {
	return okData<UserItem>(await post("/api/admin/users", admin, { sub, role, quota }), 201);
}

async function page(admin: string, query: string): Promise<UserPage> {
	return okData<UserPage>(await call(`/api/admin/users?${query}`, { token: admin }));
}

/** Every page of a list, following next_cursor. */
async function allPages(admin: string, query: string, pageSize: number): Promise<UserItem[]> {
	const items: UserItem[] = [];
	let cursor: string | null = null;
	for (let i = 0; i < 50; i++) {
		const got: UserPage = await page(
			admin,
			`${query}&page_size=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
		);
		expect(got.items.length).toBeLessThanOrEqual(pageSize);
		items.push(...got.items);
		cursor = got.next_cursor;
		if (!cursor) return items;
	}
	throw new Error("too many pages");
}

async function quotaOf(sub: string): Promise<number> {
	const row = await env.DB.prepare("SELECT quota FROM users WHERE sub = ?").bind(sub).first<{ quota: number }>();
	return row?.quota ?? Number.NaN;
}

describe("the user list", () => {
	it("searches by sub prefix in sub order, pages by cursor without gaps or repeats", async () => {
		const admin = await adminToken();
		const stem = uniqueSub("list");
		const subs = ["c", "a", "e", "b", "d"].map((s) => `${stem}-${s}`);
		for (const sub of subs) await createUser(admin, sub);
		await createUser(admin, `${stem}x-other`);
		const found = await allPages(admin, `q=${encodeURIComponent(`${stem}-`)}`, 2);
		expect(found.map((u) => u.sub)).toEqual([...subs].sort());
		expect((await page(admin, `q=${encodeURIComponent(`${stem}-`)}`)).order).toBe("sub");
		expect((await page(admin, `q=${encodeURIComponent(`${stem}-zzz`)}`)).items).toEqual([]);
	});

	it("lists the newest first", async () => {
		const admin = await adminToken();
		const first = await createUser(admin, uniqueSub("newest-a"));
		const second = await createUser(admin, uniqueSub("newest-b"));
		const top = await page(admin, "order=newest&page_size=2");
		expect(top.items.map((u) => u.sub)).toEqual([second.sub, first.sub]);
		// The default order is newest, and the next page continues after the second.
		const defaults = await page(admin, "page_size=1");
		expect(defaults.items[0].sub).toBe(second.sub);
		const next = await page(admin, `page_size=1&cursor=${encodeURIComponent(defaults.next_cursor ?? "")}`);
		expect(next.items[0].sub).toBe(first.sub);
	});

	it("lists the biggest spenders first, with what they spent", async () => {
		const admin = await adminToken();
		const spenders = [uniqueSub("spend-low"), uniqueSub("spend-high")];
		for (const sub of spenders) await createUser(admin, sub, "user", 100_000);
		const big = await submitted(
			await proxyPost("/mj/submit/imagine", await tokenFor(spenders[1]), { prompt: "a big fox" }),
		);
		await submitted(await proxyPost("/mj/submit/imagine", await tokenFor(spenders[1]), { prompt: "a second fox" }));
		await submitted(await proxyPost("/mj/submit/imagine", await tokenFor(spenders[0]), { prompt: "a small fox" }));
		expect(big).toBeTruthy();
		const all = await allPages(admin, "order=spend", 7);
		const spent = all.map((u) => u.spent);
		expect(spent).toEqual([...spent].sort((a, b) => b - a));
		const high = all.findIndex((u) => u.sub === spenders[1]);
		const low = all.findIndex((u) => u.sub === spenders[0]);
		expect(high).toBeGreaterThanOrEqual(0);
		expect(high).toBeLessThan(low);
		expect(all[high]).toMatchObject({ spent: 2 * DEFAULT_PRICES.IMAGINE, task_count: 2 });
		expect(all[low].spent).toBe(DEFAULT_PRICES.IMAGINE);
		// Every user who spent, once, across pages (ties of spent and tasks included).
		expect(new Set(all.map((u) => u.sub)).size).toBe(all.length);
		const rows = await env.DB.prepare("SELECT count(*) AS n FROM stats_users").first<{ n: number }>();
		expect(all.length).toBe(rows?.n);
	});

	it("pages through ties of spend and tasks without gaps or repeats", async () => {
		const admin = await adminToken();
		const tied: string[] = [];
		// Rollup rows as the triggers write them, with a spend above any real test user's.
		for (let i = 0; i < 5; i++) {
			const sub = uniqueSub("tied");
			await createUser(admin, sub);
			const id = await userId(sub);
			await env.DB.prepare("INSERT INTO stats_users (user_id, tasks, spent) VALUES (?, 3, 999999999)").bind(id).run();
			tied.push(sub);
		}
		const all = await allPages(admin, "order=spend", 2);
		expect(
			all
				.slice(0, 5)
				.map((u) => u.sub)
				.sort(),
		).toEqual([...tied].sort());
		expect(new Set(all.map((u) => u.sub)).size).toBe(all.length);
		const rows = await env.DB.prepare("SELECT count(*) AS n FROM stats_users").first<{ n: number }>();
		expect(all.length).toBe(rows?.n);
		await env.DB.prepare(`DELETE FROM stats_users WHERE spent = 999999999`).run();
	});

	it("refuses bad parameters with a clear 400", async () => {
		const admin = await adminToken();
		await refused(await call("/api/admin/users?order=oldest", { token: admin }), 400, /order must be one of/);
		await refused(await call("/api/admin/users?q=a&order=spend", { token: admin }), 400, /sub order/);
		await refused(await call("/api/admin/users?page_size=101", { token: admin }), 400, /page_size/);
		await refused(await call("/api/admin/users?cursor=garbage!", { token: admin }), 400, /cursor is not valid/);
		const newest = await page(admin, "page_size=1");
		await refused(
			await call(`/api/admin/users?order=spend&cursor=${encodeURIComponent(newest.next_cursor ?? "")}`, {
				token: admin,
			}),
			400,
			/another order/,
		);
	});
});

describe("creating a user and giving it access", () => {
	it("creates a user with a role and a starting quota; a taken sub is 409; bad input 400", async () => {
		const admin = await adminToken();
		const sub = uniqueSub("created");
		const user = await createUser(admin, sub, "admin", 1234);
		expect(user).toMatchObject({ sub, role: "admin", quota: 1234, task_count: 0, disabled: false, disabled_at: null });
		expect(await okData<UserItem>(await call(`/api/admin/users/${sub}`, { token: admin }))).toMatchObject({
			role: "admin",
			quota: 1234,
		});
		await refused(await post("/api/admin/users", admin, { sub, role: "user", quota: 1 }), 409, /exists/);
		await refused(await post("/api/admin/users", admin, { sub: "", quota: 1 }), 400, /sub must not be empty/);
		await refused(await post("/api/admin/users", admin, { sub: "x".repeat(129) }), 400, /at most 128/);
		await refused(await post("/api/admin/users", admin, { sub: uniqueSub("r"), role: "root" }), 400, /role/);
		await refused(await post("/api/admin/users", admin, { sub: uniqueSub("q"), quota: -1 }), 400, /quota/);
		await refused(await post("/api/admin/users", admin, { sub: uniqueSub("q"), extra: 1 }), 400, /extra|unrecognized/i);
	});

	it("a key made for another user is shown once and acts as that user, with that user's role", async () => {
		const admin = await adminToken();
		const sub = uniqueSub("keyed");
		await createUser(admin, sub, "user", 500);
		const created = await okData<{ id: number; key: string; role: string; prefix: string }>(
			await post(`/api/admin/users/${sub}/keys`, admin, { name: "bot" }),
			201,
		);
		expect(created.key).toMatch(/^mjk_[A-Za-z0-9_-]{43}$/);
		// The admin's own role does not leak into the key.
		expect(created.role).toBe("user");
		const self = await okData<UserItem>(await call("/api/user/self", { token: created.key }));
		expect(self).toMatchObject({ sub, quota: 500 });
		await refused(await call("/api/admin/users", { token: created.key }), 403, /for admins/);
		// Listed by prefix only: the whole key is never shown again.
		const listed = await okData<Record<string, unknown>[]>(
			await call(`/api/admin/users/${sub}/keys`, { token: admin }),
		);
		expect(listed.map((k) => k.id)).toEqual([created.id]);
		expect(JSON.stringify(listed)).not.toContain(created.key);
		await refused(
			await post(`/api/admin/users/${uniqueSub("nobody")}/keys`, admin, { name: "x" }),
			404,
			/no such user/,
		);
		await refused(await post(`/api/admin/users/${sub}/keys`, admin, { name: "" }), 400, /name/);
	});
});

describe("disabling a user", () => {
	it("a disable written by another isolate refuses the user's token once this isolate's one-second trust ends", async () => {
		let now = Date.now();
		useDeps({ now: () => now });
		try {
			const sub = uniqueSub("elsewhere");
			const token = await tokenFor(sub);
			await okData(await call("/api/user/self", { token }));
			// A repeat: the flag is read and trusted for ENABLED_TRUST_MS.
			await okData(await call("/api/user/self", { token }));
			// Another isolate's disable: the row changes without this isolate's setUserDisabled.
			await db().update(users).set({ disabledAt: now }).where(eq(users.sub, sub));
			await okData(await call("/api/user/self", { token }));
			now += ENABLED_TRUST_MS;
			await refused(await call("/api/user/self", { token }), 403, /this user is disabled/);
			// A submit is refused at once, in its own statement, whatever the window.
			await db().update(users).set({ disabledAt: null }).where(eq(users.sub, sub));
			now += ENABLED_TRUST_MS;
			await okData(await call("/api/user/self", { token }));
			await db().update(users).set({ disabledAt: now }).where(eq(users.sub, sub));
			expect((await reply(await proxyPost("/mj/submit/imagine", token, { prompt: "cat" }), 403)).description).toMatch(
				/disabled/,
			);
		} finally {
			resetDeps();
		}
	});

	it("refuses its token, its key and its stream ticket at once; enabling restores them", async () => {
		const admin = await adminToken();
		const sub = uniqueSub("disabled");
		await createUser(admin, sub, "user", 500);
		const token = await tokenFor(sub);
		const { key } = await okData<{ key: string }>(
			await post(`/api/admin/users/${sub}/keys`, admin, { name: "k" }),
			201,
		);
		// Both in use (the token now known to this isolate), and a ticket in hand.
		await okData(await call("/api/user/self", { token }));
		await okData(await call("/api/user/self", { token: key }));
		const { ticket } = await okData<{ ticket: string }>(await post("/api/user/stream-ticket", token));

		const disabled = await okData<UserItem & { cancelled: number; remaining: boolean }>(
			await post(`/api/admin/users/${sub}/disable`, admin, { tasks: "finish" }),
		);
		expect(disabled).toMatchObject({ sub, disabled: true, cancelled: 0, remaining: false });
		expect(disabled.disabled_at).toBeGreaterThan(0);
		for (const secret of [token, key]) {
			await refused(await call("/api/user/self", { token: secret }), 403, /this user is disabled/);
		}
		const stream = await call(`/api/user/stream?ticket=${encodeURIComponent(ticket)}`, {
			headers: { accept: "text/event-stream" },
		});
		await refused(stream, 403, /disabled/);
		// A token the isolate never saw is refused too.
		await refused(await call("/api/user/self", { token: await tokenFor(sub, "user", "2h") }), 403, /disabled/);
		expect((await page(admin, `q=${encodeURIComponent(sub)}`)).items[0]).toMatchObject({ disabled: true });

		const enabled = await okData<UserItem>(await post(`/api/admin/users/${sub}/enable`, admin));
		expect(enabled).toMatchObject({ disabled: false, disabled_at: null });
		for (const secret of [token, key]) await okData(await call("/api/user/self", { token: secret }));
	});

	it("ends the user's open streams (WebSocket and SSE)", async () => {
		const admin = await adminToken();
		const sub = uniqueSub("streaming");
		await createUser(admin, sub);
		const token = await tokenFor(sub);
		const ticket = async () => (await okData<{ ticket: string }>(await post("/api/user/stream-ticket", token))).ticket;
		const sse = await call(`/api/user/stream?ticket=${encodeURIComponent(await ticket())}`, {
			headers: { accept: "text/event-stream" },
		});
		expect(sse.status).toBe(200);
		const reader = sse.body?.getReader();
		if (!reader) throw new Error("no SSE body");
		const socketAnswer = await call(`/api/user/stream?ticket=${encodeURIComponent(await ticket())}`, {
			headers: { upgrade: "websocket" },
		});
		const socket = socketAnswer.webSocket;
		if (!socket) throw new Error("no WebSocket");
		const closed = new Promise<number>((resolve) => socket.addEventListener("close", (event) => resolve(event.code)));
		socket.accept();
		const hub = userHub(env, await userId(sub));
		expect(await hub.connections()).toEqual({ websockets: 1, sse: 1 });

		await okData(await post(`/api/admin/users/${sub}/disable`, admin, { tasks: "finish" }));
		expect(await closed).toBe(1008);
		// The SSE stream ends cleanly.
		const ended = async () => {
			for (;;) {
				const { done } = await reader.read();
				if (done) return true;
			}
		};
		expect(await ended()).toBe(true);
		await waitFor(
			async () => {
				const open = await hub.connections();
				return open.sse === 0 && open.websockets === 0;
			},
			5000,
			"every connection to leave",
		);
	});

	it("cancel: every unfinished task ends as CANCEL, refunded exactly once", async () => {
		const admin = await adminToken();
		const sub = uniqueSub("disable-cancel");
		await createUser(admin, sub, "user", 100_000);
		const token = await tokenFor(sub);
		const before = await quotaOf(sub);
		const slow = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a slow fox --sim-slow" }));
		await waitFor(async () => (await taskRow(slow)).upstreamId, 20_000, "the slow task to reach the simulator");
		// One not yet started (no queue message), charged as a submit is.
		const owner = await userId(sub);
		const queued = await insertTaskRow({ userId: owner, quota: 100, status: "NOT_START" });
		await env.DB.prepare("UPDATE users SET quota = quota - 100 WHERE id = ?").bind(owner).run();
		const done = await insertTaskRow({ userId: owner, quota: 7, status: "SUCCESS" });
		expect(await quotaOf(sub)).toBe(before - DEFAULT_PRICES.IMAGINE - 100);

		const answer = await okData<{ cancelled: number; remaining: boolean; quota: number }>(
			await post(`/api/admin/users/${sub}/disable`, admin, { tasks: "cancel" }),
		);
		// The answer's balance is after the refunds.
		expect(answer).toMatchObject({ cancelled: 2, remaining: false, quota: before });
		for (const id of [slow, queued.publicId]) {
			const row = await taskRow(id);
			expect(row.status).toBe("CANCEL");
			expect(row.refunded).toBe(true);
		}
		expect((await taskRow(done.publicId)).status).toBe("SUCCESS");
		expect(await quotaOf(sub)).toBe(before);
		// Once: a second disable with cancel finds nothing to cancel and refunds nothing.
		const again = await okData<{ cancelled: number }>(
			await post(`/api/admin/users/${sub}/disable`, admin, { tasks: "cancel" }),
		);
		expect(again.cancelled).toBe(0);
		expect(await quotaOf(sub)).toBe(before);
	});

	it("finish: unfinished tasks run to their end", async () => {
		const admin = await adminToken();
		const sub = uniqueSub("disable-finish");
		await createUser(admin, sub, "user", 100_000);
		const token = await tokenFor(sub);
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a finishing fox" }));
		await okData(await post(`/api/admin/users/${sub}/disable`, admin, { tasks: "finish" }));
		// The owner is refused, yet the task goes on.
		expect((await reply(await proxyGet(`/mj/task/${id}/fetch`, token), 403)).description).toMatch(/disabled/);
		await waitFor(async () => (await taskRow(id)).status === "SUCCESS", 20_000, "the task to succeed");
		expect((await taskRow(id)).refunded).toBe(false);
	});

	it("a submit that signed in just before the disable adds no task and charges nothing", async () => {
		const admin = await adminToken();
		const sub = uniqueSub("racing");
		await createUser(admin, sub, "user", 1000);
		const owner = await userId(sub);
		await okData(await post(`/api/admin/users/${sub}/disable`, admin, { tasks: "cancel" }));
		// What the submit writes once its sign-in has passed: refused inside the same batch.
		const publicId = crypto.randomUUID();
		const now = Date.now();
		const row: NewTaskInput = {
			publicId,
			userId: owner,
			action: "IMAGINE",
			prompt: "late",
			status: "NOT_START",
			updatedAt: now,
			quota: 100,
		};
		await expect(insertTask(db(), row, now)).rejects.toBeInstanceOf(UserDisabledError);
		const user = await okData<UserItem>(await call(`/api/admin/users/${sub}`, { token: admin }));
		expect(user).toMatchObject({ quota: 1000, task_count: 0 });
		await okData(await post(`/api/admin/users/${sub}/enable`, admin));
		await insertTask(db(), row, now);
		expect((await taskRow(publicId)).userId).toBe(owner);
	});

	it("bad input and unknown users are refused; an admin cannot disable itself", async () => {
		const adminSub = uniqueSub("self-admin");
		const admin = await tokenFor(adminSub, "admin");
		await okData(await call("/api/user/self", { token: admin }));
		await refused(await post(`/api/admin/users/${adminSub}/disable`, admin, { tasks: "finish" }), 400, /yourself/);
		const sub = uniqueSub("victim");
		await createUser(admin, sub);
		await refused(await post(`/api/admin/users/${sub}/disable`, admin, { tasks: "later" }), 400, /finish or cancel/);
		await refused(await post(`/api/admin/users/${sub}/disable`, admin, {}), 400, /tasks/);
		await refused(
			await post(`/api/admin/users/${uniqueSub("ghost")}/disable`, admin, { tasks: "cancel" }),
			404,
			/no such user/,
		);
		await refused(await post(`/api/admin/users/${uniqueSub("ghost")}/enable`, admin), 404, /no such user/);
	});
});

describe("only admins", () => {
	it("a user's token and key are 403 on every users route", async () => {
		const sub = uniqueSub("plain");
		const token = await tokenFor(sub);
		const { key } = await okData<{ key: string }>(await post("/api/user/keys", token, { name: "mine" }), 201);
		for (const secret of [token, key]) {
			await refused(await call("/api/admin/users", { token: secret }), 403, /for admins/);
			await refused(await post("/api/admin/users", secret, { sub: uniqueSub("x") }), 403, /for admins/);
			await refused(await post(`/api/admin/users/${sub}/keys`, secret, { name: "x" }), 403, /for admins/);
			await refused(await post(`/api/admin/users/${sub}/disable`, secret, { tasks: "cancel" }), 403, /for admins/);
			await refused(await post(`/api/admin/users/${sub}/enable`, secret), 403, /for admins/);
		}
	});
});

describe("the admin task table", () => {
	it("names each task's owner by sub", async () => {
		const admin = await adminToken();
		const sub = uniqueSub("owner");
		const owner = await userId(sub);
		const publicId = crypto.randomUUID();
		const now = Date.now();
		await insertTask(
			db(),
			{ publicId, userId: owner, action: "IMAGINE", prompt: "owned", status: "SUCCESS", updatedAt: now },
			now,
		);
		const task = { publicId };
		const body = await okData<{ items: { mj_id: string; user: string; user_id: number }[] }>(
			await call(`/api/admin/tasks?user=${encodeURIComponent(sub)}`, { token: admin }),
		);
		expect(body.items.map((t) => [t.mj_id, t.user, t.user_id])).toEqual([[task.publicId, sub, owner]]);
		const everyone = await okData<{ items: { user: string; user_id: number }[] }>(
			await call("/api/admin/tasks?page_size=30", { token: admin }),
		);
		for (const item of everyone.items) expect(item.user).toMatch(/\S/);
		// The seed's own admin list keeps its shape.
		const seed = await json<{ data: { items: Record<string, unknown>[] } }>(
			await call("/api/mj/?page_size=5", { token: admin }),
		);
		for (const item of seed.data.items) expect(item).not.toHaveProperty("user");
	});
});

describe("each page of the user list is served by an index", () => {
	const plans: [string, Parameters<typeof userListQuery>[1], RegExp][] = [
		["newest", { order: "newest", limit: 20 }, /SCAN users/],
		[
			"newest, after a cursor",
			{ order: "newest", after: { order: "newest", id: 50 }, limit: 20 },
			/SEARCH users USING INTEGER PRIMARY KEY/,
		],
		["a search", { order: "sub", prefix: "ab", limit: 20 }, /SEARCH users USING INDEX users_sub_unique/],
		[
			"a search, after a cursor",
			{ order: "sub", prefix: "ab", after: { order: "sub", sub: "abc" }, limit: 20 },
			/users_sub_unique/,
		],
		["spend", { order: "spend", limit: 20 }, /stats_users USING (COVERING )?INDEX stats_users_spent/],
		[
			"spend, after a cursor",
			{ order: "spend", after: { order: "spend", spent: 10, tasks: 2, id: 7 }, limit: 20 },
			/SEARCH stats_users USING (COVERING )?INDEX stats_users_spent/,
		],
	];
	it.each(plans)("%s: no sort, no scan beyond the page", async (_name, options, uses) => {
		const { sql, params } = userListQuery(db(), options).toSQL();
		const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
			.bind(...params)
			.all<{ detail: string }>();
		const plan = results.map((step) => step.detail).join(" | ");
		expect(plan, plan).toMatch(uses);
		expect(plan, plan).not.toMatch(/TEMP B-TREE/);
		// The other table of each page is read by its primary key, one row per user listed.
		expect(plan, plan).toMatch(/SEARCH (users|stats_users) USING INTEGER PRIMARY KEY \(rowid=\?\)/);
	});
});
