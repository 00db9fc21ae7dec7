/**
 * The safety net, run every minute by the cron trigger: ends tasks that ran past the timeout,
 * re-queues NOT_START tasks whose message was lost, and polls in-flight tasks per channel with
 * list-by-condition (failing those that vanished upstream). Every change goes through the task's
 * Durable Object, so it cannot fight the poller or a push callback. A NOT_START row may also be
 * one whose object has moved on while D1's write failed: the object is asked first, which
 * repairs D1, and the task is then polled instead of re-queued.
 *
 * A run's work is bounded whatever the backlog (RECONCILE_BATCH): three seeks that stop at their
 * limits (src/db/tasks.ts reconcileCandidates), so its D1 reads, Durable Object calls and CPU
 * stay the same at a thousand or a hundred thousand unfinished tasks. Timed-out tasks are only
 * found here: they go to the task queue, TIMEOUT_IDS_PER_MESSAGE to a message, and the queue's
 * consumers fail them through their objects in parallel, each invocation bounded by its batch.
 * Their seek resumes after the last task handed (a cursor), so a run hands the next ones rather
 * than the same ones again; at the end it starts over from the oldest, which re-hands only a task
 * whose message was lost or not yet consumed (its object refuses a second end). Lost tasks are
 * taken oldest first; in-flight tasks are polled in turn by a walk that resumes where the last run
 * stopped (a cursor too), so none waits behind older ones for ever. bench/README.md ("Growth")
 * measures a run and how many runs a backlog takes.
 */

import { findChannel } from "../db/channels";
import { type Db, getDb } from "../db/client";
import type { ChannelRow } from "../db/schema";
import {
	type ReconcileCursors,
	type ReconcileRow,
	reconcileCandidates,
	saveReconcileCursors,
	type TimedOutRow,
} from "../db/tasks";
import type { Deps } from "../deps";
import { type TaskMessage, TIMEOUT_IDS_PER_MESSAGE } from "../tasks/messages";
import { isTerminal, parseProgress, taskTimeoutMs } from "../tasks/model";
import { planFor, planForMissing, REQUEUE_AFTER_MS, timeoutReason } from "../tasks/reconcile-rules";
import { taskObject } from "../tasks/task-object-stub";
import { decide } from "../tasks/transitions";
import { updateFromUpstream } from "../tasks/upstream-map";
import { UpstreamClient, UpstreamError } from "../upstream/client";
import { upstreamFetch } from "../upstream/fetcher";

/**
 * Most tasks one run takes of each kind: timed out (handed to the queue to fail: a seek and a
 * few messages, no object call here), NOT_START with a lost message (asked of their object, then
 * re-queued), in flight (polled upstream). Sized so that one run stays well under 50 ms of the
 * isolate's CPU and a backlog of 100,000 unfinished tasks with 10% timed out and 1% lost ends
 * within 3 runs (bench/growth.mjs measures both).
 */
export const RECONCILE_BATCH = { timedOut: 5_000, lost: 400, walk: 200 } as const;
export type ReconcileBatch = { readonly [kind in keyof typeof RECONCILE_BATCH]: number };
const LIST_CHUNK = 50;
/** Messages per sendBatch: the Queues limit (and 100 x ~800 bytes is far under its 256 KB). */
const SEND_BATCH = 100;
export interface ReconcileReport {
	polled: number;
	updated: number;
	vanished: number;
	/** Timed-out tasks handed to the queue this run (their consumers fail them). */
	timedOut: number;
	/** The `timeout` messages that carried them. */
	timeoutMessages: number;
	requeued: number;
	/** NOT_START rows whose object had moved on: D1 caught up with the object. */
	repaired: number;
	/** Tasks this run planned (at most the sum of RECONCILE_BATCH). */
	examined: number;
}

/** How many objects the reconciler asks at once. */
const SYNC_CHUNK = 25;

