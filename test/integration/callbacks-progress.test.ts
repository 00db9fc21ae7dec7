/**
 * Callbacks on every change (as midjourney-proxy servers send them): one signed event per change
 * of status, progress at most once per window with the latest winning, exactly one end event,
 * an order receivers can tell (mj-edge-sequence), and end-only receivers per task and per user.
 * Receivers are the gateway's outbound fetch to client.test, caught here; signatures are checked
 * with the `standardwebhooks` package, not the gateway's code.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { HOOK_PROGRESS_WINDOW_MS } from "../../src/durable/task-object";
import type { HookMessage } from "../../src/tasks/messages";
import { taskObject } from "../../src/tasks/task-object-stub";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, taskRow, userId } from "../helpers/db";
import { realFetch, resetDeps, useFetch } from "../helpers/deps";
import { proxyPost, submitted } from "../helpers/proxy";

interface Received {
	url: string;
	raw: string;
	body: Record<string, unknown>;
	headers: Record<string, string>;
	receivedAt: number;
}

const received: Received[] = [];
/** Answers for a hook URL: the next status each time it is called (200 once the list runs out). */
const answers = new Map<string, number[]>();

beforeAll(() => {
	// The gateway's callbacks leave through Deps.fetch, which every entry of this isolate reads.
	useFetch(async (input, init) => {
		const request = new Request(input, init);
		if (new URL(request.url).host !== "client.test") return realFetch(request);
		const raw = await request.text();
		received.push({
			url: request.url,
			raw,
			body: JSON.parse(raw) as Record<string, unknown>,
			headers: Object.fromEntries(request.headers),
			receivedAt: Date.now(),
		});
		const status = answers.get(request.url)?.shift() ?? 200;
		return new Response(status === 200 ? "ok" : "busy", { status });
	});
});
afterAll(() => {
	resetDeps();
});

const FINAL = new Set(["SUCCESS", "FAILURE", "CANCEL"]);
const RANK: Record<string, number> = { NOT_START: 0, SUBMITTED: 1, IN_PROGRESS: 2, MODAL: 2 };

function eventsOf(taskId: string): Received[] {
	return received.filter((r) => r.body._id === taskId);
}
const seqOf = (r: Received) => Number(r.headers["mj-edge-sequence"]);
/**
 * Two progress events of a task are queued a window apart at least; each then waits the test
 * queue's batch window (vitest.config.ts, 50 ms) and its transit, which a loaded machine can
 * stretch by hundreds of milliseconds, before it reaches the receiver: hence a second of slack.
 */
const MIN_GAP_MS = HOOK_PROGRESS_WINDOW_MS - 1_000;
const percent = (r: Received) => Number(String(r.body.progress).replace("%", ""));

async function secretOf(token: string): Promise<string> {
	const body = await json<{ data: { secret: string } }>(await call("/api/user/webhook-secret", { token }));
	return body.data.secret;
}

/** Waits until the task's object has nothing left to send, then until a later queue message arrives. */
async function settled(taskId: string, owner: number): Promise<void> {
	await waitFor(
		async () =>
			runInDurableObject(taskObject(env, taskId), async (_instance, state) => {
				const stored = await state.storage.get<{ effects: { hook: boolean; copy: boolean }; hookPending?: unknown }>(
					"state",
				);
				return stored?.effects.hook === false && !stored.hookPending && !(await state.storage.getAlarm());
			}),
		15_000,
		"the task object to finish",
	);
	const sentinel = await insertTaskRow({ userId: owner, status: "FAILURE", notifyHook: "http://client.test/sentinel" });
	await env.HOOK_QUEUE.send({ taskId: sentinel.publicId } satisfies HookMessage);
	await waitFor(async () => received.some((r) => r.body._id === sentinel.publicId), 15_000, "the sentinel callback");
}

