/**
 * Bad input never yields a 5xx or an answer outside the surface's envelope: each case here once
 * answered 500 or a bare status (an attack run from outside found them).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { png } from "../helpers/album";
import { call, json, tokenFor, uniqueSub } from "../helpers/api";
import { insertTaskRow, userId } from "../helpers/db";
import { dataUrl, proxyPost } from "../helpers/proxy";

let token: string;
let adminToken: string;
let imagePath: string;

beforeAll(async () => {
	const sub = uniqueSub("bad");
	token = await tokenFor(sub);
	adminToken = await tokenFor(uniqueSub("bad-admin"), "admin");
	await call("/api/user/self", { token });
	// A finished task whose image is in R2, served at its signed link.
	const owner = await userId(sub);
	const task = await insertTaskRow({
		userId: owner,
		status: "SUCCESS",
		imageKey: "images/bad-input-1",
		upstreamImageUrl: "x",
	});
	await env.IMAGES.put("images/bad-input-1", await png(8, 8, 1), { httpMetadata: { contentType: "image/png" } });
	const upload = await json<{ result: string[] }>(
		await proxyPost("/mj/submit/upload-discord-images", token, { base64Array: [dataUrl(await png(4, 4, 2))] }),
	);
	imagePath = upload.result[0].replace("http://gateway.test", "");
	void task;
});

describe("no 5xx on bad input, every answer in its envelope", () => {
	it("a multipart content type whose boundary names application/json", async () => {
		const body =
			'--application/json\r\nContent-Disposition: form-data; name="styleId"\r\n\r\n1\r\n--application/json--\r\n';
		for (const path of ["/userAlbum/create", "/imageTemp/create"]) {
			const response = await call(path, {
				method: "POST",
				token: path === "/imageTemp/create" ? adminToken : token,
				headers: { "content-type": "multipart/form-data; boundary=application/json" },
				body,
			});
			expect(response.status, path).toBeLessThan(500);
			const answer = await json<{ code: number; msg: string }>(response);
			expect(answer.code, path).toBe(800);
		}
	});

	it("malformed If-None-Match / If-Match on file routes are ignored, not a 500", async () => {
		for (const [name, value] of [
			["if-none-match", 'W/"unterminated'],
			["if-match", "not-an-etag"],
			["if-none-match", '"a", junk'],
			["if-modified-since", "yesterday-ish"],
		]) {
			const response = await call(imagePath, { headers: { [name]: value } });
			expect(response.status, `${name}: ${value}`).toBe(200);
			await response.body?.cancel();
		}
	});

	it("a Range past the end answers 416 in the envelope, with content-range", async () => {
		const response = await call(imagePath, { headers: { range: "bytes=999999-" } });
		expect(response.status).toBe(416);
		expect(response.headers.get("content-range")).toMatch(/^bytes \*\/\d+$/);
		expect(await json(response)).toMatchObject({ code: 4, description: expect.stringMatching(/range/i) });
	});

	it("album and template JSON routes refuse bodies over 1 MiB before reading them", async () => {
		const big = JSON.stringify({ page: 1, pad: "x".repeat(2 * 1024 * 1024) });
		for (const path of ["/userAlbum", "/imageTemp/list", "/imageTemp/favorite"]) {
			const response = await call(path, {
				method: "POST",
				token,
				headers: { "content-type": "application/json" },
				body: big,
			});
			expect(response.status, path).toBe(413);
			expect((await json<{ code: number }>(response)).code).toBe(800);
		}
		const declared = await call("/api/v1/task/list", {
			method: "POST",
			token,
			headers: { "content-type": "application/json", "content-length": String(50 * 1024 * 1024) },
			body: "{}",
		});
		expect(declared.status).toBe(413);
	});

	it("unknown album and template paths check the token before answering 404", async () => {
		for (const path of ["/userAlbum/nope", "/imageTemp/nope"]) {
			expect((await call(path, { method: "POST" })).status, path).toBe(401);
			const known = await call(path, { method: "POST", token });
			expect(known.status, path).toBe(404);
			expect((await json<{ code: number }>(known)).code).toBe(800);
		}
	});

	it("a PATCH with a non-JSON body is refused, not silently ignored", async () => {
		const channel = await json<{ data: { id: number } }>(
			await call("/api/admin/channels", {
				method: "POST",
				token: adminToken,
				headers: { "content-type": "application/json" },
				body: JSON.stringify({ name: `bad-${Date.now()}`, base_url: "http://upstream.test", weight: 0 }),
			}),
		);
		const response = await call(`/api/admin/channels/${channel.data.id}`, {
			method: "PATCH",
			token: adminToken,
			headers: { "content-type": "text/plain" },
			body: "weight=5",
		});
		expect(response.status).toBe(400);
		expect(await json(response)).toMatchObject({ success: false, message: expect.stringMatching(/JSON/) });
	});

	it("a body of a type the route does not read is refused on the any-body routes", async () => {
		const response = await call("/api/v1/trigger/submit", {
			method: "POST",
			token,
			headers: { "content-type": "text/plain" },
			body: "action=IMAGINE&prompt=x",
		});
		expect(response.status).toBe(400);
		expect(await json(response)).toMatchObject({ code: 0, description: expect.stringMatching(/content type/i) });
	});
});

describe("one JSON reader: the same refusals on every route that reads a JSON body itself", () => {
	const post = (path: string, type: string, body: string) =>
		call(path, { method: "POST", token, headers: { "content-type": type }, body });

	it("malformed JSON and non-objects, in each surface's envelope", async () => {
		for (const [text, message] of [
			["{", "malformed JSON body"],
			["[1]", "JSON body must be an object"],
			["null", "JSON body must be an object"],
		] as const) {
			const proxy = await post("/mj/task/list-by-condition", "application/json", text);
			expect(proxy.status, text).toBe(400);
			expect(await json(proxy)).toEqual({ code: 4, description: message });
			const ticket = await post("/api/user/stream-ticket", "application/json", text);
			expect(ticket.status, text).toBe(400);
			expect(await json(ticket)).toEqual({ success: false, message });
			const album = await post("/userAlbum", "application/json", text);
			expect(album.status, text).toBe(400);
			expect(await json(album)).toEqual({ code: 800, msg: message });
		}
	});

	it("an empty body is no fields where the route takes none, and malformed where it needs one", async () => {
		expect(await json(await post("/api/user/stream-ticket", "application/json", ""))).toMatchObject({ success: true });
		expect(await json(await post("/userAlbum", "application/json", " "))).toMatchObject({ code: 200 });
		expect(await json(await post("/mj/task/list-by-condition", "application/json", ""))).toEqual({
			code: 4,
			description: "malformed JSON body",
		});
	});

	it("midjourney-proxy takes any content type that mentions json; the other APIs only JSON types", async () => {
		const lenient = await post("/mj/task/list-by-condition", "text/json", '{"ids":[]}');
		expect(lenient.status).toBe(200);
		expect(await json(lenient)).toEqual([]);
		const strict = await post("/api/user/keys", "text/json", '{"name":"x"}');
		expect(strict.status).toBe(400);
		expect(await json(strict)).toEqual({
			success: false,
			message: "the body must be JSON (content-type: application/json)",
		});
	});
});