/** `batch` is RECONCILE_BATCH but in tests, which show a backlog of several batches with small ones. */
export async function reconcile(
	env: Env,
	deps: Deps,
	batch: ReconcileBatch = RECONCILE_BATCH,
): Promise<ReconcileReport> {
	const now = deps.now();
	const db = getDb(env.DB);
	const report: ReconcileReport = {
		polled: 0,
		updated: 0,
		vanished: 0,
		timedOut: 0,
		timeoutMessages: 0,
		requeued: 0,
		repaired: 0,
		examined: 0,
	};
	const timeoutMs = taskTimeoutMs(env);
	const found = await reconcileCandidates(
		db,
		{ timedOutBefore: now - timeoutMs, lostBefore: now - REQUEUE_AFTER_MS },
		batch,
	);
	report.timeoutMessages = await handOffTimedOut(env, found.timedOut, timeoutMs);
	report.timedOut = found.timedOut.length;

	// A NOT_START row its object has moved on may also be in the walk: each task is planned once.
	const seen = new Set<string>();
	const once = (rows: ReconcileRow[]) => rows.filter((row) => !seen.has(row.publicId) && seen.add(row.publicId));
	const candidates = [...(await withObjectStates(env, once(found.lost), report)), ...once(found.walk)];
	report.examined = found.timedOut.length + candidates.length;

	const toPoll = new Map<number, ReconcileRow[]>();
	const requeue: TaskMessage[] = [];
	for (const task of candidates) {
		const plan = planFor(task, now, timeoutMs);
		// "fail" is a walked task past the timeout: the timed-out seek hands it on (this run or a later one).
		if (plan.kind === "requeue") requeue.push({ kind: "submit", taskId: task.publicId });
		else if (plan.kind === "poll" && task.channelId != null) {
			const group = toPoll.get(task.channelId) ?? [];
			group.push(task);
			toPoll.set(task.channelId, group);
		}
	}

	for (let i = 0; i < requeue.length; i += SEND_BATCH) {
		await env.TASK_QUEUE.sendBatch(requeue.slice(i, i + SEND_BATCH).map((body) => ({ body })));
	}
	report.requeued = requeue.length;

	for (const [channelId, tasks] of toPoll) await pollChannel(env, deps, db, channelId, tasks, now, report);

	const next = nextCursors(found, batch);
	const { walk, timeout } = found.cursors;
	if (next.walk !== walk || next.timeout.time !== timeout.time || next.timeout.id !== timeout.id) {
		await saveReconcileCursors(db, next);
	}
	return report;
}

/**
 * Sends the timed-out tasks to the task queue as `timeout` messages, those with the same
 * failReason together; answers how many messages went. Sent before the cursor moves past them,
 * so a send that fails leaves them for the next run.
 */
async function handOffTimedOut(env: Env, rows: TimedOutRow[], timeoutMs: number): Promise<number> {
	const byReason = new Map<string, string[]>();
	for (const row of rows) {
		const reason = timeoutReason(row.modal, timeoutMs);
		const ids = byReason.get(reason) ?? [];
		ids.push(row.publicId);
		byReason.set(reason, ids);
	}
	const messages: { body: TaskMessage }[] = [];
	for (const [failReason, ids] of byReason) {
		for (let i = 0; i < ids.length; i += TIMEOUT_IDS_PER_MESSAGE) {
			messages.push({ body: { kind: "timeout", failReason, taskIds: ids.slice(i, i + TIMEOUT_IDS_PER_MESSAGE) } });
		}
	}
	for (let i = 0; i < messages.length; i += SEND_BATCH)
		await env.TASK_QUEUE.sendBatch(messages.slice(i, i + SEND_BATCH));
	return messages.length;
}

/**
 * Where the next run's seeks start. The walk: after its last task, or from the first once it
 * came round. The timed-out seek: after the last task handed while it fills its limit (more may
 * follow), else from the oldest again.
 */
function nextCursors(found: Awaited<ReturnType<typeof reconcileCandidates>>, batch: ReconcileBatch): ReconcileCursors {
	const lastWalked = found.walk.at(-1);
	const wrapped = found.walk.length < batch.walk || (lastWalked !== undefined && lastWalked.id <= found.cursors.walk);
	const lastHanded = found.timedOut.length < batch.timedOut ? undefined : found.timedOut.at(-1);
	return {
		walk: wrapped || lastWalked === undefined ? 0 : lastWalked.id,
		timeout: lastHanded ? { time: lastHanded.submitTime, id: lastHanded.id } : { time: 0, id: 0 },
	};
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
