/**
 * The album (seed 000): POST /userAlbum (a user's pictures, exactly as the seed's document),
 * POST /userAlbum/create (a new picture from a template) and GET /userAlbum/origin/{name}
 * (the user's own photo behind a signed link). Answers are {code: 200, msg: "SUCCESS", data}.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { limitSubmits } from "../auth/rate-limit";
import { dbOf } from "../db/request-db";
import { ApiError, notFound } from "../errors";
import { originKeyOf } from "../images/album-files";
import { requestBase } from "../images/links";
import { serveR2Object } from "../images/serve";
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
import {
	ALBUM_PAGE_MAX,
	ALBUM_PAGE_SIZE_DEFAULT,
	ALBUM_PAGE_SIZE_MAX,
	albumPage,
	createAlbumPicture,
} from "../tasks/album";
import { NOTIFY_HOOK_MAX_LENGTH } from "../vocabulary";
import { ok } from "./envelopes";
import { idempotent } from "./idempotency";
import { readParams, uploadLimit } from "./params";
import { integer, parseWith, requiredInteger, text } from "./validate";

export const listSchema = z.object({
	page: integer("page", 1, ALBUM_PAGE_MAX, 1),
	pageSize: integer("pageSize", 1, ALBUM_PAGE_SIZE_MAX, ALBUM_PAGE_SIZE_DEFAULT),
});

export const createSchema = z.object({
	styleId: requiredInteger("styleId", 1, Number.MAX_SAFE_INTEGER),
	/** A URL to download the photo from, when it is not uploaded as a file. */
	origin: text("origin", NOTIFY_HOOK_MAX_LENGTH),
	notifyHook: text("notifyHook", NOTIFY_HOOK_MAX_LENGTH),
});

const base = (c: { env: Env; req: { url: string } }) => requestBase(c.env, c.req.url);

const pageRoute = createRoute({
	...about("album", "user"),
	method: "post",
	path: "/",
	summary: "A page of the caller's album, newest first",
	"x-input": paramsInput(listSchema),
	responses: answers("album", "The pictures.", body.AlbumPage),
});
const createPictureRoute = createRoute({
	...about("album", "user"),
	method: "post",
	path: "/create",
	summary: "A new picture from a template (with the user's photo for face-swap templates)",
	"x-input": paramsInput(createSchema, ["origin"]),
	"x-idempotent": true,
	middleware: [uploadLimit(1), limitSubmits(), idempotent()],
	responses: answers("album", "The picture, waiting.", body.AlbumItem),
});
const originRoute = createRoute({
	...about("album", "signature"),
	method: "get",
	path: "/origin/{name}",
	summary: "The user's own photo behind a signed link",
	responses: mediaAnswers("album", "The file, with ETag, Range (206) and If-None-Match (304) support.", "image"),
});

export const albumRoutes = routeGroup();
on(albumRoutes, pageRoute, async (c) => {
	const { page, pageSize } = parseWith(inputOf(pageRoute), (await readParams(c)).params);
	return ok(c, await albumPage(c.env, dbOf(c), base(c), c.get("user").id, page, pageSize));
});
on(albumRoutes, createPictureRoute, async (c) => {
	const { params, files } = await readParams(c);
	const input = parseWith(inputOf(createPictureRoute), params);
	const item = await createAlbumPicture(
		c.env,
		dbOf(c),
		c.get("user"),
		base(c),
		{ styleId: input.styleId, origin: files.origin ?? input.origin, notifyHook: input.notifyHook || undefined },
		c.get("deps"),
	);
	return ok(c, item);
});
onMethods(albumRoutes, ["get", "head"], originRoute, async (c) => {
	const key = await originKeyOf(c.env, c.req.param("name"), c.req.query("sig"));
	if (!key) throw new ApiError("FORBIDDEN", "photo link signature is missing or invalid");
	// A user's own photo: browsers may keep it, shared caches may not.
	const response = await serveR2Object(c.env.IMAGES, key, c.req.raw, "private, max-age=31536000, immutable");
	if (!response) throw notFound("photo not found");
	return response;
});
// Anything else under /userAlbum is a signed-in API: the token is checked before the 404.
signedInElsewhere(albumRoutes, "user");
