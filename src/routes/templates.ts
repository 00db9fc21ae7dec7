/**
 * Image templates of the album (/imageTemp): admins create, change and delete them; every
 * signed-in user lists and favorites them; their pictures are public at /imageTemp/file/{name}.
 * Answers are {code: 200, msg: "SUCCESS", data} like /userAlbum.
 */
import { Hono } from "hono";
import { z } from "zod";
import { authenticate } from "../auth/middleware";
import type { AppEnv } from "../context";
import { dbOf, requestDb } from "../db/request-db";
import { notFound } from "../errors";
import { templateKeyOf } from "../images/album-files";
import { publicBase } from "../images/links";
import { serveImmutable } from "../images/serve";
import { PROMPT_MAX_LENGTH } from "../tasks/model";
import {
	changeTemplate,
	createTemplate,
	favorite,
	removeTemplate,
	TEMPLATE_KINDS,
	TEMPLATE_PAGE_SIZE_DEFAULT,
	TEMPLATE_PAGE_SIZE_MAX,
	type TemplatePictures,
	templatePage,
	unfavorite,
} from "../tasks/templates";
import { ok } from "./envelopes";
import { type RequestParams, readParams, uploadLimit } from "./params";
import { flag, integer, parseWith, requiredInteger, text } from "./validate";

const INT32_MAX = 2_147_483_647;
const URL_MAX_LENGTH = 2048;

const kind = z.preprocess(
	(v) => (typeof v === "string" && v.trim() !== "" ? v.trim().toLowerCase() : undefined),
	z.enum(TEMPLATE_KINDS, {
		error: (issue) =>
			issue.input === undefined ? "kind is required (prompt or face_swap)" : "kind must be prompt or face_swap",
	}),
);

const fields = {
	title: text("title", 200).refine((v) => v === undefined || v.length > 0, "title must not be empty"),
	workflowId: integer("workflowId", 0, INT32_MAX),
	prompt: text("prompt", PROMPT_MAX_LENGTH),
	isAudit: flag("isAudit"),
	pid: integer("pid", 0, INT32_MAX),
	sort: integer("sort", -INT32_MAX, INT32_MAX),
	author: text("author", 100),
	/** URLs to download the pictures from, when they are not uploaded as files. */
	covering: text("covering", URL_MAX_LENGTH),
	image: text("image", URL_MAX_LENGTH),
};

export const createSchema = z.object({
	...fields,
	kind,
	title: text("title", 200).pipe(z.string({ error: "title is required" }).min(1, "title must not be empty")),
});
export const updateSchema = z.object({
	...fields,
	kind: kind.optional(),
	id: requiredInteger("id", 1, Number.MAX_SAFE_INTEGER),
});
export const idSchema = z.object({ id: requiredInteger("id", 1, Number.MAX_SAFE_INTEGER) });
export const listSchema = z.object({
	page: integer("page", 1, 1_000_000, 1),
	pageSize: integer("pageSize", 1, TEMPLATE_PAGE_SIZE_MAX, TEMPLATE_PAGE_SIZE_DEFAULT),
	isAudit: flag("isAudit"),
});

const base = (c: { env: Env; req: { url: string } }) => publicBase(c.env, new URL(c.req.url).origin);

/** A picture as an uploaded file, else the URL given in the same field. */
function pictures(upload: RequestParams, urls: { covering?: string; image?: string }): TemplatePictures {
	return { covering: upload.files.covering ?? urls.covering, image: upload.files.image ?? urls.image };
}

export const templateRoutes = new Hono<AppEnv>()
	.on(["GET", "HEAD"], "/file/:name", async (c) => {
		const key = templateKeyOf(c.req.param("name"));
		// Each stored picture has its own random name: what a link shows never changes.
		const response = key
			? await serveImmutable(c.env.IMAGES, key, c.req.raw, (p) => c.executionCtx.waitUntil(p))
			: null;
		if (!response) throw notFound("image not found");
		return response;
	})
	.on(["GET", "POST"], "/list", requestDb(), authenticate(), async (c) => {
		const query = parseWith(listSchema, (await readParams(c)).params);
		return ok(c, await templatePage(dbOf(c), base(c), c.get("user"), query));
	})
	.post("/create", requestDb(), authenticate({ role: "admin" }), uploadLimit(2), async (c) => {
		const upload = await readParams(c);
		const { covering, image, kind, title, ...rest } = parseWith(createSchema, upload.params);
		const created = await createTemplate(
			c.env,
			dbOf(c),
			base(c),
			{ ...rest, kind, title },
			pictures(upload, { covering, image }),
			c.get("deps"),
		);
		return ok(c, created);
	})
	.post("/update", requestDb(), authenticate({ role: "admin" }), uploadLimit(2), async (c) => {
		const upload = await readParams(c);
		const { id, covering, image, ...rest } = parseWith(updateSchema, upload.params);
		const changed = await changeTemplate(
			c.env,
			dbOf(c),
			base(c),
			id,
			rest,
			pictures(upload, { covering, image }),
			c.get("deps"),
		);
		return ok(c, changed);
	})
	.post("/delete", requestDb(), authenticate({ role: "admin" }), async (c) => {
		const { id } = parseWith(idSchema, (await readParams(c)).params);
		await removeTemplate(c.env, dbOf(c), id);
		return ok(c, { id });
	})
	.post("/favorite", requestDb(), authenticate(), async (c) => {
		const { id } = parseWith(idSchema, (await readParams(c)).params);
		return ok(c, await favorite(dbOf(c), c.get("user"), id, c.get("deps").now()));
	})
	.post("/unfavorite", requestDb(), authenticate(), async (c) => {
		const { id } = parseWith(idSchema, (await readParams(c)).params);
		return ok(c, await unfavorite(dbOf(c), c.get("user"), id));
	})
	// Anything else under /imageTemp is a signed-in API: the token is checked before the 404.
	.all("*", requestDb(), authenticate(), (c) => {
		throw notFound(`no route for ${c.req.method} ${c.req.path}`);
	});
