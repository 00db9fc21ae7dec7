/**
 * A task in the midjourney-proxy format (shared/UPSTREAM.md, "The task object"): what
 * `/mj/task/{id}/fetch`, `list-by-condition`, `/mj/task/list` and `/mj/task/queue` answer. `id` is
 * the gateway's public task id, every picture and video link is the gateway's own signed copy, and
 * `failReason` is always set on FAILURE (relays treat a task as failed only then). The buttons are
 * the upstream's; their `customId`s work at the gateway's `/mj/submit/action`.
 */
import type { TaskRow } from "../../db/schema";
import { taskImageUrl, taskVideoUrls } from "../../images/links";
import type { UpstreamButton } from "../../upstream/protocol";
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
		submitTime: task.submitTime,
		startTime: task.startTime,
		finishTime: task.finishTime,
		imageUrl,
		imageUrls: imageUrl ? [{ url: imageUrl }] : [],
		videoUrl: videoUrls[0] ?? "",
		videoUrls: videoUrls.map((url) => ({ url })),
		status: task.status,
		progress: task.progress,
		failReason: failed ? task.failReason || "task failed" : task.failReason,
		buttons: task.status === "SUCCESS" ? storedButtons(task.buttons) : [],
		properties: { finalPrompt: task.finalPrompt, finalZhPrompt: "", notifyHook: task.notifyHook },
	};
}
