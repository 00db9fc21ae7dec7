/**
 * D1 follows the task's Durable Object: a D1 write cut after the object's decision (an injected
 * fault: the object's `writeProgress` replaced through runInDurableObject, out of reach of RPC)
 * is retried by the object's alarm until it lands, repaired by the next cron run when the alarm is
 * gone too, and does not stop the upstream's pushes or the poller; the task then finishes
 * normally through the simulator, charged once.
 */
import { createMessageBatch, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sign } from "../../src/auth/signing";
import { reconcile } from "../../src/cron/reconcile";
import { insertTask, writeTaskProgress } from "../../src/db/tasks";
import { upsertUser } from "../../src/db/users";
import { defaultDeps } from "../../src/deps";
import type { TaskObject } from "../../src/durable/task-object";
import { handleTaskBatch } from "../../src/queue/task-consumer";
import { TASK_QUEUE, type TaskMessage } from "../../src/tasks/messages";
import { DEFAULT_PRICES } from "../../src/tasks/pricing";
import { taskObject } from "../../src/tasks/task-object-stub";
import { submitThroughChannels } from "../../src/tasks/upstream-submit";
import { call, json, uniqueSub, waitFor } from "../helpers/api";
import { db, insertTaskRow, simulatorChannelId, taskRow, userId } from "../helpers/db";

let owner: number;
let simulatorChannel: number;

beforeAll(async () => {
	simulatorChannel = await simulatorChannelId();
	owner = await userId(uniqueSub("repair"));
});

afterEach(() => {
	vi.restoreAllMocks();
});

/** The object's stub typed by its class, for runInDurableObject (the gateway's own stub knows only its calls). */
const objectOf = (publicId: string) => env.TASK_OBJECT.get(env.TASK_OBJECT.idFromName(publicId));

/** Every D1 write of the task's object fails from now on, as if D1 were unreachable or the process died. */
async function cutD1Writes(publicId: string): Promise<void> {
	await runInDurableObject(objectOf(publicId), (instance: TaskObject) => {
		instance.writeProgress = async () => {
			throw new Error("D1 write cut by the test");
		};
	});
}

async function restoreD1Writes(publicId: string): Promise<void> {
	await runInDurableObject(objectOf(publicId), (instance: TaskObject) => {
		instance.writeProgress = writeTaskProgress;
	});
}

interface Stored {
	status: string;
	upstreamId?: string;
	version: number;
	syncedVersion: number;
	effects: { copy: boolean; hook: boolean; attempts: number };
}

async function objectState(publicId: string): Promise<Stored> {
	const stored = await runInDurableObject(taskObject(env, publicId), (_instance, state) =>
		state.storage.get<Stored>("state"),
	);
	if (!stored) throw new Error(`no object state for ${publicId}`);
	return stored;
}

function alarmAt(publicId: string): Promise<number | null> {
	return runInDurableObject(taskObject(env, publicId), (_instance, state) => state.storage.getAlarm());
}

/** The kill -9 case where nothing of the object is left running: its alarm is gone as well. */
function dropAlarm(publicId: string): Promise<void> {
	return runInDurableObject(taskObject(env, publicId), (_instance, state) => state.storage.deleteAlarm());
}

function quiet(): void {
	vi.spyOn(console, "error").mockImplementation(() => {});
}

/** Submits the task to the simulator as the consumer does, without push URL (nothing but the test moves it). */
async function submitToSimulator(publicId: string): Promise<{ upstreamId: string; channelId: number }> {
	const outcome = await submitThroughChannels(
		{ ...env, PUBLIC_BASE_URL: "" },
		defaultDeps(),
		await taskRow(publicId),
		undefined,
	);
	if (outcome.kind !== "accepted" || outcome.channelId == null) {
		throw new Error(`the simulator did not accept the task: ${JSON.stringify(outcome)}`);
	}
	return { upstreamId: outcome.upstreamId, channelId: outcome.channelId };
}

const minutesAgo = (m: number) => Date.now() - m * 60_000;

