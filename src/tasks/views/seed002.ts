/**
 * A task in the seed-002 (Midjourney-node-api) format: exactly the seed's seventeen fields.
 * String fields are always strings ("" when empty); times are epoch ms, finishTime null
 * until the task ends; progress is "done" on success as the seed shows, else a percentage.
 */
import type { TaskRow } from "../../db/schema";
import { taskImageUrl } from "../../images/links";
import { storedButtons } from "../model";

export interface Seed002Task {
	_id: string;
	index: string;
	action: string;
	prompt: string;
	promptEn: string;
	taskId: string;
	uri: string;
	hash: string;
	content: string;
	progress: string;
	description: string;
	submitTime: number;
	finishTime: number | null;
	state: string;
	notifyHook: string;
	imageUrl: string;
	status: string;
}

/** A Midjourney message hash inside a button's customId (`MJ::JOB::upsample::1::<hash>`, `MJ::CustomZoom::<hash>`). */
const JOB_HASH = /::([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:::|$)/i;

/**
 * The Midjourney job hash: from the task's own buttons (every kind of result has some), else from
 * the button the task was started with, which names the parent's message (an upscale without buttons).
 */
export function jobHash(buttonsJson: string, customId = ""): string {
	for (const button of storedButtons(buttonsJson)) {
		const match = JOB_HASH.exec(button.customId);
		if (match) return match[1];
	}
	return JOB_HASH.exec(customId)?.[1] ?? "";
}

export async function toSeed002(env: Env, base: string, task: TaskRow): Promise<Seed002Task> {
	const imageUrl = await taskImageUrl(env, base, task);
	return {
		_id: task.publicId,
		index: task.taskIndex == null ? "" : String(task.taskIndex),
		action: task.action,
		prompt: task.prompt,
		promptEn: task.promptEn,
		taskId: task.parentId ?? "",
		uri: imageUrl,
		hash: jobHash(task.buttons, task.customId),
		content: task.finalPrompt || task.promptEn || task.prompt,
		progress: task.status === "SUCCESS" ? "done" : task.progress,
		description: task.description,
		submitTime: task.submitTime,
		finishTime: task.finishTime ?? null,
		state: task.clientState,
		notifyHook: task.notifyHook,
		imageUrl,
		status: task.status,
	};
}
