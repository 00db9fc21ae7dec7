/**
 * TASK_QUEUE consumer against a programmable upstream: what each reply code does, retries
 * with backoff, the last attempt, duplicate deliveries, the dead-letter queue, polling.
 */
import { createExecutionContext, createMessageBatch, getQueueResult, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type Deps, defaultDeps } from "../../src/deps";
import { handleTaskBatch, handleTaskDeadLetters } from "../../src/queue/task-consumer";
import { TASK_DLQ, TASK_QUEUE, TASK_QUEUE_MAX_RETRIES, type TaskMessage } from "../../src/tasks/messages";
import { insertTaskRow, taskRow, userId } from "../helpers/db";
import { resetDeps, useFetch } from "../helpers/deps";
import { FAKE_ORIGIN, FakeUpstream, jsonResponse, useFakeChannelOnly } from "../helpers/fake-upstream";
import { consumerMaxRetries } from "../helpers/wrangler-config";

let channelId: number;
let upstream: FakeUpstream;
let owner: number;

beforeAll(async () => {
	channelId = await useFakeChannelOnly();
	owner = await userId(`queue-owner-${Date.now()}`);
});

// Upstream faults in one test count toward disabling the channel (channels.test.ts): start
// every test with a healthy channel.
beforeEach(async () => {
	await env.DB.prepare("UPDATE channels SET enabled = 1, failure_count = 0, disabled_reason = '' WHERE id = ?")
		.bind(channelId)
		.run();
});

function freshUpstream(): FakeUpstream {
	upstream = new FakeUpstream();
	// Poll messages sent by the consumer reach the real queue, whose consumer reads the
	// runtime's Deps: point their fetch at the same fake so nothing leaves the test.
	useFetch(upstream.fetch);
	return upstream;
}

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

function deps(): Deps {
	return { ...defaultDeps(), fetch: upstream.fetch, random: () => 0 };
}

let messageCounter = 0;
async function deliver(bodies: TaskMessage[], attempts = 1, queue = TASK_QUEUE, target: Env = env) {
	const batch = createMessageBatch<TaskMessage>(
		queue,
		bodies.map((body) => ({ id: `m-${++messageCounter}`, timestamp: Date.now(), attempts, body })),
	);
	// getQueueResult records which messages were retried, not with what delay: spy for that.
	const retries = batch.messages.map((message) => vi.spyOn(message, "retry"));
	const ctx = createExecutionContext();
	if (queue === TASK_DLQ) await handleTaskDeadLetters(batch, target);
	else await handleTaskBatch(batch, target, deps());
	const result = await getQueueResult(batch, ctx);
	const delays = retries.flatMap((spy) => spy.mock.calls.map(([options]) => options?.delaySeconds));
	return { ...result, delays };
}

async function newTask(overrides: Parameters<typeof insertTaskRow>[0] extends infer T ? Partial<T> : never = {}) {
	return insertTaskRow({ userId: owner, ...overrides });
}

