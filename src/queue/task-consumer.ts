/**
 * TASK_QUEUE consumer: submits tasks upstream and polls them. Decides ack or retry per
 * message; what an upstream answer means is decided in src/tasks/.
 */
import { findChannel } from "../db/channels";
import { getDb } from "../db/client";
import type { TaskRow } from "../db/schema";
import { findTask } from "../db/tasks";
import type { Deps } from "../deps";
import { logError, logWarning } from "../log";
import {
	backoffSeconds,
	cancelRetrySeconds,
	pollDelaySeconds,
	TASK_QUEUE_MAX_RETRIES,
	type TaskMessage,
	type UpstreamCancelMessage,
} from "../tasks/messages";
import { isTerminal, taskTimeoutMs } from "../tasks/model";
import { isPastTimeout } from "../tasks/reconcile-rules";
import { taskObject } from "../tasks/task-object-stub";
import { updateFromUpstream } from "../tasks/upstream-map";
import { type ChannelOutcome, cancelUpstream, stopUpstreamTask, submitThroughChannels } from "../tasks/upstream-submit";
import { UpstreamClient, UpstreamError } from "../upstream/client";
import { upstreamFetch } from "../upstream/fetcher";

/** How long one consumer may hold a task's submit claim. */
const SUBMIT_LEASE_MS = 60_000;

export async function handleTaskBatch(batch: MessageBatch<TaskMessage>, env: Env, deps: Deps): Promise<void> {
	await Promise.all(
		batch.messages.map(async (message) => {
			try {
				const body = message.body;
				const verdict =
					body.kind === "submit"
						? await submitMessage(message as Message<typeof body>, env, deps)
						: body.kind === "cancel-upstream"
							? await upstreamCancelMessage(body, env, deps)
							: body.kind === "timeout"
								? await timeoutMessage(body, env)
								: await pollMessage(body.taskId, body.n, env, deps);
				if (verdict === "retry") message.retry({ delaySeconds: retryDelay(message) });
				else message.ack();
			} catch (error) {
				logError("task message failed", message.body, error);
				message.retry({ delaySeconds: retryDelay(message) });
			}
		}),
	);
}

/** An upstream cancel waits longer between tries than the rest: it outlasts an upstream outage. */
function retryDelay(message: Message<TaskMessage>): number {
	// The try made before this message was queued failed too.
	if (message.body.kind === "cancel-upstream") return cancelRetrySeconds(message.attempts + 1);
	return backoffSeconds(message.attempts);
}

function isLastAttempt(message: Message): boolean {
	return message.attempts > TASK_QUEUE_MAX_RETRIES;
}

type Verdict = "ack" | "retry";

async function submitMessage(
	message: Message<Extract<TaskMessage, { kind: "submit" }>>,
	env: Env,
	deps: Deps,
): Promise<Verdict> {
	const publicId = message.body.taskId;
	const db = getDb(env.DB);
	const task = await findTask(db, publicId);
	if (task?.status !== "NOT_START") return "ack";
	const object = taskObject(env, publicId);
	// A second delivery of the same message finds the claim taken and stops here.
	if (!(await object.claimSubmit(publicId, SUBMIT_LEASE_MS))) return "ack";

	let outcome: ChannelOutcome;
	try {
		const parent = task.parentId ? await findTask(db, task.parentId) : undefined;
		outcome = await submitThroughChannels(env, deps, task, parent);
	} catch (error) {
		// Hand the claim back, or the retried message would find it taken and drop the task.
		await object.releaseSubmit(publicId);
		throw error;
	}
	const { channelId, promptEn, description } = outcome;
	switch (outcome.kind) {
		case "accepted": {
			const applied = await object.apply(publicId, {
				status: "SUBMITTED",
				upstreamId: outcome.upstreamId,
				channelId,
				promptEn,
				description,
			});
			if (!applied.applied && (applied.status === "CANCEL" || applied.status === "FAILURE")) {
				// Ended (cancelled, mostly) while the submit was on its way: the object kept the upstream
				// id on the ended task, and the upstream should not run it either (retried if unreachable).
				const channel = channelId == null ? undefined : await findChannel(db, channelId);
				if (channel) await stopUpstreamTask(env, deps, channel, publicId, outcome.upstreamId);
				return "ack";
			}
			// A Discord account's object reports every change itself: nothing to poll.
			if (outcome.discord) return "ack";
			await env.TASK_QUEUE.send({ kind: "poll", taskId: publicId, n: 0 } satisfies TaskMessage, {
				delaySeconds: pollDelaySeconds(0),
			});
			return "ack";
		}
		case "failed":
		case "channel-down":
			await object.apply(publicId, { status: "FAILURE", failReason: outcome.reason, channelId, promptEn, description });
			return "ack";
		case "retry":
			await object.releaseSubmit(publicId);
			if (isLastAttempt(message)) {
				await object.apply(publicId, { status: "FAILURE", failReason: `upstream unavailable: ${outcome.reason}` });
			}
			// After the last attempt this retry moves the message to the dead-letter queue.
			return "retry";
	}
}

