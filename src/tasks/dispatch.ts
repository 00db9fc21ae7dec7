/**
 * The rules of sending a task upstream: which call, and what each reply code means.
 * The queue consumer applies the outcome (ack, retry, fail); this file does no queueing.
 */
import type { TaskRow } from "../db/schema";
import { type UpstreamClient, UpstreamError } from "../upstream/client";
import { SUBMIT_CODE, type SubmitBodies, type SubmitPath, type SubmitReply } from "../upstream/protocol";
import { actionOfButton } from "./actions";
import { parseOptions } from "./model";

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
	/** The prompt to send instead of the task's own (its English translation). */
	prompt?: string;
	/** The modal step's prompt to send instead of the one the client gave (its English translation). */
	modalPrompt?: string;
	/** The upstream id of the parent, for follow-up actions. */
	parentUpstreamId?: string | null;
	/** Where the upstream should push progress; undefined when the gateway has no public URL. */
	notifyHook?: string;
	/** The task's input pictures as data URLs, in order (blend, describe, video, edits, swap). */
	images?: string[];
	/** SWAP_FACE of an album picture: the user's photo (source) and the template picture (target). */
	swap?: { source: string; target: string };
	/** INPAINT: the mask of the modal step, as a data URL. */
	mask?: string;
	/** SWAP_VIDEO_FACE: the target video. */
	video?: Blob;
}

type Call = { [P in SubmitPath]: { path: P; body: SubmitBodies[P] } }[SubmitPath];

/** The upstream call that starts the task, or why there is none. */
function callFor(task: TaskRow, context: DispatchContext): Call | { missing: string } {
	const images = context.images ?? [];
	const options = parseOptions(task.options);
	const botType = task.botType || undefined;
	const parentId = context.parentUpstreamId;
	const prompt = context.prompt ?? task.prompt;
	if (task.customId) {
		if (!parentId) return { missing: "the parent task never reached the upstream" };
		const body: SubmitBodies["/submit/action"] = { taskId: parentId, customId: task.customId };
		if (options.remix) body.enableRemix = true;
		if (options.strong !== undefined) body.strong = options.strong;
		return { path: "/submit/action", body };
	}
	switch (task.action) {
		case "IMAGINE":
			return {
				path: "/submit/imagine",
				body: {
					prompt,
					...(images.length ? { base64Array: images } : {}),
					...(botType ? { botType } : {}),
				},
			};
		case "UPSCALE":
		case "VARIATION":
		case "REROLL":
			if (!parentId) return { missing: "the parent task never reached the upstream" };
			return {
				path: "/submit/change",
				body: { taskId: parentId, action: task.action, ...(task.taskIndex == null ? {} : { index: task.taskIndex }) },
			};
		case "DESCRIBE":
			if (!images[0]) return { missing: "the image to describe is missing" };
			return {
				path: "/submit/describe",
				body: {
					base64: images[0],
					...(botType ? { botType } : {}),
					...(options.language ? { language: options.language } : {}),
				},
			};
		case "BLEND":
			return {
				path: "/submit/blend",
				body: { base64Array: images, dimensions: options.dimensions ?? "SQUARE", ...(botType ? { botType } : {}) },
			};
		case "SHORTEN":
			return { path: "/submit/shorten", body: { prompt, ...(botType ? { botType } : {}) } };
		case "EDITS":
			if (!images[0]) return { missing: "the image to edit is missing" };
			return { path: "/submit/edits", body: { prompt, image: images[0] } };
		case "RETEXTURE":
			if (!images[0]) return { missing: "the image to retexture is missing" };
			return { path: "/submit/retexture", body: { prompt, image: images[0] } };
		case "VIDEO": {
			const body: SubmitBodies["/submit/video"] = {};
			if (prompt) body.prompt = prompt;
			if (options.motion) body.motion = options.motion;
			if (options.loop !== undefined) body.loop = options.loop;
			if (options.batchSize !== undefined) body.batchSize = options.batchSize;
			if (options.videoType) body.videoType = options.videoType;
			// The end frame is always the last input picture.
			const endImage = options.endImage ? images.at(-1) : undefined;
			if (options.endImage && !endImage) return { missing: "the end frame is missing" };
			if (endImage) body.endImage = endImage;
			if (task.parentId) {
				if (!parentId) return { missing: "the parent task never reached the upstream" };
				body.taskId = parentId;
				if (task.taskIndex != null) body.index = task.taskIndex;
				if (options.videoAction) body.action = options.videoAction;
			} else {
				if (!images[0]) return { missing: "the image to animate is missing" };
				body.image = images[0];
			}
			return { path: "/submit/video", body };
		}
		case "SWAP_FACE": {
			const swap = context.swap ?? (images.length === 2 ? { source: images[0], target: images[1] } : undefined);
			if (!swap) return { missing: "the face swap's images are missing" };
			return { path: "/insight-face/swap", body: { sourceBase64: swap.source, targetBase64: swap.target } };
		}
		default:
			return { missing: `action ${task.action} is not supported` };
	}
}

