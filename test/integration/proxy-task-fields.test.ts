/**
 * The task object's fields that trueai-org's servers show: parentId, instanceId (the channel),
 * seed where known, imageUrls (each picture of a result), width/height; and the submit answers'
 * properties (discordInstanceId once the channel is known, numberOfQueues when queued).
 */
import { describe, expect, it } from "vitest";
import { json } from "../helpers/api";
import { taskRow } from "../helpers/db";
import { accepted, buttonOf, finishedGrid, newUser, succeeded, TIMEOUT, upstreamTask } from "../helpers/parity";
import { proxyGet, proxyPost, reply } from "../helpers/proxy";

describe("the task object's newer fields", () => {
	it("a grid: its channel, the upstream's seed and size, four pictures, no parent", {
		timeout: TIMEOUT * 2,
	}, async () => {
		const token = await newUser();
		const grid = await finishedGrid(token, "fields of a grid");
		const row = await taskRow(grid.id);
		expect(row.channelId).not.toBeNull();
		expect(grid.instanceId).toBe(String(row.channelId));
		expect(grid.parentId).toBe("");
		const upstream = await upstreamTask(grid.id);
		expect(grid.seed).toMatch(/^\d+$/);
		expect(grid.seed).toBe(upstream.seed);
		const seedAnswer = await json<{ result: string }>(await proxyGet(`/mj/task/${grid.id}/image-seed`, token));
		expect(grid.seed).toBe(seedAnswer.result);
		expect([grid.width, grid.height]).toEqual([upstream.width, upstream.height]);
		expect(grid.width).toBeGreaterThan(0);
		expect(grid.imageUrls).toHaveLength(4);
		grid.imageUrls.forEach(({ url }, n) => {
			expect(url.startsWith(`${grid.imageUrl}#xywh=percent:`), url).toBe(true);
			expect(url).toMatch([/0,0,50,50$/, /50,0,50,50$/, /0,50,50,50$/, /50,50,50,50$/][n] as RegExp);
		});
	});

	it("a follow-up: its parent, the channel in the submit answer, one picture", { timeout: TIMEOUT * 2 }, async () => {
		const token = await newUser();
		const grid = await finishedGrid(token, "fields of an upscale");
		const answer = await reply(
			await proxyPost("/mj/submit/action", token, {
				taskId: grid.id,
				customId: buttonOf(grid, "MJ::JOB::upsample::2::"),
			}),
		);
		expect([1, 22]).toContain(answer.code);
		expect(answer.properties?.discordInstanceId).toBe(grid.instanceId);
		const upscale = await succeeded(token, answer.result as string);
		expect(upscale.parentId).toBe(grid.id);
		expect(upscale.instanceId).toBe(grid.instanceId);
		expect(upscale.imageUrls).toEqual([{ url: upscale.imageUrl }]);
		expect(upscale.seed).toBe((await upstreamTask(upscale.id)).seed);
	});

	it("a new task's submit answer names no channel yet; a text result's seed is the prompt's --seed", {
		timeout: TIMEOUT * 2,
	}, async () => {
		const token = await newUser();
		const answer = await reply(
			await proxyPost("/mj/submit/shorten", token, { prompt: "a very long cat prompt --seed 4321" }),
		);
		expect(answer.code).toBe(1);
		expect(answer.properties).toEqual({});
		const task = await succeeded(token, answer.result as string);
		expect((await upstreamTask(task.id)).seed).toBe("");
		expect(task.seed).toBe("4321");
		expect(task.imageUrls).toEqual([]);
		expect([task.width, task.height]).toEqual([null, null]);
		const plain = await succeeded(
			token,
			await accepted(await proxyPost("/mj/submit/shorten", token, { prompt: "no seed at all" })),
		);
		expect(plain.seed).toBe("");
	});
});
