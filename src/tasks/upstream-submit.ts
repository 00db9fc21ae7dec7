/**
 * Sending a task upstream: what it carries (its pictures, the album's face-swap images, the modal
 * mask) and which channel takes it. A follow-up runs only where its parent ran; a new task goes to a
 * channel chosen by weight, and moves on when a channel is down. The queue consumer maps the outcome
 * to ack or retry and nothing else.
 */
import { clearChannelFaults, disableChannel, recordChannelFault } from "../db/channels";
import { getDb } from "../db/client";
import type { ChannelRow, TaskRow } from "../db/schema";
import { findTemplate } from "../db/templates";
import type { Deps } from "../deps";
import { ApiError } from "../errors";
import { InlineImageTooLargeError, MissingImageError, r2DataUrl } from "../images/inline";
import { logError, logWarning } from "../log";
import { upstreamCallbackUrl } from "../upstream/callback-url";
import { pickChannel } from "../upstream/channels";
import { UpstreamClient } from "../upstream/client";
import { upstreamFetch } from "../upstream/fetcher";
import { accountObject } from "./discord-account-stub";
import { discordCannotRun } from "./discord-capabilities";
import { CHANNEL_FAILURE_LIMIT, type DispatchContext, type SubmitOutcome, submitToUpstream } from "./dispatch";
import { cancelRetrySeconds, type TaskMessage, type UpstreamCancelMessage } from "./messages";
import { parseOptions } from "./model";
import { preparePrompt } from "./prompt-translation";
import { inputKeysOf } from "./submit";

/** The user's photo and the template picture of an album face swap, inline. */
async function albumSwapImages(env: Env, task: TaskRow): Promise<{ source: string; target: string }> {
	const template = task.styleId == null ? undefined : await findTemplate(getDb(env.DB), task.styleId);
	if (!template?.imageKey) throw new MissingImageError("the face swap's template has no picture");
	if (!task.originKey) throw new MissingImageError("the face swap has no photo of the user");
	const [source, target] = await Promise.all([
		r2DataUrl(env.IMAGES, task.originKey),
		r2DataUrl(env.IMAGES, template.imageKey),
	]);
	return { source, target };
}

/** An input file (a video face swap's video) as a Blob to send in a form. */
async function r2Blob(bucket: R2Bucket, key: string): Promise<Blob> {
	const object = await bucket.get(key);
	if (!object) throw new MissingImageError(`input ${key} is missing`);
	return new Blob([await object.arrayBuffer()], { type: object.httpMetadata?.contentType ?? "video/mp4" });
}

async function contextFor(env: Env, task: TaskRow, parent: TaskRow | undefined): Promise<DispatchContext> {
	const options = parseOptions(task.options);
	const [notifyHook, images, swap, mask, video] = await Promise.all([
		upstreamCallbackUrl(env, task.publicId),
		Promise.all(inputKeysOf(task).map((key) => r2DataUrl(env.IMAGES, key))),
		task.action === "SWAP_FACE" && task.styleId != null ? albumSwapImages(env, task) : undefined,
		options.maskKey ? r2DataUrl(env.IMAGES, options.maskKey) : undefined,
		options.videoKey ? r2Blob(env.IMAGES, options.videoKey) : undefined,
	]);
	return { parentUpstreamId: parent?.upstreamId, notifyHook, images, swap, mask, video };
}

/**
 * `promptEn`: the prompt sent (or that would have been); `description`: the task's new
 * description when it changes (an untranslated prompt says so); `discord`: the task went to a
 * Discord account's object, which follows it (no polling).
 */
export type ChannelOutcome = SubmitOutcome & {
	channelId?: number;
	promptEn?: string;
	description?: string;
	discord?: boolean;
};

/**
 * Submits on the parent's channel (follow-ups) or on channels chosen by weight. A channel that is
 * down (no account, refused secret) is disabled and the next one is tried; a channel fault counts
 * toward disabling it; a success clears its count.
 */