describe("a D1 write cut after the object's decision", () => {
	it("is retried by the object's alarm, with backoff, until it lands; a running task gets no end-state effects", async () => {
		quiet();
		const task = await insertTaskRow({ userId: owner });
		const object = taskObject(env, task.publicId);
		await cutD1Writes(task.publicId);
		expect(
			await object.apply(task.publicId, { status: "SUBMITTED", upstreamId: "up-alarm", channelId: simulatorChannel }),
		).toEqual({ applied: true, status: "SUBMITTED" });

		// The object decided; D1 did not take it, and the alarm was armed with the decision.
		expect(await objectState(task.publicId)).toMatchObject({ status: "SUBMITTED", version: 1, syncedVersion: 0 });
		expect(await taskRow(task.publicId)).toMatchObject({ status: "NOT_START", upstreamId: null, version: 0 });
		const armed = await alarmAt(task.publicId);
		expect(armed).not.toBeNull();
		expect(armed ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(Date.now() + 5_000);

		// Still failing: the alarm tries, fails and comes back later.
		expect(await runDurableObjectAlarm(object)).toBe(true);
		expect((await taskRow(task.publicId)).status).toBe("NOT_START");
		expect(await alarmAt(task.publicId)).toBeGreaterThan(Date.now());

		await restoreD1Writes(task.publicId);
		expect(await runDurableObjectAlarm(object)).toBe(true);
		expect(await taskRow(task.publicId)).toMatchObject({
			status: "SUBMITTED",
			upstreamId: "up-alarm",
			channelId: simulatorChannel,
			version: 1,
		});
		const after = await objectState(task.publicId);
		expect(after.syncedVersion).toBe(1);
		// Nothing else to do for a running task: no copy, no callback, no alarm left.
		expect(after.effects).toEqual({ copy: false, hook: false, attempts: 0 });
		expect(await alarmAt(task.publicId)).toBeNull();
	});

	it("an update whose D1 write lands leaves no alarm behind", async () => {
		const task = await insertTaskRow({ userId: owner });
		await taskObject(env, task.publicId).apply(task.publicId, { status: "SUBMITTED", upstreamId: "up-clean" });
		expect((await taskRow(task.publicId)).status).toBe("SUBMITTED");
		expect(await alarmAt(task.publicId)).toBeNull();
	});

	it("with the alarm gone too, the next cron run repairs D1, and the task finishes SUCCESS through the simulator, charged once", async () => {
		quiet();
		const sub = uniqueSub("repair-e2e");
		const uid = await upsertUser(db(), sub, "user", 1_000, Date.now());
		const publicId = crypto.randomUUID();
		const price = DEFAULT_PRICES.IMAGINE;
		// Written and charged as a submit writes it, a minute ago (so the cron looks at it), no queue message.
		await insertTask(
			db(),
			{
				publicId,
				userId: uid,
				action: "IMAGINE",
				prompt: "a fox the cron brings back",
				status: "NOT_START",
				progress: "0%",
				description: "/imagine a fox the cron brings back",
				updatedAt: Date.now(),
				quota: price,
			},
			minutesAgo(1),
		);
		const balance = async () =>
			(await env.DB.prepare("SELECT quota FROM users WHERE id = ?").bind(uid).first<{ quota: number }>())?.quota;
		expect(await balance()).toBe(1_000 - price);

		// The consumer's submit: accepted upstream, decided by the object, and the D1 write lost.
		const object = taskObject(env, publicId);
		await cutD1Writes(publicId);
		const { upstreamId, channelId } = await submitToSimulator(publicId);
		expect(await object.apply(publicId, { status: "SUBMITTED", upstreamId, channelId })).toEqual({
			applied: true,
			status: "SUBMITTED",
		});
		expect(await taskRow(publicId)).toMatchObject({ status: "NOT_START", upstreamId: null });
		await dropAlarm(publicId);
		await restoreD1Writes(publicId);

		// The next cron run: asks the object instead of re-queueing a task whose claim is gone.
		const sent = vi.spyOn(env.TASK_QUEUE, "sendBatch");
		const report = await reconcile(env, defaultDeps());
		expect(report.repaired).toBeGreaterThanOrEqual(1);
		const requeued = sent.mock.calls.flatMap(([messages]) => [...messages].map((m) => m.body as TaskMessage));
		expect(
			requeued.filter((m) => (m.kind === "timeout" ? m.taskIds.includes(publicId) : m.taskId === publicId)),
		).toEqual([]);
		const repaired = await taskRow(publicId);
		const known = await objectState(publicId);
		expect(repaired.upstreamId).toBe(upstreamId);
		expect(repaired.channelId).toBe(channelId);
		expect({ status: repaired.status, version: repaired.version }).toEqual({
			status: known.status,
			version: known.version,
		});

		// From here the task runs as any other: the cron polls it to its end, the alarm copies the image.
		const done = await waitFor(
			async () => {
				const row = await taskRow(publicId);
				if (row.status === "SUCCESS" && row.imageKey) return row;
				await reconcile(env, defaultDeps());
				return undefined;
			},
			20_000,
			"the repaired task to finish",
		);
		expect(done.failReason).toBe("");
		expect(done.refunded).toBe(false);
		expect(await env.IMAGES.head(`images/${publicId}`)).not.toBeNull();
		expect(await balance()).toBe(1_000 - price);
		expect((await objectState(publicId)).syncedVersion).toBe(done.version);
	});

	it("an end decided while D1 is cut is refunded once when the write lands, and its callback waits for it", async () => {
		quiet();
		const sub = uniqueSub("repair-refund");
		const uid = await upsertUser(db(), sub, "user", 500, Date.now());
		const publicId = crypto.randomUUID();
		await insertTask(
			db(),
			{
				publicId,
				userId: uid,
				action: "IMAGINE",
				prompt: "a fox that fails",
				status: "NOT_START",
				progress: "0%",
				description: "/imagine a fox that fails",
				updatedAt: Date.now(),
				quota: 100,
				notifyHook: "https://hooks.example.com/mj",
			},
			Date.now(),
		);
		const balance = async () =>
			(await env.DB.prepare("SELECT quota FROM users WHERE id = ?").bind(uid).first<{ quota: number }>())?.quota;
		expect(await balance()).toBe(400);
		const object = taskObject(env, publicId);
		await cutD1Writes(publicId);
		await object.apply(publicId, { status: "FAILURE", failReason: "upstream said no" });
		// The alarm set for the end's effects runs now, cannot write D1, and keeps the callback back.
		await waitFor(async () => ((await alarmAt(publicId)) ?? 0) > Date.now(), 5_000, "the retry");
		expect(await taskRow(publicId)).toMatchObject({ status: "NOT_START", refunded: false });
		expect(await balance()).toBe(400);
		expect((await objectState(publicId)).effects.hook).toBe(true);

		const hooks = vi.spyOn(env.HOOK_QUEUE, "send");
		await restoreD1Writes(publicId);
		expect(await runDurableObjectAlarm(object)).toBe(true);
		expect(await taskRow(publicId)).toMatchObject({
			status: "FAILURE",
			failReason: "upstream said no",
			refunded: true,
		});
		expect(await balance()).toBe(500);
		expect((await objectState(publicId)).effects).toMatchObject({ copy: false, hook: false });
		expect(hooks).toHaveBeenCalledWith({ taskId: publicId });
		// Reported again, written again: still one refund.
		expect((await object.apply(publicId, { status: "FAILURE", failReason: "again" })).applied).toBe(false);
		expect(await balance()).toBe(500);
	});

	it("the upstream's push for the upstream task the object recorded is accepted, and repairs D1", async () => {
		quiet();
		const task = await insertTaskRow({ userId: owner });
		await cutD1Writes(task.publicId);
		await taskObject(env, task.publicId).apply(task.publicId, {
			status: "SUBMITTED",
			upstreamId: "up-push",
			channelId: simulatorChannel,
		});
		await dropAlarm(task.publicId);
		await restoreD1Writes(task.publicId);
		expect((await taskRow(task.publicId)).upstreamId).toBeNull();

		const push = async (body: unknown) =>
			call(`/mj/callback/${task.publicId}?sig=${await sign(env, "upstream-callback", task.publicId)}`, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify(body),
			});
		// Another upstream task's push is still refused.
		expect((await push({ id: "up-other", status: "IN_PROGRESS", progress: "10%" })).status).toBe(400);
		const response = await push({ id: "up-push", status: "IN_PROGRESS", progress: "40%" });
		expect(response.status).toBe(200);
		expect(await json(response)).toEqual({ code: 1, description: "applied" });
		expect(await taskRow(task.publicId)).toMatchObject({
			status: "IN_PROGRESS",
			progress: "40%",
			upstreamId: "up-push",
			channelId: simulatorChannel,
			version: 2,
		});
	});

	it("the poller follows the object's upstream task when D1 does not have it, and repairs D1", async () => {
		quiet();
		const task = await insertTaskRow({ userId: owner, prompt: "a fox the poller finds" });
		await cutD1Writes(task.publicId);
		const { upstreamId, channelId } = await submitToSimulator(task.publicId);
		await taskObject(env, task.publicId).apply(task.publicId, { status: "SUBMITTED", upstreamId, channelId });
		await dropAlarm(task.publicId);
		await restoreD1Writes(task.publicId);

		const batch = createMessageBatch<TaskMessage>(TASK_QUEUE, [
			{
				id: `poll-${task.publicId}`,
				timestamp: new Date(),
				attempts: 1,
				body: { kind: "poll", taskId: task.publicId, n: 0 },
			},
		]);
		const next = vi.spyOn(env.TASK_QUEUE, "send");
		await handleTaskBatch(batch, env, defaultDeps());
		const row = await taskRow(task.publicId);
		expect(row.upstreamId).toBe(upstreamId);
		expect(row.status).not.toBe("NOT_START");
		expect(row.version).toBe((await objectState(task.publicId)).version);
		// Polling goes on (unless the simulator had already finished the task).
		if (row.status !== "SUCCESS") {
			expect(next).toHaveBeenCalledWith({ kind: "poll", taskId: task.publicId, n: 1 }, expect.anything());
		}
	});
});
