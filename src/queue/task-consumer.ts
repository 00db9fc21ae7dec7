/**
 * TASK_QUEUE consumer: submits tasks upstream and polls them. Decides ack or retry per
 * message; what an upstream answer means is decided in src/tasks/.
 */
import { clearChannelFaults, disableChannel, findChannel, recordChannelFault } from "../db/channels";
import { getDb } from "../db/client";
import type { ChannelRow, TaskRow } from "../db/schema";
import { findTask } from "../db/tasks";
import { findTemplate } from "../db/templates";
import { ApiError } from "../errors";
import { MissingImageError, r2DataUrl } from "../images/inline";
import { CHANNEL_FAILURE_LIMIT, type DispatchContext, type SubmitOutcome, submitToUpstream } from "../tasks/dispatch";
import { isTerminal, taskTimeoutMs } from "../tasks/model";
import { taskObject } from "../tasks/stub";
import { updateFromUpstream } from "../tasks/upstream-map";
import { upstreamCallbackUrl } from "../upstream/callback-url";
import { pickChannel } from "../upstream/channels";
import { UpstreamClient, UpstreamError } from "../upstream/client";
import { upstreamFetch } from "../upstream/fetcher";
import type { QueueDeps } from "./deps";
import { backoffSeconds, pollDelaySeconds, TASK_QUEUE_MAX_RETRIES, type TaskMessage } from "./messages";

/** How long one consumer may hold a task's submit claim. */
const SUBMIT_LEASE_MS = 60_000;

export async function handleTaskBatch(batch: MessageBatch<TaskMessage>, env: Env, deps: QueueDeps): Promise<void> {
	await Promise.all(
		batch.messages.map(async (message) => {
			try {
				const verdict =
					message.body.kind === "submit"
						? await submitMessage(message, env, deps)
						: await pollMessage(message.body.taskId, message.body.n, env, deps);
				if (verdict === "retry") message.retry({ delaySeconds: backoffSeconds(message.attempts) });
				else message.ack();
			} catch (error) {
				console.error("task message failed", message.body, error);
				message.retry({ delaySeconds: backoffSeconds(message.attempts) });
			}
		}),
	);
}

function isLastAttempt(message: Message): boolean {
	return message.attempts > TASK_QUEUE_MAX_RETRIES;
}

type Verdict = "ack" | "retry";

/** The user's photo and the template picture of a face swap, inline. */
async function swapImages(env: Env, task: TaskRow): Promise<{ source: string; target: string }> {
	const template = task.styleId == null ? undefined : await findTemplate(getDb(env.DB), task.styleId);
	if (!template?.imageKey) throw new MissingImageError("the face swap's template has no picture");
	if (!task.originKey) throw new MissingImageError("the face swap has no photo of the user");
	const [source, target] = await Promise.all([
		r2DataUrl(env.IMAGES, task.originKey),
		r2DataUrl(env.IMAGES, template.imageKey),
	]);
	return { source, target };
}

async function submitMessage(message: Message<TaskMessage>, env: Env, deps: QueueDeps): Promise<Verdict> {
	const publicId = message.body.taskId;
	const db = getDb(env.DB);
	const task = await findTask(db, publicId);
	if (task?.status !== "NOT_START") return "ack";
	const object = taskObject(env, publicId);
	// A second delivery of the same message finds the claim taken and stops here.
	if (!(await object.claimSubmit(publicId, SUBMIT_LEASE_MS))) return "ack";

	let outcome: Awaited<ReturnType<typeof submitThroughChannels>>;
	try {
		const parent = task.parentId ? await findTask(db, task.parentId) : undefined;
		outcome = await submitThroughChannels(env, deps, task, parent);
	} catch (error) {
		// Hand the claim back, or the retried message would find it taken and drop the task.
		await object.releaseSubmit(publicId);
		throw error;
	}
	const channelId = outcome.channelId;
	switch (outcome.kind) {
		case "accepted":
			await object.apply(publicId, { status: "SUBMITTED", upstreamId: outcome.upstreamId, channelId });
			await env.TASK_QUEUE.send({ kind: "poll", taskId: publicId, n: 0 } satisfies TaskMessage, {
				delaySeconds: pollDelaySeconds(0),
			});
			return "ack";
		case "failed":
		case "channel-down":
			await object.apply(publicId, { status: "FAILURE", failReason: outcome.reason, channelId });
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

/**
 * Submits on the parent's channel (follow-ups) or on channels chosen by weight. A channel
 * that is down (no account, refused secret) is disabled and the next one is tried; a channel
 * fault counts toward disabling it; a success clears its count.
 */
async function submitThroughChannels(
	env: Env,
	deps: QueueDeps,
	task: TaskRow,
	parent: TaskRow | undefined,
): Promise<SubmitOutcome & { channelId?: number }> {
	const db = getDb(env.DB);
	let context: DispatchContext;
	try {
		context = {
			parentUpstreamId: parent?.upstreamId,
			notifyHook: await upstreamCallbackUrl(env, task.publicId),
			swap: task.action === "SWAP_FACE" ? await swapImages(env, task) : undefined,
		};
	} catch (error) {
		if (error instanceof MissingImageError) return { kind: "failed", reason: error.message };
		throw error;
	}
	const tried: number[] = [];
	for (;;) {
		let channel: ChannelRow;
		try {
			channel = await pickChannel(db, env, { parentChannelId: parent?.channelId, random: deps.random, exclude: tried });
		} catch (error) {
			if (error instanceof ApiError) return { kind: "retry", reason: error.message };
			throw error;
		}
		const client = new UpstreamClient(channel, upstreamFetch(env, deps.fetch));
		const outcome = await submitToUpstream(client, task, context);
		const now = deps.now();
		if (outcome.kind === "channel-down") {
			await disableChannel(db, channel.id, outcome.reason, now);
			// A follow-up can only run where its parent ran.
			if (parent)
				return {
					kind: "failed",
					reason: `the parent task's channel is down: ${outcome.reason}`,
					channelId: channel.id,
				};
			tried.push(channel.id);
			continue;
		}
		if (outcome.kind === "retry" && outcome.channelFault) {
			await recordChannelFault(db, channel.id, outcome.reason, CHANNEL_FAILURE_LIMIT, now);
		} else if (outcome.kind === "accepted" && channel.failureCount > 0) {
			await clearChannelFaults(db, channel.id);
		}
		return { ...outcome, channelId: channel.id };
	}
}

async function pollMessage(publicId: string, n: number, env: Env, deps: QueueDeps): Promise<Verdict> {
	const db = getDb(env.DB);
	const task = await findTask(db, publicId);
	if (!task || isTerminal(task.status) || !task.upstreamId || task.channelId == null) return "ack";
	// Past the timeout the reconciler fails the task; polling stops here.
	if (deps.now() - task.submitTime > taskTimeoutMs(env)) return "ack";

	let status = task.status;
	const channel = await findChannel(db, task.channelId);
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

/** Dead-letter consumer: a submit that exhausted its retries ends as FAILURE (idempotent). */
export async function handleTaskDeadLetters(batch: MessageBatch<TaskMessage>, env: Env): Promise<void> {
	for (const message of batch.messages) {
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