describe("submitting upstream", () => {
	it("code 1: the task becomes SUBMITTED with the upstream id and channel, and the message is acked", async () => {
		freshUpstream().submit = () => jsonResponse({ code: 1, description: "Success", result: "8498455807619990" });
		const task = await newTask({ prompt: "a cat" });
		const result = await deliver([{ kind: "submit", taskId: task.publicId }]);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toHaveLength(0);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("SUBMITTED");
		expect(row.upstreamId).toBe("8498455807619990");
		expect(row.channelId).toBe(channelId);
		const [call] = upstream.submitCalls();
		expect(call.path).toBe("/mj/submit/imagine");
		expect(call.secret).toBe("fake-secret");
		expect(call.body).toMatchObject({ prompt: "a cat", state: task.publicId });
		// The upstream is handed a signed per-task callback URL on the gateway.
		expect((call.body as { notifyHook: string }).notifyHook).toMatch(
			new RegExp(`^http://gateway\\.test/mj/callback/${task.publicId}\\?sig=[\\w-]+$`),
		);
	});

	it("code 22 (queued upstream) counts as accepted", async () => {
		freshUpstream().submit = () =>
			jsonResponse({
				code: 22,
				description: "In queue, 1 task ahead",
				result: "0741798445574458",
				properties: { numberOfQueues: 1 },
			});
		const task = await newTask();
		await deliver([{ kind: "submit", taskId: task.publicId }]);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("SUBMITTED");
		expect(row.upstreamId).toBe("0741798445574458");
	});

	it("code 23 (queue full) retries the message later and leaves the task NOT_START", async () => {
		freshUpstream().submit = () => jsonResponse({ code: 23, description: "queue is full, please try later" });
		const task = await newTask();
		const result = await deliver([{ kind: "submit", taskId: task.publicId }], 1);
		expect(result.retryMessages).toHaveLength(1);
		expect(result.delays[0]).toBeGreaterThanOrEqual(2);
		expect((await taskRow(task.publicId)).status).toBe("NOT_START");

		// The claim was released: the retried delivery submits again and can succeed.
		upstream.submit = () => jsonResponse({ code: 1, description: "Success", result: "111" });
		const second = await deliver([{ kind: "submit", taskId: task.publicId }], 2);
		expect(second.explicitAcks).toHaveLength(1);
		expect(upstream.submitCalls()).toHaveLength(2);
		expect((await taskRow(task.publicId)).status).toBe("SUBMITTED");
	});

	it("retries wait longer with each attempt", async () => {
		freshUpstream().submit = () => new Response("bad gateway", { status: 502 });
		const task = await newTask();
		const first = await deliver([{ kind: "submit", taskId: task.publicId }], 1);
		const third = await deliver([{ kind: "submit", taskId: task.publicId }], 3);
		expect(first.delays).toHaveLength(1);
		expect(third.delays[0]).toBeGreaterThan(first.delays[0] ?? 0);
	});

	it("code 24 (banned prompt) fails the task with the banned word", async () => {
		freshUpstream().submit = () =>
			jsonResponse({
				code: 24,
				description: "May contain a banned word",
				properties: { promptEn: "nude body", bannedWord: "nude" },
			});
		const task = await newTask({ prompt: "nude body" });
		const result = await deliver([{ kind: "submit", taskId: task.publicId }]);
		expect(result.explicitAcks).toHaveLength(1);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toBe("banned prompt: nude");
		expect(row.finishTime).toBeGreaterThan(0);
	});

	it("other codes fail the task with the upstream's description", async () => {
		freshUpstream().submit = () => jsonResponse({ code: 4, description: "prompt is invalid" });
		const task = await newTask();
		await deliver([{ kind: "submit", taskId: task.publicId }]);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toBe("prompt is invalid");
	});

	it("a 5xx answer is retried; the task stays NOT_START", async () => {
		freshUpstream().submit = () => new Response("<html>oops</html>", { status: 503 });
		const task = await newTask();
		const result = await deliver([{ kind: "submit", taskId: task.publicId }]);
		expect(result.retryMessages).toHaveLength(1);
		expect((await taskRow(task.publicId)).status).toBe("NOT_START");
	});

	it("a 429 (rate limited) answer is retried, not a failure; the task stays NOT_START", async () => {
		freshUpstream().submit = () => new Response("Too Many Requests", { status: 429, headers: { "retry-after": "3" } });
		const task = await newTask();
		const result = await deliver([{ kind: "submit", taskId: task.publicId }]);
		expect(upstream.submitCalls()).toHaveLength(1);
		expect(result.retryMessages).toHaveLength(1);
		expect(result.explicitAcks).toHaveLength(0);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("NOT_START");
		expect(row.failReason).toBe("");

		// The claim was handed back: the retried delivery submits again.
		upstream.submit = () => jsonResponse({ code: 1, description: "Success", result: "429-then-ok" });
		await deliver([{ kind: "submit", taskId: task.publicId }], 2);
		expect((await taskRow(task.publicId)).status).toBe("SUBMITTED");
	});

	it("a network error is retried", async () => {
		freshUpstream().submit = () => {
			throw new TypeError("connection refused");
		};
		const task = await newTask();
		const result = await deliver([{ kind: "submit", taskId: task.publicId }]);
		expect(result.retryMessages).toHaveLength(1);
		expect((await taskRow(task.publicId)).status).toBe("NOT_START");
	});

	it("after the last attempt the task is FAILURE and the message is retried into the dead-letter queue", async () => {
		freshUpstream().submit = () => new Response("down", { status: 500 });
		// The queue gives up after wrangler.toml's max_retries; the one before the last is not the last.
		expect(TASK_QUEUE_MAX_RETRIES).toBe(consumerMaxRetries("mj-edge-tasks"));
		const task = await newTask();
		await deliver([{ kind: "submit", taskId: task.publicId }], TASK_QUEUE_MAX_RETRIES);
		expect((await taskRow(task.publicId)).status).toBe("NOT_START");
		const result = await deliver([{ kind: "submit", taskId: task.publicId }], TASK_QUEUE_MAX_RETRIES + 1);
		expect(result.retryMessages).toHaveLength(1);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toMatch(/^upstream unavailable: upstream answered HTTP 500/);
	});

	it("the dead-letter consumer fails a task whose submit message died there", async () => {
		freshUpstream();
		const task = await newTask();
		const result = await deliver([{ kind: "submit", taskId: task.publicId }], 1, TASK_DLQ);
		expect(result.explicitAcks).toHaveLength(1);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toMatch(/gave up/);
		expect(upstream.submitCalls()).toHaveLength(0);
	});

	it("the same message delivered twice at once makes one upstream submit", async () => {
		freshUpstream().submit = async () => {
			await new Promise((resolve) => setTimeout(resolve, 50));
			return jsonResponse({ code: 1, description: "Success", result: "222" });
		};
		const task = await newTask();
		const body: TaskMessage = { kind: "submit", taskId: task.publicId };
		await Promise.all([deliver([body]), deliver([body]), deliver([body, body])]);
		expect(upstream.submitCalls()).toHaveLength(1);
		expect((await taskRow(task.publicId)).status).toBe("SUBMITTED");
	});

	it("an unexpected error after the claim retries the message and hands the claim back", async () => {
		freshUpstream().submit = () => jsonResponse({ code: 1, description: "Success", result: "555" });
		const task = await newTask();
		vi.spyOn(console, "error").mockImplementation(() => {});
		// Without a signing secret the callback URL cannot be made: an error nobody planned for.
		const broken = await deliver([{ kind: "submit", taskId: task.publicId }], 1, TASK_QUEUE, {
			...env,
			SIGNING_SECRET: "",
		});
		expect(broken.retryMessages).toHaveLength(1);
		expect((await taskRow(task.publicId)).status).toBe("NOT_START");
		const retried = await deliver([{ kind: "submit", taskId: task.publicId }], 2);
		expect(retried.explicitAcks).toHaveLength(1);
		expect(upstream.submitCalls()).toHaveLength(1);
		expect((await taskRow(task.publicId)).status).toBe("SUBMITTED");
	});

	it("a message for a task that already left NOT_START does nothing", async () => {
		freshUpstream();
		const task = await newTask({ status: "SUBMITTED", upstreamId: "333", channelId });
		const result = await deliver([{ kind: "submit", taskId: task.publicId }]);
		expect(result.explicitAcks).toHaveLength(1);
		expect(upstream.submitCalls()).toHaveLength(0);
	});

	it("UPSCALE goes to the parent's channel with the parent's upstream id and the index", async () => {
		freshUpstream().submit = () => jsonResponse({ code: 1, description: "Success", result: "444" });
		const parent = await newTask({ status: "SUCCESS", upstreamId: "parent-up-1", channelId, progress: "100%" });
		const child = await newTask({ action: "UPSCALE", parentId: parent.publicId, taskIndex: 3 });
		await deliver([{ kind: "submit", taskId: child.publicId }]);
		const [call] = upstream.submitCalls();
		expect(call.path).toBe("/mj/submit/change");
		expect(call.body).toMatchObject({ taskId: "parent-up-1", action: "UPSCALE", index: 3 });
		expect((await taskRow(child.publicId)).channelId).toBe(channelId);
	});
});

