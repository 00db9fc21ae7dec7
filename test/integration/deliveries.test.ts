/**
 * Signed client callbacks and the delivery log: Standard Webhooks headers checked with the
 * `standardwebhooks` package (not the gateway's code), event ids across retries and duplicates,
 * timeouts, the dead-letter queue, redelivery, the secret's rotation, and who may see what.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { webhookSecrets } from "../../src/db/schema";
import { defaultDeps } from "../../src/deps";
import worker from "../../src/index";
import { handleHookBatch } from "../../src/queue/hook-consumer";
import { HOOK_DLQ, HOOK_QUEUE, HOOK_QUEUE_MAX_RETRIES, type HookMessage } from "../../src/tasks/messages";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, insertTaskRow, userId } from "../helpers/db";
import { realFetch, resetDeps, useFetch } from "../helpers/deps";
import { consumerMaxRetries } from "../helpers/wrangler-config";

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

/** What a receiver got: the raw body and the headers, as a receiver would hand them to a verifier. */
interface Received {
	body: string;
	headers: Record<string, string>;
}

function receiver(answer: () => Response | Promise<Response> = () => new Response("ok")) {
	const received: Received[] = [];
	const fetchFn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
		const request = new Request(input, init);
		received.push({ body: await request.text(), headers: Object.fromEntries(request.headers) });
		return answer();
	});
	return { received, fetchFn };
}

let counter = 0;
async function deliver(
	bodies: HookMessage[],
	fetchFn: typeof fetch,
	options: { attempts?: number; now?: () => number; timeoutMs?: number } = {},
) {
	const batch = createMessageBatch<HookMessage>(
		HOOK_QUEUE,
		bodies.map((body) => ({ id: `d-${++counter}`, timestamp: new Date(), attempts: options.attempts ?? 1, body })),
	);
	const ctx = createExecutionContext();
	await handleHookBatch(
		batch,
		env,
		{ ...defaultDeps(), fetch: fetchFn, now: options.now ?? Date.now, random: Math.random },
		{ timeoutMs: options.timeoutMs },
	);
	return getQueueResult(batch, ctx);
}

/** Through the Worker's own queue() entry, as mj-edge-hooks-dlq delivers them. */
async function deadLetters(bodies: HookMessage[]) {
	const batch = createMessageBatch<HookMessage>(
		HOOK_DLQ,
		bodies.map((body) => ({ id: `dl-${++counter}`, timestamp: new Date(), attempts: 1, body })),
	);
	const ctx = createExecutionContext();
	await worker.queue(batch, env);
	return getQueueResult(batch, ctx);
}

/** A user with a token and a finished task whose notifyHook is on client.test. */
async function owner(status: "SUCCESS" | "FAILURE" | "CANCEL" = "SUCCESS") {
	const sub = uniqueSub("hooks");
	const id = await userId(sub);
	const token = await tokenFor(sub);
	const task = await insertTaskRow({ userId: id, status, notifyHook: `http://client.test/${sub}` });
	return { sub, id, token, task };
}

async function secretOf(token: string) {
	const response = await call("/api/user/webhook-secret", { token });
	expect(response.status).toBe(200);
	return (await json<{ data: { secret: string; previous_expires_at: number | null } }>(response)).data;
}

interface DeliveryItem {
	id: number;
	event_id: string;
	task_id: string;
	user: string;
	url: string;
	attempt: number;
	manual: boolean;
	http_status: number | null;
	error: string;
	duration_ms: number;
	outcome: string;
	next_try_at: number | null;
	created_at: number;
}

async function log(token: string, query = "", path = "/api/user/deliveries") {
	const response = await call(`${path}${query}`, { token });
	expect(response.status).toBe(200);
	const body = await json<{
		success: boolean;
		message: string;
		data: { items: DeliveryItem[]; next_cursor: string | null };
	}>(response);
	expect(body.success).toBe(true);
	return body.data;
}