export async function submitThroughChannels(
	env: Env,
	deps: Deps,
	task: TaskRow,
	parent: TaskRow | undefined,
): Promise<ChannelOutcome> {
	const db = getDb(env.DB);
	const prepared = await preparePrompt(env, task, deps.now());
	if (prepared.kind === "banned") {
		return { kind: "failed", reason: `banned prompt: ${prepared.word}`, promptEn: prepared.promptEn };
	}
	const sent = { promptEn: prepared.promptEn, description: prepared.description };
	/** A follow-up can only run where its parent ran: that channel being down ends it. */
	const parentDown = (channelId: number, reason: string): ChannelOutcome => ({
		kind: "failed",
		reason: `the parent task's channel is down: ${reason}`,
		channelId,
		...sent,
	});
	let context: DispatchContext;
	try {
		context = { ...(await contextFor(env, task, parent)), prompt: prepared.prompt, modalPrompt: prepared.modalPrompt };
	} catch (error) {
		if (error instanceof MissingImageError || error instanceof InlineImageTooLargeError) {
			return { kind: "failed", reason: error.message, ...sent };
		}
		throw error;
	}
	const tried: number[] = [];
	/** Why a Discord account passed on this task (a relay may still take it). */
	let discordRefusal: string | null = null;
	for (;;) {
		let channel: ChannelRow;
		try {
			channel = await pickChannel(db, env, {
				parentChannelId: parent?.channelId,
				random: deps.random,
				now: deps.now(),
				exclude: tried,
				filter: filterOf(task),
			});
		} catch (error) {
			if (error instanceof ApiError) {
				// Only Discord accounts are up, and none can run this task: say why instead of waiting.
				if (discordRefusal)
					return { kind: "failed", reason: `${discordRefusal}, and no relay channel is available`, ...sent };
				return { kind: "retry", reason: error.message, ...sent };
			}
			throw error;
		}
		if (channel.kind === "discord") {
			discordRefusal = parent ? null : discordCannotRun(task);
			if (discordRefusal) {
				tried.push(channel.id);
				continue;
			}
			// The account's object sends it, at the account's pace; SUBMITTED means "the account has it".
			const taken = await accountObject(env, channel.id).submit(channel.id, task.publicId, {
				prompt: prepared.prompt,
				modalPrompt: prepared.modalPrompt,
			});
			if (taken.kind === "accepted")
				return { kind: "accepted", upstreamId: taken.upstreamId, channelId: channel.id, discord: true, ...sent };
			if (parent) {
				return taken.kind === "full"
					? { kind: "retry", reason: "the parent task's Discord account is full", ...sent }
					: parentDown(channel.id, taken.reason);
			}
			tried.push(channel.id);
			continue;
		}
		const client = new UpstreamClient(channel, upstreamFetch(env, deps.fetch));
		const outcome = await submitToUpstream(client, task, context);
		const now = deps.now();
		if (outcome.kind === "channel-down") {
			await disableChannel(db, channel.id, outcome.reason, now);
			if (parent) return parentDown(channel.id, outcome.reason);
			tried.push(channel.id);
			continue;
		}
		if (outcome.kind === "retry" && outcome.channelFault) {
			await recordChannelFault(db, channel.id, outcome.reason, CHANNEL_FAILURE_LIMIT, now);
		} else if (outcome.kind === "accepted" && channel.failureCount > 0) {
			await clearChannelFaults(db, channel.id);
		}
		return { ...outcome, channelId: channel.id, ...sent };
	}
}

/**
 * What the channel said to a cancel: `cancelled`; `refused` (it does not know the task, or it has
 * already finished: nothing left to stop); `unreachable` (network, timeout, 5xx, 429, or the
 * Discord account's object did not answer: worth another try).
 */
export type UpstreamCancelOutcome = "cancelled" | "refused" | "unreachable";

/** Tells the channel to stop a task the gateway no longer wants (cancelled), once. */
export async function cancelUpstream(
	env: Env,
	deps: Pick<Deps, "fetch">,
	channel: ChannelRow,
	upstreamId: string,
): Promise<UpstreamCancelOutcome> {
	try {
		const cancelled =
			channel.kind === "discord"
				? await accountObject(env, channel.id).cancel(upstreamId)
				: await new UpstreamClient(channel, upstreamFetch(env, deps.fetch)).cancel(upstreamId);
		return cancelled ? "cancelled" : "refused";
	} catch (error) {
		logWarning("upstream cancel failed", upstreamId, error instanceof Error ? error.message : String(error));
		return "unreachable";
	}
}

/**
 * cancelUpstream, and when the channel cannot be reached a `cancel-upstream` message that tries
 * again with backoff (src/queue/task-consumer.ts): an upstream task nobody stops runs on, billed.
 */
export async function stopUpstreamTask(
	env: Env,
	deps: Pick<Deps, "fetch">,
	channel: ChannelRow,
	taskId: string,
	upstreamId: string,
): Promise<UpstreamCancelOutcome> {
	const outcome = await cancelUpstream(env, deps, channel, upstreamId);
	if (outcome !== "unreachable") return outcome;
	const message: UpstreamCancelMessage = { kind: "cancel-upstream", taskId, upstreamId, channelId: channel.id };
	try {
		await env.TASK_QUEUE.send(message satisfies TaskMessage, { delaySeconds: cancelRetrySeconds(1) });
	} catch (error) {
		logError("upstream cancel failed and its retry could not be queued; the upstream task may run on", message, error);
	}
	return outcome;
}

/** The accountFilter a new task was submitted with, if any. */
function filterOf(task: TaskRow): { instanceId?: string; modes?: string[] } | undefined {
	const { instanceId, modes } = parseOptions(task.options);
	return instanceId || modes?.length ? { instanceId, modes } : undefined;
}
