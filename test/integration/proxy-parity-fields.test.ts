/**
 * Fields the newest midjourney-proxy servers take, used rather than dropped: describe `language`,
 * action `enableRemix` (the remix's new prompt through MODAL and /submit/modal) and `strong`,
 * video `endImage`, `loop`, `batchSize`, `videoType`. Each reaches the simulator (its
 * `properties.request` says what arrived) and shows in the result; a field that cannot apply is
 * refused in the proxy envelope before anything is written, and a value the channel cannot honour
 * fails the task with the channel's own words, refunded.
 */
import { describe, expect, it } from "vitest";
import { json } from "../helpers/api";
import { taskRow } from "../helpers/db";
import {
	accepted,
	buttonOf,
	ended,
	finishedGrid,
	newUser,
	picture,
	succeeded,
	TIMEOUT,
	upstreamRequest,
	upstreamTask,
} from "../helpers/parity";
import { type ProxyTask, proxyGet, proxyPost, proxyTask, reply } from "../helpers/proxy";

async function taskCount(token: string): Promise<number> {
	return (await json<ProxyTask[]>(await proxyGet("/mj/task/list?limit=100", token))).length;
}

describe("describe language", () => {
	it("reaches the upstream, which writes the prompts in it", { timeout: TIMEOUT * 2 }, async () => {
		const token = await newUser();
		const base64 = await picture(11);
		const zh = await accepted(await proxyPost("/mj/submit/describe", token, { base64, language: "zh" }));
		const plain = await accepted(await proxyPost("/mj/submit/describe", token, { base64 }));
		const [zhTask, plainTask] = [await succeeded(token, zh), await succeeded(token, plain)];
		expect((await upstreamRequest(zh)).language).toBe("zh");
		expect((await upstreamRequest(plain)).language).toBeUndefined();
		expect(zhTask.prompt).toMatch(/[\u4e00-\u9fff]/);
		expect(zhTask.prompt).toContain("--ar 1:1");
		expect(plainTask.prompt).not.toMatch(/[\u4e00-\u9fff]/);
	});

	it("a language the channel cannot write fails the task with its reason, refunded", {
		timeout: TIMEOUT * 2,
	}, async () => {
		const token = await newUser();
		const id = await accepted(
			await proxyPost("/mj/submit/describe", token, { base64: await picture(12), language: "fr" }),
		);
		const task = await ended(token, id);
		expect(task.status).toBe("FAILURE");
		expect(task.failReason).toContain('language "fr"');
		expect((await taskRow(id)).refunded).toBe(true);
	});

	it("a value that is no language code is refused at submit", async () => {
		const token = await newUser();
		const answer = await reply(
			await proxyPost("/mj/submit/describe", token, { base64: await picture(), language: "zh; drop" }),
			400,
		);
		expect(answer.code).toBe(4);
		expect(answer.description).toContain("language");
		expect(await taskCount(token)).toBe(0);
	});
});

