/**
 * Quota: a submit is charged in the same batch that writes the task; a balance never goes
 * below zero under concurrency; FAILURE and CANCEL refund exactly once, however often the
 * end is reported; admins read and set balances.
 */
import {
	createExecutionContext,
	createScheduledController,
	runDurableObjectAlarm,
	waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { insertTask, writeTaskProgress } from "../../src/db/tasks";
import worker from "../../src/index";
import { DEFAULT_PRICES, priceOf } from "../../src/tasks/pricing";
import { taskObject } from "../../src/tasks/task-object-stub";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, failedRow, taskRow, userId } from "../helpers/db";

const IMAGINE = DEFAULT_PRICES.IMAGINE;

async function admin(): Promise<string> {
	return tokenFor(uniqueSub("admin"), "admin");
}

async function setQuota(sub: string, quota: number): Promise<Response> {
	return call(`/api/admin/users/${sub}/quota`, {
		method: "PUT",
		token: await admin(),
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ quota }),
	});
}

async function balance(sub: string): Promise<number> {
	const row = await env.DB.prepare("SELECT quota FROM users WHERE sub = ?").bind(sub).first<{ quota: number }>();
	if (!row) throw new Error(`no user ${sub}`);
	return row.quota;
}

async function taskCount(sub: string): Promise<number> {
	const row = await env.DB.prepare(
		"SELECT count(*) AS n FROM tasks WHERE user_id = (SELECT id FROM users WHERE sub = ?)",
	)
		.bind(sub)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

function submit(token: string, prompt = "a quota test") {
	return call(`/api/v1/trigger/submit?action=IMAGINE&prompt=${encodeURIComponent(prompt)}`, { token });
}

/** A charged task written the way the API writes it, without a queue message. */
async function chargedTask(sub: string, price: number, submitTime = Date.now()): Promise<string> {
	const publicId = crypto.randomUUID();
	await insertTask(
		db(),
		{
			publicId,
			userId: await userId(sub),
			action: "IMAGINE",
			prompt: "charged",
			status: "SUBMITTED",
			upstreamId: `up-${publicId}`,
			updatedAt: submitTime,
			quota: price,
		},
		submitTime,
	);
	return publicId;
}

describe("charging", () => {
	it("a submit charges the action's price, recorded on the task", async () => {
		const sub = uniqueSub();
		const token = await tokenFor(sub);
		const response = await submit(token);
		expect(response.status).toBe(200);
		const { result } = await json<{ result: string }>(response);
		expect(await balance(sub)).toBe(1_000_000 - IMAGINE);
		expect((await taskRow(result)).quota).toBe(IMAGINE);
		const self = await json<{ data: { quota: number; task_count: number } }>(await call("/api/user/self", { token }));
		expect(self.data).toMatchObject({ quota: 1_000_000 - IMAGINE, task_count: 1 });
	});

	it("without enough quota the submit is refused with a clear error and writes nothing", async () => {
		const sub = uniqueSub();
		const token = await tokenFor(sub);
		await call("/api/user/self", { token });
		await setQuota(sub, IMAGINE + 50);
		expect((await submit(token)).status).toBe(200);
		const refused = await submit(token);
		expect(refused.status).toBe(402);
		expect(await json(refused)).toEqual({ code: 0, description: `not enough quota: IMAGINE costs ${IMAGINE}` });
		expect(await taskCount(sub)).toBe(1);
		expect(await balance(sub)).toBe(50);
	});

	it("many submits racing on a small balance never take it below zero, and each task has its charge", async () => {
		const sub = uniqueSub();
		const token = await tokenFor(sub);
		await call("/api/user/self", { token });
		await setQuota(sub, IMAGINE * 5);
		const responses = await Promise.all(Array.from({ length: 14 }, (_, i) => submit(token, `race ${i}`)));
		const accepted = responses.filter((r) => r.status === 200).length;
		expect(accepted).toBe(5);
		expect(responses.filter((r) => r.status === 402)).toHaveLength(9);
		expect(await balance(sub)).toBe(0);
		expect(await taskCount(sub)).toBe(5);
		const charged = await env.DB.prepare(
			"SELECT sum(quota) AS total FROM tasks WHERE user_id = (SELECT id FROM users WHERE sub = ?)",
		)
			.bind(sub)
			.first<{ total: number }>();
		expect(charged?.total).toBe(IMAGINE * 5);
	});

	it("ACTION_PRICES overrides single prices; bad JSON keeps the defaults", () => {
		expect(priceOf({ ACTION_PRICES: '{"imagine": 7}' }, "IMAGINE")).toBe(7);
		expect(priceOf({ ACTION_PRICES: '{"imagine": 7}' }, "UPSCALE")).toBe(DEFAULT_PRICES.UPSCALE);
		const errors = console.error;
		console.error = () => {};
		try {
			expect(priceOf({ ACTION_PRICES: "{oops" }, "IMAGINE")).toBe(IMAGINE);
			expect(priceOf({ ACTION_PRICES: '{"IMAGINE": -5}' }, "IMAGINE")).toBe(IMAGINE);
		} finally {
			console.error = errors;
		}
	});
});

describe("refunds", () => {
	it("a failure reported many times at once refunds exactly once", async () => {
		const sub = uniqueSub();
		await userId(sub);
		await env.DB.prepare("UPDATE users SET quota = 1000 WHERE sub = ?").bind(sub).run();
		const id = await chargedTask(sub, 300);
		expect(await balance(sub)).toBe(700);
		const object = taskObject(env, id);
		await Promise.all(
			Array.from({ length: 6 }, (_, i) => object.apply(id, { status: "FAILURE", failReason: `failure report ${i}` })),
		);
		// A late, direct write of the same end (a repaired D1 write) refunds nothing more.
		await writeTaskProgress(db(), id, 99, { status: "FAILURE" }, Date.now());
		expect(await balance(sub)).toBe(1000);
		expect((await taskRow(id)).refunded).toBe(true);
		await runDurableObjectAlarm(object);
	});

	it("a CANCEL applied through the task object refunds the charge", async () => {
		const sub = uniqueSub();
		await userId(sub);
		await env.DB.prepare("UPDATE users SET quota = 1000 WHERE sub = ?").bind(sub).run();
		const id = await chargedTask(sub, 250);
		expect(await balance(sub)).toBe(750);
		const object = taskObject(env, id);
		expect(await object.apply(id, { status: "CANCEL", failReason: "cancelled by the user" })).toEqual({
			applied: true,
			status: "CANCEL",
		});
		expect(await balance(sub)).toBe(1000);
		const row = await taskRow(id);
		expect(row.status).toBe("CANCEL");
		expect(row.refunded).toBe(true);
		await runDurableObjectAlarm(object);
	});

	it("a CANCEL applied twice at once, then a FAILURE, refunds exactly once", async () => {
		const sub = uniqueSub();
		await userId(sub);
		await env.DB.prepare("UPDATE users SET quota = 1000 WHERE sub = ?").bind(sub).run();
		const id = await chargedTask(sub, 250);
		const object = taskObject(env, id);
		const cancels = await Promise.all([
			object.apply(id, { status: "CANCEL", failReason: "cancel 1" }),
			object.apply(id, { status: "CANCEL", failReason: "cancel 2" }),
		]);
		expect(cancels.filter((r) => r.applied)).toHaveLength(1);
		expect(await object.apply(id, { status: "FAILURE", failReason: "late failure" })).toEqual({
			applied: false,
			status: "CANCEL",
			reason: "terminal",
		});
		// A late, direct write of the same end (a repaired D1 write) refunds nothing more.
		await writeTaskProgress(db(), id, 99, { status: "CANCEL" }, Date.now());
		expect(await balance(sub)).toBe(1000);
		const row = await taskRow(id);
		expect(row.status).toBe("CANCEL");
		expect(row.refunded).toBe(true);
		await runDurableObjectAlarm(object);
	});

	it("a CANCEL racing a FAILURE refunds exactly once, whichever end wins", async () => {
		const sub = uniqueSub();
		await userId(sub);
		await env.DB.prepare("UPDATE users SET quota = 1000 WHERE sub = ?").bind(sub).run();
		const id = await chargedTask(sub, 250);
		const object = taskObject(env, id);
		const results = await Promise.all([
			object.apply(id, { status: "FAILURE", failReason: "failed meanwhile" }),
			object.apply(id, { status: "CANCEL", failReason: "cancel" }),
			object.apply(id, { status: "FAILURE", failReason: "failed again" }),
			object.apply(id, { status: "CANCEL", failReason: "cancel again" }),
		]);
		expect(results.filter((r) => r.applied)).toHaveLength(1);
		const row = await taskRow(id);
		expect(["CANCEL", "FAILURE"]).toContain(row.status);
		expect(row.refunded).toBe(true);
		expect(await balance(sub)).toBe(1000);
		await runDurableObjectAlarm(object);
	});

	it("success is not refunded", async () => {
		const sub = uniqueSub();
		await userId(sub);
		await env.DB.prepare("UPDATE users SET quota = 1000 WHERE sub = ?").bind(sub).run();
		const id = await chargedTask(sub, 300);
		await taskObject(env, id).apply(id, { status: "SUCCESS" });
		expect(await balance(sub)).toBe(700);
		expect((await taskRow(id)).refunded).toBe(false);
		await runDurableObjectAlarm(taskObject(env, id));
	});

	it("a task failed by the reconciler's timeout is refunded", async () => {
		const sub = uniqueSub();
		await userId(sub);
		await env.DB.prepare("UPDATE users SET quota = 500 WHERE sub = ?").bind(sub).run();
		const id = await chargedTask(sub, 200, Date.now() - 45 * 60_000);
		expect(await balance(sub)).toBe(300);
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController(), env, ctx);
		await waitOnExecutionContext(ctx);
		// Ended by the task queue's consumer, to which the cron hands timed-out tasks.
		const row = await failedRow(id);
		expect(row.failReason).toMatch(/timed out/);
		expect(await balance(sub)).toBe(500);
	});

	it("a banned prompt fails through the real pipeline and gives the quota back", async () => {
		const sub = uniqueSub();
		const token = await tokenFor(sub);
		const { result } = await json<{ result: string }>(await submit(token, "forbidden --sim-banned"));
		expect(await balance(sub)).toBe(1_000_000 - IMAGINE);
		await waitFor(async () => (await taskRow(result)).status === "FAILURE", 15_000, "the banned task to fail");
		expect(await balance(sub)).toBe(1_000_000);
	});
});

