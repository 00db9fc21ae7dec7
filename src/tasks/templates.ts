/**
 * Image templates of the album: admins create, change and delete them (pictures uploaded or
 * downloaded into R2); every signed-in user lists them and favorites them.
 */
import type { AuthUser } from "../context";
import type { Db } from "../db/client";
import type { TemplateRow } from "../db/schema";
import {
	deleteTemplate,
	favoriteTemplate,
	findTemplate,
	insertTemplate,
	listTemplates,
	type TemplateChanges,
	unfavoriteTemplate,
	updateTemplate,
} from "../db/templates";
import type { Deps as AllDeps } from "../deps";
import { ApiError, badRequest } from "../errors";
import { newTemplateKey } from "../images/album-files";
import { type CheckedImage, type ImageInput, putImage, readImage } from "../images/upload";
import { logError } from "../log";
import { type ImageTemp, type TemplateListItem, toImageTemp, toTemplateListItem } from "./views/album";

export const TEMPLATE_KINDS = ["prompt", "face_swap"] as const;
export type TemplateKind = (typeof TEMPLATE_KINDS)[number];

/** The fields an admin sets; every one optional on change. */
export interface TemplateFields {
	kind?: TemplateKind;
	title?: string;
	workflowId?: number;
	prompt?: string;
	isAudit?: 0 | 1;
	pid?: number;
	sort?: number;
	author?: string;
}

/** New pictures: `covering` (the thumbnail) and `image` (the full picture, the swap target). */
export interface TemplatePictures {
	covering?: ImageInput;
	image?: ImageInput;
}

type Deps = Pick<AllDeps, "fetch" | "now" | "uuid">;

/** The album answers an unknown template as a parameter error (800, HTTP 400), as the seed shows. */
const unknownTemplate = (id: number) => badRequest(`no template with id ${id}`);

/** What a template of its kind cannot do without. */
function assertComplete(kind: TemplateKind, prompt: string, hasImage: boolean): void {
	if (kind === "prompt" && prompt.trim() === "") throw badRequest("a prompt template needs a prompt");
	if (kind === "face_swap" && !hasImage)
		throw badRequest("a face_swap template needs an image (the picture to swap onto)");
}

const given = (input: ImageInput | undefined): input is ImageInput => input !== undefined && input !== "";

/** Reads and checks every given picture before any is stored. */
async function readPictures(env: Env, pictures: TemplatePictures, deps: Deps) {
	const [covering, image] = await Promise.all([
		given(pictures.covering) ? readImage(pictures.covering, "covering", { env, fetch: deps.fetch }) : undefined,
		given(pictures.image) ? readImage(pictures.image, "image", { env, fetch: deps.fetch }) : undefined,
	]);
	return { covering, image };
}

async function store(env: Env, deps: Deps, image: CheckedImage | undefined): Promise<string | undefined> {
	if (!image) return undefined;
	const key = newTemplateKey(deps, image.type);
	await putImage(env.IMAGES, key, image);
	return key;
}

async function removeFiles(env: Env, keys: (string | null | undefined)[]): Promise<void> {
	const present = keys.filter((key): key is string => Boolean(key));
	if (present.length === 0) return;
	await env.IMAGES.delete(present).catch((error) => logError("template picture cleanup failed", present, error));
}

export async function createTemplate(
	env: Env,
	db: Db,
	base: string,
	fields: TemplateFields & { kind: TemplateKind; title: string },
	pictures: TemplatePictures,
	deps: Deps,
): Promise<ImageTemp & { kind: TemplateKind }> {
	const now = deps.now();
	if (!given(pictures.covering)) throw badRequest("covering (the thumbnail) is required");
	assertComplete(fields.kind, fields.prompt ?? "", given(pictures.image));
	const read = await readPictures(env, pictures, deps);
	const [coverKey, imageKey] = await Promise.all([store(env, deps, read.covering), store(env, deps, read.image)]);
	try {
		const row = await insertTemplate(db, {
			...fields,
			coverKey: coverKey ?? null,
			imageKey: imageKey ?? null,
			createdAt: now,
			updatedAt: now,
		});
		return { ...toImageTemp(base, row), kind: row.kind };
	} catch (error) {
		await removeFiles(env, [coverKey, imageKey]);
		throw error;
	}
}

