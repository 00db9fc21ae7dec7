/**
 * GET /mj/image/{id}: a task's result image. The link is a capability: it carries an HMAC of
 * the task id (`sig`) that only the task's owner is ever shown, so a guessed or enumerated id
 * opens nothing. It serves the gateway's R2 copy; in the moment between a task's success and
 * the end of the copy, it streams the upstream's image instead, uncached, as the type its bytes
 * show (src/images/serve.ts). A result that is not media is never copied, and its link only
 * ever answers it as a download.
 */
import { createRoute } from "@hono/zod-openapi";
import { verify } from "../auth/signing";
import { getDb } from "../db/client";
import { parseStringArray } from "../db/schema";
import { findTask } from "../db/tasks";
import type { Fetch } from "../deps";
import { ApiError, notFound } from "../errors";
import { imageKey, videoKey } from "../images/copy";
import { videoLinkValue } from "../images/links";
import { serveImmutable, serveUpstreamBody } from "../images/serve";
import { UrlRefusedError } from "../net/fetch-public";
import { fetchUpstreamMedia } from "../net/upstream-media";
import { about, mediaAnswers, onMethods, routeGroup } from "../openapi/define";

const FILE = "The file, with ETag, Range (206) and If-None-Match (304) support.";
const GET_HEAD = ["get", "head"] as const;

const imageRoute = createRoute({
	...about("images", "signature"),
	method: "get",
	path: "/{id}",
	summary: "A task's result image",
	responses: mediaAnswers("proxy", FILE, "image"),
});

export const imageRoutes = onMethods(routeGroup(), GET_HEAD, imageRoute, async (c) => {
	const id = c.req.param("id").replace(/\.(png|jpe?g|webp|gif)$/i, "");
	if (!(await verify(c.env, "image", id, c.req.query("sig")))) {
		throw new ApiError("FORBIDDEN", "image link signature is missing or invalid");
	}
	// The object behind a signed link never changes.
	const served = await serveImmutable(c.env.IMAGES, imageKey(id), c.req.raw, (p) => c.executionCtx.waitUntil(p));
	return served ?? streamFromUpstream(c.env, c.get("deps").fetch, id, c.req.method === "HEAD");
});

/**
 * GET /mj/video/{id}/{n}?sig=…: a task's n-th result video, with the same capability link, the R2
 * copy once it exists and the upstream's video until then.
 */
const videoRoute = createRoute({
	...about("images", "signature"),
	method: "get",
	path: "/{id}/{n}",
	summary: "A task's n-th result video",
	responses: mediaAnswers("proxy", FILE, "video"),
});

export const videoRoutes = onMethods(routeGroup(), GET_HEAD, videoRoute, async (c) => {
	const id = c.req.param("id");
	const n = /^\d{1,2}$/.test(c.req.param("n").replace(/\.mp4$/i, ""))
		? Number(c.req.param("n").replace(/\.mp4$/i, ""))
		: -1;
	if (n < 0 || !(await verify(c.env, "image", videoLinkValue(id, n), c.req.query("sig")))) {
		throw new ApiError("FORBIDDEN", "video link signature is missing or invalid");
	}
	const served = await serveImmutable(c.env.IMAGES, videoKey(id, n), c.req.raw, (p) => c.executionCtx.waitUntil(p));
	if (served) return served;
	const task = await findTask(getDb(c.env.DB), id);
	const urls = task ? parseStringArray(task.videoUrls) : [];
	const url = urls[n] ?? (n === 0 ? task?.videoUrl : undefined);
	if (!task || !url || parseStringArray(task.videoKeys)[n]) throw notFound("video not found");
	return streamUrl(c.env, c.get("deps").fetch, url, task.channelId, c.req.method === "HEAD", "video");
});

/** GET /mj/upload/{name}?sig=…: a picture uploaded with /mj/submit/upload-discord-images. */
const uploadRoute = createRoute({
	...about("images", "signature"),
	method: "get",
	path: "/{name}",
	summary: "A picture uploaded with upload-discord-images",
	responses: mediaAnswers("proxy", FILE, "image"),
});

export const uploadRoutes = onMethods(routeGroup(), GET_HEAD, uploadRoute, async (c) => {
	const name = c.req.param("name");
	if (!UPLOAD_NAME.test(name) || !(await verify(c.env, "image", `upload/${name}`, c.req.query("sig")))) {
		throw new ApiError("FORBIDDEN", "upload link signature is missing or invalid");
	}
	const served = await serveImmutable(c.env.IMAGES, `uploads/${name}`, c.req.raw, (p) => c.executionCtx.waitUntil(p));
	if (!served) throw notFound("upload not found");
	return served;
});

const UPLOAD_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(png|jpg|webp)$/;

async function streamFromUpstream(env: Env, fetch: Fetch, publicId: string, head: boolean): Promise<Response> {
	const task = await findTask(getDb(env.DB), publicId);
	if (!task?.upstreamImageUrl || task.imageKey) throw notFound("image not found");
	return streamUrl(env, fetch, task.upstreamImageUrl, task.channelId, head, "image");
}

/**
 * Streams an upstream-handed media URL under the URL policy (the task's channel origin trusted);
 * a refused URL streams nothing: 404.
 */
async function streamUrl(
	env: Env,
	fetch: Fetch,
	url: string,
	channelId: number | null,
	head: boolean,
	kind: "image" | "video",
): Promise<Response> {
	let upstream: Response | null = null;
	try {
		upstream = await fetchUpstreamMedia(env, url, { channelId, signal: AbortSignal.timeout(30_000), fetch });
	} catch (error) {
		if (error instanceof UrlRefusedError) throw notFound(`${kind} not available`);
	}
	if (!upstream?.ok || !upstream.body) {
		await upstream?.body?.cancel();
		throw notFound(`${kind} not available yet`);
	}
	return serveUpstreamBody(upstream.body, upstream.headers.get("content-length"), head);
}
