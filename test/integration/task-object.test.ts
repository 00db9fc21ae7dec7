/**
 * The per-task Durable Object: updates racing in from the poller, push callbacks and the
 * reconciler are applied one at a time and never move a task backwards.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { writeTaskProgress } from "../../src/db/tasks";
import { defaultDeps, replaceRuntimeDeps } from "../../src/deps";
import type { TaskUpdate } from "../../src/tasks/model";
import { taskObject } from "../../src/tasks/task-object-stub";
import { waitFor } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";

let owner: number;
beforeAll(async () => {
	owner = await userId(`object-${Date.now()}`);
});

describe("task object", () => {
	it("conflicting updates at once end in one terminal state, matching in D1, and nothing moves it after", async () => {
		const task = await insertTaskRow({ userId: owner });
		const object = taskObject(env, task.publicId);
		const updates: TaskUpdate[] = [
			{ status: "SUBMITTED", upstreamId: "u-1" },
			{ status: "IN_PROGRESS", progress: "30%" },
			{ status: "SUCCESS", progress: "100%" },
			{ status: "IN_PROGRESS", progress: "60%" },
			{ status: "FAILURE", failReason: "late failure" },
			{ status: "SUBMITTED" },
			{ status: "IN_PROGRESS", progress: "90%" },
		];
		const results = await Promise.all(updates.map((update) => object.apply(task.publicId, update)));
		const terminalApplied = results.filter((r, i) => r.applied && ["SUCCESS", "FAILURE"].includes(updates[i].status));
		expect(terminalApplied).toHaveLength(1);

		const row = await taskRow(task.publicId);
		expect(["SUCCESS", "FAILURE"]).toContain(row.status);
		const later = await object.apply(task.publicId, { status: "IN_PROGRESS", progress: "99%" });
		expect(later).toEqual({ applied: false, status: row.status, reason: "terminal" });
		expect((await taskRow(task.publicId)).status).toBe(row.status);
		await runDurableObjectAlarm(object);
	});

	it("success is never overwritten by a late progress report or a failure", async () => {
		const task = await insertTaskRow({ userId: owner });
		const object = taskObject(env, task.publicId);
		await object.apply(task.publicId, { status: "SUBMITTED", upstreamId: "u-2" });
		await object.apply(task.publicId, { status: "SUCCESS", progress: "100%" });
		expect((await object.apply(task.publicId, { status: "IN_PROGRESS", progress: "50%" })).reason).toBe("terminal");
		expect((await object.apply(task.publicId, { status: "FAILURE", failReason: "x" })).reason).toBe("terminal");
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("SUCCESS");
		expect(row.failReason).toBe("");
		await runDurableObjectAlarm(object);
	});

	it("progress only rises; stale and duplicate reports are ignored", async () => {
		const task = await insertTaskRow({ userId: owner });
		const object = taskObject(env, task.publicId);
		await object.apply(task.publicId, { status: "SUBMITTED", upstreamId: "u-3" });
		expect((await object.apply(task.publicId, { status: "IN_PROGRESS", progress: "60%" })).applied).toBe(true);
		expect((await object.apply(task.publicId, { status: "IN_PROGRESS", progress: "40%" })).reason).toBe("duplicate");
		expect((await object.apply(task.publicId, { status: "IN_PROGRESS", progress: "60%" })).reason).toBe("duplicate");
		expect((await object.apply(task.publicId, { status: "SUBMITTED" })).reason).toBe("stale");
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("IN_PROGRESS");
		expect(row.progress).toBe("60%");
		// submitted, in progress: two accepted updates.
		expect(row.version).toBe(2);
	});

	it("many progress reports racing in leave the highest", async () => {
		const task = await insertTaskRow({ userId: owner, status: "SUBMITTED", upstreamId: "u-4" });
		const object = taskObject(env, task.publicId);
		const percents = [5, 80, 20, 65, 95, 10, 50, 35];
		await Promise.all(percents.map((p) => object.apply(task.publicId, { status: "IN_PROGRESS", progress: `${p}%` })));
		expect((await taskRow(task.publicId)).progress).toBe("95%");
	});

	it("an older D1 write arriving late never overwrites a newer one", async () => {
		const task = await insertTaskRow({ userId: owner });
		const object = taskObject(env, task.publicId);
		await object.apply(task.publicId, { status: "SUBMITTED", upstreamId: "u-5" });
		await object.apply(task.publicId, { status: "IN_PROGRESS", progress: "70%" });
		const wrote = await writeTaskProgress(db(), task.publicId, 1, { status: "SUBMITTED", progress: "0%" }, Date.now());
		expect(wrote).toBe(false);
		expect((await taskRow(task.publicId)).status).toBe("IN_PROGRESS");
	});

	it("an update for a task that does not exist is refused", async () => {
		const id = crypto.randomUUID();
		expect(await taskObject(env, id).apply(id, { status: "SUBMITTED" })).toEqual({
			applied: false,
			status: null,
			reason: "unknown-task",
		});
	});

	it("the submit claim is taken once and can be given back", async () => {
		const task = await insertTaskRow({ userId: owner });
		const object = taskObject(env, task.publicId);
		const claims = await Promise.all([1, 2, 3].map(() => object.claimSubmit(task.publicId, 60_000)));
		expect(claims.filter(Boolean)).toHaveLength(1);
		await object.releaseSubmit(task.publicId);
		expect(await object.claimSubmit(task.publicId, 60_000)).toBe(true);
		await object.apply(task.publicId, { status: "SUBMITTED", upstreamId: "u-6" });
		await object.releaseSubmit(task.publicId);
		// Once submitted there is nothing left to claim.
		expect(await object.claimSubmit(task.publicId, 60_000)).toBe(false);
	});

	it("a failure records the reason and the finish time, and queues no image copy", async () => {
		const task = await insertTaskRow({ userId: owner, status: "IN_PROGRESS", upstreamId: "u-7", progress: "50%" });
		const object = taskObject(env, task.publicId);
		await object.apply(task.publicId, {
			status: "FAILURE",
			failReason: "upstream says no",
			imageUrl: "http://x.test/a.png",
		});
		await runDurableObjectAlarm(object);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("FAILURE");
		expect(row.failReason).toBe("upstream says no");
		expect(row.finishTime).toBeGreaterThan(0);
		expect(row.imageKey).toBeNull();
	});
});

/** The part of the object's stored state the image copy keeps. */
interface StoredEffects {
	effects: { copy: boolean; hook: boolean; attempts: number };
}

