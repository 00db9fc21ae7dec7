/**
 * Creating a task for a client, for every action and every surface: the checks that need the
 * database, the write (task and charge in one batch), the enqueue. Everything that can be refused
 * is checked before anything is written, so a refused request writes and charges nothing.
 */
import type { AuthUser } from "../context";
import type { Db } from "../db/client";
import { type HookEventMode, parseStringArray, type TaskMode, type TaskRow } from "../db/schema";
import { findSettledOrLiveTask } from "../db/settled-tasks";
import { InsufficientQuotaError, insertQueuedTask, QueueFullError, submitChecks, UserDisabledError } from "../db/tasks";
import { type Deps, runtimeDeps } from "../deps";
import { ApiError, badRequest, userDisabled } from "../errors";
import { removeInputs, storeInputs } from "../images/inputs";
import type { CheckedImage } from "../images/upload";
import { logError } from "../log";
import { callbackUrlProblem } from "../net/url-policy";
import { anyChannelMatches, type ChannelFilter, ensureSimulatorChannel, filterOptions } from "../upstream/channels";
import type { TaskAction } from "../vocabulary";
import { actionOfButton, describeAction, GRID_ACTIONS } from "./actions";
import { bannedMatcher, refuseBannedPrompt } from "./banned-words";
import type { TaskMessage } from "./messages";
import { PROMPT_MAX_LENGTH, parseOptions, queueLimits, storedButtons, type TaskOptions } from "./model";
import { priceOf } from "./pricing";

export interface SubmitRequest {
	action: TaskAction;
	prompt?: string;
	/** Public id of the task a follow-up acts on (UPSCALE, VARIATION, REROLL, buttons, VIDEO of a task). */
	parentId?: string;
	/** 1..4: which image of the parent's grid. */
	index?: number;
	/** A button of the parent (`/submit/action`); the action is the button's. */
	customId?: string;
	/** Pictures handed in inline or uploaded, already checked; stored in R2 under the task. */
	images?: readonly CheckedImage[];
	options?: TaskOptions;
	/** midjourney-proxy `accountFilter` of a new task: the channel and the modes it may run on. */
	accountFilter?: ChannelFilter;
	mode?: TaskMode;
	botType?: string;
	state?: string;
	notifyHook?: string;
	/** Which changes the notifyHook hears of; absent follows the owner's setting. */
	hookEvents?: HookEventMode;
	/** Album pictures: the template and, for face swaps, the R2 key of the user's photo. */
	album?: { styleId: number; originKey?: string };
	/** SWAP_VIDEO_FACE: the target video, already checked; stored in R2 under the task. */
	video?: Uint8Array;
}

export interface SubmitResult {
	publicId: string;
	action: TaskAction;
	/** MODAL when the task waits for its modal step (`/submit/modal`). */
	status: "NOT_START" | "MODAL";
	/** The caller's unfinished tasks beyond USER_CONCURRENCY: > 0 means "queued" (code 22). */
	queuedAhead: number;
	/** The channel the task will run on, when the submit already knows it (a follow-up runs where its parent ran). */
	channelId: number | null;
}

/** How many pictures each action takes inline (min, max). */
const IMAGE_COUNTS: Partial<Record<TaskAction, readonly [number, number]>> = {
	IMAGINE: [0, 5],
	DESCRIBE: [1, 1],
	BLEND: [2, 5],
	EDITS: [1, 1],
	RETEXTURE: [1, 1],
	/** The start frame (unless the video starts from a task) and the optional end frame. */
	VIDEO: [0, 2],
	SWAP_FACE: [2, 2],
	/** The face; the video comes apart. */
	SWAP_VIDEO_FACE: [1, 1],
};

/** Actions that need a prompt of their own. */
const NEEDS_PROMPT: ReadonlySet<TaskAction> = new Set(["IMAGINE", "SHORTEN", "EDITS", "RETEXTURE"]);

