/**
 * Image templates of the album (/imageTemp): admins create, change and delete them; every
 * signed-in user lists and favorites them; their pictures are public at /imageTemp/file/{name}.
 * Answers are {code: 200, msg: "SUCCESS", data} like /userAlbum.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { dbOf } from "../db/request-db";
import { notFound } from "../errors";
import { templateKeyOf } from "../images/album-files";
import { publicBase } from "../images/links";
import { serveImmutable } from "../images/serve";
import {
	about,
	answers,
	inputOf,
	mediaAnswers,
	on,
	onMethods,
	paramsInput,
	routeGroup,
	signedInElsewhere,
} from "../openapi/define";
import * as body from "../openapi/responses";
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

const call = (role: "user" | "admin") => about("templates", role);

const fileRoute = createRoute({
	...about("templates", "none"),
	method: "get",
	path: "/file/{name}",
	summary: "A template's picture (public)",
	responses: mediaAnswers("album", "The picture.", "image"),
});
const listRoute = createRoute({
	...call("user"),
	method: "get",
	path: "/list",
	summary: "Image templates, in pages",
	description: "Users see audited templates; admins every one, or filtered by isAudit.",
	"x-input": paramsInput(listSchema),
	responses: answers("album", "The templates.", body.TemplateList),
});
const createTemplateRoute = createRoute({
	...call("admin"),
	method: "post",
	path: "/create",
	summary: "Create a template (admins)",
	"x-input": paramsInput(createSchema, ["covering", "image"]),
	middleware: uploadLimit(2),
	responses: answers("album", "The template.", body.Template),
});
const updateRoute = createRoute({
	...call("admin"),
	method: "post",
	path: "/update",
	summary: "Change a template (admins)",
	"x-input": paramsInput(updateSchema, ["covering", "image"]),
	middleware: uploadLimit(2),
	responses: answers("album", "The template.", body.Template),
});
const deleteRoute = createRoute({
	...call("admin"),
	method: "post",
	path: "/delete",
	summary: "Delete a template (admins)",
	"x-input": paramsInput(idSchema),
	responses: answers("album", "Deleted.", body.IdAnswer),
});
const favoriteRoute = createRoute({
	...call("user"),
	method: "post",
	path: "/favorite",
	summary: "Favorite a template",
	"x-input": paramsInput(idSchema),
	responses: answers("album", "The template's favorites.", body.FavoriteState),
});
const unfavoriteRoute = createRoute({
	...favoriteRoute,
	path: "/unfavorite",
	summary: "Take a favorite back",
});

export const templateRoutes = routeGroup();
onMethods(templateRoutes, ["get", "head"], fileRoute, async (c) => {
	const key = templateKeyOf(c.req.param("name"));
	// Each stored picture has its own random name: what a link shows never changes.
	const response = key ? await serveImmutable(c.env.IMAGES, key, c.req.raw, (p) => c.executionCtx.waitUntil(p)) : null;
	if (!response) throw notFound("image not found");
	return response;
});
onMethods(templateRoutes, ["get", "post"], listRoute, async (c) => {
	const query = parseWith(inputOf(listRoute), (await readParams(c)).params);
	return ok(c, await templatePage(dbOf(c), base(c), c.get("user"), query));
});
on(templateRoutes, createTemplateRoute, async (c) => {
	const upload = await readParams(c);
	const { covering, image, kind, title, ...rest } = parseWith(inputOf(createTemplateRoute), upload.params);
	const created = await createTemplate(
		c.env,
		dbOf(c),
		base(c),
		{ ...rest, kind, title },
		pictures(upload, { covering, image }),
		c.get("deps"),
	);
	return ok(c, created);
});
on(templateRoutes, updateRoute, async (c) => {
	const upload = await readParams(c);
	const { id, covering, image, ...rest } = parseWith(inputOf(updateRoute), upload.params);
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
});
on(templateRoutes, deleteRoute, async (c) => {
	const { id } = parseWith(inputOf(deleteRoute), (await readParams(c)).params);
	await removeTemplate(c.env, dbOf(c), id);
	return ok(c, { id });
});
on(templateRoutes, favoriteRoute, async (c) => {
	const { id } = parseWith(inputOf(favoriteRoute), (await readParams(c)).params);
	return ok(c, await favorite(dbOf(c), c.get("user"), id, c.get("deps").now()));
});
on(templateRoutes, unfavoriteRoute, async (c) => {
	const { id } = parseWith(inputOf(unfavoriteRoute), (await readParams(c)).params);
	return ok(c, await unfavorite(dbOf(c), c.get("user"), id));
});
// Anything else under /imageTemp is a signed-in API: the token is checked before the 404.
signedInElsewhere(templateRoutes, "user");
