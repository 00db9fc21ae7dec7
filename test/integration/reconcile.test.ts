/**
 * The cron reconciler, fired through the Worker's scheduled handler against the built-in
 * simulator: lost queue messages, tasks the upstream forgot, timeouts, and progress sync.
 */
import {
	createExecutionContext,
	createMessageBatch,
	createScheduledController,
	getQueueResult,
	waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { tasks } from "../../src/db/schema";
import { defaultDeps } from "../../src/deps";
import worker from "../../src/index";
import { handleTaskBatch } from "../../src/queue/task-consumer";
import { TASK_QUEUE, type TaskMessage } from "../../src/tasks/messages";
import { MODAL_ABANDONED } from "../../src/tasks/reconcile-rules";
import { SIMULATOR_SECRET } from "../../src/upstream/fetcher";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, failedRow, insertTaskRow, simulatorChannelId, taskRow, userId } from "../helpers/db";
import { realFetch, resetDeps, useFetch } from "../helpers/deps";
import { proxyPost, proxyTask, reply, submitted } from "../helpers/proxy";
import { deadLetter } from "../helpers/task-queue";

let simulatorChannel: number;
let owner: number;

beforeAll(async () => {
	simulatorChannel = await simulatorChannelId();
	owner = await userId(`reconcile-${Date.now()}`);
});

async function runCron(): Promise<void> {
	const ctx = createExecutionContext();
	await worker.scheduled(createScheduledController({ cron: "* * * * *" }), env, ctx);
	await waitOnExecutionContext(ctx);
}

const minutesAgo = (m: number) => Date.now() - m * 60_000;

afterEach(() => resetDeps());

