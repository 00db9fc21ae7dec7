/**
 * The per-task Durable Object: updates racing in from the poller, push callbacks and the
 * reconciler are applied one at a time and never move a task backwards.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { writeTaskProgress } from "../../src/db/tasks";
import type { TaskUpdate } from "../../src/tasks/model";
import { taskObject } from "../../src/tasks/stub";
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
