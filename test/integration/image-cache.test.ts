/**
 * Repeat views of an immutable file are answered from the Cache API, not R2: one R2 read per
 * object per location, whatever the number of views. Ranges and conditional requests still go to R2.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { sign } from "../../src/auth/signing";
import { png } from "../helpers/album";

/** env with its R2 bucket counting the reads of object bodies. */
function countingEnv(): { env: Env; reads: () => number } {
	let reads = 0;
	const bucket = new Proxy(env.IMAGES, {
		get(target, property, receiver) {
			if (property === "get") {
				return (...args: Parameters<R2Bucket["get"]>) => {
					reads += 1;
					return target.get(...args);
				};
			}
			const value = Reflect.get(target, property, receiver);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { env: { ...env, IMAGES: bucket }, reads: () => reads };
}

async function view(app: ReturnType<typeof createApp>, target: Env, url: string, headers: HeadersInit = {}) {
	const ctx = createExecutionContext();
	const response = await app.fetch(new Request(url, { headers }), target, ctx);
	const bytes = new Uint8Array(await response.arrayBuffer());
	await waitOnExecutionContext(ctx);
	return { status: response.status, bytes };
}

describe("the Cache API in front of R2", () => {
	it("100 views of a result image read R2 once; a range still reads R2", async () => {
		const id = crypto.randomUUID();
		const picture = await png(16, 16, 7);
		await env.IMAGES.put(`images/${id}`, picture, { httpMetadata: { contentType: "image/png" } });
		const url = `http://gateway.test/mj/image/${id}?sig=${await sign(env, "image", id)}`;
		const app = createApp();
		const counting = countingEnv();
		for (let i = 0; i < 100; i++) {
			const { status, bytes } = await view(app, counting.env, url);
			expect(status).toBe(200);
			expect(bytes).toEqual(picture);
		}
		expect(counting.reads()).toBe(1);
		const ranged = await view(app, counting.env, url, { range: "bytes=0-7" });
		expect(ranged.status).toBe(206);
		expect(ranged.bytes).toEqual(picture.subarray(0, 8));
		expect(counting.reads()).toBe(2);
		// Another link (another object) is its own cache entry.
		const other = crypto.randomUUID();
		await env.IMAGES.put(`images/${other}`, await png(4, 4, 1), { httpMetadata: { contentType: "image/png" } });
		await view(app, counting.env, `http://gateway.test/mj/image/${other}?sig=${await sign(env, "image", other)}`);
		expect(counting.reads()).toBe(3);
	});

	it("a forged link is refused before the cache is asked", async () => {
		const app = createApp();
		const counting = countingEnv();
		const { status } = await view(app, counting.env, "http://gateway.test/mj/image/whatever?sig=AAAA");
		expect(status).toBe(403);
		expect(counting.reads()).toBe(0);
	});
});
