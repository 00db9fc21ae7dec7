/**
 * The safety net, run every minute by the cron trigger: fails tasks that ran past the timeout,
 * re-queues NOT_START tasks whose message was lost, and polls in-flight tasks per channel with
 * list-by-condition (failing those that vanished upstream). Every change goes through the task's
 * Durable Object, so it cannot fight the poller or a push callback. A NOT_START row may also be
 * one whose object has moved on while D1's write failed: the object is asked first, which
 * repairs D1, and the task is then polled instead of re-queued.
 *
 * A run's work is bounded whatever the backlog (RECONCILE_BATCH): three seeks that stop at their
 * limits (src/db/tasks.ts reconcileCandidates), so its D1 reads, Durable Object calls and CPU
 * stay the same at a thousand or a hundred thousand unfinished tasks. Timed-out and lost tasks
 * are taken oldest first; in-flight tasks are polled in turn by a walk that resumes where the
 * last run stopped (a cursor in the counters table), so none waits behind older ones for ever.
 * A backlog larger than a batch is worked off over the following runs (bench/README.md).
 */

import { findChannel } from "../db/channels";
import { type Db, getDb } from "../db/client";
import type { ChannelRow } from "../db/schema";
import { type ReconcileRow, reconcileCandidates, saveReconcileCursor } from "../db/tasks";
import type { Deps } from "../deps";
import type { TaskMessage } from "../tasks/messages";
import { isTerminal, parseProgress, taskTimeoutMs } from "../tasks/model";
import { planFor, planForMissing, REQUEUE_AFTER_MS } from "../tasks/reconcile-rules";
import { taskObject } from "../tasks/task-object-stub";
import { decide } from "../tasks/transitions";
import { updateFromUpstream } from "../tasks/upstream-map";
import { UpstreamClient, UpstreamError } from "../upstream/client";
import { upstreamFetch } from "../upstream/fetcher";

/**
 * Most tasks one run takes of each kind: timed out (failed), NOT_START with a lost message
 * (asked of their object, then re-queued), in flight (polled upstream). Sized so that one run
 * stays well under 50 ms of the isolate's CPU (bench/growth.mjs measures it).
 */
export const RECONCILE_BATCH = { timedOut: 400, lost: 100, walk: 200 } as const;
const LIST_CHUNK = 50;
export interface ReconcileReport {
	polled: number;
	updated: number;
	vanished: number;
	timedOut: number;
	requeued: number;
	/** NOT_START rows whose object had moved on: D1 caught up with the object. */
	repaired: number;
	/** Tasks this run planned (at most the sum of RECONCILE_BATCH). */
	examined: number;
}

/** How many objects the reconciler asks at once. */
const SYNC_CHUNK = 25;

export async function reconcile(env: Env, deps: Deps): Promise<ReconcileReport> {
	const now = deps.now();
	const db = getDb(env.DB);
	const report: ReconcileReport = {
		polled: 0,
		updated: 0,
		vanished: 0,
		timedOut: 0,
		requeued: 0,
		repaired: 0,
		examined: 0,
	};
	const timeoutMs = taskTimeoutMs(env);
	const found = await reconcileCandidates(
		db,
		{ timedOutBefore: now - timeoutMs, lostBefore: now - REQUEUE_AFTER_MS },
		RECONCILE_BATCH,
	);
	// A timed-out in-flight task may also be in the walk: each task is planned once.
	const seen = new Set<string>();
	const once = (rows: ReconcileRow[]) => rows.filter((row) => !seen.has(row.publicId) && seen.add(row.publicId));
	const candidates = [
		...once(found.timedOut),
		...(await withObjectStates(env, once(found.lost), report)),
		...once(found.walk),
	];
	report.examined = candidates.length;

	const toPoll = new Map<number, ReconcileRow[]>();
	const toFail: { task: ReconcileRow; reason: string }[] = [];
	const requeue: TaskMessage[] = [];
	for (const task of candidates) {
		const plan = planFor(task, now, timeoutMs);
		if (plan.kind === "fail") toFail.push({ task, reason: plan.reason });
		else if (plan.kind === "requeue") requeue.push({ kind: "submit", taskId: task.publicId });
		else if (plan.kind === "poll" && task.channelId != null) {
			const group = toPoll.get(task.channelId) ?? [];
			group.push(task);
			toPoll.set(task.channelId, group);
		}
	}

	for (let i = 0; i < toFail.length; i += SYNC_CHUNK) {
		const results = await Promise.all(
			toFail
				.slice(i, i + SYNC_CHUNK)
				.map(({ task, reason }) =>
					taskObject(env, task.publicId).apply(task.publicId, { status: "FAILURE", failReason: reason }),
				),
		);
		report.timedOut += results.filter((result) => result.applied).length;
	}

	for (let i = 0; i < requeue.length; i += 100) {
		await env.TASK_QUEUE.sendBatch(requeue.slice(i, i + 100).map((body) => ({ body })));
	}
	report.requeued = requeue.length;

	for (const [channelId, tasks] of toPoll) await pollChannel(env, deps, db, channelId, tasks, now, report);

	// The next run walks on from here; a walk that came round to its start begins again from the first.
	const last = found.walk.at(-1);
	const wrapped = found.walk.length < RECONCILE_BATCH.walk || (last !== undefined && last.id <= found.walkFrom);
	const next = wrapped || last === undefined ? 0 : last.id;
	if (next !== found.walkFrom) await saveReconcileCursor(db, next);
	return report;
}

/** Polls one channel's tasks with list-by-condition; only news goes to the task objects. */
async function pollChannel(
	env: Env,
	deps: Deps,
	db: Db,
	channelId: number,
	tasks: ReconcileRow[],
	now: number,
	report: ReconcileReport,
): Promise<void> {
	const channel: ChannelRow | undefined = await findChannel(db, channelId);
	// A Discord account has no list-by-condition: its object follows its tasks; the timeout above still applies.
	if (!channel || channel.kind === "discord") return;
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
		const calls: Promise<void>[] = [];
		for (const task of chunk) {
			const item = byId.get(task.upstreamId as string);
			if (item) {
				const update = updateFromUpstream(item);
				// D1 is never ahead of the task's object: what D1's state would refuse as stale or a
				// duplicate, the object refuses too, so the call is spared.
				if (!update || !decide(progressState(task), update).accept) continue;
				calls.push(
					taskObject(env, task.publicId)
						.apply(task.publicId, update)
						.then((result) => {
							if (result.applied) report.updated += 1;
						}),
				);
				continue;
			}
			const plan = planForMissing(task, now);
			if (plan.kind === "fail") {
				calls.push(
					taskObject(env, task.publicId)
						.apply(task.publicId, { status: "FAILURE", failReason: plan.reason })
						.then((result) => {
							if (result.applied) report.vanished += 1;
						}),
				);
			}
		}
		await Promise.all(calls);
	}
}

function progressState(task: ReconcileRow) {
	return {
		status: task.status,
		progress: parseProgress(task.progress) ?? 0,
		...(task.upstreamId ? { upstreamId: task.upstreamId } : {}),
	};
}

/**
 * NOT_START rows as their objects know them. An object that has moved on (SUBMITTED with an
 * upstream id, or further) writes D1 again on being asked, and the row is planned as it stands
 * in the object, so the task is polled or failed instead of re-queued (its consumer would find
 * the submit claim gone and drop the message).
 */
async function withObjectStates(env: Env, rows: ReconcileRow[], report: ReconcileReport): Promise<ReconcileRow[]> {
	const out: ReconcileRow[] = [];
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
