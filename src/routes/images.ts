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
import { upstreamFetch } from "../upstream/fetcher";

type ByteRange = { offset: number; length?: number } | { suffix: number };

/**
 * A single `bytes=` range, or null for anything else: RFC 9110 says a Range header the
 * server does not understand is ignored, not refused.
 */
export function parseRange(header: string | undefined): ByteRange | null {
	const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
	if (!match || (match[1] === "" && match[2] === "")) return null;
	if (match[1] === "") return { suffix: Number(match[2]) };
	const offset = Number(match[1]);
	if (match[2] === "") return { offset };
	const last = Number(match[2]);
	return last < offset ? null : { offset, length: last - offset + 1 };
}

export const imageRoutes = new Hono<AppEnv>().on(["GET", "HEAD"], "/:id", async (c) => {
	const id = c.req.param("id").replace(/\.(png|jpe?g|webp|gif)$/i, "");
	if (!(await verify(c.env, "image", id, c.req.query("sig")))) {
		throw new ApiError("FORBIDDEN", "image link signature is missing or invalid");
	}
	const head = c.req.method === "HEAD";
	const range = parseRange(c.req.header("range"));
	const key = imageKey(id);
	let object: R2Object | R2ObjectBody | null;
	try {
		object = await c.env.IMAGES.get(key, { onlyIf: c.req.raw.headers, range: range ?? undefined });
	} catch (error) {
		// R2 refuses a range that starts past the end.
		const meta = range ? await c.env.IMAGES.head(key) : null;
		if (!meta) throw error;
		return new Response(null, { status: 416, headers: { "content-range": `bytes */${meta.size}` } });
	}
	if (!object) return streamFromUpstream(c.env, id, head);

	const headers = new Headers();
	object.writeHttpMetadata(headers);
	headers.set("etag", object.httpEtag);
	// The object behind a signed link never changes.
	headers.set("cache-control", "public, max-age=31536000, immutable");
	headers.set("accept-ranges", "bytes");
	if (!("body" in object)) return new Response(null, { status: 304, headers });
	const served = object.range as { offset?: number; length?: number } | undefined;
	if (range && served?.length !== undefined && served.length < object.size) {
		const offset = served.offset ?? 0;
		headers.set("content-range", `bytes ${offset}-${offset + served.length - 1}/${object.size}`);
		headers.set("content-length", String(served.length));
		return new Response(head ? null : object.body, { status: 206, headers });
	}
	headers.set("content-length", String(object.size));
	return new Response(head ? null : object.body, { status: 200, headers });
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