/** Buttons that can be pressed in remix mode (a new prompt in a modal step), as trueai-org's servers allow. */
const REMIX_ACTIONS: ReadonlySet<TaskAction> = new Set(["VARIATION", "REROLL", "PAN", "VIDEO"]);

interface Planned {
	action: TaskAction;
	prompt: string;
	description: string;
	parent: TaskRow | null;
	taskIndex: number | null;
	customId: string;
	status: "NOT_START" | "MODAL";
}

/** A task of its own: no parent, no button. */
function standalone(action: TaskAction, prompt: string, description = describeAction(action, prompt)): Planned {
	return { action, prompt, description, parent: null, taskIndex: null, customId: "", status: "NOT_START" };
}

function checkPrompt(prompt: string, action: TaskAction): void {
	if (NEEDS_PROMPT.has(action) && !prompt) throw badRequest(`prompt is required for ${action}`);
	if (prompt.length > PROMPT_MAX_LENGTH) throw badRequest(`prompt must be at most ${PROMPT_MAX_LENGTH} characters`);
}

/** The parent of a follow-up: the caller's own finished task. */
async function finishedParent(
	db: Db,
	user: AuthUser,
	parentId: string | undefined,
	action: string,
): Promise<Readonly<TaskRow>> {
	if (!parentId) throw badRequest(`taskId is required for ${action}`);
	const parent = await findSettledOrLiveTask(() => db, user.id, parentId);
	if (!parent) throw new ApiError("UNKNOWN_TASK", `no task with taskId ${parentId}`);
	if (parent.status !== "SUCCESS") throw badRequest(`task ${parentId} is not finished (status ${parent.status})`);
	return parent;
}

function buttonsOf(task: TaskRow): string[] {
	return storedButtons(task.buttons).flatMap((button) => (button.customId ? [button.customId] : []));
}

