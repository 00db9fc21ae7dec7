/**
 * A task in the seed-002 (Midjourney-node-api) format: exactly the seed's seventeen fields.
 * String fields are always strings ("" when empty); times are epoch ms, finishTime null
 * until the task ends; progress is "done" on success as the seed shows, else a percentage.
 */
import { taskShape } from "../../db/rows";
import type { TaskRow } from "../../db/schema";
import { taskImageUrl, taskImageUrls } from "../../images/links";
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
	return hashOfButtons(buttonsJson) ?? JOB_HASH.exec(customId)?.[1] ?? "";
}

/**
 * The hash in a task's buttons, by their JSON text: reading them is a JSON.parse and a schema check
 * per row, and a finished task's buttons never change, so a list page of recent tasks would read
 * the same texts again and again.
 */
const buttonHashes = new Map<string, string | null>();
const BUTTON_HASHES_LIMIT = 5_000;

function hashOfButtons(buttonsJson: string): string | null {
	if (buttonsJson === "[]") return null;
	let hash = buttonHashes.get(buttonsJson);
	if (hash === undefined) {
		hash = null;
		for (const button of storedButtons(buttonsJson)) {
			const match = JOB_HASH.exec(button.customId);
			if (match) {
				hash = match[1];
				break;
			}
		}
		if (buttonHashes.size >= BUTTON_HASHES_LIMIT) buttonHashes.clear();
		buttonHashes.set(buttonsJson, hash);
	}
	return hash;
}

/** The task columns a seed-002 task shows. */
const SEED002_COLUMNS = [
	"publicId",
	"taskIndex",
	"action",
	"prompt",
	"promptEn",
	"parentId",
	"imageKey",
	"upstreamImageUrl",
	"buttons",
	"customId",
	"finalPrompt",
	"status",
	"progress",
	"description",
	"submitTime",
	"finishTime",
	"clientState",
	"notifyHook",
] as const satisfies readonly (keyof TaskRow)[];
export type Seed002Source = Pick<TaskRow, (typeof SEED002_COLUMNS)[number]>;

/** What a seed-002 list reads of each task: the view's columns and the lists' own (the cursor's id). */
export const SEED002_ROWS = taskShape([...SEED002_COLUMNS, "id"]);

export async function toSeed002(env: Env, base: string, task: Seed002Source): Promise<Seed002Task> {
	return seed002Of(task, await taskImageUrl(env, base, task));
}

/** A page of tasks in the seed's format, their image links made in one wait (taskImageUrls). */
export async function toSeed002Page(env: Env, base: string, page: readonly Seed002Source[]): Promise<Seed002Task[]> {
	const urls = await taskImageUrls(env, base, page);
	return page.map((task, i) => seed002Of(task, urls[i]));
}

function seed002Of(task: Seed002Source, imageUrl: string): Seed002Task {
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
