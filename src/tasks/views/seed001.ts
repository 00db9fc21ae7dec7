/**
 * A task in the seed-001 (new-api Midjourney module) format. Times are epoch seconds
 * (0 when not reached yet), `video_urls` is a JSON array in a string as the document shows,
 * `image_url` is the gateway's signed link. Admin items add user_id and channel_id.
 */
import { taskShape } from "../../db/rows";
import type { TaskRow } from "../../db/schema";
import { taskImageUrls } from "../../images/links";
import { epochSecondsOrZero } from "../../time";

export interface Seed001Item {
	id: number;
	mj_id: string;
	action: string;
	prompt: string;
	prompt_en: string;
	status: string;
	progress: string;
	image_url: string;
	video_url: string;
	video_urls: string;
	submit_time: number;
	start_time: number;
	finish_time: number;
	fail_reason: string;
	quota: number;
	user_id?: number;
	/** /api/admin/tasks only: the owner's sub, filled in by the route (one read for the page). */
	user?: string;
	channel_id?: number;
}

/** The task columns a seed-001 item shows (admins' user_id and channel_id included). */
const SEED001_COLUMNS = [
	"id",
	"publicId",
	"action",
	"prompt",
	"promptEn",
	"status",
	"progress",
	"imageKey",
	"upstreamImageUrl",
	"videoUrl",
	"videoUrls",
	"submitTime",
	"startTime",
	"finishTime",
	"failReason",
	"quota",
	"userId",
	"channelId",
] as const satisfies readonly (keyof TaskRow)[];
export type Seed001Source = Pick<TaskRow, (typeof SEED001_COLUMNS)[number]>;

/** What a seed-001 list reads of each task: the item's columns and the lists' own (user_seq's order). */
export const SEED001_ROWS = taskShape([...SEED001_COLUMNS, "userSeq"]);

/** A page of items, their image links made in one wait (taskImageUrls). */
export async function toSeed001Page(
	env: Env,
	base: string,
	page: readonly Seed001Source[],
	admin: boolean,
): Promise<Seed001Item[]> {
	const urls = await taskImageUrls(env, base, page);
	return page.map((task, i) => seed001Of(task, urls[i], admin));
}

function seed001Of(task: Seed001Source, imageUrl: string, admin: boolean): Seed001Item {
	const item: Seed001Item = {
		id: task.id,
		mj_id: task.publicId,
		action: task.action,
		prompt: task.prompt,
		prompt_en: task.promptEn,
		status: task.status,
		progress: task.progress,
		image_url: imageUrl,
		video_url: task.videoUrl,
		video_urls: task.videoUrls,
		submit_time: epochSecondsOrZero(task.submitTime),
		start_time: epochSecondsOrZero(task.startTime),
		finish_time: epochSecondsOrZero(task.finishTime),
		fail_reason: task.failReason,
		quota: task.quota,
	};
	if (admin) {
		item.user_id = task.userId;
		item.channel_id = task.channelId ?? 0;
	}
	return item;
}