/** Every event verifies with the owner's secret; ids are unique and the end is last by sequence. */
function checkEvents(events: Received[], secret: string): void {
	const wh = new Webhook(secret);
	for (const event of events) expect(wh.verify(event.raw, event.headers)).toEqual(event.body);
	const ids = new Set(events.map((e) => e.headers["webhook-id"]));
	expect(ids.size).toBe(events.length);
	const seqs = events.map(seqOf);
	expect(new Set(seqs).size).toBe(events.length);
	const finals = events.filter((e) => FINAL.has(String(e.body.status)));
	expect(finals).toHaveLength(1);
	expect(seqOf(finals[0])).toBe(Math.max(...seqs));
	// In sequence order, news only moves forward: status rank, then progress.
	const changes = events.filter((e) => !FINAL.has(String(e.body.status))).sort((a, b) => seqOf(a) - seqOf(b));
	for (let n = 1; n < changes.length; n++) {
		const [before, after] = [changes[n - 1], changes[n]];
		const rankUp = RANK[String(after.body.status)] - RANK[String(before.body.status)];
		expect(rankUp > 0 || (rankUp === 0 && percent(after) > percent(before))).toBe(true);
		// At most one progress event per window; a new status is told at once.
		if (after.body.status === before.body.status) {
			expect(after.receivedAt - before.receivedAt).toBeGreaterThanOrEqual(MIN_GAP_MS);
		}
		// The event time is when the gateway accepted the change: it follows the sequence.
		expect(Number(after.headers["mj-edge-event-time"])).toBeGreaterThanOrEqual(
			Number(before.headers["mj-edge-event-time"]),
		);
	}
}