async function storedEffects(publicId: string): Promise<StoredEffects["effects"] | undefined> {
	return runInDurableObject(taskObject(env, publicId), async (_instance, state) => {
		return (await state.storage.get<StoredEffects>("state"))?.effects;
	});
}

async function scheduledAlarm(publicId: string): Promise<number | null> {
	return runInDurableObject(taskObject(env, publicId), (_instance, state) => state.storage.getAlarm());
}

/** A PNG's first bytes (signature, IHDR chunk): the copy judges a download by them. */
const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 9, 8, 7, 6]);

/**
 * Answers image downloads from img.test with the given replies in turn (the last repeats);
 * the object's alarm downloads through the runtime's Deps. Returns the URLs requested.
 */
function imageHost(replies: (() => Response)[]): string[] {
	const requested: string[] = [];
	const real = defaultDeps();
	const realFetch = real.fetch;
	replaceRuntimeDeps({
		...real,
		fetch: async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).host !== "img.test") return realFetch(input, init);
			requested.push(request.url);
			return replies[Math.min(requested.length, replies.length) - 1]();
		},
	});
	return requested;
}

/**
 * A finished task whose image is at `imageUrl`, after its first copy attempt. That attempt
 * runs in the alarm the success sets for "now", which fires by itself; running it from the
 * test as well could run it twice.
 */
