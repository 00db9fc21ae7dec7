/**
 * Every action and every button, end to end: the midjourney-proxy surface, the real queue, the
 * task's Durable Object and the simulator Worker, to SUCCESS, with the result copied into R2 and
 * served by the gateway. Each kind of result's buttons are all pressed.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { png } from "../helpers/album";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { taskRow } from "../helpers/db";
import { dataUrl, type ProxyTask, proxyGet, proxyPost, proxyTask, reply, submitted } from "../helpers/proxy";

const TIMEOUT = 25_000;

async function user(): Promise<string> {
	const token = await tokenFor(uniqueSub("actions"));
	await call("/api/user/self", { token });
	return token;
}

/** The task once it ended; fails the test if it did not end in SUCCESS. */
async function succeeded(token: string, id: string): Promise<ProxyTask> {
	const task = await waitFor(
		async () => {
			const t = await proxyTask(token, id);
			return ["SUCCESS", "FAILURE", "CANCEL"].includes(t.status) ? t : undefined;
		},
		TIMEOUT,
		`task ${id} to end`,
	);
	expect(task.status, `${task.action} ${id}: ${task.failReason}`).toBe("SUCCESS");
	return task;
}

/** The gateway's copy: the link serves bytes from R2 once the copy is made. */
async function servedFromR2(task: ProxyTask, kind: "image" | "video"): Promise<Uint8Array> {
	const url = kind === "image" ? task.imageUrl : task.videoUrl;
	expect(url.startsWith(`http://gateway.test/mj/${kind}/${task.id}`), url).toBe(true);
	await waitFor(
		async () => {
			const row = await taskRow(task.id);
			return kind === "image" ? row.imageKey : JSON.parse(row.videoKeys).length > 0;
		},
		TIMEOUT,
		`the ${kind} copy of ${task.id}`,
	);
	const response = await call(url.replace("http://gateway.test", ""));
	expect(response.status).toBe(200);
	expect(response.headers.get("cache-control")).toContain("immutable");
	return new Uint8Array(await response.arrayBuffer());
}

const isPng = (bytes: Uint8Array) => bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
const isMp4 = (bytes: Uint8Array) => new TextDecoder().decode(bytes.subarray(4, 8)) === "ftyp";

/** An accepted submit's task id: code 1, or 22 once the user has three unfinished tasks. */
async function accepted(response: Response): Promise<string> {
	const answer = await reply(response);
	expect([1, 22], answer.description).toContain(answer.code);
	return answer.result as string;
}

/** Presses a button of a finished task and waits for the follow-up's SUCCESS. */
async function press(
	token: string,
	parent: ProxyTask,
	customId: string,
	modal?: { prompt?: string; maskBase64?: string },
) {
	const answer = await reply(await proxyPost("/mj/submit/action", token, { taskId: parent.id, customId }));
	if (modal) {
		expect(answer.code, `${customId}: ${answer.description}`).toBe(21);
		const id = answer.result as string;
		expect((await proxyTask(token, id)).status).toBe("MODAL");
		await submitted(await proxyPost("/mj/submit/modal", token, { taskId: id, ...modal }));
		return succeeded(token, id);
	}
	expect([1, 22], `${customId}: ${answer.description}`).toContain(answer.code);
	return succeeded(token, answer.result as string);
}