describe("reconciler", () => {
	it("re-queues a NOT_START task whose message was lost, which then runs to SUCCESS", async () => {
		const task = await insertTaskRow({ userId: owner, prompt: "lost message", submitTime: minutesAgo(1) });
		await runCron();
		const done = await waitFor(
			async () => {
				const row = await taskRow(task.publicId);
				return row.status === "SUCCESS" ? row : undefined;
			},
			20_000,
			"the re-queued task to finish",
		);
		expect(done.upstreamId).toBeTruthy();
		expect(done.channelId).toBe(simulatorChannel);
	});

	it("leaves a NOT_START task alone while its message may still be on the way", async () => {
		const fresh = await insertTaskRow({ userId: owner, submitTime: Date.now() - 5_000 });
		const lost = await insertTaskRow({ userId: owner, prompt: "lost beside a fresh one", submitTime: minutesAgo(1) });
		const sent = vi.spyOn(env.TASK_QUEUE, "sendBatch");
		await runCron();
		// The re-queue step ran (the lost task's message went out) and left the fresh task out.
		const requeued = sent.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as TaskMessage));
		expect(requeued).toContainEqual({ kind: "submit", taskId: lost.publicId });
		expect(
			requeued.filter((m) => (m.kind === "timeout" ? m.taskIds.includes(fresh.publicId) : m.taskId === fresh.publicId)),
		).toEqual([]);
		expect((await taskRow(fresh.publicId)).status).toBe("NOT_START");
		sent.mockRestore();
		await waitFor(async () => (await taskRow(lost.publicId)).status === "SUCCESS", 20_000, "the lost task to run");
	});

	it("fails a task the upstream no longer returns", async () => {
		const task = await insertTaskRow({
			userId: owner,
			status: "SUBMITTED",
			upstreamId: "9999000000000001",
			channelId: simulatorChannel,
			submitTime: minutesAgo(5),
		});
		await runCron();
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toBe("the upstream no longer knows this task");
	});

	it("gives a just-submitted task a grace period before calling it vanished", async () => {
		const task = await insertTaskRow({
			userId: owner,
			status: "SUBMITTED",
			upstreamId: "9999000000000002",
			channelId: simulatorChannel,
			submitTime: Date.now() - 10_000,
		});
		await runCron();
		expect((await taskRow(task.publicId)).status).toBe("SUBMITTED");
	});

	it("fails in-flight and never-started tasks that ran past the timeout", async () => {
		const running = await insertTaskRow({
			userId: owner,
			status: "IN_PROGRESS",
			progress: "40%",
			upstreamId: "9999000000000003",
			channelId: simulatorChannel,
			submitTime: minutesAgo(31),
		});
		const neverStarted = await insertTaskRow({ userId: owner, submitTime: minutesAgo(45) });
		await runCron();
		// The cron hands them to the task queue; its consumer fails them through their objects.
		for (const id of [running.publicId, neverStarted.publicId]) {
			const row = await failedRow(id);
			expect(row.status).toBe("FAILURE");
			expect(row.failReason).toBe("timed out after 30 minutes");
			expect(row.finishTime).toBeGreaterThan(0);
		}
	});

	it("a timed-out task handed over twice ends once: one FAILURE, one refund, one callback", async () => {
		const posts: { _id?: string; status?: string }[] = [];
		useFetch(async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).host !== "client.test") return realFetch(request);
			posts.push(JSON.parse(await request.text()));
			return new Response("ok");
		});
		const uid = await userId(`reconcile-twice-${Date.now()}`);
		const balance = async () =>
			(await env.DB.prepare("SELECT quota FROM users WHERE id = ?").bind(uid).first<{ quota: number }>())?.quota;
		const before = await balance();
		const task = await insertTaskRow({
			userId: uid,
			status: "IN_PROGRESS",
			progress: "40%",
			upstreamId: "9999000000000009",
			channelId: simulatorChannel,
			submitTime: minutesAgo(40),
			notifyHook: "http://client.test/twice",
			quota: 70,
		});
		const sent = vi.spyOn(env.TASK_QUEUE, "sendBatch");
		await runCron();
		const handed = sent.mock.calls
			.flatMap(([messages]) => [...messages].map((m) => m.body as TaskMessage))
			.filter((m) => m.kind === "timeout" && m.taskIds.includes(task.publicId));
		sent.mockRestore();
		expect(handed).toEqual([
			{ kind: "timeout", failReason: "timed out after 30 minutes", taskIds: expect.arrayContaining([task.publicId]) },
		]);
		// The same message once more, as a redelivery or a second hand-off after the cursor wrapped would bring it.
		const batch = createMessageBatch<TaskMessage>(TASK_QUEUE, [
			{ id: "twice-1", timestamp: new Date(), attempts: 1, body: handed[0] },
		]);
		const ctx = createExecutionContext();
		await handleTaskBatch(batch, env, defaultDeps());
		expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["twice-1"]);
		const endPosts = () => posts.filter((post) => post._id === task.publicId && post.status === "FAILURE");
		await waitFor(async () => endPosts().length > 0, 10_000, "the end's callback");
		// Both deliveries are in (the cron's went through the real queue): still one end.
		await waitFor(async () => (await taskRow(task.publicId)).status === "FAILURE", 10_000, "the failure");
		await new Promise((resolve) => setTimeout(resolve, 2_500));
		expect(endPosts()).toHaveLength(1);
		const row = await taskRow(task.publicId);
		expect(row.version).toBe(task.version + 1);
		expect(row.refunded).toBe(true);
		expect(await balance()).toBe((before ?? 0) + 70);
	});

	it("a timeout hand-off that gave up is logged, and its tasks stay for the cron's next pass", async () => {
		const task = await insertTaskRow({
			userId: owner,
			status: "IN_PROGRESS",
			upstreamId: "9999000000000010",
			channelId: simulatorChannel,
			submitTime: minutesAgo(40),
		});
		const body: TaskMessage = { kind: "timeout", failReason: "timed out after 30 minutes", taskIds: [task.publicId] };
		const { id, acks, logged } = await deadLetter(env, body);
		expect(acks).toEqual([id]);
		expect(logged).toContain("timed-out tasks could not be ended");
		expect(logged).toContain(task.publicId);
		// Nothing was ended on the way to the log: the task is still the cron's to find.
		expect((await taskRow(task.publicId)).status).toBe("IN_PROGRESS");
	});

	it("brings a task up to date from list-by-condition when no poll reached it", async () => {
		// A real simulator task, but recorded in D1 without any poll message behind it.
		const reply = await env.SIMULATOR.fetch(
			new Request(`${env.SIMULATOR_URL}/mj/submit/imagine`, {
				method: "POST",
				headers: { "mj-api-secret": SIMULATOR_SECRET, "content-type": "application/json" },
				body: JSON.stringify({ prompt: "synced by the cron" }),
			}),
		);
		const { result: upstreamId } = (await reply.json()) as { result: string };
		const task = await insertTaskRow({
			userId: owner,
			status: "SUBMITTED",
			upstreamId,
			channelId: simulatorChannel,
			prompt: "synced by the cron",
		});
		await waitFor(
			async () => {
				const view = await env.SIMULATOR.fetch(
					new Request(`${env.SIMULATOR_URL}/mj/task/${upstreamId}/fetch`, {
						headers: { "mj-api-secret": SIMULATOR_SECRET },
					}),
				);
				return ((await view.json()) as { status: string }).status === "SUCCESS";
			},
			10_000,
			"the simulator to finish",
		);
		await runCron();
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("SUCCESS");
		expect(row.progress).toBe("100%");
		expect(row.upstreamImageUrl).toContain(upstreamId);
	});

	it("ends an abandoned modal step (a closed vary-region dialog) past the timeout as FAILURE, refunded, with its reason", async () => {
		const token = await tokenFor(uniqueSub("modal-abandoned"));
		const quota = async () =>
			(await json<{ data: { quota: number } }>(await call("/api/user/self", { token }))).data.quota;
		const gridId = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a lighthouse" }));
		const grid = await waitFor(
			async () => {
				const task = await proxyTask(token, gridId);
				return task.status === "SUCCESS" ? task : undefined;
			},
			25_000,
			"the grid",
		);
		const upscale = await reply(
			await proxyPost("/mj/submit/action", token, { taskId: gridId, customId: grid.buttons[0].customId }),
		);
		const upscaled = await waitFor(
			async () => {
				const task = await proxyTask(token, upscale.result as string);
				return task.status === "SUCCESS" ? task : undefined;
			},
			25_000,
			"the upscale",
		);
		const inpaint = upscaled.buttons.find((button) => button.customId.startsWith("MJ::Inpaint::"));
		if (!inpaint) throw new Error("the upscale has no vary-region button");
		const before = await quota();
		const answer = await reply(
			await proxyPost("/mj/submit/action", token, { taskId: upscaled.id, customId: inpaint.customId }),
		);
		expect(answer.code).toBe(21);
		const modalId = answer.result as string;
		const charged = before - (await quota());
		expect(charged).toBeGreaterThan(0);

		// Still within the timeout: the reconciler leaves it waiting for its step.
		await runCron();
		expect((await taskRow(modalId)).status).toBe("MODAL");

		// The dialog was closed half an hour ago and never sent.
		await db()
			.update(tasks)
			.set({ submitTime: minutesAgo(31) })
			.where(eq(tasks.publicId, modalId));
		await runCron();
		await waitFor(async () => (await taskRow(modalId)).status === "FAILURE", 10_000, "the modal task to fail");
		const ended = await proxyTask(token, modalId);
		expect(ended.status).toBe("FAILURE");
		expect(ended.failReason).toBe(`${MODAL_ABANDONED} within 30 minutes; the charge is refunded`);
		expect((await taskRow(modalId)).refunded).toBe(true);
		expect(await quota()).toBe(before);
	}, 60_000);
});