describe("signed callbacks (Standard Webhooks)", () => {
	it("a delivery carries webhook-id/-timestamp/-signature that verify with the owner's secret, made on first need", async () => {
		const { token, task } = await owner();
		const { received, fetchFn } = receiver();
		const before = Math.floor(Date.now() / 1000);
		const result = await deliver([{ taskId: task.publicId }], fetchFn);
		expect(result.explicitAcks).toHaveLength(1);
		expect(received).toHaveLength(1);
		const [{ body, headers }] = received;
		expect(headers["webhook-id"]).toMatch(/^msg_[A-Za-z0-9_-]+$/);
		expect(Number(headers["webhook-timestamp"])).toBeGreaterThanOrEqual(before);
		expect(Number(headers["webhook-timestamp"])).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
		expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
		expect(headers["content-type"]).toBe("application/json");

		// The delivery made the secret; the user API shows that same one.
		const { secret, previous_expires_at } = await secretOf(token);
		expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
		expect(atob(secret.slice("whsec_".length))).toHaveLength(32);
		expect(previous_expires_at).toBeNull();
		expect(await secretOf(token)).toEqual({ secret, previous_expires_at: null });
		// The body is the seed-002 task JSON, unchanged.
		expect(new Webhook(secret).verify(body, headers)).toMatchObject({ _id: task.publicId, status: "SUCCESS" });

		// Another secret, a changed body or a changed id do not verify.
		const { token: otherToken } = await owner();
		const other = new Webhook((await secretOf(otherToken)).secret);
		expect(() => other.verify(body, headers)).toThrow(/signature/);
		expect(() => new Webhook(secret).verify(body.replace("SUCCESS", "FAILURE"), headers)).toThrow(/signature/);
		expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "msg_other" })).toThrow(/signature/);
	});

	it("retries keep the webhook-id with a new timestamp; both attempts are logged", async () => {
		const { token, task } = await owner("FAILURE");
		const failing = receiver(() => new Response("busy", { status: 503 }));
		const start = Date.now();
		const first = await deliver([{ taskId: task.publicId }], failing.fetchFn, { now: () => start });
		expect(first.retryMessages).toHaveLength(1);
		const ok = receiver();
		await deliver([{ taskId: task.publicId }], ok.fetchFn, { attempts: 2, now: () => start + 3000 });
		const [a, b] = [failing.received[0], ok.received[0]];
		expect(b.headers["webhook-id"]).toBe(a.headers["webhook-id"]);
		expect(Number(b.headers["webhook-timestamp"]) - Number(a.headers["webhook-timestamp"])).toBe(3);
		const { secret } = await secretOf(token);
		expect(new Webhook(secret).verify(a.body, a.headers)).toMatchObject({ status: "FAILURE" });
		expect(new Webhook(secret).verify(b.body, b.headers)).toMatchObject({ status: "FAILURE" });

		const { items } = await log(token, `?task_id=${task.publicId}`);
		expect(items).toHaveLength(2);
		const [second, firstAttempt] = items;
		expect(firstAttempt).toMatchObject({
			event_id: a.headers["webhook-id"],
			task_id: task.publicId,
			url: task.notifyHook,
			attempt: 1,
			manual: false,
			http_status: 503,
			error: "HTTP 503",
			outcome: "failed",
			// backoffSeconds(1) = 2 s after the attempt
			next_try_at: Math.floor((start + 2000) / 1000),
			created_at: Math.floor(start / 1000),
		});
		expect(second).toMatchObject({
			event_id: a.headers["webhook-id"],
			attempt: 2,
			http_status: 200,
			error: "",
			outcome: "delivered",
			next_try_at: null,
		});
	});

	it("a second queue message for a delivered event sends nothing; another task end is another event", async () => {
		const { token, id, task } = await owner();
		const { received, fetchFn } = receiver();
		await deliver([{ taskId: task.publicId }], fetchFn);
		const again = await deliver([{ taskId: task.publicId }, { taskId: task.publicId }], fetchFn);
		expect(again.explicitAcks).toHaveLength(2);
		expect(received).toHaveLength(1);
		const other = await insertTaskRow({ userId: id, status: "CANCEL", notifyHook: task.notifyHook });
		await deliver([{ taskId: other.publicId }], fetchFn);
		expect(received).toHaveLength(2);
		expect(received[1].headers["webhook-id"]).not.toBe(received[0].headers["webhook-id"]);
		expect((await log(token)).items.map((i) => i.outcome)).toEqual(["delivered", "delivered"]);
	});

	it("a receiver that never answers times out (logged as such), and the retry carries the same id", async () => {
		const { token, task } = await owner();
		const hanging: Received[] = [];
		const neverAnswers = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
			const request = new Request(input, init);
			hanging.push({ body: await request.text(), headers: Object.fromEntries(request.headers) });
			return new Promise<Response>((_resolve, reject) => {
				const signal = init?.signal;
				if (!signal) return; // would hang forever: the test then times out
				signal.addEventListener("abort", () => reject(signal.reason), { once: true });
			});
		});
		const slow = await deliver([{ taskId: task.publicId }], neverAnswers, { timeoutMs: 200 });
		expect(slow.retryMessages).toHaveLength(1);
		const [timedOut] = (await log(token)).items;
		expect(timedOut).toMatchObject({ attempt: 1, outcome: "failed", error: "timed out", http_status: null });
		expect(timedOut.duration_ms).toBeGreaterThanOrEqual(150);
		expect(timedOut.next_try_at).not.toBeNull();

		const { received, fetchFn } = receiver();
		await deliver([{ taskId: task.publicId }], fetchFn, { attempts: 2 });
		expect(received[0].headers["webhook-id"]).toBe(hanging[0].headers["webhook-id"]);
		expect((await log(token)).items[0]).toMatchObject({ attempt: 2, outcome: "delivered" });
	});

	it("a connection error is logged without network detail", async () => {
		const { token, task } = await owner();
		vi.spyOn(console, "warn").mockImplementation(() => {});
		await deliver([{ taskId: task.publicId }], async () => {
			throw new TypeError("connect ECONNREFUSED 10.1.2.3:443");
		});
		const [item] = (await log(token)).items;
		expect(item).toMatchObject({ outcome: "failed", error: "connection failed", http_status: null });
	});

	it("every attempt but the queue's last says when the next comes; the last says none", async () => {
		// The queue gives up after wrangler.toml's max_retries: 1 + max_retries deliveries in all.
		expect(HOOK_QUEUE_MAX_RETRIES).toBe(consumerMaxRetries("mj-edge-hooks"));
		const { token, task } = await owner();
		vi.spyOn(console, "error").mockImplementation(() => {});
		const down = receiver(() => new Response("down", { status: 500 }));
		const start = Date.now();
		for (let attempts = 1; attempts <= HOOK_QUEUE_MAX_RETRIES + 1; attempts++) {
			const now = start + attempts * 60_000;
			const result = await deliver([{ taskId: task.publicId }], down.fetchFn, { attempts, now: () => now });
			// Every failed attempt is handed back to the queue; past max_retries the queue dead-letters it.
			expect(result.retryMessages, `attempt ${attempts}`).toHaveLength(1);
		}
		expect(down.received).toHaveLength(HOOK_QUEUE_MAX_RETRIES + 1);
		const items = (await log(token, "?limit=100")).items;
		expect(items).toHaveLength(HOOK_QUEUE_MAX_RETRIES + 1);
		const oldestFirst = items.toSorted((a, b) => a.created_at - b.created_at || a.id - b.id);
		const nextTries = oldestFirst.map((item) => item.next_try_at);
		expect(nextTries.slice(0, -1).every((at) => at !== null)).toBe(true);
		expect(nextTries.at(-1)).toBeNull();
		expect(oldestFirst.every((item) => item.outcome === "failed")).toBe(true);
		// The dead-letter queue then marks the last attempt dead, and nothing is pending any more.
		await deadLetters([{ taskId: task.publicId }]);
		const afterDlq = (await log(token, "?limit=100")).items;
		expect(afterDlq.filter((item) => item.outcome === "dead").map((item) => item.id)).toEqual([oldestFirst.at(-1)?.id]);
	});

	it("after the last attempt the dead-letter consumer marks the event dead, once", async () => {
		const { token, task } = await owner();
		vi.spyOn(console, "error").mockImplementation(() => {});
		const down = receiver(() => new Response("down", { status: 500 }));
		const last = await deliver([{ taskId: task.publicId }], down.fetchFn, { attempts: HOOK_QUEUE_MAX_RETRIES + 1 });
		expect(last.retryMessages).toHaveLength(1);
		const [final] = (await log(token)).items;
		expect(final).toMatchObject({ outcome: "failed", error: "HTTP 500", next_try_at: null });

		const dlq = await deadLetters([{ taskId: task.publicId }]);
		expect(dlq.explicitAcks).toHaveLength(1);
		const dead = (await log(token)).items;
		expect(dead).toHaveLength(1);
		expect(dead[0]).toMatchObject({ id: final.id, outcome: "dead", next_try_at: null });
		// A repeated dead letter changes nothing.
		expect((await deadLetters([{ taskId: task.publicId }])).explicitAcks).toHaveLength(1);
		expect((await log(token)).items).toEqual(dead);
		expect((await log(token, "?outcome=dead")).items.map((i) => i.id)).toEqual([final.id]);
		expect((await log(token, "?outcome=failed")).items).toEqual([]);
	});

	it("a dead letter for a delivered event leaves it delivered", async () => {
		const { token, task } = await owner();
		await deliver([{ taskId: task.publicId }], receiver().fetchFn);
		await deadLetters([{ taskId: task.publicId }]);
		expect((await log(token)).items.map((i) => i.outcome)).toEqual(["delivered"]);
	});

	it("redeliver sends the event again with the same webhook-id, and logs it as manual", async () => {
		const { token, task } = await owner();
		const first = receiver();
		await deliver([{ taskId: task.publicId }], first.fetchFn);
		const eventId = first.received[0].headers["webhook-id"];

		// The redelivery goes through the real HOOK_QUEUE and its consumer, which reads the runtime's Deps.
		const viaQueue: Received[] = [];
		useFetch(async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).host !== "client.test") return realFetch(request);
			viaQueue.push({ body: await request.text(), headers: Object.fromEntries(request.headers) });
			return new Response(null, { status: 204 });
		});
		const response = await call(`/api/user/deliveries/${eventId}/redeliver`, { method: "POST", token });
		expect(response.status).toBe(202);
		expect(await json(response)).toEqual({
			success: true,
			message: "",
			data: { event_id: eventId, task_id: task.publicId },
		});
		const again = await waitFor(
			async () => viaQueue.find((r) => r.headers["webhook-id"] === eventId),
			15_000,
			"the redelivery",
		);
		const { secret } = await secretOf(token);
		expect(new Webhook(secret).verify(again.body, again.headers)).toMatchObject({ _id: task.publicId });
		const items = await waitFor(async () => {
			const page = await log(token);
			return page.items.length === 2 && page.items;
		});
		expect(items[0]).toMatchObject({
			event_id: eventId,
			attempt: 2,
			manual: true,
			outcome: "delivered",
			http_status: 204,
		});
	});
});

