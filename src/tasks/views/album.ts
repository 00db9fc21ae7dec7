/**
 * The album (seed 000) JSON: `/userAlbum` items and their `imageTemp`, exactly the fields of
 * the seed's document. Times are epoch seconds; image fields are the gateway's own links.
 *
 * Ids: `promptId` is the public task id (the `_id` / `mj_id` of the other surfaces);
 * `taskId` is the task's primary key as a string (the seed's "任务主键ID", a string there too);
 * `id` is the picture's number in the user's album (album_seq: 1 for the first, then 2, 3…),
 * unique within the album, which is the only one a caller ever sees.
 */
import type { AlbumTask } from "../../db/album";
import type { TemplateRow } from "../../db/schema";
import type { TemplateListRow } from "../../db/templates";
import { originUrl, originUrls, templateFileUrl } from "../../images/album-files";
import { taskImageUrl, taskImageUrls } from "../../images/links";
import { epochSeconds } from "../../time";
import type { TaskStatus } from "../model";

export interface ImageTemp {
	id: number;
	title: string;
	covering: string;
	image: string;
	workflowId: number;
	prompt: string;
	favoriteCount: number;
	isAudit: number;
	pid: number;
	sort: number;
	author: string;
	createdAt: number;
	updatedAt: number;
}

/** A template in the template list: imageTemp plus its kind and the viewer's favorite. */
export interface TemplateListItem extends ImageTemp {
	kind: TemplateRow["kind"];
	favorited: boolean;
}

export interface AlbumItem {
	id: number;
	taskId: string;
	styleId: number;
	promptId: string;
	covering: string;
	origin: string;
	reason: string;
	state: AlbumState;
	createdAt: number;
	imageTemp: ImageTemp;
}

/** 2 failed, 10 waiting, 20 generating, 30 succeeded. */
export type AlbumState = 2 | 10 | 20 | 30;

const STATE_OF: Readonly<Record<TaskStatus, AlbumState>> = {
	NOT_START: 10,
	SUBMITTED: 10,
	IN_PROGRESS: 20,
	MODAL: 20,
	SUCCESS: 30,
	FAILURE: 2,
	CANCEL: 2,
};

export function albumState(status: string): AlbumState {
	return STATE_OF[status as TaskStatus] ?? 10;
}

export function toImageTemp(base: string, template: TemplateRow): ImageTemp {
	return {
		id: template.id,
		title: template.title,
		covering: templateFileUrl(base, template.coverKey),
		image: templateFileUrl(base, template.imageKey),
		workflowId: template.workflowId,
		prompt: template.prompt,
		favoriteCount: template.favoriteCount,
		isAudit: template.isAudit,
		pid: template.pid,
		sort: template.sort,
		author: template.author,
		createdAt: epochSeconds(template.createdAt),
		updatedAt: epochSeconds(template.updatedAt),
	};
}

export function toTemplateListItem(base: string, template: TemplateListRow): TemplateListItem {
	return { ...toImageTemp(base, template), kind: template.kind, favorited: template.favorited };
}

/** What a picture of a since-deleted template shows: the same shape, empty values. */
function deletedTemplate(styleId: number): ImageTemp {
	return {
		id: styleId,
		title: "",
		covering: "",
		image: "",
		workflowId: 0,
		prompt: "",
		favoriteCount: 0,
		isAudit: 0,
		pid: 0,
		sort: 0,
		author: "",
		createdAt: 0,
		updatedAt: 0,
	};
}

export async function toAlbumItem(
	env: Env,
	base: string,
	task: AlbumTask,
	template: TemplateRow | null,
): Promise<AlbumItem> {
	const [covering, origin] = await Promise.all([taskImageUrl(env, base, task), originUrl(env, base, task.originKey)]);
	return albumItemOf(base, task, template, covering, origin);
}

/** A page of pictures, their links made in one wait (taskImageUrls, originUrls). */
export async function toAlbumPage(
	env: Env,
	base: string,
	page: readonly { task: AlbumTask; template: TemplateRow | null }[],
): Promise<AlbumItem[]> {
	const [coverings, origins] = await Promise.all([
		taskImageUrls(
			env,
			base,
			page.map(({ task }) => task),
		),
		originUrls(
			env,
			base,
			page.map(({ task }) => task.originKey),
		),
	]);
	return page.map(({ task, template }, i) => albumItemOf(base, task, template, coverings[i], origins[i]));
}

function albumItemOf(
	base: string,
	task: AlbumTask,
	template: TemplateRow | null,
	covering: string,
	origin: string,
): AlbumItem {
	const styleId = task.styleId ?? 0;
	return {
		id: task.albumSeq ?? 0,
		taskId: String(task.id),
		styleId,
		promptId: task.publicId,
		covering,
		origin,
		reason: task.failReason,
		state: albumState(task.status),
		createdAt: epochSeconds(task.submitTime),
		imageTemp: template ? toImageTemp(base, template) : deletedTemplate(styleId),
	};
}
