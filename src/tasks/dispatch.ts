/**
 * The rules of sending a task upstream: which call, and what each reply code means.
 * The queue consumer applies the outcome (ack, retry, fail); this file does no queueing.
 */
import type { TaskRow } from "../db/schema";
import { type UpstreamClient, UpstreamError } from "../upstream/client";
import { SUBMIT_CODE, type SubmitReply } from "../upstream/protocol";

export type SubmitOutcome =
	| { kind: "accepted"; upstreamId: string }
	/** Try again later. `channelFault`: the channel itself failed (unreachable, 5xx). */
	| { kind: "retry"; reason: string; channelFault?: boolean }
	| { kind: "failed"; reason: string }
	/** The channel cannot take tasks at all (no account, refused credentials): use another. */
	| { kind: "channel-down"; reason: string };

/** After this many channel faults in a row a channel is disabled. */
export const CHANNEL_FAILURE_LIMIT = 5;

/** Maps a submit reply code (shared/UPSTREAM.md) to what the gateway does next. */
export function classifySubmitReply(reply: SubmitReply): SubmitOutcome {
	const upstreamId = reply.result == null ? "" : String(reply.result);
	switch (reply.code) {
		case SUBMIT_CODE.SUCCESS:
		case SUBMIT_CODE.IN_QUEUE:
		case SUBMIT_CODE.EXISTED:
			if (upstreamId) return { kind: "accepted", upstreamId };
			return { kind: "failed", reason: `upstream accepted the task without an id (code ${reply.code})` };
		case SUBMIT_CODE.NOT_FOUND:
			// On a new task, code 3 means the upstream has no usable account.
			return { kind: "channel-down", reason: `no account: ${reply.description || "code 3"}` };
		case SUBMIT_CODE.QUEUE_FULL:
			return { kind: "retry", reason: reply.description || "upstream queue is full" };
		case SUBMIT_CODE.BANNED_PROMPT: {
			const word = reply.properties?.bannedWord;
			return {
				kind: "failed",
				reason: typeof word === "string" && word ? `banned prompt: ${word}` : reply.description || "banned prompt",
			};
		}
		default:
			return { kind: "failed", reason: reply.description || `upstream refused the task (code ${reply.code})` };
	}
}

export interface DispatchContext {
	/** The upstream id of the parent, for follow-up actions. */
	parentUpstreamId?: string | null;
	/** Where the upstream should push progress; undefined when the gateway has no public URL. */
	notifyHook?: string;
	/** SWAP_FACE: the user's photo (source) and the template picture (target) as data URLs. */
	swap?: { source: string; target: string };
}

export async function submitToUpstream(
	client: UpstreamClient,
	task: TaskRow,
	context: DispatchContext,
): Promise<SubmitOutcome> {
	try {
		switch (task.action) {
			case "IMAGINE":
				return classifySubmitReply(
					await client.submitImagine({ prompt: task.prompt, notifyHook: context.notifyHook, state: task.publicId }),
				);
			case "UPSCALE":
			case "VARIATION":
			case "REROLL": {
				if (!context.parentUpstreamId) return { kind: "failed", reason: "the parent task never reached the upstream" };
				return followUpOutcome(
					await client.submitChange({
						taskId: context.parentUpstreamId,
						action: task.action,
						index: task.taskIndex ?? undefined,
						notifyHook: context.notifyHook,
						state: task.publicId,
					}),
				);
			}
			case "SWAP_FACE":
				if (!context.swap) return { kind: "failed", reason: "the face swap's images are missing" };
				return classifySubmitReply(
					await client.submitSwapFace({
						sourceBase64: context.swap.source,
						targetBase64: context.swap.target,
						notifyHook: context.notifyHook,
						state: task.publicId,
					}),
				);
			default:
				return { kind: "failed", reason: `action ${task.action} is not supported` };
		}
	} catch (error) {
		if (!(error instanceof UpstreamError)) throw error;
		if (error.retryable) return { kind: "retry", reason: error.message, channelFault: true };
		if (error.status === 401 || error.status === 403) {
			return { kind: "channel-down", reason: `the upstream refused the channel's secret (HTTP ${error.status})` };
		}
		return { kind: "failed", reason: error.message };
	}
}

/** For a follow-up, code 3 means the parent task is unknown upstream, not a broken channel. */
function followUpOutcome(reply: SubmitReply): SubmitOutcome {
	const outcome = classifySubmitReply(reply);
	return outcome.kind === "channel-down"
		? { kind: "failed", reason: reply.description || "the upstream does not know the parent task" }
		: outcome;
}
