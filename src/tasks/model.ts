/** The task model shared by every surface: states, actions, limits. */

import { z } from "zod";
import { type ConfigVars, config } from "../config";
import { type TaskStatus, type UpstreamButton, upstreamButtonSchema } from "../upstream/protocol";

export type { TaskStatus };

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(["SUCCESS", "FAILURE", "CANCEL"]);

export function isTerminal(status: string): boolean {
	return TERMINAL_STATUSES.has(status as TaskStatus);
}

/** Settings of an action besides its prompt and pictures, kept as the task's `options` JSON. */
const taskOptionsSchema = z
	.object({
		/** BLEND: PORTRAIT, SQUARE or LANDSCAPE. */
		dimensions: z.string().optional(),
		/** VIDEO: "low" or "high". */
		motion: z.string().optional(),
		/** VIDEO: "extend" to continue a video task. */
		videoAction: z.string().optional(),
		/** CUSTOM_ZOOM / INPAINT: the prompt of the modal step. */
		modalPrompt: z.string().optional(),
		/** INPAINT: R2 key of the mask of the modal step. */
		maskKey: z.string().optional(),
		/** DESCRIBE: the language the upstream writes its prompts in (`zh`, `en`, …). */
		language: z.string().optional(),
		/** A button pressed in remix mode: the task waits in MODAL for its new prompt. */
		remix: z.boolean().optional(),
		/** V1..V4 buttons: a strong variation rather than the default subtle one. */
		strong: z.boolean().optional(),
		/** VIDEO: the last of the task's input pictures is the end frame. */
		endImage: z.boolean().optional(),
		/** VIDEO: a looping video (the end frame is the start frame). */
		loop: z.boolean().optional(),
		/** VIDEO: how many videos (1, 2 or 4). */
		batchSize: z.number().optional(),
		/** VIDEO: the resolution model, e.g. `vid_1.1_i2v_480` or `vid_1.1_i2v_720`. */
		videoType: z.string().optional(),
		/** SWAP_VIDEO_FACE: R2 key of the target video. */
		videoKey: z.string().optional(),
		/** midjourney-proxy `accountFilter.instanceId`: the channel (id, name or Discord channel id) to run on. */
		instanceId: z.string().optional(),
		/** midjourney-proxy `accountFilter.modes`: run only on a channel in one of these modes (fast, relax, turbo). */
		modes: z.array(z.string()).optional(),
	})
	.catch({});
export type TaskOptions = z.infer<typeof taskOptionsSchema>;

export function parseOptions(json: string): TaskOptions {
	try {
		return taskOptionsSchema.parse(JSON.parse(json));
	} catch {
		return {};
	}
}

const storedButtonsSchema = z.array(upstreamButtonSchema).catch([]);

/** The buttons kept in a task's `buttons` JSON column; [] for anything unreadable. */
export function storedButtons(json: string): UpstreamButton[] {
	try {
		return storedButtonsSchema.parse(JSON.parse(json));
	} catch {
		return [];
	}
}

/** Actions the seed-002 surface accepts. */
export const SUBMIT_ACTIONS = ["IMAGINE", "UPSCALE", "VARIATION"] as const;
export type SubmitAction = (typeof SUBMIT_ACTIONS)[number];

/** Longest prompt accepted, in characters (docs/seed-002.md and the OpenAPI document). */
export const PROMPT_MAX_LENGTH = 4000;
/** Longest `state` string accepted. */
export const CLIENT_STATE_MAX_LENGTH = 1024;

/** An update to a task, from the upstream (submit reply, poll, push callback) or the reconciler. */
export interface TaskUpdate {
	status: TaskStatus;
	progress?: string;
	upstreamId?: string;
	channelId?: number;
	failReason?: string;
	imageUrl?: string;
	promptEn?: string;
	finalPrompt?: string;
	/** A new description (the gateway's own: a prompt sent untranslated says so). */
	description?: string;
	buttons?: UpstreamButton[];
	videoUrl?: string;
	videoUrls?: string[];
	startTime?: number;
	finishTime?: number;
	/** The upstream's seed of the result, when it reports one. */
	seed?: string;
	/** Pixel size of the result image, when the upstream reports it. */
	width?: number;
	height?: number;
}

/** Parses "45%" to 45; anything unparsable is undefined. */
export function parseProgress(progress: string | undefined | null): number | undefined {
	if (!progress) return undefined;
	const match = /^(\d{1,3})(?:\.\d+)?%?$/.exec(progress.trim());
	if (!match) return undefined;
	return Math.min(100, Number(match[1]));
}

/** How long a task may run before the reconciler fails it (TASK_TIMEOUT_MINUTES, default 30). */
export function taskTimeoutMs(env: ConfigVars): number {
	return config(env).taskTimeoutMs;
}

/** A user's unfinished tasks beyond which a submit answers "queued" (22), and "queue full" (23). */
export function queueLimits(env: ConfigVars): { concurrency: number; limit: number } {
	const { userConcurrency, userQueueLimit } = config(env);
	return { concurrency: userConcurrency, limit: userQueueLimit };
}
