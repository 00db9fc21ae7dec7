import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { bytes, fetchBytes, form, JPEG, ok, png, post, refused, WEBP } from "../helpers/album";
import {
	type AlbumItem,
	adminToken,
	createTemplates,
	faceSwap,
	footprint,
	ITEM_KEYS,
	MAX_PHOTO_BYTES,
	MB,
	promptTemplate,
	TEXT,
	unaudited,
} from "../helpers/album-fixture";
import { call, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { taskRow, userId } from "../helpers/db";
import { realFetch, resetDeps, useFetch } from "../helpers/deps";

beforeAll(createTemplates);

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

describe("POST /userAlbum/create", () => {
	let carol: { sub: string; token: string };

	beforeAll(async () => {
		const sub = uniqueSub("carol");
		carol = { sub, token: await tokenFor(sub) };
		// The first call creates the user with the starting quota.
		await ok(await post("/userAlbum", carol.token));
	});

	async function createOk(
		fields: Record<string, string | number>,
		photo?: { bytes: Uint8Array; name: string; type?: string },
	) {
		const item = await ok<AlbumItem>(
			await post("/userAlbum/create", carol.token, form(fields, photo ? { origin: photo } : {})),
		);
		expect(Object.keys(item)).toEqual([...ITEM_KEYS]);
		return item;
	}

	it.each([
		["PNG", "image/png", () => png(6, 6, 3)],
		["JPEG", "image/jpeg", async () => JPEG],
		["WebP", "image/webp", async () => WEBP],
	])(
		"accepts a %s photo for a face-swap template: a waiting picture, its photo stored as sent",
		async (_, type, make) => {
			const before = await footprint(carol.sub);
			const photo = await make();
			// Named and labelled wrongly on purpose: only the bytes count.
			const item = await createOk({ styleId: faceSwap.id }, { bytes: photo, name: "me.gif", type: "text/plain" });
			expect(item).toMatchObject({
				styleId: faceSwap.id,
				covering: "",
				reason: "",
				state: 10,
				id: before.albumCount + 1,
			});
			expect(item.imageTemp.id).toBe(faceSwap.id);

			const row = await taskRow(item.promptId);
			expect(row.action).toBe("SWAP_FACE");
			expect(String(row.id)).toBe(item.taskId);
			expect(row.styleId).toBe(faceSwap.id);
			expect(row.albumSeq).toBe(item.id);
			expect(row.originKey).toMatch(/^album-origins\/[0-9a-f-]{36}\.(png|jpg|webp)$/);

			const stored = await env.IMAGES.get(row.originKey as string);
			expect(stored?.httpMetadata?.contentType).toBe(type);
			expect(new Uint8Array(await (stored as R2ObjectBody).arrayBuffer())).toEqual(photo);
			const served = await fetchBytes(item.origin);
			expect(served.response.headers.get("content-type")).toBe(type);
			expect(served.body).toEqual(photo);

			const after = await footprint(carol.sub);
			expect(after).toEqual({
				tasks: before.tasks + 1,
				albumCount: before.albumCount + 1,
				quota: before.quota - 100,
				photos: before.photos + 1,
			});
			// It is in the album at once, newest first.
			const [first] = await ok<AlbumItem[]>(await post("/userAlbum", carol.token, { page: 1, pageSize: 1 }));
			expect(first).toEqual(item);
		},
	);

	it("takes the photo from a URL (origin=<url>) and from JSON", async () => {
		const photo = await png(7, 7, 5);
		const seen: string[] = [];
		useFetch(async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).hostname !== "photos.test") return realFetch(input, init);
			seen.push(request.url);
			if (request.url.endsWith("/moved")) return new Response(null, { status: 302, headers: { location: "/me.png" } });
			return new Response(photo, { headers: { "content-type": "application/octet-stream" } });
		});
		const item = await ok<AlbumItem>(
			await post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "http://photos.test/moved" }),
		);
		expect(seen).toEqual(["http://photos.test/moved", "http://photos.test/me.png"]);
		expect((await fetchBytes(item.origin)).body).toEqual(photo);
	});

	it('makes a prompt template\'s picture an IMAGINE of its prompt, with no photo (origin "")', async () => {
		const before = await footprint(carol.sub);
		const item = await ok<AlbumItem>(
			await post(
				"/userAlbum/create",
				carol.token,
				form({ styleId: promptTemplate.id }, { origin: { bytes: await png(), name: "x.png" } }),
			),
		);
		expect(item.origin).toBe("");
		const row = await taskRow(item.promptId);
		expect(row.action).toBe("IMAGINE");
		expect(row.prompt).toBe("a harbour at night");
		expect(row.originKey).toBeNull();
		const after = await footprint(carol.sub);
		expect(after.photos).toBe(before.photos);
		expect(after.tasks).toBe(before.tasks + 1);
	});

	/** Sends the request and checks: code 800 (with `status`), and nothing written. */
	async function refusedWithNothingWritten(send: () => Promise<Response>, status = 400): Promise<string> {
		const before = await footprint(carol.sub);
		const msg = await refused(await send(), 800, status);
		expect(await footprint(carol.sub)).toEqual(before);
		return msg;
	}

	it("refuses a text file renamed .png: 800, nothing written", async () => {
		const msg = await refusedWithNothingWritten(() =>
			post(
				"/userAlbum/create",
				carol.token,
				form({ styleId: faceSwap.id }, { origin: { bytes: TEXT, name: "me.png", type: "image/png" } }),
			),
		);
		expect(msg).toMatch(/PNG, JPEG or WebP/);
	});

	it.each([
		["a GIF", bytes("GIF89a", [1, 0, 1, 0, 0, 0, 0])],
		["an empty file", new Uint8Array(0)],
		["a PNG signature without its header chunk", bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
		["a RIFF file that is not WebP", bytes("RIFF", [4, 0, 0, 0], "WAVEfmt ")],
	])("refuses %s: 800, nothing written", async (_, photo) => {
		await refusedWithNothingWritten(() =>
			post(
				"/userAlbum/create",
				carol.token,
				form({ styleId: faceSwap.id }, { origin: { bytes: photo, name: "me.webp" } }),
			),
		);
	});

	it("refuses a real PNG just over 10 MB: 800 (HTTP 413), nothing written", async () => {
		// 1870 x 1870 RGB is 10,491,170 bytes of pixels: a valid PNG over the limit.
		const big = await png(1870, 1870);
		expect(big.length).toBeGreaterThan(MAX_PHOTO_BYTES);
		expect(big.length).toBeLessThan(MAX_PHOTO_BYTES + 64 * 1024);
		const msg = await refusedWithNothingWritten(
			() =>
				post(
					"/userAlbum/create",
					carol.token,
					form({ styleId: faceSwap.id }, { origin: { bytes: big, name: "big.png" } }),
				),
			413,
		);
		expect(msg).toMatch(/10 MB/);
	});

	it("refuses a body far over the limit without reading it all: 800 (HTTP 413), nothing written", async () => {
		let pulled = 0;
		const head = new TextEncoder().encode(
			`--b\r\ncontent-disposition: form-data; name="styleId"\r\n\r\n${faceSwap.id}\r\n--b\r\ncontent-disposition: form-data; name="origin"; filename="a.png"\r\n\r\n`,
		);
		const pngStart = await png(2, 2);
		const endless = new ReadableStream<Uint8Array>({
			pull(controller) {
				const chunk = pulled === 0 ? new Uint8Array([...head, ...pngStart]) : new Uint8Array(256 * 1024);
				pulled += chunk.length;
				controller.enqueue(chunk);
				if (pulled > 100 * MB) controller.close();
			},
		});
		await refusedWithNothingWritten(
			() =>
				call("/userAlbum/create", {
					method: "POST",
					token: carol.token,
					headers: { "content-type": "multipart/form-data; boundary=b" },
					body: endless,
					duplex: "half",
				} as RequestInit),
			413,
		);
		expect(pulled).toBeLessThan(12 * MB);
	});

	it("refuses a declared Content-Length over the limit from the header alone: 800 (HTTP 413)", async () => {
		const msg = await refusedWithNothingWritten(
			() =>
				call("/userAlbum/create", {
					method: "POST",
					token: carol.token,
					headers: { "content-type": "multipart/form-data; boundary=b", "content-length": String(30 * MB) },
					body: new Uint8Array(16),
				}),
			413,
		);
		expect(msg).toMatch(/larger than/);
	});

	it.each([
		["an unknown styleId", () => ({ styleId: 999_999 })],
		["an unaudited template", () => ({ styleId: unaudited.id })],
		["no styleId", () => ({})],
		["styleId=abc", () => ({ styleId: "abc" })],
		["styleId=0", () => ({ styleId: 0 })],
	])("refuses %s: 800, nothing written", async (_, fields) => {
		const msg = await refusedWithNothingWritten(async () =>
			post(
				"/userAlbum/create",
				carol.token,
				form(fields() as Record<string, string | number>, { origin: { bytes: await png(), name: "me.png" } }),
			),
		);
		expect(msg).toMatch(/styleId/);
	});

	it("refuses a face swap without a photo, with an empty one, or with a URL that is not a picture", async () => {
		await refusedWithNothingWritten(() => post("/userAlbum/create", carol.token, { styleId: faceSwap.id }));
		await refusedWithNothingWritten(() => post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "" }));
		await refusedWithNothingWritten(() =>
			post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "ftp://x/y.png" }),
		);
		useFetch(async (input, init) => {
			const request = new Request(input, init);
			if (new URL(request.url).hostname !== "photos.test") return realFetch(input, init);
			if (request.url.endsWith("/missing.png")) return new Response("not found", { status: 404 });
			return new Response("<html>a web page</html>", { headers: { "content-type": "image/png" } });
		});
		await refusedWithNothingWritten(() =>
			post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "http://photos.test/missing.png" }),
		);
		await refusedWithNothingWritten(() =>
			post("/userAlbum/create", carol.token, { styleId: faceSwap.id, origin: "http://photos.test/page.png" }),
		);
	});

	it("refuses a face swap the user cannot pay for with 402, and removes the stored photo again", async () => {
		const sub = uniqueSub("poor");
		const token = await tokenFor(sub);
		const id = await userId(sub);
		await env.DB.prepare("UPDATE users SET quota = 50 WHERE id = ?").bind(id).run();
		const before = await footprint(sub);
		const response = await post(
			"/userAlbum/create",
			token,
			form({ styleId: faceSwap.id }, { origin: { bytes: await png(), name: "me.png" } }),
		);
		await refused(response, 402, 402);
		expect(await footprint(sub)).toEqual(before);
	});

	it("lets an admin try an unaudited template", async () => {
		const item = await ok<AlbumItem>(
			await post(
				"/userAlbum/create",
				adminToken,
				form({ styleId: unaudited.id }, { origin: { bytes: await png(), name: "me.png" } }),
			),
		);
		expect(item.styleId).toBe(unaudited.id);
	});

	it("runs a face swap end to end: queue, simulator, R2 copy, state 30 with the result served", async () => {
		const photo = await png(9, 9, 42);
		const item = await createOk({ styleId: faceSwap.id }, { bytes: photo, name: "me.jpg" });
		const done = await waitFor(
			async () => {
				const data = await ok<AlbumItem[]>(await post("/userAlbum", carol.token, { page: 1, pageSize: 100 }));
				const now = data.find((i) => i.promptId === item.promptId);
				if (now?.state === 2) throw new Error(`face swap failed: ${now.reason}`);
				return now?.state === 30 && (await env.IMAGES.head(`images/${item.promptId}`)) ? now : undefined;
			},
			20_000,
			"the face swap to finish",
		);
		expect(done).toMatchObject({ id: item.id, taskId: item.taskId, reason: "", origin: item.origin });
		expect(done.covering).toMatch(/^http:\/\/gateway\.test\/mj\/image\//);
		const result = await fetchBytes(done.covering);
		expect(result.response.status).toBe(200);
		expect(result.response.headers.get("content-type")).toBe("image/png");
		expect([...result.body.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
		const row = await taskRow(item.promptId);
		expect(row.status).toBe("SUCCESS");
		expect(row.action).toBe("SWAP_FACE");
	});
});