describe("every action through the simulator to SUCCESS, copied and served", () => {
	it("imagine, then every grid button: U1-U4, reroll, V1-V4", async () => {
		const token = await user();
		const id = await submitted(
			await proxyPost("/mj/submit/imagine", token, { prompt: "a grid of foxes", botType: "NIJI_JOURNEY" }),
		);
		const grid = await succeeded(token, id);
		expect(grid).toMatchObject({ action: "IMAGINE", botType: "NIJI_JOURNEY", progress: "100%", failReason: "" });
		expect(isPng(await servedFromR2(grid, "image"))).toBe(true);
		expect(grid.buttons.map((b) => b.label || b.emoji)).toEqual(["U1", "U2", "U3", "U4", "🔄", "V1", "V2", "V3", "V4"]);
		const results = await Promise.all(grid.buttons.map((b) => press(token, grid, b.customId)));
		expect(results.map((t) => t.action)).toEqual([
			"UPSCALE",
			"UPSCALE",
			"UPSCALE",
			"UPSCALE",
			"REROLL",
			"VARIATION",
			"VARIATION",
			"VARIATION",
			"VARIATION",
		]);
		for (const result of results) {
			expect(result.customId).not.toBe("");
			expect(isPng(await servedFromR2(result, "image"))).toBe(true);
		}
		// Follow-ups ran on the parent's channel.
		const channel = (await taskRow(id)).channelId;
		for (const result of results) expect((await taskRow(result.id)).channelId).toBe(channel);
	}, 60_000);

	it("every button of an upscaled image, the modal ones through /submit/modal, and the video's extend buttons", async () => {
		const token = await user();
		const grid = await succeeded(
			token,
			await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a lighthouse" })),
		);
		const upscaled = await press(token, grid, grid.buttons[0].customId);
		const labels = upscaled.buttons.map((b) => b.customId);
		expect(labels.length).toBe(14);
		const mask = dataUrl(await png(8, 8, 5));
		const results = await Promise.all(
			upscaled.buttons.map((b) => {
				if (b.customId.startsWith("MJ::CustomZoom::"))
					return press(token, upscaled, b.customId, { prompt: "--zoom 1.8" });
				if (b.customId.startsWith("MJ::Inpaint::"))
					return press(token, upscaled, b.customId, { maskBase64: mask, prompt: "a boat" });
				return press(token, upscaled, b.customId);
			}),
		);
		expect(results.map((t) => t.action)).toEqual([
			"UPSCALE",
			"UPSCALE",
			"VARIATION",
			"VARIATION",
			"INPAINT",
			"ZOOM",
			"ZOOM",
			"CUSTOM_ZOOM",
			"PAN",
			"PAN",
			"PAN",
			"PAN",
			"VIDEO",
			"VIDEO",
		]);
		for (const result of results.filter((t) => t.action !== "VIDEO")) {
			expect(isPng(await servedFromR2(result, "image"))).toBe(true);
		}
		const video = results[12];
		expect(video.videoUrls.length).toBeGreaterThan(0);
		expect(isMp4(await servedFromR2(video, "video"))).toBe(true);
		expect(video.buttons.length).toBe(2);
		const extended = await Promise.all(video.buttons.map((b) => press(token, video, b.customId)));
		for (const result of extended) {
			expect(result.action).toBe("VIDEO");
			expect(isMp4(await servedFromR2(result, "video"))).toBe(true);
		}
	}, 90_000);

	it("describe, blend, shorten, edits, face swap and video of an image", async () => {
		const token = await user();
		const [a, b] = [dataUrl(await png(16, 16, 1)), dataUrl(await png(16, 16, 2))];
		const [describe, blend, shorten, edits, swap, video] = await Promise.all(
			(
				[
					["/mj/submit/describe", { base64: a }],
					["/mj/submit/blend", { base64Array: [a, b], dimensions: "LANDSCAPE" }],
					["/mj/submit/shorten", { prompt: "a very detailed and long prompt about a quiet harbour at dawn" }],
					["/mj/submit/edits", { prompt: "paint it blue", image: a }],
					["/mj/insight-face/swap", { sourceBase64: a, targetBase64: b }],
					["/mj/submit/video", { prompt: "gentle waves", image: b, motion: "low" }],
				] as const
			).map(async ([path, body]) => succeeded(token, await accepted(await proxyPost(path, token, body)))),
		);
		expect(describe.action).toBe("DESCRIBE");
		expect(describe.prompt.split("\n\n")).toHaveLength(4);
		expect(describe.properties.finalPrompt).toBe(describe.prompt);
		expect(isPng(await servedFromR2(describe, "image"))).toBe(true);
		expect(blend.action).toBe("BLEND");
		expect(isPng(await servedFromR2(blend, "image"))).toBe(true);
		expect(shorten.action).toBe("SHORTEN");
		expect(shorten.properties.finalPrompt.split("\n\n").length).toBeGreaterThanOrEqual(2);
		expect(edits.action).toBe("EDITS");
		expect(isPng(await servedFromR2(edits, "image"))).toBe(true);
		expect(swap.action).toBe("SWAP_FACE");
		expect(isPng(await servedFromR2(swap, "image"))).toBe(true);
		expect(video.action).toBe("VIDEO");
		expect(isMp4(await servedFromR2(video, "video"))).toBe(true);
		// Every action shows with its own name in the other surfaces' lists.
		const seed001 = await json<{ data: { items: { mj_id: string; action: string }[] } }>(
			await call("/api/mj/self?page_size=20", { token }),
		);
		const byId = new Map(seed001.data.items.map((item) => [item.mj_id, item.action]));
		for (const task of [describe, blend, shorten, edits, swap, video]) expect(byId.get(task.id)).toBe(task.action);
		const seed002 = await json<{ _id: string; action: string }[]>(await call("/api/v1/task/list?limit=20", { token }));
		expect(seed002.find((t) => t._id === video.id)?.action).toBe("VIDEO");
	}, 60_000);

	it("the speed mode reaches the simulator, and a cancelled task is cancelled there too", async () => {
		const token = await user();
		const id = await submitted(await proxyPost("/mj-turbo/mj/submit/imagine", token, { prompt: "a turbo fox" }));
		const done = await succeeded(token, id);
		expect(done.mode).toBe("turbo");
		const upstreamId = (await taskRow(id)).upstreamId;
		const upstream = await (
			await env.SIMULATOR.fetch(`${env.SIMULATOR_URL}/mj/task/${upstreamId}/fetch`, {
				headers: { "mj-api-secret": "mj-edge-simulator" },
			})
		).json<{ properties: { mode: string } }>();
		expect(upstream.properties.mode).toBe("turbo");

		const slow = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a slow fox --sim-slow" }));
		await waitFor(async () => (await taskRow(slow)).upstreamId, TIMEOUT, "the slow task to reach the simulator");
		expect((await reply(await proxyPost(`/mj/task/${slow}/cancel`, token, {}))).code).toBe(1);
		expect((await proxyTask(token, slow)).status).toBe("CANCEL");
		const slowUpstream = (await taskRow(slow)).upstreamId;
		await waitFor(
			async () => {
				const response = await env.SIMULATOR.fetch(`${env.SIMULATOR_URL}/mj/task/${slowUpstream}/fetch`, {
					headers: { "mj-api-secret": "mj-edge-simulator" },
				});
				return (await response.json<{ status: string }>()).status === "CANCEL";
			},
			TIMEOUT,
			"the simulator's task to be cancelled",
		);
		// The seed is the upstream's.
		const seed = await reply(await proxyGet(`/mj/task/${id}/image-seed`, token));
		expect(seed.code).toBe(1);
		expect(String(seed.result)).toMatch(/^\d+$/);
	}, 60_000);
});
