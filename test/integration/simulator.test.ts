/**
 * The upstream simulator (simulator/), an auxiliary Worker reached over HTTP through the
 * SIMULATOR binding exactly as the gateway reaches it: every endpoint of the protocol, every
 * button of every kind of result, the modal step, the markers, media, pushes.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { enabledChannelByName } from "../../src/db/channels";
import { upstreamCallbackUrl } from "../../src/upstream/callback-url";
import { ensureSimulatorChannel, SIMULATOR_CHANNEL_NAME } from "../../src/upstream/channels";
import { SIMULATOR_SECRET } from "../../src/upstream/fetcher";
import { type UpstreamTask, upstreamTaskSchema } from "../../src/upstream/protocol";
import { waitFor } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";

interface Reply {
	code: number;
	description?: string;
	result?: string | string[] | null;
	properties?: Record<string, unknown>;
}

const ORIGIN = env.SIMULATOR_URL;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** A tiny base64 "image": the simulator checks the encoding, not the pixels. */
const IMAGE = "data:image/png;base64,iVBORw0KGgo=";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(
	path: string,
	options: { method?: string; body?: unknown; rawBody?: string; secret?: string | null } = {},
): Promise<Response> {
	const headers = new Headers({ "content-type": "application/json" });
	if (options.secret !== null) headers.set("mj-api-secret", options.secret ?? SIMULATOR_SECRET);
	const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
	const method = options.method ?? (body === undefined ? "GET" : "POST");
	return env.SIMULATOR.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body }));
}

async function submit(path: string, body: unknown): Promise<Reply> {
	const response = await call(path, { body });
	expect(response.status).toBe(200);
	return response.json<Reply>();
}

async function accepted(path: string, body: unknown, code = 1): Promise<string> {
	const reply = await submit(path, body);
	expect(reply.code, reply.description).toBe(code);
	expect(reply.result).toMatch(/^\d{16,}$/);
	return reply.result as string;
}

const imagine = (prompt: string, extra: Record<string, unknown> = {}) =>
	accepted("/mj/submit/imagine", { prompt, ...extra });

async function fetchTask(id: string, prefix = "/mj"): Promise<UpstreamTask | null> {
	const response = await call(`${prefix}/task/${id}/fetch`);
	const json = await response.json();
	if (response.status === 404) return null;
	expect(response.status).toBe(200);
	return upstreamTaskSchema.parse(json);
}

const FINAL = ["SUCCESS", "FAILURE", "CANCEL"];

/** Polls until the task is final, recording every status:progress seen on the way. */
async function settle(id: string, timeoutMs = 8_000): Promise<{ task: UpstreamTask; seen: string[] }> {
	const seen: string[] = [];
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const task = await fetchTask(id);
		if (!task) throw new Error(`task ${id} unknown`);
		const key = `${task.status}:${task.progress}`;
		if (seen.at(-1) !== key) seen.push(key);
		if (FINAL.includes(task.status ?? "")) return { task, seen };
		if (Date.now() > deadline) throw new Error(`task ${id} still ${key}`);
		await sleep(40);
	}
}

const done = async (id: string) => (await settle(id)).task;

/** Polls until the task's status or progress changes from what it first showed (one step taken). */
async function stepped(id: string, timeoutMs = 8_000): Promise<void> {
	const keyOf = (task: UpstreamTask | null) => `${task?.status}:${task?.progress}`;
	const first = keyOf(await fetchTask(id));
	await waitFor(async () => keyOf(await fetchTask(id)) !== first, timeoutMs, `task ${id} to leave ${first}`);
}

/** The task as sent, before the gateway's schema drops fields it does not read (botType). */
async function rawTask(id: string): Promise<Record<string, unknown>> {
	return (await call(`/mj/task/${id}/fetch`)).json<Record<string, unknown>>();
}

async function succeeded(id: string): Promise<UpstreamTask> {
	const task = await done(id);
	expect(task.status, task.failReason ?? "").toBe("SUCCESS");
	return task;
}

async function media(url: string, type: string): Promise<Uint8Array> {
	const response = await env.SIMULATOR.fetch(url);
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toBe(type);
	const bytes = new Uint8Array(await response.arrayBuffer());
	expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
	return bytes;
}