describe("the delivery log", () => {
	it("lists the caller's attempts newest first, by task and outcome, a page at a time", async () => {
		const { token, id, task } = await owner();
		const second = await insertTaskRow({ userId: id, status: "FAILURE", notifyHook: task.notifyHook });
		vi.spyOn(console, "warn").mockImplementation(() => {});
		await deliver([{ taskId: task.publicId }], receiver(() => new Response("no", { status: 500 })).fetchFn);
		await deliver([{ taskId: second.publicId }], receiver().fetchFn);
		await deliver([{ taskId: task.publicId }], receiver().fetchFn, { attempts: 2 });

		const all = (await log(token)).items;
		expect(all.map((i) => [i.task_id, i.attempt, i.outcome])).toEqual([
			[task.publicId, 2, "delivered"],
			[second.publicId, 1, "delivered"],
			[task.publicId, 1, "failed"],
		]);
		expect(all.every((i) => i.duration_ms >= 0 && i.url === task.notifyHook)).toBe(true);
		expect((await log(token, `?task_id=${second.publicId}`)).items.map((i) => i.id)).toEqual([all[1].id]);
		expect((await log(token, "?outcome=failed")).items.map((i) => i.id)).toEqual([all[2].id]);
		expect((await log(token, `?task_id=${task.publicId}&outcome=delivered`)).items.map((i) => i.id)).toEqual([
			all[0].id,
		]);

		const seen: number[] = [];
		let cursor: string | null = "";
		for (let pages = 0; cursor !== null; pages++) {
			expect(pages).toBeLessThan(3);
			const page = await log(token, `?limit=1${cursor ? `&cursor=${cursor}` : ""}`);
			expect(page.items).toHaveLength(1);
			seen.push(page.items[0].id);
			cursor = page.next_cursor;
		}
		expect(seen).toEqual(all.map((i) => i.id));

		for (const bad of ["?outcome=lost", "?limit=0", "?limit=101", "?cursor=nonsense"]) {
			const response = await call(`/api/user/deliveries${bad}`, { token });
			expect(response.status).toBe(400);
			expect(await json(response)).toMatchObject({ success: false });
		}
	});

	it("a URL the policy refuses is logged dead without a request", async () => {
		const sub = uniqueSub("hooks");
		const task = await insertTaskRow({ userId: await userId(sub), status: "SUCCESS", notifyHook: "http://10.0.0.8/h" });
		vi.spyOn(console, "warn").mockImplementation(() => {});
		const { fetchFn } = receiver();
		const batch = createMessageBatch<HookMessage>(HOOK_QUEUE, [
			{ id: `d-${++counter}`, timestamp: new Date(), attempts: 1, body: { taskId: task.publicId } },
		]);
		await handleHookBatch(batch, { ...env, ENVIRONMENT: "production" }, { ...defaultDeps(), fetch: fetchFn });
		expect(fetchFn).not.toHaveBeenCalled();
		const [item] = (await log(await tokenFor(sub))).items;
		expect(item).toMatchObject({ outcome: "dead", http_status: null, next_try_at: null });
		expect(item.error).toMatch(/^refused: /);
	});

	it("another user can neither read nor redeliver my events; an admin can do both", async () => {
		const mine = await owner();
		const { received, fetchFn } = receiver();
		await deliver([{ taskId: mine.task.publicId }], fetchFn);
		const eventId = received[0].headers["webhook-id"];
		const stranger = await owner();

		expect((await log(stranger.token)).items).toEqual([]);
		expect((await log(stranger.token, `?task_id=${mine.task.publicId}`)).items).toEqual([]);
		const refused = await call(`/api/user/deliveries/${eventId}/redeliver`, { method: "POST", token: stranger.token });
		expect(refused.status).toBe(404);
		expect(await json(refused)).toEqual({ success: false, message: "no such delivery event" });
		const unknown = await call("/api/user/deliveries/msg_unknown/redeliver", { method: "POST", token: mine.token });
		expect(unknown.status).toBe(404);
		for (const path of ["/api/admin/deliveries", `/api/admin/deliveries/${eventId}/redeliver`]) {
			const forbidden = await call(path, { method: path.endsWith("redeliver") ? "POST" : "GET", token: mine.token });
			expect(forbidden.status).toBe(403);
		}

		const admin = await tokenFor(uniqueSub("admin"), "admin");
		const theirs = await log(admin, `?user=${mine.sub}`, "/api/admin/deliveries");
		expect(theirs.items).toHaveLength(1);
		expect(theirs.items[0]).toMatchObject({ event_id: eventId, user: mine.sub, task_id: mine.task.publicId });
		expect((await log(admin, "?user=nobody-at-all", "/api/admin/deliveries")).items).toEqual([]);
		expect((await log(admin, `?task_id=${mine.task.publicId}`, "/api/admin/deliveries")).items).toHaveLength(1);

		const viaQueue: string[] = [];
		useFetch(async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).host !== "client.test") return realFetch(request);
			viaQueue.push(request.headers.get("webhook-id") ?? "");
			return new Response("ok");
		});
		const redelivered = await call(`/api/admin/deliveries/${eventId}/redeliver`, { method: "POST", token: admin });
		expect(redelivered.status).toBe(202);
		await waitFor(async () => viaQueue.includes(eventId), 15_000, "the admin's redelivery");
		const logged = await waitFor(async () => {
			const page = await log(mine.token);
			return page.items.length === 2 && page.items[0];
		});
		expect(logged).toMatchObject({ event_id: eventId, manual: true, outcome: "delivered" });
	});
});

