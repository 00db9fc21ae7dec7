/**
 * GET /mj/image/{id}: the gateway's own copy of a result image, streamed from R2. The link
 * is a capability: it carries an HMAC of the task id (`sig`), which only the task's owner
 * is ever shown, so a guessed or enumerated id opens nothing.
 */
import { Hono } from "hono";
import { verify } from "../auth/signing";
import type { AppEnv } from "../context";
import { ApiError, notFound } from "../errors";
import { imageKey } from "../images/copy";

export const imageRoutes = new Hono<AppEnv>().on(["GET", "HEAD"], "/:id", async (c) => {
	const id = c.req.param("id").replace(/\.(png|jpe?g|webp|gif)$/i, "");
	if (!(await verify(c.env, "image", id, c.req.query("sig")))) {
		throw new ApiError("FORBIDDEN", "image link signature is missing or invalid");
	}
	const object = await c.env.IMAGES.get(imageKey(id), {
		onlyIf: c.req.raw.headers,
		range: c.req.raw.headers,
	});
	if (!object) throw notFound("image not found");
	const headers = new Headers();
	object.writeHttpMetadata(headers);
	headers.set("etag", object.httpEtag);
	// The object behind a signed link never changes.
	headers.set("cache-control", "public, max-age=31536000, immutable");
	headers.set("accept-ranges", "bytes");
	if (!("body" in object)) return new Response(null, { status: 304, headers });
	const range = object.range as { offset: number; length: number } | undefined;
	if (range && c.req.header("range")) {
		headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`);
		headers.set("content-length", String(range.length));
		return new Response(c.req.method === "HEAD" ? null : object.body, { status: 206, headers });
	}
	headers.set("content-length", String(object.size));
	return new Response(c.req.method === "HEAD" ? null : object.body, { status: 200, headers });
});