/**
 * Changes the given fields and replaces the given pictures. The write is conditional on the
 * template being unchanged since it was read; the replaced pictures are deleted after it.
 */
export async function changeTemplate(
	env: Env,
	db: Db,
	base: string,
	id: number,
	fields: TemplateFields,
	pictures: TemplatePictures,
	deps: Deps,
): Promise<ImageTemp & { kind: TemplateKind }> {
	const now = deps.now();
	const current = await findTemplate(db, id);
	if (!current) throw unknownTemplate(id);
	assertComplete(
		fields.kind ?? current.kind,
		fields.prompt ?? current.prompt,
		given(pictures.image) || Boolean(current.imageKey),
	);
	const read = await readPictures(env, pictures, deps);
	const [coverKey, imageKey] = await Promise.all([store(env, deps, read.covering), store(env, deps, read.image)]);
	const changes: TemplateChanges = { ...fields, updatedAt: Math.max(now, current.updatedAt + 1) };
	if (coverKey) changes.coverKey = coverKey;
	if (imageKey) changes.imageKey = imageKey;
	let row: TemplateRow | undefined;
	try {
		row = await updateTemplate(db, id, current.updatedAt, changes);
	} catch (error) {
		await removeFiles(env, [coverKey, imageKey]);
		throw error;
	}
	if (!row) {
		await removeFiles(env, [coverKey, imageKey]);
		if (!(await findTemplate(db, id))) throw unknownTemplate(id);
		throw new ApiError("CONFLICT", `template ${id} was changed by someone else meanwhile; read it again and retry`);
	}
	await removeFiles(env, [coverKey ? current.coverKey : null, imageKey ? current.imageKey : null]);
	return { ...toImageTemp(base, row), kind: row.kind };
}

/**
 * Deletes the template, its favorites and its pictures. Album pictures made from it stay; they
 * show an empty imageTemp with its id from then on.
 */
export async function removeTemplate(env: Env, db: Db, id: number): Promise<void> {
	const deleted = await deleteTemplate(db, id);
	if (!deleted) throw unknownTemplate(id);
	await removeFiles(env, [deleted.coverKey, deleted.imageKey]);
}

export const TEMPLATE_PAGE_SIZE_DEFAULT = 20;
export const TEMPLATE_PAGE_SIZE_MAX = 100;

/** Non-admins see audited templates only; admins all, or those with `isAudit`. */
export async function templatePage(
	db: Db,
	base: string,
	user: AuthUser,
	query: { page: number; pageSize: number; isAudit?: 0 | 1 },
): Promise<TemplateListItem[]> {
	const rows = await listTemplates(db, {
		viewerId: user.id,
		isAudit: user.role === "admin" ? query.isAudit : 1,
		offset: (query.page - 1) * query.pageSize,
		limit: query.pageSize,
	});
	return rows.map((row) => toTemplateListItem(base, row));
}

export interface FavoriteState {
	id: number;
	favoriteCount: number;
	favorited: boolean;
}

/** Idempotent: a second favorite by the same user changes nothing. */
export async function favorite(db: Db, user: AuthUser, id: number, now: number): Promise<FavoriteState> {
	const result = await favoriteTemplate(db, id, user.id, now, user.role !== "admin");
	if (!result) throw unknownTemplate(id);
	return { id, favoriteCount: result.favoriteCount, favorited: true };
}

/** Idempotent: unfavoriting what the user never favorited changes nothing. */
export async function unfavorite(db: Db, user: AuthUser, id: number): Promise<FavoriteState> {
	const result = await unfavoriteTemplate(db, id, user.id, user.role !== "admin");
	if (!result) throw unknownTemplate(id);
	return { id, favoriteCount: result.favoriteCount, favorited: false };
}