describe("secret rotation", () => {
	it("both secrets sign during the overlap; after it only the new one", async () => {
		const { token, id, task } = await owner();
		const old = (await secretOf(token)).secret;
		const rotate = await call("/api/user/webhook-secret/rotate", { method: "POST", token });
		expect(rotate.status).toBe(200);
		const { data } = await json<{ data: { secret: string; previous_expires_at: number } }>(rotate);
		expect(data.secret).not.toBe(old);
		expect(data.secret).toMatch(/^whsec_/);
		const day = Math.floor(Date.now() / 1000) + 24 * 3600;
		expect(data.previous_expires_at).toBeGreaterThanOrEqual(day - 5);
		expect(data.previous_expires_at).toBeLessThanOrEqual(day);
		expect(await secretOf(token)).toEqual(data);

		const during = receiver();
		await deliver([{ taskId: task.publicId }], during.fetchFn);
		const signed = during.received[0];
		expect(signed.headers["webhook-signature"].split(" ")).toHaveLength(2);
		expect(new Webhook(data.secret).verify(signed.body, signed.headers)).toMatchObject({ _id: task.publicId });
		expect(new Webhook(old).verify(signed.body, signed.headers)).toMatchObject({ _id: task.publicId });

		// The overlap ends (as 24 h later).
		await db()
			.update(webhookSecrets)
			.set({ previousExpiresAt: Date.now() - 1 })
			.where(eq(webhookSecrets.userId, id));
		expect(await secretOf(token)).toEqual({ secret: data.secret, previous_expires_at: null });
		const after = receiver();
		await deliver([{ taskId: task.publicId, manual: true }], after.fetchFn);
		const late = after.received[0];
		expect(late.headers["webhook-signature"].split(" ")).toHaveLength(1);
		expect(new Webhook(data.secret).verify(late.body, late.headers)).toMatchObject({ _id: task.publicId });
		expect(() => new Webhook(old).verify(late.body, late.headers)).toThrow(/signature/);
	});

	it("rotating before any secret exists makes one with nothing to overlap", async () => {
		const { token } = await owner();
		const rotate = await call("/api/user/webhook-secret/rotate", { method: "POST", token });
		const { data } = await json<{ data: { secret: string; previous_expires_at: number | null } }>(rotate);
		expect(data.previous_expires_at).toBeNull();
		expect(await secretOf(token)).toEqual(data);
	});
});
