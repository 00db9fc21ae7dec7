/** Helpers of the simulator's tests (test/integration/simulator*.test.ts): calls through the SIMULATOR binding, polling a task, the button rows. */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { SIMULATOR_SECRET } from "../../src/upstream/fetcher";
import { type UpstreamTask, upstreamTaskSchema } from "../../src/upstream/protocol";
import { waitFor } from "./api";

export interface Reply {
	code: number;
	description?: string;
	result?: string | string[] | null;
	properties?: Record<string, unknown>;
}

export const ORIGIN = env.SIMULATOR_URL;
export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** A tiny base64 "image": the simulator checks the encoding, not the pixels. */
export const IMAGE = "data:image/png;base64,iVBORw0KGgo=";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function call(
	path: string,
	options: { method?: string; body?: unknown; rawBody?: string; secret?: string | null } = {},
): Promise<Response> {
	const headers = new Headers({ "content-type": "application/json" });
	if (options.secret !== null) headers.set("mj-api-secret", options.secret ?? SIMULATOR_SECRET);
	const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
	const method = options.method ?? (body === undefined ? "GET" : "POST");
	return env.SIMULATOR.fetch(new Request(`${ORIGIN}${path}`, { method, headers, body }));
}

export async function submit(path: string, body: unknown): Promise<Reply> {
	const response = await call(path, { body });
	expect(response.status).toBe(200);
	return response.json<Reply>();
}

export async function accepted(path: string, body: unknown, code = 1): Promise<string> {
	const reply = await submit(path, body);
	expect(reply.code, reply.description).toBe(code);
	expect(reply.result).toMatch(/^\d{16,}$/);
	return reply.result as string;
}

export const imagine = (prompt: string, extra: Record<string, unknown> = {}) =>
	accepted("/mj/submit/imagine", { prompt, ...extra });

export async function fetchTask(id: string, prefix = "/mj"): Promise<UpstreamTask | null> {
	const response = await call(`${prefix}/task/${id}/fetch`);
	const json = await response.json();
	if (response.status === 404) return null;
	expect(response.status).toBe(200);
	return upstreamTaskSchema.parse(json);
}

export const FINAL = ["SUCCESS", "FAILURE", "CANCEL"];

/** Polls until the task is final, recording every status:progress seen on the way. */
export async function settle(id: string, timeoutMs = 8_000): Promise<{ task: UpstreamTask; seen: string[] }> {
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

export const done = async (id: string) => (await settle(id)).task;

/** Polls until the task's status or progress changes from what it first showed (one step taken). */
export async function stepped(id: string, timeoutMs = 8_000): Promise<void> {
	const keyOf = (task: UpstreamTask | null) => `${task?.status}:${task?.progress}`;
	const first = keyOf(await fetchTask(id));
	await waitFor(async () => keyOf(await fetchTask(id)) !== first, timeoutMs, `task ${id} to leave ${first}`);
}

/** The task as sent, before the gateway's schema drops fields it does not read (botType). */
export async function rawTask(id: string): Promise<Record<string, unknown>> {
	return (await call(`/mj/task/${id}/fetch`)).json<Record<string, unknown>>();
}

export async function succeeded(id: string): Promise<UpstreamTask> {
	const task = await done(id);
	expect(task.status, task.failReason ?? "").toBe("SUCCESS");
	return task;
}

export async function media(url: string, type: string): Promise<Uint8Array> {
	const response = await env.SIMULATOR.fetch(url);
	expect(response.status).toBe(200);
	expect(response.headers.get("content-type")).toBe(type);
	const bytes = new Uint8Array(await response.arrayBuffer());
	expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
	return bytes;
}

export async function png(url: string): Promise<Uint8Array> {
	const bytes = await media(url, "image/png");
	expect([...bytes.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
	return bytes;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
	return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

export const customIds = (task: UpstreamTask) => (task.buttons ?? []).map((button) => button.customId);
export const hashOf = (task: UpstreamTask) =>
	(customIds(task)[0] ?? "").split("::").find((part) => /^[0-9a-f-]{36}$/.test(part));

export const GRID_BUTTONS = (hash: string) => [
	...[1, 2, 3, 4].map((n) => `MJ::JOB::upsample::${n}::${hash}`),
	`MJ::JOB::reroll::0::${hash}::SOLO`,
	...[1, 2, 3, 4].map((n) => `MJ::JOB::variation::${n}::${hash}`),
];
export const UPSCALED_BUTTONS = (hash: string) => [
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
export const VIDEO_BUTTONS = (hash: string) => [
	`MJ::JOB::animate_high_extend::1::${hash}::SOLO`,
	`MJ::JOB::animate_low_extend::1::${hash}::SOLO`,
];

/** Which row of buttons a finished task shows, judged from its customIds. */
export function buttonKind(task: UpstreamTask): "grid" | "upscaled" | "video" | "none" {
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

export async function press(parent: UpstreamTask, customId: string, code = 1): Promise<string> {
	return accepted("/mj/submit/action", { taskId: parent.id, customId }, code);
}

export async function upscaled(prompt: string): Promise<UpstreamTask> {
	const grid = await succeeded(await imagine(prompt));
	return succeeded(await press(grid, `MJ::JOB::upsample::1::${hashOf(grid)}`));
}
