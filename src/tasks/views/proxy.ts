/**
 * A task in the midjourney-proxy format (shared/UPSTREAM.md, "The task object"): what
 * `/mj/task/{id}/fetch`, `list-by-condition`, `/mj/task/list` and `/mj/task/queue` answer. `id` is
 * the gateway's public task id, every picture and video link is the gateway's own signed copy, and
 * `failReason` is always set on FAILURE (relays treat a task as failed only then). The buttons are
 * the upstream's; their `customId`s work at the gateway's `/mj/submit/action`.
 *
 * `imageUrls` has one entry per picture of the result. The gateway keeps one copy of a result
 * (for a grid, the grid), so each picture of a grid is the grid's link with a W3C media fragment
 * (`#xywh=percent:x,y,50,50`) naming its quadrant: the link serves the whole grid and says which
 * part is meant; U1..U4 make the picture itself. `instanceId` (and a submit's
 * `properties.discordInstanceId`) is the id of the gateway's channel that ran the task, as a string.
 */
import type { TaskRow } from "../../db/schema";
import { taskImageUrl, taskVideoUrls } from "../../images/links";
import type { UpstreamButton } from "../../upstream/protocol";
import { GRID_ACTIONS } from "../actions";
import { storedButtons } from "../model";

export interface ProxyTask {
	id: string;
	action: string;
	customId: string;
	botType: string;
	prompt: string;
	promptEn: string;
	description: string;
	state: string;
	mode: string;
	/** The task a follow-up was made from ("" for a task of its own). */
	parentId: string;
	/** The channel that ran the task ("" before one took it). */
	instanceId: string;
	/** The result's seed where known: the upstream's report, or the prompt's `--seed`. */
	seed: string;
	width: number | null;
	height: number | null;
	submitTime: number;
	startTime: number | null;
	finishTime: number | null;
	imageUrl: string;
	imageUrls: { url: string }[];
	videoUrl: string;
	videoUrls: { url: string }[];
	status: string;
	progress: string;
	failReason: string;
	buttons: UpstreamButton[];
	properties: { finalPrompt: string; finalZhPrompt: string; notifyHook: string };
}

/** Top-left, top-right, bottom-left, bottom-right: Midjourney's 1..4. */
const QUADRANTS = ["0,0", "50,0", "0,50", "50,50"] as const;

/** Each picture of a result: the image itself, or the four quadrants of a grid. */
export function pictureUrls(action: string, imageUrl: string): string[] {
	if (!imageUrl) return [];
	if (!GRID_ACTIONS.has(action)) return [imageUrl];
	return QUADRANTS.map((corner) => `${imageUrl}#xywh=percent:${corner},50,50`);
}

/** The seed the prompt fixes with `--seed N` (or `--sameseed N`), if any. */
export function promptSeed(prompt: string): string {
	return /(?:^|\s)--(?:same)?seed\s+(\d{1,10})(?=\s|$)/.exec(prompt)?.[1] ?? "";
}

export async function toProxyTask(env: Env, base: string, task: TaskRow): Promise<ProxyTask> {
	const [imageUrl, videoUrls] = await Promise.all([taskImageUrl(env, base, task), taskVideoUrls(env, base, task)]);
	const failed = task.status === "FAILURE";
	return {
		id: task.publicId,
		action: task.action,
		customId: task.customId,
		botType: task.botType,
		// DESCRIBE has no prompt of its own: its result (the four prompts) is the prompt.
		prompt: task.prompt || task.finalPrompt,
		promptEn: task.promptEn || task.prompt || task.finalPrompt,
		description: task.description,
		state: task.clientState,
		mode: task.mode,
		parentId: task.parentId ?? "",
		instanceId: task.channelId == null ? "" : String(task.channelId),
		seed: task.seed || promptSeed(task.finalPrompt || task.prompt),
		width: task.width,
		height: task.height,
		submitTime: task.submitTime,
		startTime: task.startTime,
		finishTime: task.finishTime,
		imageUrl,
		imageUrls: pictureUrls(task.action, imageUrl).map((url) => ({ url })),
		videoUrl: videoUrls[0] ?? "",
		videoUrls: videoUrls.map((url) => ({ url })),
		status: task.status,
		progress: task.progress,
		failReason: failed ? task.failReason || "task failed" : task.failReason,
		buttons: task.status === "SUCCESS" ? storedButtons(task.buttons) : [],
		properties: { finalPrompt: task.finalPrompt, finalZhPrompt: "", notifyHook: task.notifyHook },
	};
}
