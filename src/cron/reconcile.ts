/**
 * The safety net, run every minute by the cron trigger: polls in-flight tasks per channel
 * with list-by-condition, fails tasks that vanished upstream or ran past the timeout, and
 * re-queues NOT_START tasks whose message was lost. Every change goes through the task's
 * Durable Object, so it cannot fight the poller or a push callback. A NOT_START row may also be
 * one whose object has moved on while D1's write failed: the object is asked first, which
 * repairs D1, and the task is then polled instead of re-queued.
 */

import { findChannel } from "../db/channels";
import { getDb } from "../db/client";
import type { TaskRow } from "../db/schema";
import { listInFlightTasks, listStaleNotStarted } from "../db/tasks";
import type { Deps } from "../deps";
import type { TaskMessage } from "../tasks/messages";
import { isTerminal, taskTimeoutMs } from "../tasks/model";
import { planFor, planForMissing, REQUEUE_AFTER_MS } from "../tasks/reconcile-rules";
import { taskObject } from "../tasks/task-object-stub";
import { updateFromUpstream } from "../tasks/upstream-map";
import { UpstreamClient, UpstreamError } from "../upstream/client";
import { upstreamFetch } from "../upstream/fetcher";

/** Bounds one run's work; what is left is picked up a minute later. */
const SCAN_LIMIT = 1000;
const LIST_CHUNK = 50;

export interface ReconcileReport {
	polled: number;
	updated: number;
	vanished: number;
	timedOut: number;
	requeued: number;
	/** NOT_START rows whose object had moved on: D1 caught up with the object. */
	repaired: number;
}

/** How many objects the reconciler asks at once. */
const SYNC_CHUNK = 25;

export async function reconcile(env: Env, deps: Deps): Promise<ReconcileReport> {
	const now = deps.now();
	const db = getDb(env.DB);
	const report: ReconcileReport = { polled: 0, updated: 0, vanished: 0, timedOut: 0, requeued: 0, repaired: 0 };
	const timeoutMs = taskTimeoutMs(env);
	const stale = await listStaleNotStarted(db, now - REQUEUE_AFTER_MS, SCAN_LIMIT);
	const candidates = [...(await listInFlightTasks(db, SCAN_LIMIT)), ...(await withObjectStates(env, stale, report))];

	const toPoll = new Map<number, TaskRow[]>();
	const requeue: TaskMessage[] = [];
	for (const task of candidates) {
		const plan = planFor(task, now, timeoutMs);
		if (plan.kind === "fail") {
			const result = await taskObject(env, task.publicId).apply(task.publicId, {
				status: "FAILURE",
				failReason: plan.reason,
			});
			if (result.applied) report.timedOut += 1;
		} else if (plan.kind === "requeue") {
			requeue.push({ kind: "submit", taskId: task.publicId });
		} else if (plan.kind === "poll" && task.channelId != null) {
			const group = toPoll.get(task.channelId) ?? [];
			group.push(task);
			toPoll.set(task.channelId, group);
		}
	}

	for (let i = 0; i < requeue.length; i += 100) {
		await env.TASK_QUEUE.sendBatch(requeue.slice(i, i + 100).map((body) => ({ body })));
	}
	report.requeued = requeue.length;

	for (const [channelId, tasks] of toPoll) {
		const channel = await findChannel(db, channelId);
		// A Discord account has no list-by-condition: its object follows its tasks; the timeout above still applies.
		if (!channel || channel.kind === "discord") continue;
		const client = new UpstreamClient(channel, upstreamFetch(env, deps.fetch));
		for (let i = 0; i < tasks.length; i += LIST_CHUNK) {
			const chunk = tasks.slice(i, i + LIST_CHUNK);
			let reported: Awaited<ReturnType<UpstreamClient["listByCondition"]>>;
			try {
				reported = await client.listByCondition(chunk.map((task) => task.upstreamId as string));
			} catch (error) {
				// An unreachable upstream is not evidence that its tasks are gone.
				if (error instanceof UpstreamError) continue;
				throw error;
			}
			report.polled += chunk.length;
			const byId = new Map(reported.map((item) => [item.id, item]));
			for (const task of chunk) {
				const item = byId.get(task.upstreamId as string);
				const object = taskObject(env, task.publicId);
				if (item) {
					const update = updateFromUpstream(item);
					if (update && (await object.apply(task.publicId, update)).applied) report.updated += 1;
					continue;
				}
				const plan = planForMissing(task, now);
				if (
					plan.kind === "fail" &&
					(await object.apply(task.publicId, { status: "FAILURE", failReason: plan.reason })).applied
				) {
					report.vanished += 1;
				}
			}
		}
	}
	return report;
}

/**
 * NOT_START rows as their objects know them. An object that has moved on (SUBMITTED with an
 * upstream id, or further) writes D1 again on being asked, and the row is planned as it stands
 * in the object, so the task is polled or failed instead of re-queued (its consumer would find
 * the submit claim gone and drop the message).
 */
async function withObjectStates(env: Env, rows: TaskRow[], report: ReconcileReport): Promise<TaskRow[]> {
	const out: TaskRow[] = [];
	for (let i = 0; i < rows.length; i += SYNC_CHUNK) {
		const chunk = rows.slice(i, i + SYNC_CHUNK);
		const known = await Promise.all(chunk.map((row) => taskObject(env, row.publicId).sync(row.publicId)));
		for (const [n, row] of chunk.entries()) {
			const object = known[n];
			if (!object || object.status === row.status) {
				out.push(row);
				continue;
			}
			report.repaired += 1;
			// Ended in the object: nothing left to do here (its alarm has the rest).
			if (isTerminal(object.status)) continue;
			out.push({
				...row,
				status: object.status,
				upstreamId: object.upstreamId ?? row.upstreamId,
				channelId: object.channelId ?? row.channelId,
			});
		}
	}
	return out;
}