/** Decides what the task is from the request and its parent; throws for anything refused. */
async function plan(db: Db, user: AuthUser, request: SubmitRequest): Promise<Planned> {
	const prompt = request.prompt?.trim() ?? "";
	const action = request.action;
	if (request.customId !== undefined) {
		const parent = await finishedParent(db, user, request.parentId, "an action");
		if (!buttonsOf(parent).includes(request.customId)) {
			throw badRequest(`task ${parent.publicId} has no button with customId ${request.customId}`);
		}
		const button = actionOfButton(request.customId);
		const options = request.options ?? {};
		if (options.strong !== undefined && !/^MJ::JOB::variation::[1-4]::/.test(request.customId)) {
			throw badRequest("strong applies only to the V1..V4 buttons (MJ::JOB::variation::N::…)");
		}
		if (options.remix && !button.modal && !REMIX_ACTIONS.has(button.action)) {
			throw badRequest(
				`enableRemix applies to variation, reroll, pan and animate buttons, not to ${button.action} (${request.customId})`,
			);
		}
		return {
			action: button.action,
			prompt: parent.prompt,
			description: describeAction(button.action, `${parent.publicId} ${request.customId}`),
			parent,
			taskIndex: button.index ?? null,
			customId: request.customId,
			status: button.modal || options.remix ? "MODAL" : "NOT_START",
		};
	}
	switch (action) {
		case "UPSCALE":
		case "VARIATION":
		case "REROLL": {
			if (action !== "REROLL" && request.index === undefined) {
				throw badRequest(`index (1-4) is required for ${action}`);
			}
			const parent = await finishedParent(db, user, request.parentId, action);
			if (!GRID_ACTIONS.has(parent.action)) {
				throw badRequest(`${action} needs a grid task (IMAGINE or VARIATION), not ${parent.action}`);
			}
			const index = action === "REROLL" ? null : (request.index ?? null);
			const label = action === "UPSCALE" ? `U${index}` : action === "VARIATION" ? `V${index}` : "R";
			return {
				action,
				prompt: parent.prompt,
				description: `${describeAction(action, "")} ${parent.publicId} ${label}`,
				parent,
				taskIndex: index,
				customId: "",
				status: "NOT_START",
			};
		}
		case "VIDEO": {
			checkPrompt(prompt, action);
			const frames = (request.images?.length ?? 0) - (request.options?.endImage ? 1 : 0);
			if (request.options?.loop && request.options.endImage) {
				throw badRequest("loop and endImage exclude each other: a looping video ends on its start frame");
			}
			if (request.parentId === undefined) {
				if (frames < 1) throw badRequest("VIDEO needs an image, or the taskId of a finished task");
				return standalone(action, prompt);
			}
			if (frames > 0) throw badRequest("VIDEO takes an image or a taskId, not both");
			const parent = await finishedParent(db, user, request.parentId, action);
			const extend = request.options?.videoAction === "extend";
			if (extend && parent.action !== "VIDEO")
				throw badRequest(`only a VIDEO task can be extended, not ${parent.action}`);
			if (!extend && GRID_ACTIONS.has(parent.action) && request.index === undefined) {
				throw badRequest("index (1-4) is required to animate an image of a grid");
			}
			return {
				action,
				prompt: prompt || parent.prompt,
				description: describeAction(action, `${parent.publicId}${extend ? " extend" : ""}`),
				parent,
				taskIndex: request.index ?? null,
				customId: "",
				status: "NOT_START",
			};
		}
		case "SWAP_FACE":
			if (request.album) {
				if (!request.album.originKey) throw badRequest("a face swap needs the user's photo");
				return standalone(action, "", `/swap template ${request.album.styleId}`);
			}
			return standalone(action, "");
		case "IMAGINE":
		case "DESCRIBE":
		case "BLEND":
		case "SHORTEN":
		case "EDITS":
		case "RETEXTURE":
			checkPrompt(prompt, action);
			return standalone(action, prompt);
		case "SWAP_VIDEO_FACE":
			if (!request.video) throw badRequest("a video face swap needs the target video");
			return standalone(action, "");
		default:
			throw badRequest(`${action} is started with a button: POST /mj/submit/action {taskId, customId}`);
	}
}

function checkImages(action: TaskAction, images: readonly CheckedImage[]): void {
	const [min, max] = IMAGE_COUNTS[action] ?? [0, 0];
	if (images.length < min || images.length > max) {
		throw badRequest(
			min === max
				? `${action} takes ${min} image${min === 1 ? "" : "s"}, not ${images.length}`
				: `${action} takes ${min} to ${max} images, not ${images.length}`,
		);
	}
}

/**
 * Checks the request against the caller's own tasks and limits, writes the task (NOT_START, or
 * MODAL for a button that needs a second step) with its charge, and queues it. If the enqueue
 * fails the task still exists and the reconciler queues it.
 */