export async function submitToUpstream(
	client: UpstreamClient,
	task: TaskRow,
	context: DispatchContext,
): Promise<SubmitOutcome> {
	const hook = { ...(context.notifyHook ? { notifyHook: context.notifyHook } : {}), state: task.publicId };
	const mode = task.mode;
	if (task.action === "SWAP_VIDEO_FACE") return submitVideoSwap(client, task, context, hook);
	const call = callFor(task, context);
	if ("missing" in call) return { kind: "failed", reason: call.missing };
	try {
		const reply = await client.submit(call.path, { ...call.body, ...hook } as SubmitBodies[typeof call.path], mode);
		const followUp = Boolean(task.parentId);
		const outcome = followUp ? followUpOutcome(reply) : classifySubmitReply(reply);
		const button = task.customId ? actionOfButton(task.customId) : undefined;
		const remixOnly = Boolean(button) && !button?.modal && parseOptions(task.options).remix === true;
		if ((!button?.modal && !remixOnly) || outcome.kind !== "accepted") return outcome;
		if (remixOnly && reply.code !== SUBMIT_CODE.EXISTED) {
			// An upstream without remix ran the button as is: stop that task rather than show it as the remix.
			await client.cancel(outcome.upstreamId).catch(() => false);
			return {
				kind: "failed",
				reason: "the channel cannot remix: it ran the button without waiting for the new prompt",
			};
		}
		// The upstream waits in MODAL for the second step: hand it what the client's modal step brought.
		const options = parseOptions(task.options);
		const modal: SubmitBodies["/submit/modal"] = { taskId: outcome.upstreamId };
		const modalPrompt = context.modalPrompt ?? options.modalPrompt;
		if (modalPrompt) modal.prompt = modalPrompt;
		if (context.mask) modal.maskBase64 = context.mask;
		const second = followUpOutcome(await client.submit("/submit/modal", { ...modal, ...hook }, mode));
		return second.kind === "accepted"
			? { kind: "accepted", upstreamId: second.upstreamId || outcome.upstreamId }
			: second;
	} catch (error) {
		return upstreamErrorOutcome(error);
	}
}

function upstreamErrorOutcome(error: unknown): SubmitOutcome {
	if (!(error instanceof UpstreamError)) throw error;
	if (error.retryable) return { kind: "retry", reason: error.message, channelFault: true };
	if (error.status === 401 || error.status === 403) {
		return { kind: "channel-down", reason: `the upstream refused the channel's secret (HTTP ${error.status})` };
	}
	return { kind: "failed", reason: error.message };
}

/** `/insight-face/video-swap` is a multipart form upstream too: the face inline, the video as the file `targetFile`. */
async function submitVideoSwap(
	client: UpstreamClient,
	task: TaskRow,
	context: DispatchContext,
	hook: { notifyHook?: string; state: string },
): Promise<SubmitOutcome> {
	const source = context.images?.[0];
	if (!source) return { kind: "failed", reason: "the face to swap in is missing" };
	if (!context.video) return { kind: "failed", reason: "the video to swap the face into is missing" };
	const form = new FormData();
	form.set("sourceBase64", source);
	form.set("targetFile", context.video, "target.mp4");
	form.set("state", hook.state);
	if (hook.notifyHook) form.set("notifyHook", hook.notifyHook);
	try {
		return classifySubmitReply(await client.submitForm("/insight-face/video-swap", form, task.mode));
	} catch (error) {
		return upstreamErrorOutcome(error);
	}
}

/** For a follow-up, code 3 means the parent task is unknown upstream, not a broken channel. */
function followUpOutcome(reply: SubmitReply): SubmitOutcome {
	const outcome = classifySubmitReply(reply);
	return outcome.kind === "channel-down"
		? { kind: "failed", reason: reply.description || "the upstream does not know the parent task" }
		: outcome;
}
