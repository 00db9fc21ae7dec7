/**
 * Result video links (`/mj/video/{id}/{n}?sig=…`) are capabilities: only the signature made for
 * that task's n-th video opens it. No signature, another task's, another video's of the same
 * task, or the task's image signature is refused before anything is read.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { sign } from "../../src/auth/signing";
import { videoLinkValue } from "../../src/images/links";
import { call } from "../helpers/api";

const MP4 = Uint8Array.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32, 0, 0, 0, 0]);

const mine = crypto.randomUUID();
const other = crypto.randomUUID();

beforeAll(async () => {
	// Both tasks have their videos in R2, so a refusal can only come from the signature check.
	for (const id of [mine, other]) {
		for (const n of [0, 1]) {
			await env.IMAGES.put(`videos/${id}/${n}`, MP4, { httpMetadata: { contentType: "video/mp4" } });
		}
	}
});

const videoSig = (id: string, n: number) => sign(env, "image", videoLinkValue(id, n));

async function expectRefused(path: string, method = "GET"): Promise<void> {
	const response = await call(path, { method });
	expect(response.status, path).toBe(403);
	const body = await response.text();
	expect(body, path).not.toContain("ftypmp42");
	if (method === "GET") expect(body, path).toMatch(/video link signature is missing or invalid/);
}

describe("video links", () => {
	it("the video's own signature opens it", async () => {
		for (const n of [0, 1]) {
			const response = await call(`/mj/video/${mine}/${n}?sig=${await videoSig(mine, n)}`);
			expect(response.status).toBe(200);
			expect(new Uint8Array(await response.arrayBuffer())).toEqual(MP4);
		}
		// The .mp4 suffix names the same video.
		expect((await call(`/mj/video/${mine}/0.mp4?sig=${await videoSig(mine, 0)}`)).status).toBe(200);
	});

	it("without a signature, or with an empty one, is refused", async () => {
		for (const method of ["GET", "HEAD"]) {
			await expectRefused(`/mj/video/${mine}/0`, method);
			await expectRefused(`/mj/video/${mine}/0?sig=`, method);
		}
	});

	it("another task's signature is refused", async () => {
		for (const method of ["GET", "HEAD"]) {
			await expectRefused(`/mj/video/${mine}/0?sig=${await videoSig(other, 0)}`, method);
			await expectRefused(`/mj/video/${other}/1?sig=${await videoSig(mine, 1)}`, method);
		}
	});

	it("the signature of another video of the same task, or of its image, is refused", async () => {
		await expectRefused(`/mj/video/${mine}/1?sig=${await videoSig(mine, 0)}`);
		await expectRefused(`/mj/video/${mine}/0?sig=${await videoSig(mine, 1)}`);
		await expectRefused(`/mj/video/${mine}/0?sig=${await sign(env, "image", mine)}`);
	});

	it("a signature altered by one character is refused", async () => {
		const sig = await videoSig(mine, 0);
		// The first character: every bit of it is in the MAC (the last one's low bits are padding).
		const altered = `${sig.startsWith("A") ? "B" : "A"}${sig.slice(1)}`;
		await expectRefused(`/mj/video/${mine}/0?sig=${altered}`);
	});
});
