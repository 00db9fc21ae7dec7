/**
 * The upstream simulator (simulator/) through the SIMULATOR binding: describe, blend, shorten,
 * edits, upload, face swap, and video.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	accepted,
	buttonKind,
	call,
	hashOf,
	IMAGE,
	imagine,
	media,
	ORIGIN,
	png,
	press,
	rawTask,
	sameBytes,
	submit,
	succeeded,
} from "../helpers/simulator";

describe("describe, blend, shorten, edits, upload, face swap", () => {
	it("describe reads four prompts from an image (base64 or link) and shows a picture of it", async () => {
		const a = await succeeded(await accepted("/mj/submit/describe", { base64: IMAGE }));
		const b = await succeeded(await accepted("/mj/submit/describe", { link: "https://cdn.example/cat.png" }));
		for (const task of [a, b]) {
			expect(task.action).toBe("DESCRIBE");
			const final = String(task.properties?.finalPrompt);
			expect(final).toMatch(/^1️⃣ .+\n\n2️⃣ .+\n\n3️⃣ .+\n\n4️⃣ .+$/);
			expect(task.prompt).toBe(final);
			expect(task.buttons).toEqual([]);
			await png(task.imageUrl as string);
		}
		expect(sameBytes(await png(a.imageUrl as string), await png(b.imageUrl as string))).toBe(false);
		expect(await submit("/mj/submit/describe", {})).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/describe", { link: "ftp://x/y.png" })).toMatchObject({ code: 4 });
	});

	it("blend takes 2 to 5 images and a known dimensions value, and gives a grid", async () => {
		const task = await succeeded(
			await accepted("/mj/submit/blend", { base64Array: [IMAGE, "QUJD"], dimensions: "PORTRAIT" }),
		);
		expect(task).toMatchObject({ action: "BLEND" });
		expect(String(task.properties?.finalPrompt)).toContain("--ar 2:3");
		expect(buttonKind(task)).toBe("grid");
		await png(task.imageUrl as string);
		for (const body of [
			{ base64Array: [IMAGE], dimensions: "SQUARE" },
			{ base64Array: Array(6).fill(IMAGE), dimensions: "SQUARE" },
			{ base64Array: [IMAGE, IMAGE], dimensions: "ROUND" },
			{ base64Array: [IMAGE, "!!"], dimensions: "SQUARE" },
		]) {
			expect(await submit("/mj/submit/blend", body)).toMatchObject({ code: 4 });
		}
	});

	it("shorten gives five shorter prompts and no image", async () => {
		const prompt = "a very detailed painting of an old harbour town at dusk with boats --ar 3:2";
		const task = await succeeded(await accepted("/mj/submit/shorten", { prompt }));
		expect(task).toMatchObject({ action: "SHORTEN", prompt, imageUrl: null, buttons: [] });
		const versions = String(task.properties?.finalPrompt).split("\n\n");
		expect(versions).toHaveLength(5);
		for (const version of versions) {
			expect(version.length).toBeLessThan(prompt.length);
			expect(version.endsWith("--ar 3:2")).toBe(true);
		}
		expect(await submit("/mj/submit/shorten", { prompt: " " })).toMatchObject({ code: 4 });
		expect((await call("/mj/submit/shorten", { body: {} })).status).toBe(400);
	});

	it("edits needs a prompt and an image and gives a single image", async () => {
		const task = await succeeded(await accepted("/mj/submit/edits", { prompt: "make it blue", image: IMAGE }));
		expect(task).toMatchObject({ action: "EDITS", prompt: "make it blue", buttons: [] });
		await png(task.imageUrl as string);
		expect(await submit("/mj/submit/edits", { prompt: "no image" })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/edits", { prompt: "", image: IMAGE })).toMatchObject({ code: 4 });
	});

	it("upload-discord-images answers URLs of images it serves", async () => {
		const reply = await submit("/mj/submit/upload-discord-images", { base64Array: [IMAGE, "QUJD"] });
		expect(reply.code).toBe(1);
		const urls = reply.result as string[];
		expect(urls).toHaveLength(2);
		const [first, second] = await Promise.all(urls.map((url) => png(url)));
		expect(sameBytes(first as Uint8Array, second as Uint8Array)).toBe(false);
		expect(await submit("/mj/submit/upload-discord-images", { base64Array: [] })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/upload-discord-images", { base64Array: ["%%"] })).toMatchObject({ code: 4 });
	});

	it("face swap needs both images and finishes as a single SWAP_FACE image", async () => {
		expect(await submit("/mj/insight-face/swap", { sourceBase64: "abc", targetBase64: "" })).toMatchObject({ code: 4 });
		const task = await succeeded(
			await accepted("/mj/insight-face/swap", { sourceBase64: IMAGE, targetBase64: "QkJC" }),
		);
		expect(task).toMatchObject({ action: "SWAP_FACE", buttons: [] });
		expect((await rawTask(task.id)).botType).toBe("INSIGHT_FACE");
		await png(task.imageUrl as string);
	});
});

describe("video", () => {
	it("animates an image into a real MP4 with a cover and extend buttons", async () => {
		const id = await accepted("/mj/submit/video", { image: IMAGE, prompt: "waves", motion: "high" });
		const early = await env.SIMULATOR.fetch(`${ORIGIN}/sim/video/${id}.mp4`);
		expect(early.status).toBe(404);
		await early.body?.cancel();
		const task = await succeeded(id);
		expect(task).toMatchObject({
			action: "VIDEO",
			videoUrl: `${ORIGIN}/sim/video/${id}.mp4`,
			videoUrls: [`${ORIGIN}/sim/video/${id}.mp4`],
		});
		expect(String(task.properties?.finalPrompt)).toContain("--motion high");
		expect(buttonKind(task)).toBe("video");
		await png(task.imageUrl as string);
		const mp4 = await media(task.videoUrl as string, "video/mp4");
		expect(String.fromCharCode(...mp4.subarray(4, 8))).toBe("ftyp");
		expect(mp4.length).toBeGreaterThan(1000);
		// Byte ranges, as browsers ask for video.
		const part = await env.SIMULATOR.fetch(task.videoUrl as string, { headers: { range: "bytes=4-7" } });
		expect(part.status).toBe(206);
		expect(part.headers.get("content-range")).toBe(`bytes 4-7/${mp4.length}`);
		expect(new TextDecoder().decode(await part.arrayBuffer())).toBe("ftyp");
		const tail = await env.SIMULATOR.fetch(task.videoUrl as string, { headers: { range: "bytes=-10" } });
		expect(tail.status).toBe(206);
		expect(new Uint8Array(await tail.arrayBuffer())).toEqual(mp4.subarray(-10));
		const beyond = await env.SIMULATOR.fetch(task.videoUrl as string, { headers: { range: `bytes=${mp4.length}-` } });
		expect(beyond.status).toBe(416);
	});

	it("animates quadrant N of a grid or an upscale, and extends a video", async () => {
		const grid = await succeeded(await imagine("a grid to animate"));
		expect(await submit("/mj/submit/video", { taskId: grid.id })).toMatchObject({ code: 4 }); // index needed
		expect(await submit("/mj/submit/video", { taskId: grid.id, index: 5 })).toMatchObject({ code: 4 });
		const fromGrid = await succeeded(await accepted("/mj/submit/video", { taskId: grid.id, index: 3 }));
		expect(fromGrid).toMatchObject({ action: "VIDEO", prompt: "a grid to animate" });
		const single = await succeeded(await press(grid, `MJ::JOB::upsample::1::${hashOf(grid)}`));
		const fromSingle = await succeeded(await accepted("/mj/submit/video", { taskId: single.id, motion: "low" }));
		expect(fromSingle.videoUrl).toMatch(/\.mp4$/);
		expect(await submit("/mj/submit/video", { taskId: fromSingle.id })).toMatchObject({ code: 4 }); // extend needs action
		const extended = await succeeded(
			await accepted("/mj/submit/video", { taskId: fromSingle.id, action: "extend", motion: "high" }),
		);
		expect(extended).toMatchObject({ action: "VIDEO" });
		expect(String(extended.properties?.finalPrompt)).toContain("--extend");
		expect(await submit("/mj/submit/video", { taskId: grid.id, action: "extend" })).toMatchObject({ code: 4 });
	});

	it("refuses a request without image or taskId (4), an unknown task (3), an unfinished one (4)", async () => {
		expect(await submit("/mj/submit/video", { prompt: "nothing to animate" })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/video", { taskId: "9999999999999999", index: 1 })).toMatchObject({ code: 3 });
		const slow = await imagine("not yet --sim-slow");
		expect(await submit("/mj/submit/video", { taskId: slow, index: 1 })).toMatchObject({ code: 4 });
	});
});
