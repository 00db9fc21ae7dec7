/**
 * The endpoints the newest midjourney-proxy servers (trueai-org v11) have: edit (= edits),
 * retexture, list-by-ids (= list-by-condition), the video face swap as a multipart form, and the
 * personalization profiles answered "not supported". Each new task goes through the real queue to
 * the simulator and back, is charged at its action's price and refunded when it fails.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_ACTION_PRICES } from "../../src/config";
import { call, json } from "../helpers/api";
import { taskRow } from "../helpers/db";
import {
	accepted,
	ended,
	mp4Bytes,
	newUser,
	picture,
	succeeded,
	TIMEOUT,
	upstreamRequest,
	upstreamTask,
} from "../helpers/parity";
import { type ProxyTask, proxyGet, proxyPost, type Reply, reply } from "../helpers/proxy";

function videoSwapForm(fields: Record<string, string>, video?: Uint8Array): FormData {
	const form = new FormData();
	for (const [name, value] of Object.entries(fields)) form.set(name, value);
	if (video) form.set("targetFile", new File([video], "clip.mp4", { type: "video/mp4" }));
	return form;
}

function postForm(path: string, token: string, form: FormData): Promise<Response> {
	return call(path, { method: "POST", headers: { "mj-api-secret": token }, body: form });
}

describe("/submit/edit and /submit/retexture", () => {
	it("edit is edits under trueai-org's name, under every prefix", { timeout: TIMEOUT * 2 }, async () => {
		const token = await newUser();
		const image = await picture(3);
		const id = await accepted(await proxyPost("/mj-fast/mj/submit/edit", token, { prompt: "make it blue", image }));
		const task = await succeeded(token, id);
		expect(task.action).toBe("EDITS");
		expect(task.mode).toBe("fast");
		const upstream = await upstreamTask(id);
		expect(upstream.action).toBe("EDITS");
		expect((upstream.properties as { mode: string }).mode).toBe("fast");
		expect((await taskRow(id)).quota).toBe(DEFAULT_ACTION_PRICES.EDITS);
	});

	it("retexture reaches the upstream's retexture, is charged its price and shows four pictures", {
		timeout: TIMEOUT * 2,
	}, async () => {
		const token = await newUser();
		const image = await picture(4);
		const id = await accepted(
			await proxyPost("/mj-relax/mj/submit/retexture", token, { prompt: "marble and gold", image }),
		);
		const row = await taskRow(id);
		expect(row.action).toBe("RETEXTURE");
		expect(row.quota).toBe(DEFAULT_ACTION_PRICES.RETEXTURE);
		const task = await succeeded(token, id);
		expect(task.action).toBe("RETEXTURE");
		expect(task.prompt).toBe("marble and gold");
		const upstream = await upstreamTask(id);
		expect(upstream.action).toBe("RETEXTURE");
		expect(upstream.prompt).toBe("marble and gold");
		expect((upstream.properties as { mode: string }).mode).toBe("relax");
		expect(task.imageUrls.map((u) => u.url)).toEqual([
			`${task.imageUrl}#xywh=percent:0,0,50,50`,
			`${task.imageUrl}#xywh=percent:50,0,50,50`,
			`${task.imageUrl}#xywh=percent:0,50,50,50`,
			`${task.imageUrl}#xywh=percent:50,50,50,50`,
		]);
	});

	it("a retexture the upstream fails is refunded", { timeout: TIMEOUT * 2 }, async () => {
		const token = await newUser();
		const id = await accepted(
			await proxyPost("/mj/submit/retexture", token, { prompt: "rust --sim-fail", image: await picture(5) }),
		);
		const task = await ended(token, id);
		expect(task.status).toBe("FAILURE");
		expect(task.failReason).toBeTruthy();
		const row = await taskRow(id);
		expect(row.refunded).toBe(true);
	});

	it("retexture needs a prompt and a picture", async () => {
		const token = await newUser();
		const noPrompt = await reply(
			await proxyPost("/mj/submit/retexture", token, { prompt: " ", image: await picture() }),
			400,
		);
		expect(noPrompt.code).toBe(4);
		expect(noPrompt.description).toContain("prompt");
		const noImage = await reply(await proxyPost("/mj/submit/retexture", token, { prompt: "x" }), 400);
		expect(noImage.code).toBe(4);
	});
});

describe("/task/list-by-ids", () => {
	it("answers as list-by-condition: in the order asked, unknown ids left out", { timeout: TIMEOUT * 2 }, async () => {
		const token = await newUser();
		const a = await accepted(await proxyPost("/mj/submit/imagine", token, { prompt: "list a" }));
		const b = await accepted(await proxyPost("/mj/submit/imagine", token, { prompt: "list b" }));
		const ids = [b, "no-such-task", a];
		const byIds = await json<ProxyTask[]>(await proxyPost("/mj/task/list-by-ids", token, { ids }));
		const byCondition = await json<ProxyTask[]>(await proxyPost("/mj-turbo/mj/task/list-by-condition", token, { ids }));
		expect(byIds.map((t) => t.id)).toEqual([b, a]);
		expect(byCondition.map((t) => t.id)).toEqual([b, a]);
		const other = await newUser();
		expect(await json<ProxyTask[]>(await proxyPost("/mj-fast/mj/task/list-by-ids", other, { ids }))).toEqual([]);
		const bad = await reply(await proxyPost("/mj/task/list-by-ids", token, { ids: "x" }), 400);
		expect(bad.code).toBe(4);
	});
});

describe("/insight-face/video-swap", () => {
	it("takes the face and the video as a form, reaches the upstream's video swap and ends with a video", {
		timeout: TIMEOUT * 2,
	}, async () => {
		const token = await newUser();
		const video = mp4Bytes(200);
		const id = await accepted(
			await postForm(
				"/mj/insight-face/video-swap",
				token,
				videoSwapForm({ sourceBase64: await picture(6), state: "s1" }, video),
			),
		);
		const row = await taskRow(id);
		expect(row.action).toBe("SWAP_VIDEO_FACE");
		expect(row.quota).toBe(DEFAULT_ACTION_PRICES.SWAP_VIDEO_FACE);
		const task = await succeeded(token, id);
		expect(task.state).toBe("s1");
		expect(task.videoUrl).toMatch(new RegExp(`^http://gateway.test/mj/video/${id}/0\\?sig=`));
		const upstream = await upstreamTask(id);
		expect(upstream.action).toBe("SWAP_VIDEO_FACE");
		expect((await upstreamRequest(id)).targetBytes).toBe(video.length);
	});

	it("refuses what it cannot use, in the proxy envelope, and writes nothing", async () => {
		const token = await newUser();
		const face = await picture(7);
		const cases: [FormData | string, string][] = [
			[videoSwapForm({ sourceBase64: face }), "targetFile"],
			[videoSwapForm({}, mp4Bytes()), "sourceBase64"],
			[videoSwapForm({ sourceBase64: face }, new Uint8Array(64)), "MP4"],
		];
		for (const [form, words] of cases) {
			const answer = await reply(await postForm("/mj/insight-face/video-swap", token, form as FormData), 400);
			expect(answer.code).toBe(4);
			expect(answer.description).toContain(words);
		}
		const asJson = await reply(await proxyPost("/mj/insight-face/video-swap", token, { sourceBase64: face }), 400);
		expect(asJson.code).toBe(4);
		expect(asJson.description).toContain("multipart/form-data");
		const list = await json<ProxyTask[]>(await proxyGet("/mj/task/list", token));
		expect(list).toEqual([]);
	});
});

describe("/profile/*", () => {
	it("answers not supported in the proxy envelope, under every prefix and method", async () => {
		const token = await newUser();
		for (const [method, path] of [
			["GET", "/mj/profile/list"],
			["POST", "/mj-fast/mj/profile/create"],
			["DELETE", "/mj/profile/123"],
			["GET", "/mj-relax/mj/profile/77/fetch"],
		] as const) {
			const response = await call(path, {
				method,
				headers: { "mj-api-secret": token, "content-type": "application/json" },
				body: method === "GET" ? undefined : "{}",
			});
			const answer = await json<Reply>(response);
			expect(response.status).toBe(400);
			expect(answer.code).toBe(4);
			expect(answer.description).toContain("not supported");
		}
		const anonymous = await call("/mj/profile/list");
		expect(anonymous.status).toBe(401);
	});
});
