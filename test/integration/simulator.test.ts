import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type UpstreamTask, upstreamTaskSchema } from "../../src/upstream/protocol";
import { simulatorApp } from "../../src/upstream/simulator/app";
import { SIMULATOR_ORIGIN, SIMULATOR_SECRET } from "../../src/upstream/simulator/constants";

interface Reply {
	code: number;
	description?: string;
	result?: string | null;
	properties?: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(
	path: string,
	options: { method?: string; body?: unknown; rawBody?: string; secret?: string | null } = {},
): Promise<Response> {
	const headers = new Headers({ "content-type": "application/json" });
	if (options.secret !== null) headers.set("mj-api-secret", options.secret ?? SIMULATOR_SECRET);
	const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
	const request = new Request(`${SIMULATOR_ORIGIN}${path}`, {
		method: options.method ?? (body === undefined ? "GET" : "POST"),
		headers,
		body,
	});
	return simulatorApp.fetch(request, env);
}

async function submit(path: string, body: unknown): Promise<Reply> {
	const response = await call(path, { body });
	expect(response.status).toBe(200);
	return response.json<Reply>();
}

async function imagine(prompt: string, extra: Record<string, unknown> = {}): Promise<string> {
	const reply = await submit("/mj/submit/imagine", { prompt, ...extra });
	expect(reply.code, reply.description).toBe(1);
	return reply.result as string;
}

async function fetchTask(id: string): Promise<UpstreamTask | null> {
	const response = await call(`/mj/task/${id}/fetch`);
	const json = await response.json();
	if (response.status === 404) return null;
	expect(response.status).toBe(200);
	return upstreamTaskSchema.parse(json);
}

/** Polls until the task is final, recording every status:progress seen on the way. */
async function settle(id: string, timeoutMs = 5_000): Promise<{ task: UpstreamTask; seen: string[] }> {
	const seen: string[] = [];
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const task = await fetchTask(id);
		if (!task) throw new Error(`task ${id} unknown`);
		const key = `${task.status}:${task.progress}`;
		if (seen.at(-1) !== key) seen.push(key);
		if (task.status === "SUCCESS" || task.status === "FAILURE") return { task, seen };
		if (Date.now() > deadline) throw new Error(`task ${id} still ${key}`);
		await sleep(40);
	}
}

