/**
 * Stopping the upstream task of a task the gateway cancelled, against the upstream simulator
 * (simulator/): the cancel that arrives while the submit is on its way keeps the upstream id on
 * the cancelled task, and an upstream cancel that fails is tried again from a queue message of its
 * own until the upstream has it (or the dead-letter consumer logs it).
 *
 * The simulator has no switch to fail calls, so the consumer gets the SIMULATOR binding through a
 * gate (`Gate`) that holds submits and answers a number of cancels with an HTTP 503 before letting
 * them through; the simulator's own state says whether a cancel reached it. TASK_QUEUE is recorded
 * instead of sent, so each message is delivered here, by hand.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { defaultDeps } from "../../src/deps";
import type { TaskMessage, UpstreamCancelMessage } from "../../src/tasks/messages";
import { taskObject } from "../../src/tasks/task-object-stub";
import { BASE, call, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, simulatorChannelId, taskRow, userId } from "../helpers/db";
import { proxyPost, reply } from "../helpers/proxy";
import { fetchTask } from "../helpers/simulator";
import { cancelMessagesOf, deadLetter, deliverTask } from "../helpers/task-queue";

let simulatorChannel: number;

beforeAll(async () => {
	simulatorChannel = await simulatorChannelId();
});

/** The SIMULATOR binding behind a gate the test controls, and TASK_QUEUE recorded instead of sent. */
class Gate {
	/** Cancels still to answer with 503 before one goes through. */
	failCancels = 0;
	/** Every cancel the gateway sent, and whether it reached the simulator. */
	readonly cancels: { upstreamId: string; passed: boolean }[] = [];
	readonly sent: { body: TaskMessage; delaySeconds?: number }[] = [];
	#held: Promise<void> | null = null;
	#release: () => void = () => {};
	submits = 0;

	hold(): void {
		this.#held = new Promise((resolve) => {
			this.#release = resolve;
		});
	}

	release(): void {
		this.#release();
	}

	readonly env: Env = {
		...env,
		SIMULATOR: {
			fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
				const request = new Request(input, init);
				const path = new URL(request.url).pathname;
				const cancel = /\/task\/([^/]+)\/cancel$/.exec(path);
				if (cancel) {
					const passed = this.failCancels === 0;
					this.cancels.push({ upstreamId: decodeURIComponent(cancel[1]), passed });
					if (!passed) {
						this.failCancels -= 1;
						return new Response("unavailable", { status: 503 });
					}
				}
				if (path.includes("/submit/")) {
					this.submits += 1;
					if (this.#held) await this.#held;
				}
				return env.SIMULATOR.fetch(request);
			},
		} as Fetcher,
		TASK_QUEUE: {
			send: async (body: TaskMessage, options?: QueueSendOptions) => {
				this.sent.push({ body, delaySeconds: options?.delaySeconds });
			},
			sendBatch: async (messages: Iterable<MessageSendRequest<TaskMessage>>) => {
				for (const m of messages) this.sent.push({ body: m.body, delaySeconds: m.delaySeconds });
			},
		} as unknown as Queue<TaskMessage>,
	} as Env;

	cancelMessages() {
		return cancelMessagesOf(this.sent);
	}
}

/** Delivers one message to the task consumer (through the gate); the queue's verdict on it. */
const deliver = (gate: Gate, body: TaskMessage, attempts = 1) =>
	deliverTask(gate.env, { ...defaultDeps(), random: () => 0 }, body, attempts);

async function owner(): Promise<{ token: string; id: number }> {
	const sub = uniqueSub("upcancel");
	const token = await tokenFor(sub);
	await call("/api/user/self", { token });
	return { token, id: await userId(sub) };
}

/**
 * A task whose submit the upstream accepts only after the user cancelled it. `--sim-slow` keeps
 * the simulator's task unfinished for seconds, so a cancel that reaches it is what ends it.
 */
async function cancelledInFlight(gate: Gate) {
	const user = await owner();
	const task = await insertTaskRow({ userId: user.id, prompt: "a slow lighthouse --sim-slow" });
	gate.hold();
	const consumed = deliver(gate, { kind: "submit", taskId: task.publicId });
	await waitFor(async () => gate.submits === 1, 10_000, "the submit to reach the simulator");
	expect((await reply(await proxyPost(`/mj/task/${task.publicId}/cancel`, user.token, {}))).code).toBe(1);
	gate.release();
	const result = await consumed;
	expect(result.explicitAcks).toHaveLength(1);
	expect(result.retryMessages).toHaveLength(0);
	const row = await taskRow(task.publicId);
	return { task, row };
}

const simulatorStatus = async (upstreamId: string) => (await fetchTask(upstreamId))?.status;

