/**
 * Callbacks both ways: the client's notifyHook (HOOK_QUEUE, retried) and the upstream's
 * push of progress to the gateway (POST /mj/callback/{id}?sig=…).
 */
import { createExecutionContext, createMessageBatch, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sign } from "../../src/auth/signing";
import { defaultDeps } from "../../src/deps";
import { handleHookBatch } from "../../src/queue/hook-consumer";
import { HOOK_QUEUE, HOOK_QUEUE_MAX_RETRIES, type HookMessage } from "../../src/tasks/messages";
import { taskObject } from "../../src/tasks/task-object-stub";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, taskRow, userId } from "../helpers/db";
import { realFetch, resetDeps, useFetch } from "../helpers/deps";

let owner: number;
beforeAll(async () => {
	owner = await userId(`hooks-${Date.now()}`);
});
afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

let counter = 0;
async function deliverHooks(taskIds: string[], fetchFn: typeof fetch, attempts = 1, target: Env = env) {
	const batch = createMessageBatch<HookMessage>(
		HOOK_QUEUE,
		taskIds.map((taskId) => ({ id: `h-${++counter}`, timestamp: Date.now(), attempts, body: { taskId } })),
	);
	const retries = batch.messages.map((message) => vi.spyOn(message, "retry"));
	const ctx = createExecutionContext();
	await handleHookBatch(batch, target, { ...defaultDeps(), fetch: fetchFn });
	const result = await getQueueResult(batch, ctx);
	return { ...result, delays: retries.flatMap((spy) => spy.mock.calls.map(([o]) => o?.delaySeconds)) };
}

describe("client callbacks", () => {
	it("a finished task POSTs its seed-002 JSON, with the gateway's image link, to its notifyHook", async () => {
		const received: { url: string; body: Record<string, unknown>; raw: string; headers: Record<string, string> }[] = [];
		useFetch(async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).host !== "client.test") return realFetch(request);
			const raw = await request.text();
			received.push({
				url: request.url,
				body: JSON.parse(raw) as Record<string, unknown>,
				raw,
				headers: Object.fromEntries(request.headers),
			});
			return new Response("ok");
		});
		const token = await tokenFor(uniqueSub());
		const submit = await call("/api/v1/trigger/submit", {
			method: "POST",
			token,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({
				action: "IMAGINE",
				prompt: "callback me",
				state: "order-42",
				notifyHook: "http://client.test/hook",
			}),
		});
		const { result } = await json<{ result: string }>(submit);
		// Every change calls back (callbacks-progress.test.ts); this test is about the end.
		const hook = await waitFor(
			async () => received.find((r) => r.body._id === result && r.body.status === "SUCCESS"),
			20_000,
			"the callback",
		);
		expect(hook.url).toBe("http://client.test/hook");
		expect(hook.body.status).toBe("SUCCESS");
		expect(hook.body.state).toBe("order-42");
		expect(hook.body.imageUrl).toMatch(new RegExp(`^http://gateway\\.test/mj/image/${result}\\?sig=`));
		expect(Object.keys(hook.body).sort()).toEqual(
			[
				"_id",
				"action",
				"content",
				"description",
				"finishTime",
				"hash",
				"imageUrl",
				"index",
				"notifyHook",
				"progress",
				"prompt",
				"promptEn",
				"state",
				"status",
				"submitTime",
				"taskId",
				"uri",
			].sort(),
		);
		// Signed per Standard Webhooks with the owner's secret (checked by the standardwebhooks package).
		const secret = await json<{ data: { secret: string } }>(await call("/api/user/webhook-secret", { token }));
		expect(new Webhook(secret.data.secret).verify(hook.raw, hook.headers)).toEqual(hook.body);
		// Exactly one callback for the task's end. Once its object has nothing left to send, a later
		// message through the same queue arriving shows that any duplicate would have, too.
		await waitFor(
			async () =>
				runInDurableObject(taskObject(env, result), async (_instance, state) => {
					const stored = await state.storage.get<{ effects: { copy: boolean; hook: boolean } }>("state");
					return stored?.effects.hook === false && stored.effects.copy === false && !(await state.storage.getAlarm());
				}),
			10_000,
			"the task object to finish its side effects",
		);
		const sentinel = await insertTaskRow({
			userId: owner,
			status: "FAILURE",
			notifyHook: "http://client.test/sentinel",
		});
		await env.HOOK_QUEUE.send({ taskId: sentinel.publicId } satisfies HookMessage);
		await waitFor(async () => received.some((r) => r.body._id === sentinel.publicId), 10_000, "the later callback");
		expect(received.filter((r) => r.body._id === result && r.body.status === "SUCCESS")).toHaveLength(1);
	});

	it("a failed task calls back too", async () => {
		const task = await insertTaskRow({
			userId: owner,
			status: "FAILURE",
			failReason: "nope",
			notifyHook: "http://client.test/f",
		});
		const bodies: Record<string, unknown>[] = [];
		const result = await deliverHooks([task.publicId], async (_input, init) => {
			bodies.push(JSON.parse(String(init?.body)));
			return new Response(null, { status: 204 });
		});
		expect(result.explicitAcks).toHaveLength(1);
		expect(bodies[0]).toMatchObject({ _id: task.publicId, status: "FAILURE" });
	});

	it("a receiver error (5xx, unreachable) is retried with growing delays", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUCCESS", notifyHook: "http://client.test/flaky" });
		const failing = await deliverHooks([task.publicId], async () => new Response("busy", { status: 503 }), 1);
		expect(failing.retryMessages).toHaveLength(1);
		const unreachable = await deliverHooks(
			[task.publicId],
			async () => {
				throw new TypeError("connection reset");
			},
			4,
		);
		expect(unreachable.retryMessages).toHaveLength(1);
		expect(unreachable.delays[0]).toBeGreaterThan(failing.delays[0] ?? 0);
	});

	it("a receiver that never answers is given up on after 10 s and retried", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUCCESS", notifyHook: "http://client.test/silent" });
		// Stand in for AbortSignal.timeout: record the limit asked for and fire at once, so the
		// test does not wait the real 10 s.
		const limits: number[] = [];
		vi.spyOn(AbortSignal, "timeout").mockImplementation((ms) => {
			limits.push(ms);
			const controller = new AbortController();
			setTimeout(() => controller.abort(new DOMException("The operation timed out.", "TimeoutError")), 0);
			return controller.signal;
		});
		// A receiver that never answers: the request only ends when its signal aborts.
		const silent = (_input: RequestInfo | URL, init?: RequestInit) =>
			new Promise<Response>((_resolve, reject) => {
				init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
			});
		const outcome = await Promise.race([
			deliverHooks([task.publicId], silent, 1),
			new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 3_000)),
		]);
		if (outcome === "hung") throw new Error("the callback waited for a receiver that never answers");
		expect(limits).toEqual([10_000]);
		expect(outcome.retryMessages).toHaveLength(1);
		expect(outcome.explicitAcks).toHaveLength(0);
		expect(outcome.delays[0]).toBeGreaterThanOrEqual(2);
	});

	it("a redirect is not followed and counts as a failure", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUCCESS", notifyHook: "http://client.test/moved" });
		const seen: RequestInit[] = [];
		const result = await deliverHooks([task.publicId], async (_input, init) => {
			seen.push(init ?? {});
			return new Response(null, { status: 302, headers: { location: "http://10.0.0.1/" } });
		});
		expect(seen[0].redirect).toBe("manual");
		expect(result.retryMessages).toHaveLength(1);
	});

	it("after the last attempt the message goes on to the dead-letter queue", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUCCESS", notifyHook: "http://client.test/down" });
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const result = await deliverHooks(
			[task.publicId],
			async () => new Response("down", { status: 500 }),
			HOOK_QUEUE_MAX_RETRIES + 1,
		);
		expect(result.retryMessages).toHaveLength(1);
		expect(
			errors.mock.calls.some(([line]) => /dead-letter/.test(String(line)) && String(line).includes(task.publicId)),
		).toBe(true);
	});

	it("in production a hook on a private address is dropped without a request", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUCCESS", notifyHook: "http://192.168.1.10/hook" });
		const fetchFn = vi.fn(async () => new Response("ok"));
		vi.spyOn(console, "warn").mockImplementation(() => {});
		const result = await deliverHooks([task.publicId], fetchFn, 1, { ...env, ENVIRONMENT: "production" });
		expect(result.explicitAcks).toHaveLength(1);
		expect(fetchFn).not.toHaveBeenCalled();
	});
});