describe("action strong and enableRemix", () => {
	it("strong makes a strong variation upstream; it applies to V1..V4 only", { timeout: TIMEOUT * 3 }, async () => {
		const token = await newUser();
		const grid = await finishedGrid(token, "a strong grid");
		const customId = buttonOf(grid, "MJ::JOB::variation::2::");
		const id = await accepted(await proxyPost("/mj/submit/action", token, { taskId: grid.id, customId, strong: true }));
		const task = await succeeded(token, id);
		expect(task.action).toBe("VARIATION");
		expect((await upstreamRequest(id)).strong).toBe(true);
		expect(task.properties.finalPrompt).toContain("--vary strong");
		expect(task.parentId).toBe(grid.id);

		const before = await taskCount(token);
		const upscale = buttonOf(grid, "MJ::JOB::upsample::1::");
		const refused = await reply(
			await proxyPost("/mj/submit/action", token, { taskId: grid.id, customId: upscale, strong: true }),
			400,
		);
		expect(refused.code).toBe(4);
		expect(refused.description).toContain("strong");
		expect(await taskCount(token)).toBe(before);
	});

	it("enableRemix waits in MODAL for the new prompt, which the upstream then runs", {
		timeout: TIMEOUT * 3,
	}, async () => {
		const token = await newUser();
		const grid = await finishedGrid(token, "the old prompt");
		const customId = buttonOf(grid, "MJ::JOB::variation::1::");
		const answer = await reply(
			await proxyPost("/mj/submit/action", token, { taskId: grid.id, customId, enableRemix: true }),
		);
		expect(answer.code, answer.description).toBe(21);
		const id = answer.result as string;
		expect((await proxyTask(token, id)).status).toBe("MODAL");
		expect((await taskRow(id)).upstreamId).toBeNull();

		const noPrompt = await reply(await proxyPost("/mj/submit/modal", token, { taskId: id }), 400);
		expect(noPrompt.code).toBe(4);
		expect(noPrompt.description).toContain("remix");

		const modal = await reply(await proxyPost("/mj/submit/modal", token, { taskId: id, prompt: "a brand new prompt" }));
		expect(modal.code).toBe(1);
		const task = await succeeded(token, id);
		expect(task.prompt).toBe("a brand new prompt");
		expect(task.properties.finalPrompt).toContain("a brand new prompt");
		expect(task.properties.finalPrompt).not.toContain("the old prompt");
		const upstream = await upstreamTask(id);
		expect(upstream.prompt).toBe("a brand new prompt");
		expect((upstream.properties.request as Record<string, unknown>).enableRemix).toBe(true);
	});

	it("enableRemix on a button that has no remix is refused, nothing written", { timeout: TIMEOUT * 2 }, async () => {
		const token = await newUser();
		const grid = await finishedGrid(token, "no remix here");
		const before = await taskCount(token);
		const customId = buttonOf(grid, "MJ::JOB::upsample::3::");
		const answer = await reply(
			await proxyPost("/mj/submit/action", token, { taskId: grid.id, customId, enableRemix: true }),
			400,
		);
		expect(answer.code).toBe(4);
		expect(answer.description).toContain("enableRemix");
		expect(await taskCount(token)).toBe(before);
		const typed = await reply(
			await proxyPost("/mj/submit/action", token, { taskId: grid.id, customId, enableRemix: "yes" }),
			400,
		);
		expect(typed.code).toBe(4);
	});
});

describe("video fields", () => {
	it("endImage, batchSize and videoType reach the upstream; each video of the batch is the gateway's", {
		timeout: TIMEOUT * 3,
	}, async () => {
		const token = await newUser();
		const id = await accepted(
			await proxyPost("/mj/submit/video", token, {
				prompt: "a slow pan",
				image: await picture(21),
				endImage: await picture(22),
				batchSize: 2,
				videoType: "vid_1.1_i2v_720",
				motion: "high",
			}),
		);
		const row = await taskRow(id);
		expect(JSON.parse(row.inputs)).toHaveLength(2);
		const task = await succeeded(token, id);
		expect(await upstreamRequest(id)).toEqual({ endImage: true, batchSize: 2, videoType: "vid_1.1_i2v_720" });
		expect(task.properties.finalPrompt).toContain("--end");
		expect(task.properties.finalPrompt).toContain("--hd");
		expect(task.videoUrls.map((v) => v.url)).toEqual([
			expect.stringMatching(new RegExp(`^http://gateway.test/mj/video/${id}/0\\?sig=`)),
			expect.stringMatching(new RegExp(`^http://gateway.test/mj/video/${id}/1\\?sig=`)),
		]);
	});

	it("loop reaches the upstream when animating a finished task", { timeout: TIMEOUT * 3 }, async () => {
		const token = await newUser();
		const grid = await finishedGrid(token, "a loop source");
		const id = await accepted(await proxyPost("/mj/submit/video", token, { taskId: grid.id, index: 2, loop: true }));
		const task = await succeeded(token, id);
		expect(await upstreamRequest(id)).toEqual({ loop: true });
		expect(task.properties.finalPrompt).toContain("--loop");
		expect(task.parentId).toBe(grid.id);
	});

	it("refuses what cannot apply, in the proxy envelope, nothing written", async () => {
		const token = await newUser();
		const image = await picture(23);
		const cases: [Record<string, unknown>, string][] = [
			[{ image, endImage: image, loop: true }, "loop"],
			[{ image, batchSize: 3 }, "batchSize"],
			[{ image, videoType: "vid_9_8k" }, "videoType"],
			[{ image, loop: "yes" }, "loop"],
			[{ image, taskId: "x" }, "not both"],
			[{ endImage: image }, "image"],
		];
		for (const [body, words] of cases) {
			const answer = await reply(await proxyPost("/mj/submit/video", token, body), 400);
			expect(answer.code, JSON.stringify(body)).toBe(4);
			expect(answer.description).toContain(words);
		}
		expect(await taskCount(token)).toBe(0);
	});
});
