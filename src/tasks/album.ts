/**
 * The album (seed 000): a user's pictures made from image templates. A picture is a task like
 * any other (queue, Durable Object, R2 copy, quota, callback): IMAGINE with the template's
 * prompt for a prompt template, SWAP_FACE of the user's photo onto the template picture for a
 * face-swap template.
 */
import type { AuthUser } from "../context";
import { listAlbumPage } from "../db/album";
import type { Db } from "../db/client";
import type { TemplateRow } from "../db/schema";
import { findUserTask } from "../db/tasks";
import { findTemplate } from "../db/templates";
import type { Deps } from "../deps";
import { badRequest } from "../errors";
import { newOriginKey } from "../images/album-files";
import { type ImageInput, putImage, readImage } from "../images/upload";
import { logError } from "../log";
import { callbackUrlProblem } from "../net/url-policy";
import { submitTask } from "./submit";
import { type AlbumItem, toAlbumItem, toAlbumPage } from "./views/album";

export const ALBUM_PAGE_SIZE_DEFAULT = 20;
export const ALBUM_PAGE_SIZE_MAX = 100;
/** Far past any real album; keeps the page arithmetic in safe integers. */
export const ALBUM_PAGE_MAX = 1_000_000;

/** Page `page` of the user's album, newest first: two D1 queries whatever the page. */
export async function albumPage(
	env: Env,
	db: Db,
	base: string,
	userId: number,
	page: number,
	pageSize: number,
): Promise<AlbumItem[]> {
	const found = await listAlbumPage(db, userId, page, pageSize);
	return toAlbumPage(
		env,
		base,
		found.tasks.map((task) => ({
			task,
			template: task.styleId == null ? null : (found.templates.get(task.styleId) ?? null),
		})),
	);
}

/** A template the user may make pictures from: audited ones; admins may try any. */
export async function usableTemplate(db: Db, user: AuthUser, styleId: number): Promise<TemplateRow> {
	const template = await findTemplate(db, styleId);
	if (!template || (template.isAudit !== 1 && user.role !== "admin")) {
		throw badRequest(`no template with styleId ${styleId}`);
	}
	return template;
}

/** The album's notifyHook hears of the end only, as the album's document has it. */
const ALBUM_HOOK_EVENTS = "final";

export interface AlbumPictureRequest {
	styleId: number;
	/** The user's photo (a file or a URL): required for face-swap templates, ignored otherwise. */
	origin?: ImageInput;
	notifyHook?: string;
}

/**
 * Creates an album picture. Everything that can be refused is checked before anything is
 * written: the template, the notifyHook, then the photo (type by its bytes, size); only then is the photo
 * stored and the task submitted (charge included). If the submit is refused (quota, no
 * channel, bad notifyHook) the stored photo is removed again.
 */
export async function createAlbumPicture(
	env: Env,
	db: Db,
	user: AuthUser,
	base: string,
	request: AlbumPictureRequest,
	deps: Pick<Deps, "fetch" | "now" | "uuid">,
): Promise<AlbumItem> {
	const now = deps.now();
	const template = await usableTemplate(db, user, request.styleId);
	const hookProblem = request.notifyHook ? callbackUrlProblem(request.notifyHook, env) : null;
	if (hookProblem) throw badRequest(hookProblem);
	let submitted: { publicId: string };
	if (template.kind === "face_swap") {
		if (request.origin === undefined || request.origin === "") {
			throw badRequest("origin is required: the photo (PNG, JPEG or WebP) to put on the template");
		}
		const photo = await readImage(request.origin, "origin", { env, fetch: deps.fetch });
		const originKey = newOriginKey(deps, photo.type);
		await putImage(env.IMAGES, originKey, photo);
		try {
			submitted = await submitTask(
				env,
				db,
				user,
				{
					action: "SWAP_FACE",
					album: { styleId: template.id, originKey },
					notifyHook: request.notifyHook,
					hookEvents: ALBUM_HOOK_EVENTS,
				},
				now,
			);
		} catch (error) {
			await env.IMAGES.delete(originKey).catch((cleanup) => logError("photo cleanup failed", originKey, cleanup));
			throw error;
		}
	} else {
		submitted = await submitTask(
			env,
			db,
			user,
			{
				action: "IMAGINE",
				prompt: template.prompt,
				album: { styleId: template.id },
				notifyHook: request.notifyHook,
				hookEvents: ALBUM_HOOK_EVENTS,
			},
			now,
		);
	}
	const task = await findUserTask(db, user.id, submitted.publicId);
	if (!task) throw new Error(`album task ${submitted.publicId} vanished after submit`);
	return toAlbumItem(env, base, task, template);
}