describe("upstream push (POST /mj/callback/{id})", () => {
	async function pushed(publicId: string, body: unknown, signature?: string) {
		const sig = signature ?? (await sign(env, "upstream-callback", publicId));
		return call(`/mj/callback/${publicId}?sig=${sig}`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: typeof body === "string" ? body : JSON.stringify(body),
		});
	}

	it("applies progress posted with the task's signed URL", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUBMITTED", upstreamId: "push-1" });
		const response = await pushed(task.publicId, { id: "push-1", status: "IN_PROGRESS", progress: "70%" });
		expect(response.status).toBe(200);
		expect(await json(response)).toEqual({ code: 1, description: "applied" });
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("IN_PROGRESS");
		expect(row.progress).toBe("70%");
	});

	it("refuses a missing or wrong signature, or another task's signature", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUBMITTED", upstreamId: "push-2" });
		const other = await insertTaskRow({ userId: owner });
		for (const sig of [
			"",
			"AAAA",
			await sign(env, "upstream-callback", other.publicId),
			await sign(env, "image", task.publicId),
		]) {
			const response = await pushed(task.publicId, { id: "push-2", status: "SUCCESS" }, sig);
			expect(response.status).toBe(403);
			expect(await json(response)).toMatchObject({ code: 9, description: expect.stringContaining("signature") });
		}
		expect((await taskRow(task.publicId)).status).toBe("SUBMITTED");
	});

	it("refuses a post about another upstream task, and a body that is not a task", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUBMITTED", upstreamId: "push-3" });
		const wrongTask = await pushed(task.publicId, { id: "someone-else", status: "SUCCESS" });
		expect(wrongTask.status).toBe(400);
		const garbage = await pushed(task.publicId, "{not json");
		expect(garbage.status).toBe(400);
		expect(await json(garbage)).toMatchObject({ code: 4 });
		expect((await taskRow(task.publicId)).status).toBe("SUBMITTED");
		// Before the submit's answer recorded an upstream id, no push matches it.
		const early = await insertTaskRow({ userId: owner, status: "NOT_START" });
		const guessed = await pushed(early.publicId, { id: "anything", status: "SUCCESS" });
		expect(guessed.status).toBe(400);
		expect((await taskRow(early.publicId)).status).toBe("NOT_START");
	});

	it("a stale push after success is acknowledged and ignored", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUBMITTED", upstreamId: "push-4" });
		await pushed(task.publicId, { id: "push-4", status: "SUCCESS", progress: "100%" });
		const late = await pushed(task.publicId, { id: "push-4", status: "IN_PROGRESS", progress: "20%" });
		expect(await json(late)).toEqual({ code: 1, description: "ignored (terminal)" });
		expect((await taskRow(task.publicId)).status).toBe("SUCCESS");
	});
});
