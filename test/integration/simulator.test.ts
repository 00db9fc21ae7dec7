/**
 * The upstream simulator (simulator/), an auxiliary Worker reached over HTTP through the
 * SIMULATOR binding exactly as the gateway reaches it: imagine, the markers, change, every
 * button of every kind of result, the modal step. Media: simulator-media.test.ts; queries and
 * pushes: simulator-queries.test.ts; refused requests: simulator-errors.test.ts.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	accepted,
	buttonKind,
	customIds,
	fetchTask,
	GRID_BUTTONS,
	hashOf,
	IMAGE,
	imagine,
	ORIGIN,
	PNG_SIGNATURE,
	png,
	press,
	rawTask,
	sameBytes,
	settle,
	stepped,
	submit,
	succeeded,
	upscaled,
	VIDEO_BUTTONS,
} from "../helpers/simulator";

describe("imagine", () => {
	it("is SUBMITTED at once, then IN_PROGRESS with rising progress, then SUCCESS with the grid buttons", async () => {
		const reply = await submit("/mj/submit/imagine", { prompt: "a red fox", state: "st-1" });
		expect(reply).toMatchObject({ code: 1, description: "Submitted", properties: { discordInstanceId: "sim" } });
		const id = reply.result as string;
		expect(await fetchTask(id)).toMatchObject({ id, status: "SUBMITTED", progress: "0%", action: "IMAGINE" });

		const { task, seen } = await settle(id);
		expect(seen[0]).toBe("SUBMITTED:0%");
		expect(seen.some((s) => s.startsWith("IN_PROGRESS:"))).toBe(true);
		const percents = seen.map((s) => Number.parseInt(s.split(":")[1] as string, 10));
		expect(percents).toEqual([...percents].sort((a, b) => a - b));
		expect(seen.at(-1)).toBe("SUCCESS:100%");
		expect(task).toMatchObject({
			id,
			action: "IMAGINE",
			prompt: "a red fox",
			promptEn: "a red fox",
			state: "st-1",
			description: "Success",
			imageUrl: `${ORIGIN}/sim/image/${id}.png`,
			videoUrl: "",
			properties: { finalPrompt: "a red fox --v 6", mode: "" },
		});
		expect((await rawTask(id)).botType).toBe("MID_JOURNEY");
		expect(task.startTime as number).toBeGreaterThan(task.submitTime as number);
		expect(task.finishTime as number).toBeGreaterThan(task.startTime as number);
		expect(buttonKind(task)).toBe("grid");
		expect(task.buttons?.find((b) => b.customId.includes("reroll"))).toMatchObject({ emoji: "🔄", type: 2 });
		expect(task.buttons?.[0]).toMatchObject({ label: "U1" });
	});

	it("reports the botType it was given", async () => {
		const task = await succeeded(await imagine("a shrine", { botType: "NIJI_JOURNEY" }));
		expect(task).toMatchObject({ properties: { finalPrompt: "a shrine --niji 6" } });
		expect((await rawTask(task.id)).botType).toBe("NIJI_JOURNEY");
	});

	it("records the speed prefix each task was submitted under as properties.mode", async () => {
		for (const [prefix, mode] of [
			["/mj-fast", "fast"],
			["/mj-relax", "relax"],
			["/mj-turbo", "turbo"],
			["", ""],
		] as const) {
			const id = await accepted(`${prefix}/mj/submit/imagine`, { prompt: `speed ${mode}` });
			const task = await fetchTask(id, `${prefix}/mj`);
			expect(task).toMatchObject({ id, properties: { mode } });
		}
		// A follow-up records its own prefix, not its parent's.
		const parent = await succeeded(await accepted("/mj-relax/mj/submit/imagine", { prompt: "relaxed parent" }));
		const child = await accepted("/mj-turbo/mj/submit/action", {
			taskId: parent.id,
			customId: `MJ::JOB::upsample::1::${hashOf(parent)}`,
		});
		expect((await fetchTask(child))?.properties).toMatchObject({ mode: "turbo" });
	});

	it("serves a valid PNG per finished task, different for different prompts", async () => {
		const [a, b] = await Promise.all([imagine("a blue whale"), imagine("a green forest")]);
		const early = await env.SIMULATOR.fetch(`${ORIGIN}/sim/image/${a}.png`);
		expect(early.status).toBe(404);
		await early.body?.cancel();
		const [taskA, taskB] = await Promise.all([succeeded(a), succeeded(b)]);
		const [pngA, pngB] = await Promise.all([png(taskA.imageUrl as string), png(taskB.imageUrl as string)]);
		expect(pngA.length).toBe(pngB.length);
		expect(sameBytes(pngA, pngB)).toBe(false);
		expect(sameBytes(await png(taskA.imageUrl as string), pngA)).toBe(true);
	});
});

describe("markers", () => {
	it("--sim-banned is refused with code 24 and creates no task", async () => {
		const reply = await submit("/mj/submit/imagine", { prompt: "a statue --sim-banned" });
		expect(reply).toMatchObject({
			code: 24,
			description: "May contain a banned word",
			properties: { promptEn: "a statue --sim-banned", bannedWord: "sim-banned" },
		});
		expect(reply.result ?? null).toBeNull();
		expect(await submit("/mj/submit/shorten", { prompt: "short --sim-banned" })).toMatchObject({ code: 24 });
	});

	it("--sim-fail fails half-way, keeping its progress", async () => {
		const { task, seen } = await settle(await imagine("a bridge --sim-fail"));
		expect(task).toMatchObject({ status: "FAILURE", failReason: "simulated failure", progress: "50%", imageUrl: null });
		expect(seen).not.toContain("SUCCESS:100%");
		expect(task.finishTime).toBeTypeOf("number");
	});

	it("--sim-queue answers code 22 and still runs", async () => {
		const reply = await submit("/mj/submit/imagine", { prompt: "a queue --sim-queue" });
		expect(reply).toMatchObject({ code: 22, description: "In queue, 1 task ahead", properties: { numberOfQueues: 1 } });
		await succeeded(reply.result as string);
	});

	it("--sim-size 50mb serves a ~50 MB image with an exact content-length", async () => {
		const task = await succeeded(await imagine("a huge map --sim-size 50mb"));
		const response = await env.SIMULATOR.fetch(task.imageUrl as string);
		expect(response.status).toBe(200);
		const length = Number(response.headers.get("content-length"));
		expect(length).toBeGreaterThan(49_500_000);
		expect(length).toBeLessThan(50_500_000);
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		const head = await reader.read();
		expect([...(head.value ?? new Uint8Array()).subarray(0, 4)]).toEqual(PNG_SIGNATURE.slice(0, 4));
		await reader.cancel();
	});

	it("a --sim-size image streams exactly its content-length, 4096 px wide; follow-ups inherit it", async () => {
		const grid = await succeeded(await imagine("a mural --sim-size 3mb"));
		const bytes = await png(grid.imageUrl as string);
		expect(bytes.length).toBeGreaterThan(2_900_000);
		expect(bytes.length).toBeLessThan(3_100_000);
		expect(new DataView(bytes.buffer).getUint32(16)).toBe(4096);
		const upscale = await succeeded(await press(grid, `MJ::JOB::upsample::2::${hashOf(grid)}`));
		expect((await png(upscale.imageUrl as string)).length).toBeGreaterThan(2_900_000);
	});

	it("--sim-slow keeps the task in flight for longer", async () => {
		const [slow, normal] = await Promise.all([imagine("a snail --sim-slow"), imagine("a hare")]);
		// Submitted together: once the normal one is done, the slow one is still on its way.
		expect((await settle(normal)).task.status).toBe("SUCCESS");
		const snail = await fetchTask(slow);
		expect(snail?.status).not.toBe("SUCCESS");
		expect(snail?.status).not.toBe("FAILURE");
	});
});

describe("change and simple-change", () => {
	it("UPSCALE of a finished grid gives a single image with the upscaled buttons", async () => {
		const parent = await succeeded(await imagine("a lighthouse"));
		const hash = hashOf(parent);
		const task = await succeeded(
			await accepted("/mj/submit/change", { taskId: parent.id, action: "UPSCALE", index: 2 }),
		);
		expect(task).toMatchObject({
			action: "UPSCALE",
			prompt: "a lighthouse",
			customId: `MJ::JOB::upsample::2::${hash}`,
		});
		expect(buttonKind(task)).toBe("upscaled");
		const [grid, single] = await Promise.all([png(parent.imageUrl as string), png(task.imageUrl as string)]);
		expect(sameBytes(grid, single)).toBe(false);
	});

	it("VARIATION and REROLL of a finished grid give new grids", async () => {
		const parent = await succeeded(await imagine("a canyon"));
		const [v, r] = await Promise.all([
			accepted("/mj/submit/change", { taskId: parent.id, action: "VARIATION", index: 3 }).then(succeeded),
			accepted("/mj/submit/change", { taskId: parent.id, action: "REROLL" }).then(succeeded),
		]);
		expect(v).toMatchObject({ action: "VARIATION" });
		expect(r).toMatchObject({ action: "REROLL", customId: `MJ::JOB::reroll::0::${hashOf(parent)}::SOLO` });
		expect([buttonKind(v), buttonKind(r)]).toEqual(["grid", "grid"]);
		const pngs = await Promise.all([parent, v, r].map((t) => png(t.imageUrl as string)));
		expect(sameBytes(pngs[0] as Uint8Array, pngs[1] as Uint8Array)).toBe(false);
		expect(sameBytes(pngs[0] as Uint8Array, pngs[2] as Uint8Array)).toBe(false);
	});

	it("simple-change parses `<taskId> U2`, `V1` and `R`", async () => {
		const parent = await succeeded(await imagine("a harbour"));
		const u2 = await accepted("/mj/submit/simple-change", { content: `${parent.id} U2` });
		const v1 = await accepted("/mj/submit/simple-change", { content: `${parent.id} v1` });
		const r = await accepted("/mj/submit/simple-change", { content: `${parent.id} R` });
		expect((await fetchTask(u2))?.action).toBe("UPSCALE");
		expect((await fetchTask(v1))?.action).toBe("VARIATION");
		expect((await fetchTask(r))?.action).toBe("REROLL");
		for (const content of [`${parent.id} U5`, `${parent.id} R2`, "garbage"]) {
			expect(await submit("/mj/submit/simple-change", { content })).toMatchObject({ code: 4 });
		}
	});

	it("refuses an unknown parent (3), an unfinished one (4), a bad index (4) and a non-grid (4)", async () => {
		expect(
			await submit("/mj/submit/change", { taskId: "9999999999999999", action: "UPSCALE", index: 1 }),
		).toMatchObject({ code: 3, description: "task not found" });
		const slow = await imagine("a tortoise --sim-slow");
		expect(await submit("/mj/submit/change", { taskId: slow, action: "UPSCALE", index: 1 })).toMatchObject({ code: 4 });
		const parent = await succeeded(await imagine("a meadow"));
		for (const index of [0, 5, undefined]) {
			const reply = await submit("/mj/submit/change", { taskId: parent.id, action: "VARIATION", index });
			expect(reply).toMatchObject({ code: 4 });
		}
		const upscale = await succeeded(
			await accepted("/mj/submit/change", { taskId: parent.id, action: "UPSCALE", index: 1 }),
		);
		expect(await submit("/mj/submit/change", { taskId: upscale.id, action: "UPSCALE", index: 1 })).toMatchObject({
			code: 4,
		});
	});
});

describe("action: every button of every kind of result", () => {
	it("a grid's U1..U4, 🔄 and V1..V4 give UPSCALE (single), REROLL and VARIATION (grids)", async () => {
		const grid = await succeeded(await imagine("a grid of buttons"));
		const hash = hashOf(grid) as string;
		const children = await Promise.all(
			GRID_BUTTONS(hash).map(async (customId) => ({ customId, task: await succeeded(await press(grid, customId)) })),
		);
		const upscales = new Set<string>();
		for (const { customId, task } of children) {
			expect(task.customId).toBe(customId);
			expect(task.prompt).toBe("a grid of buttons");
			if (customId.includes("upsample")) {
				expect(task.action).toBe("UPSCALE");
				expect(buttonKind(task)).toBe("upscaled");
				upscales.add([...(await png(task.imageUrl as string))].slice(-64).join());
			} else {
				expect(task.action).toBe(customId.includes("reroll") ? "REROLL" : "VARIATION");
				expect(buttonKind(task)).toBe("grid");
			}
			expect(hashOf(task)).not.toBe(hash);
		}
		expect(upscales.size).toBe(4); // each U shows its own quadrant
	});

	it("an upscale's buttons give UPSCALE, VARIATION, ZOOM, PAN and VIDEO, and modal tasks for region and custom zoom", async () => {
		const single = await upscaled("an upscaled fox");
		const hash = hashOf(single) as string;
		const expected: Record<string, { action: string; buttons: string; code?: number }> = {
			[`MJ::JOB::upsample_v6_2x_subtle::1::${hash}::SOLO`]: { action: "UPSCALE", buttons: "upscaled" },
			[`MJ::JOB::upsample_v6_2x_creative::1::${hash}::SOLO`]: { action: "UPSCALE", buttons: "upscaled" },
			[`MJ::JOB::low_variation::1::${hash}::SOLO`]: { action: "VARIATION", buttons: "grid" },
			[`MJ::JOB::high_variation::1::${hash}::SOLO`]: { action: "VARIATION", buttons: "grid" },
			[`MJ::Inpaint::1::${hash}::SOLO`]: { action: "INPAINT", buttons: "grid", code: 21 },
			[`MJ::Outpaint::50::1::${hash}::SOLO`]: { action: "ZOOM", buttons: "grid" },
			[`MJ::Outpaint::75::1::${hash}::SOLO`]: { action: "ZOOM", buttons: "grid" },
			[`MJ::CustomZoom::${hash}`]: { action: "CUSTOM_ZOOM", buttons: "grid", code: 21 },
			[`MJ::JOB::pan_left::1::${hash}::SOLO`]: { action: "PAN", buttons: "grid" },
			[`MJ::JOB::pan_right::1::${hash}::SOLO`]: { action: "PAN", buttons: "grid" },
			[`MJ::JOB::pan_up::1::${hash}::SOLO`]: { action: "PAN", buttons: "grid" },
			[`MJ::JOB::pan_down::1::${hash}::SOLO`]: { action: "PAN", buttons: "grid" },
			[`MJ::JOB::animate_high::1::${hash}::SOLO`]: { action: "VIDEO", buttons: "video" },
			[`MJ::JOB::animate_low::1::${hash}::SOLO`]: { action: "VIDEO", buttons: "video" },
		};
		expect(customIds(single)).toEqual(Object.keys(expected));
		expect(single.buttons?.map((b) => b.label)).toContain("Vary (Region)");
		await Promise.all(
			Object.entries(expected).map(async ([customId, want]) => {
				const id = await press(single, customId, want.code ?? 1);
				if (want.code === 21) {
					expect(await fetchTask(id)).toMatchObject({ status: "MODAL", action: want.action, customId });
					const body = want.action === "INPAINT" ? { maskBase64: IMAGE } : { prompt: "--zoom 1.8" };
					expect(await submit("/mj/submit/modal", { taskId: id, ...body })).toMatchObject({ code: 1, result: id });
				}
				const task = await succeeded(id);
				expect(task, customId).toMatchObject({ action: want.action, customId, prompt: "an upscaled fox" });
				expect(buttonKind(task), customId).toBe(want.buttons);
				if (want.action === "VIDEO") {
					expect(task.videoUrl).toBe(`${ORIGIN}/sim/video/${id}.mp4`);
					await png(task.imageUrl as string);
				} else {
					expect(task.videoUrl).toBe("");
				}
			}),
		);
	});

	it("a video's extend buttons give new videos with extend buttons", async () => {
		const single = await upscaled("a clip to extend");
		const video = await succeeded(await press(single, `MJ::JOB::animate_high::1::${hashOf(single)}::SOLO`));
		const hash = hashOf(video) as string;
		expect(customIds(video)).toEqual(VIDEO_BUTTONS(hash));
		for (const customId of VIDEO_BUTTONS(hash)) {
			const extended = await succeeded(await press(video, customId));
			expect(extended).toMatchObject({ action: "VIDEO", customId });
			expect(extended.videoUrls).toEqual([extended.videoUrl]);
			expect(buttonKind(extended)).toBe("video");
		}
	});

	it("refuses an unknown customId (4), an unfinished parent (4) and an unknown parent (3)", async () => {
		const grid = await succeeded(await imagine("buttons refused"));
		const hash = hashOf(grid);
		for (const customId of [
			`MJ::JOB::upsample::1::00000000-0000-0000-0000-000000000000`,
			`MJ::JOB::pan_left::1::${hash}::SOLO`, // an upscale's button, not a grid's
			"MJ::JOB::upsample::9::x",
			"",
		]) {
			expect(await submit("/mj/submit/action", { taskId: grid.id, customId })).toMatchObject({
				code: 4,
				description: "unknown customId",
			});
		}
		const slow = await imagine("buttons not yet --sim-slow");
		expect(
			await submit("/mj/submit/action", { taskId: slow, customId: `MJ::JOB::upsample::1::${hash}` }),
		).toMatchObject({ code: 4 });
		expect(
			await submit("/mj/submit/action", { taskId: "9999999999999999", customId: `MJ::JOB::upsample::1::${hash}` }),
		).toMatchObject({ code: 3 });
	});
});

describe("modal", () => {
	it("Vary (Region) waits in MODAL until /submit/modal brings a mask, then runs to a grid", async () => {
		const single = await upscaled("a region to vary");
		const reply = await submit("/mj/submit/action", {
			taskId: single.id,
			customId: `MJ::Inpaint::1::${hashOf(single)}::SOLO`,
		});
		expect(reply).toMatchObject({ code: 21, description: "Waiting for window confirm" });
		const id = reply.result as string;
		// A slow task submitted after it takes a step: ten steps' time, more than two whole tasks, has
		// passed (the simulator's state is a function of the time elapsed); MODAL has not advanced by itself.
		await stepped(await imagine("a slow witness of the clock --sim-slow"));
		expect(await fetchTask(id)).toMatchObject({ status: "MODAL", progress: "0%", action: "INPAINT" });
		expect(await submit("/mj/submit/modal", { taskId: id })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/modal", { taskId: id, maskBase64: "not an image!" })).toMatchObject({ code: 4 });
		const confirmed = Date.now();
		expect(await submit("/mj/submit/modal", { taskId: id, maskBase64: IMAGE, prompt: "a red hat" })).toMatchObject({
			code: 1,
			result: id,
		});
		const { task, seen } = await settle(id);
		expect(seen[0]).toBe("SUBMITTED:0%");
		expect(task).toMatchObject({ status: "SUCCESS", action: "INPAINT" });
		expect(task.startTime as number).toBeGreaterThanOrEqual(confirmed);
		expect(buttonKind(task)).toBe("grid");
		// The modal step is over: a second one is refused.
		expect(await submit("/mj/submit/modal", { taskId: id, maskBase64: IMAGE })).toMatchObject({ code: 4 });
	});

	it("Custom Zoom needs a prompt in its modal step; the zoom shows in finalPrompt", async () => {
		const single = await upscaled("a zoomable tower");
		const id = await press(single, `MJ::CustomZoom::${hashOf(single)}`, 21);
		expect(await submit("/mj/submit/modal", { taskId: id, prompt: "  " })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/modal", { taskId: id, prompt: "--zoom 1.8" })).toMatchObject({ code: 1 });
		const task = await succeeded(id);
		expect(task).toMatchObject({ action: "CUSTOM_ZOOM" });
		expect(String(task.properties?.finalPrompt)).toContain("--zoom 1.8");
	});

	it("refuses a task that is not MODAL, unknown ones included (4)", async () => {
		const id = await imagine("no modal here");
		expect(await submit("/mj/submit/modal", { taskId: id, prompt: "--zoom 2" })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/modal", { taskId: "9999999999999999", prompt: "x" })).toMatchObject({ code: 4 });
	});
});