describe("callbacks on every change", () => {
	it("a simulator task calls back SUBMITTED and IN_PROGRESS in order, progress at most once per window, and one end", async () => {
		const sub = uniqueSub("progress");
		const token = await tokenFor(sub);
		const hook = `http://client.test/${sub}`;
		// --sim-slow: steps of 1.5 s, so 25/50/75% are less than a window apart. Beside it a task at
		// the simulator's test pace (150 ms steps), whose whole run fits in one window.
		const id = await submitted(
			await proxyPost("/mj/submit/imagine", token, { prompt: "a slow fox --sim-slow", notifyHook: hook }),
		);
		const fast = await submitted(
			await proxyPost("/mj/submit/imagine", token, { prompt: "a fast fox", notifyHook: hook }),
		);
		const owner = await userId(sub);
		await waitFor(async () => eventsOf(id).find((e) => e.body.status === "SUCCESS"), 30_000, "the end event");
		// The end is queued only once the R2 copy is made: progress callbacks never hold it up.
		expect((await taskRow(id)).imageKey).toBeTruthy();
		await settled(id, owner);
		await settled(fast, owner);
		// 25, 50 and 75% inside one window: the first is told, the rest held back and then dropped by the end.
		checkEvents(eventsOf(fast), await secretOf(token));
		expect(eventsOf(fast).filter((e) => e.body.status === "IN_PROGRESS").length).toBeLessThanOrEqual(1);
		const events = eventsOf(id);
		checkEvents(events, await secretOf(token));
		const statuses = events.map((e) => String(e.body.status));
		expect(statuses).toContain("SUBMITTED");
		expect(statuses).toContain("IN_PROGRESS");
		// Progress steps 1.5 s apart reach the receiver a window apart (checkEvents): held back, never early.
		const progress = events.filter((e) => e.body.status === "IN_PROGRESS");
		expect(progress.length).toBeGreaterThanOrEqual(2);
		for (const event of events) expect(event.url).toBe(hook);
		const end = events.find((e) => e.body.status === "SUCCESS");
		// The end waited for the R2 copy: its image is the gateway's link, and its body is the fetch format.
		expect(end?.body.imageUrl).toMatch(new RegExp(`^http://gateway\\.test/mj/image/${id}\\?sig=`));
		expect(end?.body.progress).toBe("done");
		expect(end?.body.finishTime).toEqual(expect.any(Number));
		for (const event of events.filter((e) => e !== end)) expect(event.body.finishTime).toBeNull();

		// The delivery log lists every event, with the change each reported.
		const log = await json<{
			data: { items: { event_id: string; sequence: number; task_status: string; outcome: string }[] };
		}>(await call(`/api/user/deliveries?task_id=${id}&limit=100`, { token }));
		expect(new Set(log.data.items.map((i) => i.event_id))).toEqual(new Set(events.map((e) => e.headers["webhook-id"])));
		for (const event of events) {
			const item = log.data.items.find((i) => i.event_id === event.headers["webhook-id"]);
			expect(item).toMatchObject({ sequence: seqOf(event), task_status: event.body.status, outcome: "delivered" });
		}
	});

	it("a burst of progress is told as its latest, one window later; the end is never held back", async () => {
		const sub = uniqueSub("burst");
		const owner = await userId(sub);
		const token = await tokenFor(sub);
		const task = await insertTaskRow({ userId: owner, notifyHook: `http://client.test/${sub}` });
		const stub = taskObject(env, task.publicId);
		await stub.apply(task.publicId, { status: "SUBMITTED", upstreamId: `up-${sub}` });
		await stub.apply(task.publicId, { status: "IN_PROGRESS", progress: "10%" });
		for (const progress of [20, 30, 40, 50, 60, 70, 80, 90]) {
			await stub.apply(task.publicId, { status: "IN_PROGRESS", progress: `${progress}%` });
		}
		const latest = await waitFor(
			async () => eventsOf(task.publicId).find((e) => e.body.progress === "90%"),
			10_000,
			"the burst's latest progress",
		);
		const first = eventsOf(task.publicId).find((e) => e.body.progress === "10%");
		expect(first).toBeDefined();
		expect(latest.receivedAt - (first as Received).receivedAt).toBeGreaterThanOrEqual(MIN_GAP_MS);
		// A new burst inside the next window, then the end: the held-back progress is dropped, the end goes.
		await stub.apply(task.publicId, { status: "IN_PROGRESS", progress: "95%" });
		await stub.apply(task.publicId, { status: "FAILURE", failReason: "boom" });
		await waitFor(async () => eventsOf(task.publicId).find((e) => e.body.status === "FAILURE"), 10_000, "the end");
		await settled(task.publicId, owner);
		const events = eventsOf(task.publicId);
		checkEvents(events, await secretOf(token));
		expect(events.map((e) => `${e.body.status} ${e.body.progress}`).sort()).toEqual(
			["SUBMITTED 0%", "IN_PROGRESS 10%", "IN_PROGRESS 90%", "FAILURE 95%"].sort(),
		);
	});

	it("a task submitted with notifyHookEvents final hears only of its end", async () => {
		const sub = uniqueSub("final-task");
		const token = await tokenFor(sub);
		const hook = `http://client.test/${sub}`;
		const id = await submitted(
			await proxyPost("/mj/submit/imagine", token, {
				prompt: "a quiet fox",
				notifyHook: hook,
				notifyHookEvents: "final",
			}),
		);
		const owner = await userId(sub);
		await waitFor(async () => eventsOf(id).find((e) => e.body.status === "SUCCESS"), 20_000, "the end event");
		await settled(id, owner);
		expect(eventsOf(id).map((e) => e.body.status)).toEqual(["SUCCESS"]);
		checkEvents(eventsOf(id), await secretOf(token));
	});

	it("a user whose setting is final hears only of ends; a task's own notifyHookEvents all wins", async () => {
		const sub = uniqueSub("final-user");
		const token = await tokenFor(sub);
		// The first request makes the user, with NEW_USER_QUOTA to submit with.
		const put = await call("/api/user/webhook-settings", {
			method: "PUT",
			token,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ events: "final" }),
		});
		expect(await json(put)).toEqual({ success: true, message: "", data: { events: "final" } });
		expect(await json(await call("/api/user/webhook-settings", { token }))).toMatchObject({
			data: { events: "final" },
		});
		const hook = `http://client.test/${sub}`;
		const quiet = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a fox", notifyHook: hook }));
		// Seed 002 hears of the end unless its submit asks for every change (any case).
		const seed = await call("/api/v1/trigger/submit", {
			method: "POST",
			token,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ action: "IMAGINE", prompt: "a fox", notifyHook: hook, notifyHookEvents: "ALL" }),
		});
		const chatty = (await json<{ result: string }>(seed)).result;
		expect([typeof quiet, typeof chatty]).toEqual(["string", "string"]);
		const owner = await userId(sub);
		for (const id of [quiet, chatty]) {
			await waitFor(async () => eventsOf(id).find((e) => e.body.status === "SUCCESS"), 20_000, "the end event");
			await settled(id, owner);
		}
		expect(eventsOf(quiet).map((e) => e.body.status)).toEqual(["SUCCESS"]);
		expect(eventsOf(chatty).map((e) => e.body.status)).toContain("SUBMITTED");
		checkEvents(eventsOf(chatty), await secretOf(token));
	});

	it("a failed change event is retried with its own id and its own news; a redelivery sends that news again", async () => {
		const sub = uniqueSub("retry");
		const owner = await userId(sub);
		const token = await tokenFor(sub);
		const hook = `http://client.test/${sub}`;
		answers.set(hook, [500]);
		const task = await insertTaskRow({ userId: owner, notifyHook: hook });
		const stub = taskObject(env, task.publicId);
		await stub.apply(task.publicId, { status: "SUBMITTED", upstreamId: `up-${sub}` });
		await waitFor(async () => eventsOf(task.publicId).length === 1, 10_000, "the first attempt");
		// The task moves on before the retry: the retry still reports SUBMITTED.
		await stub.apply(task.publicId, { status: "IN_PROGRESS", progress: "40%" });
		await waitFor(
			async () => eventsOf(task.publicId).filter((e) => e.body.status === "SUBMITTED").length === 2,
			15_000,
			"the retry",
		);
		const [attempt, retry] = eventsOf(task.publicId).filter((e) => e.body.status === "SUBMITTED");
		expect(retry.headers["webhook-id"]).toBe(attempt.headers["webhook-id"]);
		expect(retry.headers["mj-edge-sequence"]).toBe(attempt.headers["mj-edge-sequence"]);
		expect(retry.body.progress).toBe("0%");
		const eventId = attempt.headers["webhook-id"];
		const log = await json<{ data: { items: { event_id: string; attempt: number; outcome: string }[] } }>(
			await call(`/api/user/deliveries?task_id=${task.publicId}&limit=100`, { token }),
		);
		expect(
			log.data.items
				.filter((i) => i.event_id === eventId)
				.map((i) => `${i.attempt} ${i.outcome}`)
				.sort(),
		).toEqual(["1 failed", "2 delivered"]);

		// After the end, redelivering the SUBMITTED event sends that event again, not the end.
		await stub.apply(task.publicId, { status: "CANCEL", failReason: "stopped" });
		await settled(task.publicId, owner);
		const redeliver = await call(`/api/user/deliveries/${eventId}/redeliver`, { method: "POST", token });
		expect(redeliver.status).toBe(202);
		const again = await waitFor(
			async () => eventsOf(task.publicId).filter((e) => e.headers["webhook-id"] === eventId)[2],
			15_000,
			"the redelivery",
		);
		expect(again.body).toMatchObject({ status: "SUBMITTED", progress: "0%", finishTime: null });
		new Webhook(await secretOf(token)).verify(again.raw, again.headers);
	});

	it("a change the queue refused is queued again by the alarm, unless something newer went out meanwhile", async () => {
		const sub = uniqueSub("queue-down");
		const owner = await userId(sub);
		const token = await tokenFor(sub);
		const task = await insertTaskRow({ userId: owner, notifyHook: `http://client.test/${sub}` });
		const stub = taskObject(env, task.publicId);
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const send = vi.spyOn(env.HOOK_QUEUE, "send").mockRejectedValueOnce(new Error("queue down"));
		try {
			await stub.apply(task.publicId, { status: "SUBMITTED", upstreamId: `up-${sub}` });
			expect(send).toHaveBeenCalled();
			const submittedEvent = await waitFor(
				async () => eventsOf(task.publicId).find((e) => e.body.status === "SUBMITTED"),
				10_000,
				"the SUBMITTED event, queued again",
			);
			expect(submittedEvent.headers["mj-edge-sequence"]).toBeDefined();
			// A slow refusal: a newer change goes out while it is pending, so the refused one is stale and dropped.
			send.mockImplementationOnce(
				() => new Promise((_resolve, reject) => setTimeout(() => reject(new Error("queue down")), 300)),
			);
			const slow = stub.apply(task.publicId, { status: "IN_PROGRESS", progress: "10%" });
			await new Promise((resolve) => setTimeout(resolve, 100));
			await stub.apply(task.publicId, { status: "MODAL", progress: "10%" });
			await slow;
			// Past the window the alarm would have sent a re-queued change.
			await new Promise((resolve) => setTimeout(resolve, HOOK_PROGRESS_WINDOW_MS + 500));
			await stub.apply(task.publicId, { status: "CANCEL", failReason: "stopped" });
			await waitFor(async () => eventsOf(task.publicId).find((e) => e.body.status === "CANCEL"), 10_000, "the end");
			await settled(task.publicId, owner);
		} finally {
			send.mockRestore();
			errors.mockRestore();
		}
		expect(eventsOf(task.publicId).map((e) => e.body.status)).toEqual(["SUBMITTED", "MODAL", "CANCEL"]);
		checkEvents(eventsOf(task.publicId), await secretOf(token));
	});

	it("refuses a notifyHookEvents or setting it does not know, in each surface's envelope", async () => {
		const token = await tokenFor(uniqueSub("bad"));
		const proxy = await proxyPost("/mj/submit/imagine", token, { prompt: "x", notifyHookEvents: "some" });
		expect(proxy.status).toBe(400);
		expect(await json(proxy)).toMatchObject({ code: 4, description: expect.stringContaining("notifyHookEvents") });
		const seed = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=x&notifyHookEvents=some", { token });
		expect(await json(seed)).toMatchObject({ code: 0, description: expect.stringContaining("notifyHookEvents") });
		const setting = await call("/api/user/webhook-settings", {
			method: "PUT",
			token,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ events: "progress" }),
		});
		expect(setting.status).toBe(400);
		expect(await json(setting)).toMatchObject({ success: false, message: expect.stringContaining("events") });
	});
});
