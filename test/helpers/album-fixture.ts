import { env } from "cloudflare:workers";
import type { TemplateRow } from "../../src/db/schema";
import type { ImageTemp } from "../../src/tasks/views/album";
import { form, JPEG, ok, png, post, WEBP } from "./album";
import { tokenFor, uniqueSub } from "./api";

// ---------------------------------------------------------------------------------------------
// Pictures: real ones, built here. The gateway judges them by their first bytes only.

export const TEXT = new TextEncoder().encode("this is a text file, not a picture\n");
export const MB = 1024 * 1024;
/** The documented limit: 10 MB. */
export const MAX_PHOTO_BYTES = 10 * MB;

// ---------------------------------------------------------------------------------------------
// The surface.

export const ITEM_KEYS = [
	"id",
	"taskId",
	"styleId",
	"promptId",
	"covering",
	"origin",
	"reason",
	"state",
	"createdAt",
	"imageTemp",
] as const;

export interface AlbumItem {
	id: number;
	taskId: string;
	styleId: number;
	promptId: string;
	covering: string;
	origin: string;
	reason: string;
	state: number;
	createdAt: number;
	imageTemp: ImageTemp;
}

export let adminToken: string;
/** Audited: a face swap and a prompt template, as the seed's imageTemp shows them. */
export let faceSwap: ImageTemp;
export let promptTemplate: ImageTemp;
export let unaudited: ImageTemp;

export async function createTemplate(fields: Record<string, string | number>, files: Record<string, Uint8Array>) {
	const named = Object.fromEntries(Object.entries(files).map(([k, b]) => [k, { bytes: b, name: `${k}.bin` }]));
	return ok<ImageTemp & { kind: string }>(await post("/imageTemp/create", adminToken, form(fields, named)));
}

export const SEED_PROMPT =
	"1girl, black hair, short hair, masterpiece, best quality\n BREAK \nseductive look, looking at viewer";
/** The seed's own template, as its document shows it. */
export const SEED_TEMPLATE = {
	title: "Stocking Tease",
	workflowId: 29,
	prompt: SEED_PROMPT,
	isAudit: 1,
	pid: 0,
	sort: 1,
	author: "VelvetRogue",
};

export async function createTemplates(): Promise<void> {
	adminToken = await tokenFor(uniqueSub("album-admin"), "admin");
	faceSwap = await createTemplate(
		{ kind: "face_swap", ...SEED_TEMPLATE },
		{ covering: WEBP, image: await png(8, 8, 1) },
	);
	promptTemplate = await createTemplate(
		{ kind: "prompt", title: "Harbour", prompt: "a harbour at night", isAudit: 1, sort: 2, author: "mj" },
		{ covering: JPEG },
	);
	unaudited = await createTemplate(
		{ kind: "face_swap", title: "Draft", isAudit: 0 },
		{ covering: await png(), image: await png(2, 2, 9) },
	);
}

// ---------------------------------------------------------------------------------------------
// Reading D1 and R2 the way the checks need.

export async function templateRow(id: number): Promise<TemplateRow> {
	const row = await env.DB.prepare("SELECT * FROM templates WHERE id = ?").bind(id).first<Record<string, unknown>>();
	if (!row) throw new Error(`no template ${id}`);
	return {
		id: row.id as number,
		kind: row.kind as TemplateRow["kind"],
		title: row.title as string,
		coverKey: row.cover_key as string | null,
		imageKey: row.image_key as string | null,
		workflowId: row.workflow_id as number,
		prompt: row.prompt as string,
		favoriteCount: row.favorite_count as number,
		isAudit: row.is_audit as number,
		pid: row.pid as number,
		sort: row.sort as number,
		author: row.author as string,
		createdAt: row.created_at as number,
		updatedAt: row.updated_at as number,
	};
}

export interface Footprint {
	tasks: number;
	albumCount: number;
	quota: number;
	photos: number;
}

/** Everything a refused create must leave as it was. */
export async function footprint(sub: string): Promise<Footprint> {
	const user = await env.DB.prepare(
		"SELECT quota, album_count AS albumCount, (SELECT count(*) FROM tasks WHERE user_id = users.id) AS tasks FROM users WHERE sub = ?",
	)
		.bind(sub)
		.first<{ quota: number; albumCount: number; tasks: number }>();
	const photos = await env.IMAGES.list({ prefix: "album-origins/" });
	return {
		tasks: user?.tasks ?? 0,
		albumCount: user?.albumCount ?? 0,
		quota: user?.quota ?? 0,
		photos: photos.objects.length,
	};
}

// ---------------------------------------------------------------------------------------------