async function succeededWithImage(imageUrl: string, requested: string[]): Promise<string> {
	const task = await insertTaskRow({ userId: owner, status: "IN_PROGRESS", upstreamId: "u-img", progress: "75%" });
	await taskObject(env, task.publicId).apply(task.publicId, { status: "SUCCESS", progress: "100%", imageUrl });
	await waitFor(
		async () => {
			if (requested.length === 0) return false;
			const effects = await storedEffects(task.publicId);
			// Ended: a failure counted with its retry scheduled, or the copy no longer pending.
			return effects && ((effects.attempts > 0 && (await scheduledAlarm(task.publicId)) !== null) || !effects.copy);
		},
		5_000,
		"the first copy attempt to end",
	);
	return task.publicId;
}

describe("the image copy in the task object's alarm", () => {
	afterEach(() => {
		replaceRuntimeDeps(undefined);
		vi.restoreAllMocks();
	});

	it("a download answered 500 is retried by a later alarm, and the copy lands in R2", async () => {
		const requested = imageHost([
			() => new Response("upstream busy", { status: 500 }),
			() => new Response(PNG, { headers: { "content-type": "image/png", "content-length": String(PNG.length) } }),
		]);
		const id = await succeededWithImage("http://img.test/grid-1.png", requested);
		expect(await storedEffects(id)).toEqual({ copy: true, hook: true, attempts: 1 });
		expect((await taskRow(id)).imageKey).toBeNull();
		// The retry waits 2 s (2^1 s) after the first failure.
		const due = await scheduledAlarm(id);
		expect(due).not.toBeNull();
		expect((due ?? 0) - Date.now()).toBeGreaterThan(500);
		expect((due ?? 0) - Date.now()).toBeLessThanOrEqual(2_000);

		expect(await runDurableObjectAlarm(taskObject(env, id))).toBe(true);
		expect(requested).toEqual(["http://img.test/grid-1.png", "http://img.test/grid-1.png"]);
		const row = await taskRow(id);
		expect(row.imageKey).toBe(`images/${id}`);
		const stored = await env.IMAGES.get(`images/${id}`);
		expect(stored?.httpMetadata?.contentType).toBe("image/png");
		expect(new Uint8Array(await (stored as R2ObjectBody).arrayBuffer())).toEqual(PNG);
		expect(await storedEffects(id)).toEqual({ copy: false, hook: false, attempts: 1 });
		expect(await scheduledAlarm(id)).toBeNull();
	});

	it("a download that is not an image (text/html) is not retried: the task keeps the upstream's URL", async () => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const requested = imageHost([
			() => new Response("<html>login</html>", { headers: { "content-type": "text/html" } }),
		]);
		const id = await succeededWithImage("http://img.test/not-an-image", requested);
		await waitFor(async () => (await storedEffects(id))?.hook === false, 5_000, "the alarm to finish");
		expect(await storedEffects(id)).toEqual({ copy: false, hook: false, attempts: 1 });
		expect(await scheduledAlarm(id)).toBeNull();
		expect(requested).toHaveLength(1);
		const row = await taskRow(id);
		expect(row.imageKey).toBeNull();
		expect(row.upstreamImageUrl).toBe("http://img.test/not-an-image");
		expect(await env.IMAGES.head(`images/${id}`)).toBeNull();
		expect(errors.mock.calls.some(([line]) => String(line).startsWith(`image copy abandoned ${id} `))).toBe(true);
	});

	it("a download that keeps failing is given up after 5 attempts", async () => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const requested = imageHost([() => new Response("down", { status: 503 })]);
		const id = await succeededWithImage("http://img.test/always-down.png", requested);
		for (let attempt = 2; attempt <= 5; attempt++) {
			expect(await runDurableObjectAlarm(taskObject(env, id)), `alarm for attempt ${attempt}`).toBe(true);
		}
		expect(requested).toHaveLength(5);
		expect(await storedEffects(id)).toEqual({ copy: false, hook: false, attempts: 5 });
		expect(await scheduledAlarm(id)).toBeNull();
		expect((await taskRow(id)).imageKey).toBeNull();
		expect(errors.mock.calls.some(([line]) => String(line).startsWith(`image copy abandoned ${id} `))).toBe(true);
	});
});