async function pollMessage(publicId: string, n: number, env: Env, deps: Deps): Promise<Verdict> {
	const db = getDb(env.DB);
	const row = await findTask(db, publicId);
	if (!row) return "ack";
	// A poll follows an accepted submit, so a row without the upstream task is behind its object
	// (a D1 write that failed after the decision): the object knows, and repairs D1 on the way.
	const task = row.upstreamId && row.channelId != null ? row : await withObjectState(env, row);
	if (isTerminal(task.status) || !task.upstreamId || task.channelId == null) return "ack";
	// Past the timeout the reconciler fails the task; polling stops here.
	if (isPastTimeout(task, deps.now(), taskTimeoutMs(env))) return "ack";

	let status = task.status;
	const channel = await findChannel(db, task.channelId);
	// A Discord account's object reports every change itself.
	if (channel?.kind === "discord") return "ack";
	if (channel) {
		try {
			const client = new UpstreamClient(channel, upstreamFetch(env, deps.fetch));
			const reported = await client.fetchTask(task.upstreamId);
			const update = reported ? updateFromUpstream(reported) : null;
			if (update) {
				const result = await taskObject(env, publicId).apply(publicId, update);
				status = result.status ?? status;
			}
		} catch (error) {
			// A failed poll is just a missed look; the next one (or the reconciler) follows.
			if (!(error instanceof UpstreamError)) throw error;
		}
	}
	if (!isTerminal(status)) {
		await env.TASK_QUEUE.send({ kind: "poll", taskId: publicId, n: n + 1 } satisfies TaskMessage, {
			delaySeconds: pollDelaySeconds(n + 1),
		});
	}
	return "ack";
}

/**
 * Another try at stopping the upstream task of a task the gateway ended. Done once the channel
 * answers, whatever it says (`refused`: already finished or unknown there, nothing to stop); a
 * channel since deleted cannot be asked. After the queue's last retry the message goes to the
 * dead-letter consumer, which logs it.
 */
async function upstreamCancelMessage(body: UpstreamCancelMessage, env: Env, deps: Deps): Promise<Verdict> {
	const channel = await findChannel(getDb(env.DB), body.channelId);
	if (!channel) {
		logWarning("upstream cancel dropped: its channel is gone", body);
		return "ack";
	}
	return (await cancelUpstream(env, deps, channel, body.upstreamId)) === "unreachable" ? "retry" : "ack";
}

/**
 * Fails the tasks the cron found past their timeout, each through its object, all at once (one
 * message holds at most TIMEOUT_IDS_PER_MESSAGE). A task that ended since the cron looked (or
 * whose earlier message was already consumed) is terminal in its object, which refuses the
 * FAILURE: no second end, refund or callback. A failed call retries the whole message, which
 * is harmless for the tasks it had already ended.
 */
async function timeoutMessage(body: Extract<TaskMessage, { kind: "timeout" }>, env: Env): Promise<Verdict> {
	await Promise.all(
		body.taskIds.map((publicId) =>
			taskObject(env, publicId).apply(publicId, { status: "FAILURE", failReason: body.failReason }),
		),
	);
	return "ack";
}

/** The row with what the task's object decided in place of what D1 may not have yet. */
async function withObjectState(env: Env, row: TaskRow): Promise<TaskRow> {
	const known = await taskObject(env, row.publicId).sync(row.publicId);
	if (!known) return row;
	return {
		...row,
		status: known.status,
		upstreamId: known.upstreamId ?? row.upstreamId,
		channelId: known.channelId ?? row.channelId,
	};
}

/**
 * Dead-letter consumer: a submit that exhausted its retries ends as FAILURE (idempotent); an
 * upstream cancel that did is logged, with the upstream task it could not stop, and so is a
 * timeout hand-off.
 */
export async function handleTaskDeadLetters(batch: MessageBatch<TaskMessage>, env: Env): Promise<void> {
	for (const message of batch.messages) {
		if (message.body.kind === "cancel-upstream") {
			logError("upstream cancel gave up after repeated attempts; the upstream task may run on", message.body);
		}
		if (message.body.kind === "timeout") {
			// Not lost: they stay unfinished in D1, and the cron's seek hands them again when it comes round.
			logError("timed-out tasks could not be ended; the cron will hand them again", message.body);
		}
		if (message.body.kind === "submit") {
			const publicId = message.body.taskId;
			await taskObject(env, publicId).apply(publicId, {
				status: "FAILURE",
				failReason: "upstream unavailable: gave up after repeated attempts",
			});
		}
		message.ack();
	}
}