async function image(url: string): Promise<Uint8Array> {
	const response = await simulatorApp.fetch(new Request(url), env);
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toBe("image/png");
	const bytes = new Uint8Array(await response.arrayBuffer());
	expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
	expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
	return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

describe("auth and malformed requests", () => {
	it("answers 401 code 4 without the right mj-api-secret", async () => {
		for (const secret of [null, "wrong"]) {
			const response = await call("/mj/submit/imagine", { body: { prompt: "a cat" }, secret });
			expect(response.status).toBe(401);
			expect(await response.json<Reply>()).toMatchObject({ code: 4 });
		}
		const fetchResponse = await call("/mj/task/123/fetch", { secret: null });
		expect(fetchResponse.status).toBe(401);
	});

	it("answers 400 code 4 to a body that is not JSON or has the wrong shape", async () => {
		const notJson = await call("/mj/submit/imagine", { rawBody: "{nope" });
		expect(notJson.status).toBe(400);
		expect(await notJson.json<Reply>()).toMatchObject({ code: 4 });
		const wrongShape = await call("/mj/submit/change", { body: { taskId: "1", action: "PAN" } });
		expect(wrongShape.status).toBe(400);
		expect(await wrongShape.json<Reply>()).toMatchObject({ code: 4 });
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
	it("is SUBMITTED at once, then IN_PROGRESS with rising progress, then SUCCESS with buttons", async () => {
		const reply = await submit("/mj/submit/imagine", { prompt: "a red fox", state: "st-1" });
		expect(reply).toMatchObject({ code: 1, description: "Submitted", properties: { discordInstanceId: "sim" } });
		const id = reply.result as string;
		expect(id).toMatch(/^\d{16,}$/);

		const first = await fetchTask(id);
		expect(first).toMatchObject({ id, status: "SUBMITTED", progress: "0%", action: "IMAGINE", prompt: "a red fox" });

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
			imageUrl: `${SIMULATOR_ORIGIN}/sim/image/${id}.png`,
			properties: { finalPrompt: "a red fox --v 6" },
		});
		const { submitTime, startTime, finishTime } = task;
		expect(submitTime).toBeTypeOf("number");
		expect(startTime as number).toBeGreaterThan(submitTime as number);
		expect(finishTime as number).toBeGreaterThan(startTime as number);
		const ids = (task.buttons ?? []).map((b) => b.customId);
		expect(ids).toHaveLength(9);
		for (const n of [1, 2, 3, 4]) {
			expect(ids).toContainEqual(expect.stringMatching(new RegExp(`^MJ::JOB::upsample::${n}::[0-9a-f-]+$`)));
			expect(ids).toContainEqual(expect.stringMatching(new RegExp(`^MJ::JOB::variation::${n}::[0-9a-f-]+$`)));
		}
		expect(ids).toContainEqual(expect.stringMatching(/^MJ::JOB::reroll::0::[0-9a-f-]+::SOLO$/));
	});

	it("is served under the speed-mode prefixes too", async () => {
		for (const prefix of ["/mj-fast", "/mj-relax", "/mj-turbo"]) {
			const reply = await submit(`${prefix}/mj/submit/imagine`, { prompt: `speed ${prefix}` });
			expect(reply.code).toBe(1);
			const response = await call(`${prefix}/mj/task/${reply.result}/fetch`);
			expect(await response.json<UpstreamTask>()).toMatchObject({ id: reply.result });
		}
	});

	it("serves a valid PNG per finished task, different for different prompts", async () => {
		const [a, b] = await Promise.all([imagine("a blue whale"), imagine("a green forest")]);
		const early = await simulatorApp.fetch(new Request(`${SIMULATOR_ORIGIN}/sim/image/${a}.png`), env);
		expect(early.status).toBe(404);
		await early.body?.cancel();
		const [taskA, taskB] = await Promise.all([settle(a), settle(b)]);
		const [pngA, pngB] = await Promise.all([
			image(taskA.task.imageUrl as string),
			image(taskB.task.imageUrl as string),
		]);
		expect(pngA.length).toBe(pngB.length);
		expect(sameBytes(pngA, pngB)).toBe(false);
		// Same task, same picture: the image is a pure function of the task.
		expect(sameBytes(await image(taskA.task.imageUrl as string), pngA)).toBe(true);
	});

	it("--sim-banned is refused with code 24 and creates no task", async () => {
		const reply = await submit("/mj/submit/imagine", { prompt: "a statue --sim-banned" });
		expect(reply).toMatchObject({
			code: 24,
			description: "May contain a banned word",
			properties: { promptEn: "a statue --sim-banned", bannedWord: "sim-banned" },
		});
		expect(reply.result ?? null).toBeNull();
	});

	it("--sim-fail fails half-way, keeping its progress", async () => {
		const id = await imagine("a bridge --sim-fail");
		const { task, seen } = await settle(id);
		expect(task).toMatchObject({ status: "FAILURE", failReason: "simulated failure", progress: "50%", imageUrl: null });
		expect(seen).not.toContain("SUCCESS:100%");
		expect(task.finishTime).toBeTypeOf("number");
	});

	it("--sim-queue answers code 22 and still runs", async () => {
		const reply = await submit("/mj/submit/imagine", { prompt: "a queue --sim-queue" });
		expect(reply).toMatchObject({ code: 22, description: "In queue, 1 task ahead", properties: { numberOfQueues: 1 } });
		expect(reply.result).toMatch(/^\d{16,}$/);
		expect((await settle(reply.result as string)).task.status).toBe("SUCCESS");
	});

	it("--sim-size 50mb serves a ~50 MB image with an exact content-length", async () => {
		const { task } = await settle(await imagine("a huge map --sim-size 50mb"));
		const response = await simulatorApp.fetch(new Request(task.imageUrl as string), env);
		expect(response.status).toBe(200);
		const length = Number(response.headers.get("content-length"));
		expect(length).toBeGreaterThan(49_500_000);
		expect(length).toBeLessThan(50_500_000);
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		const head = await reader.read();
		expect([...(head.value ?? new Uint8Array()).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
		await reader.cancel();
	});

	it("a --sim-size image streams exactly its content-length, 4096 px wide", async () => {
		const { task } = await settle(await imagine("a mural --sim-size 3mb"));
		const png = await image(task.imageUrl as string);
		expect(png.length).toBeGreaterThan(2_900_000);
		expect(png.length).toBeLessThan(3_100_000);
		expect(new DataView(png.buffer).getUint32(16)).toBe(4096);
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

describe("change", () => {
	it("UPSCALE of a finished grid gives a single image with its own picture", async () => {
		const { task: parent } = await settle(await imagine("a lighthouse"));
		const hash = (parent.buttons?.[0]?.customId ?? "").split("::")[4];
		const reply = await submit("/mj/submit/change", { taskId: parent.id, action: "UPSCALE", index: 2 });
		expect(reply.code).toBe(1);
		const { task } = await settle(reply.result as string);
		expect(task).toMatchObject({
			action: "UPSCALE",
			status: "SUCCESS",
			prompt: "a lighthouse",
			customId: `MJ::JOB::upsample::2::${hash}`,
			buttons: [],
		});
		const [grid, single] = await Promise.all([image(parent.imageUrl as string), image(task.imageUrl as string)]);
		expect(sameBytes(grid, single)).toBe(false);
	});

	it("VARIATION and REROLL of a finished grid give new grids", async () => {
		const { task: parent } = await settle(await imagine("a canyon"));
		const variation = await submit("/mj/submit/change", { taskId: parent.id, action: "VARIATION", index: 3 });
		const reroll = await submit("/mj/submit/change", { taskId: parent.id, action: "REROLL" });
		expect([variation.code, reroll.code]).toEqual([1, 1]);
		const [v, r] = await Promise.all([settle(variation.result as string), settle(reroll.result as string)]);
		expect(v.task).toMatchObject({ action: "VARIATION", status: "SUCCESS" });
		expect(r.task).toMatchObject({ action: "REROLL", status: "SUCCESS" });
		expect(v.task.buttons).toHaveLength(9);
		expect(r.task.buttons).toHaveLength(9);
		const pngs = await Promise.all([parent, v.task, r.task].map((t) => image(t.imageUrl as string)));
		expect(sameBytes(pngs[0] as Uint8Array, pngs[1] as Uint8Array)).toBe(false);
		expect(sameBytes(pngs[0] as Uint8Array, pngs[2] as Uint8Array)).toBe(false);
	});

	it("simple-change parses `<taskId> U2`", async () => {
		const { task: parent } = await settle(await imagine("a harbour"));
		const reply = await submit("/mj/submit/simple-change", { content: `${parent.id} U2` });
		expect(reply.code).toBe(1);
		expect(await fetchTask(reply.result as string)).toMatchObject({ action: "UPSCALE" });
		expect(await submit("/mj/submit/simple-change", { content: `${parent.id} U5` })).toMatchObject({ code: 4 });
		expect(await submit("/mj/submit/simple-change", { content: "garbage" })).toMatchObject({ code: 4 });
	});

	it("refuses an unknown parent (3), an unfinished one (4), a bad index (4) and a non-grid (4)", async () => {
		expect(
			await submit("/mj/submit/change", { taskId: "9999999999999999", action: "UPSCALE", index: 1 }),
		).toMatchObject({
			code: 3,
			description: "task not found",
		});
		const slow = await imagine("a tortoise --sim-slow");
		expect(await submit("/mj/submit/change", { taskId: slow, action: "UPSCALE", index: 1 })).toMatchObject({ code: 4 });

		const { task: parent } = await settle(await imagine("a meadow"));
		for (const index of [0, 5, undefined]) {
			expect(await submit("/mj/submit/change", { taskId: parent.id, action: "VARIATION", index })).toMatchObject({
				code: 4,
			});
		}
		const upscale = await submit("/mj/submit/change", { taskId: parent.id, action: "UPSCALE", index: 1 });
		await settle(upscale.result as string);
		expect(await submit("/mj/submit/change", { taskId: upscale.result, action: "UPSCALE", index: 1 })).toMatchObject({
			code: 4,
		});
	});
});

describe("face swap", () => {
	it("needs both images and finishes as a single SWAP_FACE image", async () => {
		expect(await submit("/mj/insight-face/swap", { sourceBase64: "abc", targetBase64: "" })).toMatchObject({ code: 4 });
		const reply = await submit("/mj/insight-face/swap", {
			sourceBase64: "data:image/png;base64,AAA",
			targetBase64: "BBB",
		});
		expect(reply.code).toBe(1);
		const { task } = await settle(reply.result as string);
		expect(task).toMatchObject({ action: "SWAP_FACE", status: "SUCCESS", buttons: [] });
		await image(task.imageUrl as string);
	});
});

describe("list-by-condition", () => {
	it("returns the known tasks and silently leaves out unknown ids", async () => {
		const [a, b] = await Promise.all([imagine("list one"), imagine("list two")]);
		const response = await call("/mj/task/list-by-condition", { body: { ids: [a, "1111111111111111", b, "junk"] } });
		expect(response.status).toBe(200);
		const tasks = await response.json<UpstreamTask[]>();
		expect(tasks.map((t) => t.id).sort()).toEqual([a, b].sort());
	});
});

describe("notifyHook", () => {
	afterEach(() => {
		vi.restoreAllMocks();
	});

	it("posts every change to the hook until the final status, skipping a failed delivery", async () => {
		const posts: { url: string; method: string; body: UpstreamTask }[] = [];
		let calls = 0;
		vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			const request = new Request(input, init);
			calls++;
			if (calls === 1) throw new TypeError("network down"); // this one is lost, the rest still go
			posts.push({ url: request.url, method: request.method, body: await request.json<UpstreamTask>() });
			return new Response("ok");
		});

		const id = await imagine("a hooked fish", { notifyHook: "http://hook.test/x", state: "cb" });
		const stub = env.SIMULATOR.get(env.SIMULATOR.idFromName(id));
		const deadline = Date.now() + 10_000;
		// Alarms run early here are harmless: unchanged state is not posted again.
		while (await runDurableObjectAlarm(stub)) {
			if (Date.now() > deadline) throw new Error("alarms never stopped");
			await sleep(50);
		}

		expect(calls).toBeGreaterThanOrEqual(2);
		for (const post of posts) {
			expect(post.url).toBe("http://hook.test/x");
			expect(post.method).toBe("POST");
			expect(upstreamTaskSchema.safeParse(post.body).success).toBe(true);
		}
		const keys = posts.map((p) => `${p.body.status}:${p.body.progress}`);
		expect(new Set(keys).size).toBe(keys.length);
		expect(keys).not.toContain("SUBMITTED:0%");
		expect(posts.at(-1)?.body).toMatchObject({ id, status: "SUCCESS", progress: "100%", state: "cb" });
		// The hook carries exactly what fetch answers.
		expect(posts.at(-1)?.body).toEqual(await (await call(`/mj/task/${id}/fetch`)).json());
	});
});
