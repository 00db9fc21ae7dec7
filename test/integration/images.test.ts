/**
 * GET /mj/image/{id}?sig=…: the gateway's R2 copy of a result image behind a signed link.
 * The signature is the whole capability (no token needed); caching and ranges work.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { sign } from "../../src/auth/signing";
import { SIMULATOR_SECRET } from "../../src/upstream/fetcher";
import { BASE, call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, userId } from "../helpers/db";
import { finishedImagine, IMAGE_PREFIX, type Seed002Task } from "../helpers/surface";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let task: Seed002Task;
let other: Seed002Task;
/** Path and query of the task's image link, without the origin. */
let link: string;
let sig: string;

beforeAll(async () => {
	const token = await tokenFor(uniqueSub("images"));
	[task, other] = await Promise.all([
		finishedImagine(token, "a harbour at night"),
		finishedImagine(token, "a mountain lake"),
	]);
	expect(task.imageUrl.startsWith(IMAGE_PREFIX)).toBe(true);
	link = task.imageUrl.slice(BASE.length);
	sig = new URL(task.imageUrl).searchParams.get("sig") ?? "";
	expect(sig.length).toBeGreaterThan(0);
});

async function r2Object(id: string) {
	const object = await env.IMAGES.get(`images/${id}`);
	if (!object) throw new Error(`no R2 object for ${id}`);
	return { object, bytes: new Uint8Array(await object.arrayBuffer()) };
}