describe("polling", () => {
	it("applies progress, then success; copies the image to R2 and stops polling", async () => {
		const fake = freshUpstream();
		const task = await newTask({ status: "SUBMITTED", upstreamId: "poll-1", channelId });
		fake.tasks.set("poll-1", { id: "poll-1", status: "IN_PROGRESS", progress: "45%" });
		await deliver([{ kind: "poll", taskId: task.publicId, n: 0 }]);
		let row = await taskRow(task.publicId);
		expect(row.status).toBe("IN_PROGRESS");
		expect(row.progress).toBe("45%");

		fake.tasks.set("poll-1", {
			id: "poll-1",
			status: "SUCCESS",
			progress: "100%",
			imageUrl: `${FAKE_ORIGIN}/img/poll-1.png`,
			finishTime: 1_700_000_000_000,
			buttons: [{ customId: "MJ::JOB::upsample::1::03ee7a3e-b4d2-4465-9165-b93c99cb6617", label: "U1" }],
			properties: { finalPrompt: "a test prompt --v 6" },
		});
		await deliver([{ kind: "poll", taskId: task.publicId, n: 1 }]);
		row = await taskRow(task.publicId);
		expect(row.status).toBe("SUCCESS");
		expect(row.progress).toBe("100%");
		expect(row.finishTime).toBe(1_700_000_000_000);
		expect(row.finalPrompt).toBe("a test prompt --v 6");

		// The copy runs in the task object's alarm.
		const stub = env.TASK_OBJECT.get(env.TASK_OBJECT.idFromName(task.publicId));
		await runDurableObjectAlarm(stub);
		row = await taskRow(task.publicId);
		expect(row.imageKey).toBe(`images/${task.publicId}`);
		const object = await env.IMAGES.get(`images/${task.publicId}`);
		expect(object?.httpMetadata?.contentType).toBe("image/png");
		expect(new Uint8Array(await (object as R2ObjectBody).arrayBuffer()).slice(0, 4)).toEqual(
			new Uint8Array([137, 80, 78, 71]),
		);

		// A finished task is not polled again.
		const callsBefore = fake.calls.length;
		await deliver([{ kind: "poll", taskId: task.publicId, n: 2 }]);
		expect(fake.calls.length).toBe(callsBefore);
	});

	it("a failed poll (upstream down) keeps the task and schedules the next poll", async () => {
		const fake = freshUpstream();
		const task = await newTask({ status: "IN_PROGRESS", progress: "30%", upstreamId: "poll-down", channelId });
		fake.tasks.set("poll-down", { id: "poll-down", status: "FAILURE", failReason: "must not be read" });
		fake.taskFetch = () => new Response("down", { status: 500 });
		const sent = vi.spyOn(env.TASK_QUEUE, "send");
		const result = await deliver([{ kind: "poll", taskId: task.publicId, n: 4 }]);
		// The upstream really was asked, and answered 500: the error path ran.
		expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual(["GET /mj/task/poll-down/fetch"]);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toHaveLength(0);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("IN_PROGRESS");
		expect(row.progress).toBe("30%");
		expect(row.failReason).toBe("");
		expect(sent).toHaveBeenCalledTimes(1);
		expect(sent).toHaveBeenCalledWith(
			{ kind: "poll", taskId: task.publicId, n: 5 },
			{ delaySeconds: expect.any(Number) },
		);
	});

	it("polls stop once the task is past its timeout (the reconciler fails it)", async () => {
		const fake = freshUpstream();
		const old = Date.now() - 31 * 60_000;
		const task = await newTask({ status: "SUBMITTED", upstreamId: "poll-old", channelId, submitTime: old });
		fake.tasks.set("poll-old", { id: "poll-old", status: "IN_PROGRESS", progress: "10%" });
		await deliver([{ kind: "poll", taskId: task.publicId, n: 9 }]);
		expect(fake.calls).toHaveLength(0);
	});
});
