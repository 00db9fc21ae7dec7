/**
 * Creating a task for a client, for every action and every surface: the checks that need the
 * database, the write (task and charge in one batch), the enqueue. Everything that can be refused
 * is checked before anything is written, so a refused request writes and charges nothing.
 */
import type { AuthUser } from "../context";
import type { Db } from "../db/client";
import type { TaskMode, TaskRow } from "../db/schema";
import { findSettledOrLiveTask } from "../db/settled-tasks";
import { InsufficientQuotaError, insertTask, submitChecks } from "../db/tasks";
import { ApiError, badRequest } from "../errors";
import { callbackUrlProblem } from "../hooks/url-policy";
import { removeInputs, storeInputs } from "../images/inputs";
import type { CheckedImage } from "../images/upload";
import { logError } from "../log";
import type { TaskMessage } from "../queue/messages";
import { anyChannelMatches, type ChannelFilter, ensureSimulatorChannel, filterOptions } from "../upstream/channels";
import { actionOfButton, describeAction, GRID_ACTIONS, type TaskAction } from "./actions";
import {
	bannedWordIn,
	PROMPT_MAX_LENGTH,
	parseStringArray,
	queueLimits,
	storedButtons,
	type TaskOptions,
} from "./model";
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
	/** Album pictures: the template and, for face swaps, the R2 key of the user's photo. */
	album?: { styleId: number; originKey?: string };
}

export interface SubmitResult {
	publicId: string;
	action: TaskAction;
	/** MODAL when the task waits for its modal step (`/submit/modal`). */
	status: "NOT_START" | "MODAL";
	/** The caller's unfinished tasks beyond USER_CONCURRENCY: > 0 means "queued" (code 22). */
	queuedAhead: number;
}

/** How many pictures each action takes inline (min, max). */
const IMAGE_COUNTS: Partial<Record<TaskAction, readonly [number, number]>> = {
	IMAGINE: [0, 5],
	DESCRIBE: [1, 1],
	BLEND: [2, 5],
	EDITS: [1, 1],
	VIDEO: [0, 1],
	SWAP_FACE: [2, 2],
};

/** Actions that need a prompt of their own. */
const NEEDS_PROMPT: ReadonlySet<TaskAction> = new Set(["IMAGINE", "SHORTEN", "EDITS"]);

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
		return {
			action: button.action,
			prompt: parent.prompt,
			description: describeAction(button.action, `${parent.publicId} ${request.customId}`),
			parent,
			taskIndex: button.index ?? null,
			customId: request.customId,
			status: button.modal ? "MODAL" : "NOT_START",
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
			if (request.parentId === undefined) {
				if (!request.images?.length) throw badRequest("VIDEO needs an image, or the taskId of a finished task");
				return standalone(action, prompt);
			}
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
			checkPrompt(prompt, action);
			return standalone(action, prompt);
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
	now = Date.now(),
): Promise<SubmitResult> {
	const images = request.images ?? [];
	if (request.customId === undefined && !request.album) checkImages(request.action, images);
	const limits = queueLimits(env);
	const planned = await plan(db, user, request);
	const parentChannelId = planned.parent?.channelId ?? null;
	await ensureSimulatorChannel(db, env);
	// One statement for the queue limit and the channel: with the write, a new task's submit is two round trips.
	const { unfinished, channelAvailable } = await submitChecks(db, user.id, limits.limit, parentChannelId);
	const banned = bannedWordIn(env, planned.prompt);
	if (banned) {
		throw new ApiError("BANNED_PROMPT", `banned prompt: ${banned}`, {
			properties: { promptEn: planned.prompt, bannedWord: banned },
		});
	}
	if (unfinished >= limits.limit) {
		throw new ApiError("QUEUE_FULL", `queue is full: you have ${unfinished} unfinished tasks; try again later`);
	}

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
	const publicId = crypto.randomUUID();
	const inputs = await storeInputs(env.IMAGES, publicId, images);
	try {
		await insertTask(
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
				status: planned.status,
				progress: "0%",
				description: planned.description,
				updatedAt: now,
				quota: price,
				mode: request.mode ?? planned.parent?.mode ?? "",
				botType: request.botType ?? planned.parent?.botType ?? "",
				inputs: JSON.stringify(inputs),
				options: JSON.stringify({ ...request.options, ...(filter ? filterOptions(filter) : {}) }),
				styleId: request.album?.styleId ?? null,
				originKey: request.album?.originKey ?? null,
				album: request.album !== undefined,
			},
			now,
		);
	} catch (error) {
		await removeInputs(env.IMAGES, inputs);
		if (error instanceof InsufficientQuotaError) {
			throw new ApiError("INSUFFICIENT_QUOTA", `not enough quota: ${planned.action} costs ${price}`);
		}
		throw error;
	}
	if (planned.status === "NOT_START") await enqueueSubmit(env, publicId);
	return {
		publicId,
		action: planned.action,
		status: planned.status,
		queuedAhead: Math.max(0, unfinished + 1 - limits.concurrency),
	};
}

/** Queues the upstream submit of a task; a lost message is re-queued by the reconciler. */
export async function enqueueSubmit(env: Env, publicId: string): Promise<void> {
	try {
		await env.TASK_QUEUE.send({ kind: "submit", taskId: publicId } satisfies TaskMessage);
	} catch (error) {
		logError("enqueue failed; the reconciler will queue the task", publicId, error);
	}
}

/** The input keys of a task row. */
export function inputKeysOf(task: Pick<TaskRow, "inputs">): string[] {
	return parseStringArray(task.inputs);
}
