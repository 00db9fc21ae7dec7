/**
 * GET /mj/image/{id}: a task's result image. The link is a capability: it carries an HMAC of
 * the task id (`sig`) that only the task's owner is ever shown, so a guessed or enumerated id
 * opens nothing. It serves the gateway's R2 copy; in the moment between a task's success and
 * the end of the copy, it streams the upstream's image instead, uncached.
 */
import { Hono } from "hono";
import { verify } from "../auth/signing";
import type { AppEnv } from "../context";
import { getDb } from "../db/client";
import { findTask } from "../db/tasks";
import { ApiError, notFound } from "../errors";
import { imageKey } from "../images/copy";
import { serveR2Object } from "../images/serve";
import { upstreamFetch } from "../upstream/fetcher";

export const imageRoutes = new Hono<AppEnv>().on(["GET", "HEAD"], "/:id", async (c) => {
	const id = c.req.param("id").replace(/\.(png|jpe?g|webp|gif)$/i, "");
	if (!(await verify(c.env, "image", id, c.req.query("sig")))) {
		throw new ApiError("FORBIDDEN", "image link signature is missing or invalid");
	}
	// The object behind a signed link never changes.
	const served = await serveR2Object(c.env.IMAGES, imageKey(id), c.req.raw, "public, max-age=31536000, immutable");
	return served ?? streamFromUpstream(c.env, id, c.req.method === "HEAD");
});

async function streamFromUpstream(env: Env, publicId: string, head: boolean): Promise<Response> {
	const task = await findTask(getDb(env.DB), publicId);
	if (!task?.upstreamImageUrl || task.imageKey) throw notFound("image not found");
	const upstream = await upstreamFetch(env)(task.upstreamImageUrl, { signal: AbortSignal.timeout(30_000) }).catch(
		() => null,
	);
	if (!upstream?.ok || !upstream.body) {
		await upstream?.body?.cancel();
		throw notFound("image not available yet");
	}
	const headers = new Headers({ "cache-control": "no-store" });
	for (const name of ["content-type", "content-length"]) {
		const value = upstream.headers.get(name);
		if (value) headers.set(name, value);
	}
	if (head) await upstream.body.cancel();
	return new Response(head ? null : upstream.body, { status: 200, headers });
}
