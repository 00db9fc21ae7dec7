/**
 * Wire types of the midjourney-proxy protocol (see shared/UPSTREAM.md). Both the client
 * that talks to real upstreams and the built-in simulator use these, so the simulator
 * can never drift from what the client expects.
 */
import { z } from "zod";
import { TASK_STATUSES, type TaskStatus } from "../vocabulary";

/** The simulator reads the wire's statuses from here. */
export type { TaskStatus };

/** Reply codes of every `/mj/submit/*` call. */
export const SUBMIT_CODE = {
	SUCCESS: 1,
	EXISTED: 21,
	IN_QUEUE: 22,
	QUEUE_FULL: 23,
	BANNED_PROMPT: 24,
	NOT_FOUND: 3,
	VALIDATION_ERROR: 4,
	FAILURE: 9,
} as const;

export const upstreamButtonSchema = z.object({
	customId: z.string().default(""),
	emoji: z.string().default(""),
	label: z.string().default(""),
	type: z.number().default(2),
	style: z.number().default(2),
});
export type UpstreamButton = z.infer<typeof upstreamButtonSchema>;

/** One task as the upstream reports it (fetch, list-by-condition, and its notifyHook posts). */
export const upstreamTaskSchema = z.object({
	id: z.coerce.string(),
	action: z.string().nullish(),
	customId: z.string().nullish(),
	prompt: z.string().nullish(),
	promptEn: z.string().nullish(),
	description: z.string().nullish(),
	state: z.string().nullish(),
	submitTime: z.number().nullish(),
	startTime: z.number().nullish(),
	finishTime: z.number().nullish(),
	imageUrl: z.string().nullish(),
	videoUrl: z.string().nullish(),
	videoUrls: z.array(z.unknown()).nullish(),
	status: z.enum(TASK_STATUSES).nullish().catch(null),
	progress: z.string().nullish(),
	failReason: z.string().nullish(),
	buttons: z.array(upstreamButtonSchema).nullish().catch([]),
	/** trueai-org's servers report the seed and the picture size of a finished task. */
	seed: z.union([z.string(), z.number()]).nullish().catch(null),
	width: z.number().nullish().catch(null),
	height: z.number().nullish().catch(null),
	properties: z.record(z.string(), z.unknown()).nullish(),
});
export type UpstreamTask = z.infer<typeof upstreamTaskSchema>;

export const submitReplySchema = z.object({
	code: z.number(),
	description: z.string().nullish(),
	result: z.union([z.string(), z.number()]).nullish(),
	properties: z.record(z.string(), z.unknown()).nullish(),
});
export type SubmitReply = z.infer<typeof submitReplySchema>;

/** Fields every submit body may carry. */
export interface HookFields {
	notifyHook?: string;
	state?: string;
}

/** The submit endpoints (paths under `/mj`) and their bodies. */
export interface SubmitBodies {
	"/submit/imagine": { prompt: string; base64Array?: string[]; botType?: string };
	"/submit/change": { taskId: string; action: "UPSCALE" | "VARIATION" | "REROLL"; index?: number };
	"/submit/action": { taskId: string; customId: string; enableRemix?: boolean; strong?: boolean };
	"/submit/modal": { taskId: string; prompt?: string; maskBase64?: string };
	"/submit/describe": { base64: string; botType?: string; language?: string };
	"/submit/blend": { base64Array: string[]; dimensions: string; botType?: string };
	"/submit/shorten": { prompt: string; botType?: string };
	"/submit/video": {
		prompt?: string;
		image?: string;
		taskId?: string;
		index?: number;
		motion?: string;
		action?: string;
		endImage?: string;
		loop?: boolean;
		batchSize?: number;
		videoType?: string;
	};
	"/submit/edits": { prompt: string; image: string };
	"/submit/retexture": { prompt: string; image: string };
	"/insight-face/swap": { sourceBase64: string; targetBase64: string };
}
export type SubmitPath = keyof SubmitBodies;

/** The reply of `/mj/task/{id}/image-seed`. */
export const imageSeedReplySchema = z.object({
	code: z.number(),
	description: z.string().nullish(),
	result: z.union([z.string(), z.number()]).nullish(),
});