describe("a task cancelled while its submit was on the way upstream", () => {
	it("keeps the upstream id and channel in D1, and the simulator's task is cancelled once", async () => {
		const gate = new Gate();
		const { task, row } = await cancelledInFlight(gate);
		expect(row.status).toBe("CANCEL");
		expect(row.upstreamId).toMatch(/^\d{16,}$/);
		expect(row.channelId).toBe(simulatorChannel);
		expect(row.failReason).toBeTruthy();
		expect(row.refunded).toBe(true);
		// The object says the same, and stays ended: a later upstream report is refused.
		const known = await taskObject(env, task.publicId).sync(task.publicId);
		expect(known).toMatchObject({ status: "CANCEL", upstreamId: row.upstreamId, channelId: simulatorChannel });
		const later = await taskObject(env, task.publicId).apply(task.publicId, { status: "SUCCESS", progress: "100%" });
		expect(later.applied).toBe(false);
		expect((await taskRow(task.publicId)).status).toBe("CANCEL");

		expect(gate.cancels).toEqual([{ upstreamId: row.upstreamId, passed: true }]);
		expect(await simulatorStatus(row.upstreamId as string)).toBe("CANCEL");
		expect(gate.cancelMessages(), "no retry for a cancel that went through").toEqual([]);
		// Nothing polls a cancelled task.
		expect(gate.sent.filter((m) => m.body.kind === "poll")).toEqual([]);
	});

	it("an upstream cancel that fails is retried with backoff until it reaches the upstream", async () => {
		const gate = new Gate();
		// The try at once and the first two deliveries of the retry fail.
		gate.failCancels = 3;
		const { task, row } = await cancelledInFlight(gate);
		const upstreamId = row.upstreamId as string;
		expect(row.status).toBe("CANCEL");
		expect(upstreamId).toMatch(/^\d{16,}$/);
		expect(row.channelId).toBe(simulatorChannel);
		expect(await simulatorStatus(upstreamId)).not.toBe("CANCEL");

		const [queued, ...more] = gate.cancelMessages();
		expect(more).toEqual([]);
		expect(queued.body).toEqual({
			kind: "cancel-upstream",
			taskId: task.publicId,
			upstreamId,
			channelId: simulatorChannel,
		});
		expect(queued.delaySeconds).toBe(15);

		const delays: number[] = [];
		for (const attempts of [1, 2]) {
			const result = await deliver(gate, queued.body, attempts);
			expect(result.explicitAcks).toEqual([]);
			expect(result.retryMessages).toHaveLength(1);
			delays.push(...(result.retryDelays as number[]));
			expect(await simulatorStatus(upstreamId)).not.toBe("CANCEL");
		}
		// Longer each time: 30 s, then a minute.
		expect(delays).toEqual([30, 60]);

		const done = await deliver(gate, queued.body, 3);
		expect(done.explicitAcks).toHaveLength(1);
		expect(done.retryMessages).toEqual([]);
		expect(await simulatorStatus(upstreamId)).toBe("CANCEL");
		expect(gate.cancels.map((c) => c.passed)).toEqual([false, false, false, true]);
		expect(gate.cancels.every((c) => c.upstreamId === upstreamId)).toBe(true);
		// The retry queued nothing more.
		expect(gate.cancelMessages()).toHaveLength(1);
	});

	it("a cancel message the upstream refuses (already finished there) is done, not retried", async () => {
		const gate = new Gate();
		const { row } = await cancelledInFlight(gate);
		const body: UpstreamCancelMessage = {
			kind: "cancel-upstream",
			taskId: row.publicId,
			upstreamId: row.upstreamId as string,
			channelId: simulatorChannel,
		};
		// The simulator already cancelled it: a second cancel is code 4 "already finished".
		const result = await deliver(gate, body, 1);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
		expect(gate.cancels).toHaveLength(2);
	});

	it("the dead-letter consumer logs a cancel that gave up, with the upstream task", async () => {
		const body: UpstreamCancelMessage = {
			kind: "cancel-upstream",
			taskId: crypto.randomUUID(),
			upstreamId: "1234567890123456789",
			channelId: simulatorChannel,
		};
		const { id, acks, logged } = await deadLetter(env, body);
		expect(acks).toEqual([id]);
		expect(logged).toContain("upstream cancel gave up");
		expect(logged).toContain(body.upstreamId);
		expect(logged).toContain(body.taskId);
	});
});

describe("a running task the user cancels", () => {
	it("a failed upstream cancel is queued for retry too", async () => {
		const gate = new Gate();
		const user = await owner();
		const task = await insertTaskRow({ userId: user.id, prompt: "a slow harbour --sim-slow" });
		const submitted = await deliver(gate, { kind: "submit", taskId: task.publicId });
		expect(submitted.explicitAcks).toHaveLength(1);
		const upstreamId = (await taskRow(task.publicId)).upstreamId as string;
		expect(upstreamId).toMatch(/^\d{16,}$/);

		gate.failCancels = 1;
		const ctx = createExecutionContext();
		const response = await createApp().fetch(
			new Request(`${BASE}/mj/task/${task.publicId}/cancel`, {
				method: "POST",
				headers: { "mj-api-secret": user.token, "content-type": "application/json" },
				body: "{}",
			}),
			gate.env,
			ctx,
		);
		expect((await reply(response)).code).toBe(1);
		await waitOnExecutionContext(ctx);
		expect(gate.cancels).toEqual([{ upstreamId, passed: false }]);
		const [queued] = gate.cancelMessages();
		expect(queued?.body).toEqual({
			kind: "cancel-upstream",
			taskId: task.publicId,
			upstreamId,
			channelId: simulatorChannel,
		});
		const done = await deliver(gate, queued.body, 1);
		expect(done.explicitAcks).toHaveLength(1);
		expect(await simulatorStatus(upstreamId)).toBe("CANCEL");
	});
});