async function png(url: string): Promise<Uint8Array> {
	const bytes = await media(url, "image/png");
	expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
	return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

const customIds = (task: UpstreamTask) => (task.buttons ?? []).map((button) => button.customId);
const hashOf = (task: UpstreamTask) =>
	(customIds(task)[0] ?? "").split("::").find((part) => /^[0-9a-f-]{36}$/.test(part));

const GRID_BUTTONS = (hash: string) => [
	...[1, 2, 3, 4].map((n) => `MJ::JOB::upsample::${n}::${hash}`),
	`MJ::JOB::reroll::0::${hash}::SOLO`,
	...[1, 2, 3, 4].map((n) => `MJ::JOB::variation::${n}::${hash}`),
];
const UPSCALED_BUTTONS = (hash: string) => [
	`MJ::JOB::upsample_v6_2x_subtle::1::${hash}::SOLO`,
	`MJ::JOB::upsample_v6_2x_creative::1::${hash}::SOLO`,
	`MJ::JOB::low_variation::1::${hash}::SOLO`,
	`MJ::JOB::high_variation::1::${hash}::SOLO`,
	`MJ::Inpaint::1::${hash}::SOLO`,
	`MJ::Outpaint::50::1::${hash}::SOLO`,
	`MJ::Outpaint::75::1::${hash}::SOLO`,
	`MJ::CustomZoom::${hash}`,
	...["left", "right", "up", "down"].map((d) => `MJ::JOB::pan_${d}::1::${hash}::SOLO`),
	`MJ::JOB::animate_high::1::${hash}::SOLO`,
	`MJ::JOB::animate_low::1::${hash}::SOLO`,
];
const VIDEO_BUTTONS = (hash: string) => [
	`MJ::JOB::animate_high_extend::1::${hash}::SOLO`,
	`MJ::JOB::animate_low_extend::1::${hash}::SOLO`,
];

/** Which row of buttons a finished task shows, judged from its customIds. */
function buttonKind(task: UpstreamTask): "grid" | "upscaled" | "video" | "none" {
	const hash = hashOf(task) ?? "";
	const ids = customIds(task);
	if (ids.length === 0) return "none";
	for (const [kind, expected] of [
		["grid", GRID_BUTTONS(hash)],
		["upscaled", UPSCALED_BUTTONS(hash)],
		["video", VIDEO_BUTTONS(hash)],
	] as const) {
		if (JSON.stringify(ids) === JSON.stringify(expected)) return kind;
	}
	throw new Error(`unexpected buttons ${JSON.stringify(ids)}`);
}

async function press(parent: UpstreamTask, customId: string, code = 1): Promise<string> {
	return accepted("/mj/submit/action", { taskId: parent.id, customId }, code);
}

async function upscaled(prompt: string): Promise<UpstreamTask> {
	const grid = await succeeded(await imagine(prompt));
	return succeeded(await press(grid, `MJ::JOB::upsample::1::${hashOf(grid)}`));
}

describe("auth and malformed requests", () => {
	it("answers 401 code 4 without the right mj-api-secret, under every prefix", async () => {
		for (const secret of [null, "wrong"]) {
			for (const prefix of ["/mj", "/mj-fast/mj"]) {
				const response = await call(`${prefix}/submit/imagine`, { body: { prompt: "a cat" }, secret });
				expect(response.status).toBe(401);
				expect(await response.json<Reply>()).toMatchObject({ code: 4 });
			}
		}
		expect((await call("/mj/task/123/fetch", { secret: null })).status).toBe(401);
		expect((await call("/mj/task/list", { secret: null })).status).toBe(401);
	});

	it("answers 400 code 4 to a body that is not JSON or has the wrong shape", async () => {
		const notJson = await call("/mj/submit/imagine", { rawBody: "{nope" });
		expect(notJson.status).toBe(400);
		expect(await notJson.json<Reply>()).toMatchObject({ code: 4 });
		const wrongShape = await call("/mj/submit/change", { body: { taskId: "1", action: "PAN" } });
		expect(wrongShape.status).toBe(400);
		expect(await wrongShape.json<Reply>()).toMatchObject({ code: 4 });
		const badBot = await call("/mj/submit/imagine", { body: { prompt: "x", botType: "DALL_E" } });
		expect(badBot.status).toBe(400);
	});

	it("answers code 4 to an empty prompt and a notifyHook that is not http(s)", async () => {
		expect(await submit("/mj/submit/imagine", { prompt: "  " })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/imagine", { prompt: "x", notifyHook: "ftp://a/b" })).toMatchObject({ code: 4 });
	});

	it("fetch of an unknown or malformed id is 404 with null", async () => {
		for (const id of ["1234567890123456789", "not-a-number"]) {
			const response = await call(`/mj/task/${id}/fetch`);
			expect(response.status).toBe(404);
			expect(await response.json()).toBeNull();
		}
	});
});

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

describe("query: fetch, list-by-condition, list, queue, image-seed, cancel", () => {
	it("list-by-condition returns the known tasks and silently leaves out unknown ids", async () => {
		const [a, b] = await Promise.all([imagine("list one"), imagine("list two")]);
		const response = await call("/mj/task/list-by-condition", { body: { ids: [a, "1111111111111111", b, "junk"] } });
		expect(response.status).toBe(200);
		const tasks = await response.json<UpstreamTask[]>();
		expect(tasks.map((t) => t.id).sort()).toEqual([a, b].sort());
	});

	it("list shows recent tasks newest first; queue only the unfinished ones", async () => {
		const finished = await succeeded(await imagine("listed and done"));
		const running = await imagine("listed and running --sim-slow");
		const list = await (await call("/mj/task/list")).json<UpstreamTask[]>();
		const ids = list.map((t) => t.id);
		expect(ids).toContain(finished.id);
		expect(ids.indexOf(running)).toBeLessThan(ids.indexOf(finished.id));
		const queue = await (await call("/mj-fast/mj/task/queue")).json<UpstreamTask[]>();
		expect(queue.map((t) => t.id)).toContain(running);
		expect(queue.map((t) => t.id)).not.toContain(finished.id);
		expect(queue.every((t) => !FINAL.includes(t.status ?? ""))).toBe(true);
	});

	it("image-seed answers a numeric seed for finished image tasks only", async () => {
		const task = await succeeded(await imagine("a seeded garden"));
		const seed = await (await call(`/mj/task/${task.id}/image-seed`)).json<Reply>();
		expect(seed).toMatchObject({ code: 1 });
		expect(seed.result).toMatch(/^\d+$/);
		expect(await (await call(`/mj/task/${task.id}/image-seed`)).json<Reply>()).toEqual(seed); // stable
		const slow = await imagine("no seed yet --sim-slow");
		expect(await (await call(`/mj/task/${slow}/image-seed`)).json<Reply>()).toMatchObject({ code: 4 });
		const text = await succeeded(await accepted("/mj/submit/shorten", { prompt: "no picture at all" }));
		expect(await (await call(`/mj/task/${text.id}/image-seed`)).json<Reply>()).toMatchObject({ code: 4 });
		expect(await (await call("/mj/task/9999999999999999/image-seed")).json<Reply>()).toMatchObject({ code: 3 });
	});

	it("cancel stops an unfinished or MODAL task for good; finished (4) and unknown (3) are refused", async () => {
		const slow = await imagine("cancel me --sim-slow");
		const cancelled = await call(`/mj/task/${slow}/cancel`, { method: "POST" });
		expect(await cancelled.json<Reply>()).toMatchObject({ code: 1 });
		const task = await fetchTask(slow);
		expect(task).toMatchObject({ status: "CANCEL" });
		expect(task?.finishTime).toBeTypeOf("number");
		// A slow task submitted after it takes a step: the cancelled one would have taken one too.
		await stepped(await imagine("a slow witness --sim-slow"));
		expect((await fetchTask(slow))?.status).toBe("CANCEL"); // it never comes back to life
		expect(await (await call(`/mj/task/${slow}/cancel`, { method: "POST" })).json<Reply>()).toEqual({
			code: 4,
			description: "task is already finished",
			result: null,
			properties: {},
		});

		const single = await upscaled("a modal to cancel");
		const modal = await press(single, `MJ::CustomZoom::${hashOf(single)}`, 21);
		expect(await (await call(`/mj/task/${modal}/cancel`, { method: "POST" })).json<Reply>()).toMatchObject({ code: 1 });
		expect((await fetchTask(modal))?.status).toBe("CANCEL");
		expect(await submit("/mj/submit/modal", { taskId: modal, prompt: "--zoom 2" })).toMatchObject({ code: 4 });

		expect(await (await call(`/mj/task/${single.id}/cancel`, { method: "POST" })).json<Reply>()).toMatchObject({
			code: 4,
		});
		expect(await (await call("/mj/task/9999999999999999/cancel", { method: "POST" })).json<Reply>()).toMatchObject({
			code: 3,
		});
	});
});

describe("notifyHook", () => {
	/** What the simulator posted to `url` (vitest.config.ts collects posts to non-gateway hosts). */
	async function posted(url: string): Promise<UpstreamTask[]> {
		const response = await env.HOOK_SINK.fetch(`http://sink/?url=${encodeURIComponent(url)}`);
		return response.json<UpstreamTask[]>();
	}

	it("posts every change to the hook with plain fetch until the final status", async () => {
		const hook = `http://hook.test/${crypto.randomUUID()}`;
		const id = await imagine("a hooked fish", { notifyHook: hook, state: "cb" });
		const posts = await waitFor(
			async () => {
				const all = await posted(hook);
				return all.at(-1)?.status === "SUCCESS" ? all : undefined;
			},
			10_000,
			"the SUCCESS push",
		);
		for (const post of posts) expect(upstreamTaskSchema.safeParse(post).success).toBe(true);
		const keys = posts.map((p) => `${p.status}:${p.progress}`);
		expect(new Set(keys).size).toBe(keys.length);
		expect(keys).not.toContain("SUBMITTED:0%");
		expect(keys).toContain("IN_PROGRESS:25%");
		expect(posts.at(-1)).toMatchObject({ id, status: "SUCCESS", progress: "100%", state: "cb" });
		// The hook carries exactly what fetch answers.
		expect(posts.at(-1)).toEqual(await (await call(`/mj/task/${id}/fetch`)).json());
	});

	it("posts a cancel", async () => {
		const hook = `http://hook.test/${crypto.randomUUID()}`;
		const id = await imagine("a cancelled hook --sim-slow", { notifyHook: hook });
		await call(`/mj/task/${id}/cancel`, { method: "POST" });
		const posts = await waitFor(
			async () => {
				const all = await posted(hook);
				return all.at(-1)?.status === "CANCEL" ? all : undefined;
			},
			10_000,
			"the CANCEL push",
		);
		expect(posts.at(-1)).toMatchObject({ id, status: "CANCEL" });
	});

	it("reaches the gateway's upstream callback: a task no poll ever looked at still finishes", async () => {
		await ensureSimulatorChannel(db(), env);
		const channel = await enabledChannelByName(db(), SIMULATOR_CHANNEL_NAME);
		// A row with no queue message and no cron run behind it: only the simulator's push can move it.
		const row = await insertTaskRow({
			userId: await userId(`push-${Date.now()}`),
			status: "SUBMITTED",
			channelId: channel?.id,
			prompt: "pushed home",
		});
		const hook = await upstreamCallbackUrl(env, row.publicId);
		const upstreamId = await imagine("pushed home", { notifyHook: hook });
		// What the consumer records from the submit's answer: pushes are taken for that upstream id only.
		await env.DB.prepare("UPDATE tasks SET upstream_id = ? WHERE public_id = ?").bind(upstreamId, row.publicId).run();
		const done = await waitFor(
			async () => {
				const current = await taskRow(row.publicId);
				return current.status === "SUCCESS" ? current : undefined;
			},
			10_000,
			"the pushed SUCCESS",
		);
		expect(done.progress).toBe("100%");
		expect(done.upstreamImageUrl).toContain(upstreamId);
		expect(await posted(hook as string)).toEqual([]); // it went to the gateway, not out to the network
	});
});