describe("admin quota endpoints", () => {
	it("read and set a user's quota, absolutely or by a delta", async () => {
		const sub = uniqueSub();
		await call("/api/user/self", { token: await tokenFor(sub) });
		const token = await admin();
		const read = await call(`/api/admin/users/${sub}`, { token });
		expect(read.status).toBe(200);
		expect(await json(read)).toEqual({
			success: true,
			message: "",
			data: {
				sub,
				role: "user",
				quota: 1_000_000,
				task_count: 0,
				created_at: expect.any(Number),
				disabled: false,
				disabled_at: null,
			},
		});
		const put = (body: unknown) =>
			call(`/api/admin/users/${sub}/quota`, {
				method: "PUT",
				token,
				headers: { "content-type": "application/json" },
				body: JSON.stringify(body),
			});
		expect((await json<{ data: { quota: number } }>(await put({ quota: 40 }))).data.quota).toBe(40);
		expect((await json<{ data: { quota: number } }>(await put({ delta: 60 }))).data.quota).toBe(100);
		expect((await json<{ data: { quota: number } }>(await put({ delta: -100 }))).data.quota).toBe(0);
		const below = await put({ delta: -1 });
		expect(below.status).toBe(400);
		expect(await json(below)).toEqual({ success: false, message: "quota would go below zero" });
		expect(await balance(sub)).toBe(0);
	});

	it("a delta that would take the balance past Number.MAX_SAFE_INTEGER is refused and changes nothing", async () => {
		const sub = uniqueSub("rich");
		await call("/api/user/self", { token: await tokenFor(sub) });
		const token = await admin();
		const put = (body: unknown) =>
			call(`/api/admin/users/${sub}/quota`, {
				method: "PUT",
				token,
				headers: { "content-type": "application/json" },
				body: JSON.stringify(body),
			});
		const max = Number.MAX_SAFE_INTEGER;
		expect((await json<{ data: { quota: number } }>(await put({ quota: 0 }))).data.quota).toBe(0);
		expect((await json<{ data: { quota: number } }>(await put({ delta: max }))).data.quota).toBe(max);
		for (const delta of [1, max]) {
			const over = await put({ delta });
			expect(over.status, String(delta)).toBe(400);
			expect(await json(over)).toEqual({ success: false, message: `quota would exceed ${max}` });
		}
		// Racing deltas that each fit but together would not: one lands, the other is refused.
		expect((await json<{ data: { quota: number } }>(await put({ quota: max - 10 }))).data.quota).toBe(max - 10);
		const raced = await Promise.all([put({ delta: 6 }), put({ delta: 6 })]);
		expect(raced.map((r) => r.status).sort()).toEqual([200, 400]);
		// Exact to the unit: a balance past the safe range would have rounded these away.
		expect(await balance(sub)).toBe(max - 4);
		const row = await env.DB.prepare("SELECT quota <= ? AS safe, quota FROM users WHERE sub = ?")
			.bind(max, sub)
			.first<{ safe: number }>();
		expect(row?.safe).toBe(1);
		expect((await json<{ data: { quota: number } }>(await put({ delta: -(max - 4) }))).data.quota).toBe(0);
		// Out-of-range deltas never reach the database.
		for (const delta of [max + 1, -(max + 1), 2 ** 60]) expect((await put({ delta })).status, String(delta)).toBe(400);
	});

	it("setting the quota of a user who never called the gateway creates the user", async () => {
		const sub = uniqueSub("future");
		expect((await setQuota(sub, 321)).status).toBe(200);
		const self = await json<{ data: { quota: number } }>(await call("/api/user/self", { token: await tokenFor(sub) }));
		expect(self.data.quota).toBe(321);
	});

	it("refuses bad bodies and unknown users", async () => {
		const token = await admin();
		const sub = uniqueSub();
		await call("/api/user/self", { token: await tokenFor(sub) });
		for (const body of [{}, { quota: -1 }, { quota: 1.5 }, { quota: 1, delta: 1 }, { quota: "10" }, { extra: 1 }]) {
			const response = await call(`/api/admin/users/${sub}/quota`, {
				method: "PUT",
				token,
				headers: { "content-type": "application/json" },
				body: JSON.stringify(body),
			});
			expect(response.status, JSON.stringify(body)).toBe(400);
			expect(await json(response)).toMatchObject({ success: false, message: expect.any(String) });
		}
		const unknown = await call(`/api/admin/users/${uniqueSub("nobody")}`, { token });
		expect(unknown.status).toBe(404);
		expect(await balance(sub)).toBe(1_000_000);
	});
});