export async function submitTask(
	env: Env,
	db: Db,
	user: AuthUser,
	request: SubmitRequest,
	now: number,
	deps: Pick<Deps, "uuid"> = runtimeDeps(),
): Promise<SubmitResult> {
	const images = request.images ?? [];
	if (request.customId === undefined && !request.album) checkImages(request.action, images);
	const limits = queueLimits(env);
	const planned = await plan(db, user, request);
	const parentChannelId = planned.parent?.channelId ?? null;
	await ensureSimulatorChannel(db, env, now);
	// One statement for the queue limit and the channel: with the write, a new task's submit is two
	// round trips. The banned words' version check (the primary's) runs beside it.
	const [{ unfinished, channelAvailable }, matcher] = await Promise.all([
		submitChecks(db, user.id, limits.limit, parentChannelId),
		bannedMatcher(env, now),
	]);
	await refuseBannedPrompt(env, planned.prompt, now, matcher);
	// Refused early here without writing anything; the insert checks the limit again, atomically.
	if (unfinished >= limits.limit) throw queueFull(limits.limit);

	const notifyHook = request.notifyHook ?? "";
	if (notifyHook) {
		const problem = callbackUrlProblem(notifyHook, env);
		if (problem) throw badRequest(problem);
	}

	const filter = parentChannelId == null ? request.accountFilter : undefined;
	// Refuse now rather than queue a task no channel can take.
	if (filter && channelAvailable && !(await anyChannelMatches(db, filter))) {
		throw new ApiError("NO_CHANNEL", "no enabled channel matches accountFilter");
	}
	if (!channelAvailable) {
		throw new ApiError(
			"NO_CHANNEL",
			parentChannelId == null
				? "no upstream channel is available"
				: "the channel that ran the parent task is not available",
		);
	}

	const price = priceOf(env, planned.action);
	const publicId = deps.uuid();
	const inputs = await storeInputs(env.IMAGES, publicId, images);
	const options: TaskOptions = { ...request.options };
	if (request.video) {
		const key = videoInputKey(publicId);
		await env.IMAGES.put(key, request.video, { httpMetadata: { contentType: "video/mp4" } });
		inputs.push(key);
		options.videoKey = key;
	}
	let unfinishedWithThis: number;
	try {
		({ unfinished: unfinishedWithThis } = await insertQueuedTask(
			db,
			{
				publicId,
				userId: user.id,
				action: planned.action,
				prompt: planned.prompt,
				taskIndex: planned.taskIndex,
				parentId: planned.parent?.publicId ?? null,
				customId: planned.customId,
				clientState: request.state ?? "",
				notifyHook,
				hookEvents: request.hookEvents ?? "",
				status: planned.status,
				progress: "0%",
				description: planned.description,
				updatedAt: now,
				quota: price,
				mode: request.mode ?? planned.parent?.mode ?? "",
				botType: request.botType ?? planned.parent?.botType ?? "",
				inputs: JSON.stringify(inputs),
				options: JSON.stringify({ ...options, ...(filter ? filterOptions(filter) : {}) }),
				styleId: request.album?.styleId ?? null,
				originKey: request.album?.originKey ?? null,
				album: request.album !== undefined,
			},
			now,
			limits.limit,
		));
	} catch (error) {
		await removeInputs(env.IMAGES, inputs);
		if (error instanceof InsufficientQuotaError) {
			throw new ApiError("INSUFFICIENT_QUOTA", `not enough quota: ${planned.action} costs ${price}`);
		}
		if (error instanceof QueueFullError) throw queueFull(limits.limit);
		if (error instanceof UserDisabledError) throw userDisabled();
		throw error;
	}
	if (planned.status === "NOT_START") await enqueueSubmit(env, publicId);
	return {
		publicId,
		action: planned.action,
		status: planned.status,
		queuedAhead: Math.max(0, unfinishedWithThis - limits.concurrency),
		channelId: parentChannelId,
	};
}

/** R2 key of the target video of a SWAP_VIDEO_FACE task. */
export function videoInputKey(publicId: string): string {
	return `inputs/${publicId}/target.mp4`;
}

function queueFull(limit: number): ApiError {
	return new ApiError("QUEUE_FULL", `queue is full: you have ${limit} unfinished tasks; try again later`);
}

/** Queues the upstream submit of a task; a lost message is re-queued by the reconciler. */
export async function enqueueSubmit(env: Env, publicId: string): Promise<void> {
	try {
		await env.TASK_QUEUE.send({ kind: "submit", taskId: publicId } satisfies TaskMessage);
	} catch (error) {
		logError("enqueue failed; the reconciler will queue the task", publicId, error);
	}
}

/** The input pictures' keys of a task row (a video face swap's video is kept apart, under `options.videoKey`). */
export function inputKeysOf(task: Pick<TaskRow, "inputs" | "options">): string[] {
	const video = task.options ? parseOptions(task.options).videoKey : undefined;
	return parseStringArray(task.inputs).filter((key) => key !== video);
}