async function expectForbidden(response: Response): Promise<void> {
	const body = await json<{ code: number; description: string }>(response);
	expect(response.status, JSON.stringify(body)).toBe(403);
	expect(Object.keys(body).sort()).toEqual(["code", "description"]);
	expect(body.code).toBeTypeOf("number");
	expect(body.description).toMatch(/signature/);
	expect(response.headers.get("content-type")).not.toMatch(/^image\//);
}

describe("a signed image link", () => {
	it("serves the R2 copy: 200, image/png, exact length, etag, immutable caching, no token needed", async () => {
		const response = await call(link);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toBe("image/png");
		const body = new Uint8Array(await response.arrayBuffer());
		expect([...body.subarray(0, 8)]).toEqual(PNG_SIGNATURE);

		const head = await env.IMAGES.head(`images/${task._id}`);
		expect(head).not.toBeNull();
		expect(Number(response.headers.get("content-length"))).toBe(head?.size);
		expect(body.length).toBe(head?.size);
		expect(response.headers.get("etag")).toBe(head?.httpEtag);
		expect(response.headers.get("cache-control")).toMatch(/immutable/);
		expect(response.headers.get("cache-control")).toMatch(/max-age=\d{6,}/);

		const { bytes } = await r2Object(task._id);
		expect(body).toEqual(bytes);
	});

	it("each task has its own picture", async () => {
		const [mine, theirs] = await Promise.all([r2Object(task._id), r2Object(other._id)]);
		expect(mine.bytes).not.toEqual(theirs.bytes);
		const response = await call(other.imageUrl.slice(BASE.length));
		expect(response.status).toBe(200);
		expect(new Uint8Array(await response.arrayBuffer())).toEqual(theirs.bytes);
	});

	it("answers If-None-Match with the current etag by 304 without a body", async () => {
		const first = await call(link);
		const etag = first.headers.get("etag");
		await first.body?.cancel();
		expect(etag).toBeTruthy();
		const response = await call(link, { headers: { "if-none-match": etag as string } });
		expect(response.status).toBe(304);
		expect(await response.text()).toBe("");
		expect(response.headers.get("etag")).toBe(etag);
	});

	it("answers a stale If-None-Match with the full image", async () => {
		const response = await call(link, { headers: { "if-none-match": '"not-the-etag"' } });
		expect(response.status).toBe(200);
		expect([...new Uint8Array(await response.arrayBuffer()).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
	});

	it("answers Range: bytes=0-7 with 206 and the 8 PNG signature bytes", async () => {
		const { object } = await r2Object(task._id);
		const response = await call(link, { headers: { range: "bytes=0-7" } });
		expect(response.status).toBe(206);
		expect(response.headers.get("content-range")).toBe(`bytes 0-7/${object.size}`);
		expect(response.headers.get("content-length")).toBe("8");
		expect([...new Uint8Array(await response.arrayBuffer())]).toEqual(PNG_SIGNATURE);
	});

	it("answers a suffix range with the last bytes, and a range past the end with 416", async () => {
		const { object, bytes } = await r2Object(task._id);
		const tail = await call(link, { headers: { range: "bytes=-4" } });
		expect(tail.status).toBe(206);
		expect(new Uint8Array(await tail.arrayBuffer())).toEqual(bytes.slice(-4));
		const past = await call(link, { headers: { range: `bytes=${object.size + 10}-` } });
		expect(past.status).toBe(416);
		expect(past.headers.get("content-range")).toBe(`bytes */${object.size}`);
	});

	it.each(["items=0-7", "bytes=abc", "bytes=5-2", "bytes=0-1,4-5"])(
		"ignores the Range header %s it cannot parse (RFC 9110 §14.2): 200",
		async (range) => {
			const { bytes } = await r2Object(task._id);
			const response = await call(link, { headers: { range } });
			expect(response.status).toBe(200);
			expect(response.headers.get("content-range")).toBeNull();
			expect(new Uint8Array(await response.arrayBuffer())).toEqual(bytes);
		},
	);

	it("accepts the id with a .png suffix", async () => {
		const response = await call(`/mj/image/${task._id}.png?sig=${sig}`);
		expect(response.status).toBe(200);
		expect([...new Uint8Array(await response.arrayBuffer()).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
	});

	it("answers HEAD with the headers and no body", async () => {
		const head = await env.IMAGES.head(`images/${task._id}`);
		const response = await call(link, { method: "HEAD" });
		expect(response.status).toBe(200);
		expect(response.headers.get("content-length")).toBe(String(head?.size));
		expect(await response.text()).toBe("");
	});
});

describe("a link that is not a valid capability", () => {
	it("without sig is 403", async () => {
		await expectForbidden(await call(`/mj/image/${task._id}`));
		await expectForbidden(await call(`/mj/image/${task._id}?sig=`));
	});

	it("with the sig of another task is 403", async () => {
		const otherSig = new URL(other.imageUrl).searchParams.get("sig") ?? "";
		expect(otherSig).not.toBe(sig);
		await expectForbidden(await call(`/mj/image/${task._id}?sig=${otherSig}`));
	});

	it("with a tampered sig is 403", async () => {
		// Change the first character: the last one of a base64url MAC may only carry padding bits.
		const tampered = `${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`;
		await expectForbidden(await call(`/mj/image/${task._id}?sig=${tampered}`));
		await expectForbidden(await call(`/mj/image/${task._id}?sig=not*base64`));
	});

	it.each([1, 2, 3])("with a sig cut short by %i characters is 403", async (cut) => {
		// 43 - 2 = 41 characters is not a possible base64 length: it must still be a 403, not a 500.
		await expectForbidden(await call(`/mj/image/${task._id}?sig=${sig.slice(0, -cut)}`));
	});

	it("with a sig for another purpose is 403", async () => {
		const callbackSig = await sign(env, "upstream-callback", task._id);
		await expectForbidden(await call(`/mj/image/${task._id}?sig=${callbackSig}`));
	});

	it("a validly signed link to an image that does not exist is 404", async () => {
		const id = crypto.randomUUID();
		const response = await call(`/mj/image/${id}?sig=${await sign(env, "image", id)}`);
		const body = await json<{ code: number; description: string }>(response);
		expect(response.status).toBe(404);
		expect(Object.keys(body).sort()).toEqual(["code", "description"]);
		expect(body.description).toMatch(/not found/);
	});
});

describe("before the R2 copy exists", () => {
	it("the same link streams the upstream's image, uncached", async () => {
		const reply = await env.SIMULATOR.fetch(
			new Request(`${env.SIMULATOR_URL}/mj/submit/imagine`, {
				method: "POST",
				headers: { "mj-api-secret": SIMULATOR_SECRET, "content-type": "application/json" },
				body: JSON.stringify({ prompt: "not copied yet" }),
			}),
		);
		const { result } = await json<{ result: string }>(reply);
		const upstreamImage = await waitFor(async () => {
			const view = await env.SIMULATOR.fetch(
				new Request(`${env.SIMULATOR_URL}/mj/task/${result}/fetch`, { headers: { "mj-api-secret": SIMULATOR_SECRET } }),
			);
			const body = await json<{ status: string; imageUrl: string }>(view);
			return body.status === "SUCCESS" ? body.imageUrl : undefined;
		});
		const row = await insertTaskRow({
			userId: await userId(uniqueSub("pending-copy")),
			status: "SUCCESS",
			upstreamImageUrl: upstreamImage,
		});
		const response = await call(`/mj/image/${row.publicId}?sig=${await sign(env, "image", row.publicId)}`);
		expect(response.status).toBe(200);
		expect(response.headers.get("content-type")).toBe("image/png");
		expect(response.headers.get("cache-control")).toBe("no-store");
		expect([...new Uint8Array(await response.arrayBuffer()).slice(0, 8)]).toEqual(PNG_SIGNATURE);
	});

	it("a task without any image is 404", async () => {
		const row = await insertTaskRow({ userId: await userId(uniqueSub("no-image")), status: "IN_PROGRESS" });
		const response = await call(`/mj/image/${row.publicId}?sig=${await sign(env, "image", row.publicId)}`);
		expect(response.status).toBe(404);
	});
});
