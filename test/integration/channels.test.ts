/**
 * Upstream channels: choice by weight, follow-ups sticking to their parent's channel,
 * automatic disabling with failover, "no channel" at submit, and the admin endpoints.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { findChannel } from "../../src/db/channels";
import { channels } from "../../src/db/schema";
import { type Deps, defaultDeps } from "../../src/deps";
import { handleTaskBatch } from "../../src/queue/task-consumer";
import { CHANNEL_FAILURE_LIMIT } from "../../src/tasks/dispatch";
import { TASK_QUEUE, TASK_QUEUE_MAX_RETRIES, type TaskMessage } from "../../src/tasks/messages";
import { ensureSimulatorChannel } from "../../src/upstream/channels";
import { BASE, call, json, tokenFor, uniqueSub } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";
import { resetDeps, useFetch } from "../helpers/deps";
import { FakeUpstream, jsonResponse } from "../helpers/fake-upstream";

let owner: number;
let a: FakeUpstream;
let b: FakeUpstream;
let channelA: number;
let channelB: number;

async function addChannel(name: string, baseUrl: string, weight: number): Promise<number> {
	const now = Date.now();
	const row = await db()
		.insert(channels)
		.values({ name, baseUrl, secret: `${name}-secret`, weight, enabled: true, createdAt: now, updatedAt: now })
		.returning({ id: channels.id })
		.get();
	return row.id;
}

beforeAll(async () => {
	owner = await userId(`channels-${Date.now()}`);
	await ensureSimulatorChannel(db(), env, Date.now());
});

beforeEach(async () => {
	// Two fresh fake channels per test, weight 1 and 3; every other channel off.
	await env.DB.prepare("UPDATE channels SET enabled = 0").run();
	const stamp = `${Date.now()}-${Math.random().toString(36).slice(2, 6)}`;
	a = new FakeUpstream(`http://a-${stamp}.test`);
	b = new FakeUpstream(`http://b-${stamp}.test`);
	a.other = b.fetch;
	a.submit = () => jsonResponse({ code: 1, description: "Success", result: `a-${crypto.randomUUID()}` });
	b.submit = () => jsonResponse({ code: 1, description: "Success", result: `b-${crypto.randomUUID()}` });
	channelA = await addChannel(`a-${stamp}`, a.origin, 1);
	channelB = await addChannel(`b-${stamp}`, b.origin, 3);
	// Poll messages reach the real queue consumer, which reads the runtime's Deps.
	useFetch(a.fetch);
});

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

let counter = 0;
async function submitQueued(taskId: string, random: number, attempts = 1) {
	const batch = createMessageBatch<TaskMessage>(TASK_QUEUE, [
		{ id: `c-${++counter}`, timestamp: Date.now(), attempts, body: { kind: "submit", taskId } },
	]);
	const deps: Deps = { ...defaultDeps(), fetch: a.fetch, random: () => random };
	const ctx = createExecutionContext();
	await handleTaskBatch(batch, env, deps);
	return getQueueResult(batch, ctx);
}

describe("choosing a channel", () => {
	it("picks by weight: a quarter of the range goes to weight 1, the rest to weight 3", async () => {
		const low = await insertTaskRow({ userId: owner });
		const high = await insertTaskRow({ userId: owner });
		await submitQueued(low.publicId, 0.2);
		await submitQueued(high.publicId, 0.3);
		expect((await taskRow(low.publicId)).channelId).toBe(channelA);
		expect((await taskRow(high.publicId)).channelId).toBe(channelB);
		expect(a.submitCalls()).toHaveLength(1);
		expect(b.submitCalls()).toHaveLength(1);
		expect(a.submitCalls()[0].secret).toMatch(/^a-.*-secret$/);
	});

	it("a follow-up goes to its parent's channel whatever the weights say", async () => {
		const parent = await insertTaskRow({
			userId: owner,
			status: "SUCCESS",
			upstreamId: "parent-on-a",
			channelId: channelA,
		});
		const child = await insertTaskRow({ userId: owner, action: "UPSCALE", parentId: parent.publicId, taskIndex: 1 });
		await submitQueued(child.publicId, 0.99);
		expect((await taskRow(child.publicId)).channelId).toBe(channelA);
		expect(a.submitCalls()[0]).toMatchObject({ path: "/mj/submit/change", body: { taskId: "parent-on-a" } });
		expect(b.submitCalls()).toHaveLength(0);
	});
});

describe("automatic disabling and failover", () => {
	it("a channel answering 'no account' (code 3) is disabled with the reason, and the task moves on", async () => {
		b.submit = () => jsonResponse({ code: 3, description: "no available account" });
		const task = await insertTaskRow({ userId: owner });
		await submitQueued(task.publicId, 0.9);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("SUBMITTED");
		expect(row.channelId).toBe(channelA);
		const disabled = await findChannel(db(), channelB);
		expect(disabled?.enabled).toBe(false);
		expect(disabled?.disabledReason).toBe("no account: no available account");
		// New tasks now go to the other channel whatever the weights.
		const next = await insertTaskRow({ userId: owner });
		await submitQueued(next.publicId, 0.9);
		expect((await taskRow(next.publicId)).channelId).toBe(channelA);
		expect(b.submitCalls()).toHaveLength(1);
	});

	it("a channel refusing its secret (HTTP 401) is disabled too", async () => {
		b.submit = () => new Response("unauthorized", { status: 401 });
		const task = await insertTaskRow({ userId: owner });
		await submitQueued(task.publicId, 0.9);
		expect((await taskRow(task.publicId)).channelId).toBe(channelA);
		expect((await findChannel(db(), channelB))?.disabledReason).toMatch(/refused the channel's secret/);
	});

	it(`${CHANNEL_FAILURE_LIMIT} faults in a row disable a channel; a success in between resets the count`, async () => {
		let healthy = false;
		a.submit = () =>
			healthy ? jsonResponse({ code: 1, result: "ok-1" }) : new Response("bad gateway", { status: 502 });
		for (let i = 0; i < CHANNEL_FAILURE_LIMIT - 1; i++) {
			const result = await submitQueued((await insertTaskRow({ userId: owner })).publicId, 0);
			expect(result.retryMessages).toHaveLength(1);
		}
		expect((await findChannel(db(), channelA))?.failureCount).toBe(CHANNEL_FAILURE_LIMIT - 1);
		healthy = true;
		await submitQueued((await insertTaskRow({ userId: owner })).publicId, 0);
		expect((await findChannel(db(), channelA))?.failureCount).toBe(0);
		healthy = false;
		for (let i = 0; i < CHANNEL_FAILURE_LIMIT; i++) {
			await submitQueued((await insertTaskRow({ userId: owner })).publicId, 0);
		}
		const channel = await findChannel(db(), channelA);
		expect(channel?.enabled).toBe(false);
		expect(channel?.disabledReason).toBe(
			`${CHANNEL_FAILURE_LIMIT} failures in a row; last: upstream answered HTTP 502`,
		);
	});

	it("queue-full answers (code 23) are load, not faults", async () => {
		a.submit = () => jsonResponse({ code: 23, description: "queue full" });
		for (let i = 0; i < CHANNEL_FAILURE_LIMIT + 1; i++) {
			await submitQueued((await insertTaskRow({ userId: owner })).publicId, 0);
		}
		const channel = await findChannel(db(), channelA);
		expect(channel?.enabled).toBe(true);
		expect(channel?.failureCount).toBe(0);
	});

	it("a follow-up answered code 3 fails without disabling the channel: there it means the parent is unknown", async () => {
		a.submit = () => jsonResponse({ code: 3, description: "task not found" });
		const parent = await insertTaskRow({ userId: owner, status: "SUCCESS", upstreamId: "p-a", channelId: channelA });
		const child = await insertTaskRow({ userId: owner, action: "VARIATION", parentId: parent.publicId, taskIndex: 2 });
		await submitQueued(child.publicId, 0.9);
		const row = await taskRow(child.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toBe("task not found");
		expect((await findChannel(db(), channelA))?.enabled).toBe(true);
		expect(b.submitCalls()).toHaveLength(0);
	});

	it("a follow-up whose parent's channel is down fails rather than moving to another channel", async () => {
		a.submit = () => new Response("forbidden", { status: 403 });
		const parent = await insertTaskRow({ userId: owner, status: "SUCCESS", upstreamId: "p-a2", channelId: channelA });
		const child = await insertTaskRow({ userId: owner, action: "UPSCALE", parentId: parent.publicId, taskIndex: 1 });
		await submitQueued(child.publicId, 0.9);
		const row = await taskRow(child.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toMatch(/^the parent task's channel is down/);
		expect((await findChannel(db(), channelA))?.enabled).toBe(false);
		expect(b.submitCalls()).toHaveLength(0);
	});
});

describe("a follow-up whose parent's channel was disabled", () => {
	const REASON = "the channel that ran the parent task is not available";

	it("is refused at submit with 503 and writes nothing, although another channel is enabled", async () => {
		const sub = uniqueSub();
		const token = await tokenFor(sub);
		await call("/api/user/self", { token });
		const parent = await insertTaskRow({
			userId: await userId(sub),
			status: "SUCCESS",
			progress: "100%",
			upstreamId: "p-disabled",
			channelId: channelA,
		});
		await env.DB.prepare("UPDATE channels SET enabled = 0 WHERE id = ?").bind(channelA).run();
		const response = await call(`/api/v1/trigger/submit?action=UPSCALE&taskId=${parent.publicId}&index=1`, { token });
		expect(response.status).toBe(503);
		expect(await json(response)).toEqual({ code: 0, description: REASON });
		const count = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE parent_id = ?")
			.bind(parent.publicId)
			.first<{ n: number }>();
		expect(count?.n).toBe(0);
		const quota = await env.DB.prepare("SELECT quota FROM users WHERE sub = ?").bind(sub).first<{ quota: number }>();
		expect(quota?.quota).toBe(1_000_000);
	});

	it("already queued, is retried and never sent to another channel; the last attempt fails it", async () => {
		const parent = await insertTaskRow({ userId: owner, status: "SUCCESS", upstreamId: "p-gone", channelId: channelA });
		const child = await insertTaskRow({ userId: owner, action: "UPSCALE", parentId: parent.publicId, taskIndex: 2 });
		await env.DB.prepare("UPDATE channels SET enabled = 0 WHERE id = ?").bind(channelA).run();
		const first = await submitQueued(child.publicId, 0.99);
		expect(first.retryMessages).toHaveLength(1);
		expect((await taskRow(child.publicId)).status).toBe("NOT_START");
		const last = await submitQueued(child.publicId, 0.99, TASK_QUEUE_MAX_RETRIES + 1);
		expect(last.retryMessages).toHaveLength(1);
		const row = await taskRow(child.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toBe(`upstream unavailable: ${REASON}`);
		expect(row.channelId).toBeNull();
		expect(a.submitCalls()).toHaveLength(0);
		expect(b.submitCalls()).toHaveLength(0);
	});
});

describe("submit with no channel to take the task", () => {
	it("fails clearly and writes nothing when every channel is disabled", async () => {
		await env.DB.prepare("UPDATE channels SET enabled = 0").run();
		const sub = uniqueSub();
		const token = await tokenFor(sub);
		const response = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=nowhere", { token });
		expect(response.status).toBe(503);
		expect(await json(response)).toEqual({ code: 0, description: "no upstream channel is available" });
		const count = await env.DB.prepare(
			"SELECT count(*) AS n FROM tasks WHERE user_id = (SELECT id FROM users WHERE sub = ?)",
		)
			.bind(sub)
			.first<{ n: number }>();
		expect(count?.n).toBe(0);
		const quota = await env.DB.prepare("SELECT quota FROM users WHERE sub = ?").bind(sub).first<{ quota: number }>();
		expect(quota?.quota).toBe(1_000_000);
	});
});

describe("admin channel endpoints", () => {
	const adminCall = async (path: string, init: RequestInit = {}) =>
		call(`/api/admin/channels${path}`, {
			...init,
			token: await tokenFor(uniqueSub("admin"), "admin"),
			headers: { "content-type": "application/json" },
		});

	it("add, list, change and disable a channel; the secret is never returned", async () => {
		const name = `main-${Date.now()}`;
		const created = await adminCall("", {
			method: "POST",
			body: JSON.stringify({ name, base_url: "https://mj.example.com", secret: "s3cret", weight: 2 }),
		});
		expect(created.status).toBe(201);
		const { data } = await json<{ data: Record<string, unknown> }>(created);
		expect(data).toEqual({
			id: expect.any(Number),
			name,
			kind: "midjourney-proxy",
			base_url: "https://mj.example.com",
			weight: 2,
			enabled: true,
			disabled_reason: "",
			failure_count: 0,
			has_secret: true,
			created_at: expect.any(Number),
			updated_at: expect.any(Number),
		});
		const listed = await json<{ data: Record<string, unknown>[] }>(await adminCall(""));
		expect(listed.data.find((c) => c.id === data.id)).toEqual(data);
		expect(JSON.stringify(listed)).not.toContain("s3cret");

		const changed = await json<{ data: Record<string, unknown> }>(
			await adminCall(`/${data.id}`, { method: "PATCH", body: JSON.stringify({ weight: 5, secret: "new" }) }),
		);
		expect(changed.data).toMatchObject({ weight: 5, has_secret: true });
		expect((await findChannel(db(), data.id as number))?.secret).toBe("new");

		const disabled = await json<{ data: Record<string, unknown> }>(
			await adminCall(`/${data.id}`, { method: "PATCH", body: JSON.stringify({ enabled: false }) }),
		);
		expect(disabled.data).toMatchObject({ enabled: false, disabled_reason: "disabled by an admin" });
		const enabled = await json<{ data: Record<string, unknown> }>(
			await adminCall(`/${data.id}`, { method: "PATCH", body: JSON.stringify({ enabled: true }) }),
		);
		expect(enabled.data).toMatchObject({ enabled: true, disabled_reason: "", failure_count: 0 });
	});

	it("refuses duplicates, bad fields and unknown channels", async () => {
		const name = `dup-${Date.now()}`;
		const body = { name, base_url: "https://mj.example.com", secret: "x" };
		expect((await adminCall("", { method: "POST", body: JSON.stringify(body) })).status).toBe(201);
		const duplicate = await adminCall("", { method: "POST", body: JSON.stringify(body) });
		expect(duplicate.status).toBe(409);
		expect(await json(duplicate)).toEqual({ success: false, message: `a channel named ${name} exists` });
		for (const bad of [
			{ ...body, name: `x${name}`, base_url: "ftp://mj.example.com" },
			{ ...body, name: `y${name}`, base_url: "not a url" },
			{ ...body, name: `z${name}`, weight: -1 },
			{ ...body, name: "" },
			{ base_url: "https://mj.example.com" },
			{ ...body, name: `w${name}`, unknown: true },
		]) {
			const response = await adminCall("", { method: "POST", body: JSON.stringify(bad) });
			expect(response.status, JSON.stringify(bad)).toBe(400);
			expect(await json(response)).toMatchObject({ success: false });
		}
		expect((await adminCall("/999999", { method: "PATCH", body: JSON.stringify({ weight: 1 }) })).status).toBe(404);
		expect((await adminCall("/abc", { method: "PATCH", body: JSON.stringify({ weight: 1 }) })).status).toBe(400);
	});

	it("renaming a channel to a taken name answers 409 and changes nothing", async () => {
		const taken = `taken-${Date.now()}`;
		const create = async (name: string) => {
			const response = await adminCall("", {
				method: "POST",
				body: JSON.stringify({ name, base_url: "https://mj.example.com" }),
			});
			expect(response.status).toBe(201);
			return (await json<{ data: { id: number } }>(response)).data.id;
		};
		await create(taken);
		const id = await create(`other-${taken}`);
		const response = await adminCall(`/${id}`, { method: "PATCH", body: JSON.stringify({ name: taken }) });
		expect(response.status).toBe(409);
		expect(await json(response)).toEqual({ success: false, message: `a channel named ${taken} exists` });
		expect((await findChannel(db(), id))?.name).toBe(`other-${taken}`);
	});

	it.each(["http://10.0.0.5:8080", "http://kubernetes.default/", "http://kubernetes.default./"])(
		"in production a channel may not point at a private address: %s",
		async (baseUrl) => {
			const token = await tokenFor(uniqueSub("admin"), "admin");
			const name = `private-${crypto.randomUUID()}`;
			const response = await createApp().fetch(
				new Request(`${BASE}/api/admin/channels`, {
					method: "POST",
					headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
					body: JSON.stringify({ name, base_url: baseUrl, secret: "x" }),
				}),
				{ ...env, ENVIRONMENT: "production" },
				createExecutionContext(),
			);
			expect(response.status).toBe(400);
			expect(await json(response)).toEqual({ success: false, message: "base_url must be a public address" });
			const written = await env.DB.prepare("SELECT count(*) AS n FROM channels WHERE name = ?")
				.bind(name)
				.first<{ n: number }>();
			expect(written?.n).toBe(0);
		},
	);
});
