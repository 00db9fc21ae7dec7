/**
 * The built-in upstream simulator: a fake midjourney-proxy answering in-process at
 * SIMULATOR_ORIGIN, so local development and tests exercise the real upstream client
 * without Discord. Each task lives in its own SimulatorObject.
 *
 * Marker words anywhere in a prompt force the paths a real upstream takes only sometimes
 * (change tasks inherit their parent's prompt, hence its markers):
 * - `--sim-banned`      submit answers code 24 "May contain a banned word"; no task is created.
 * - `--sim-fail`        the task fails half-way: FAILURE, failReason "simulated failure",
 *                       progress left at "50%".
 * - `--sim-queue`       submit answers code 22 "In queue, 1 task ahead"; the task runs normally.
 * - `--sim-size <N>mb`  the result image is about N megabytes (4096 px wide; capped at 200).
 * - `--sim-slow`        every step takes 10x SIMULATOR_STEP_MS, to keep a task in flight.
 *
 * Timing: SUBMITTED "0%" at submit, IN_PROGRESS "25%"/"50%"/"75%" after 1/2/3 steps, SUCCESS
 * "100%" after 4 steps (FAILURE after 3 with `--sim-fail`); one step is SIMULATOR_STEP_MS.
 *
 * HTTP conventions: a missing or wrong `mj-api-secret` is 401 `{code: 4}`; a body that is not
 * JSON or has the wrong shape is 400 `{code: 4}`; rule violations (empty prompt, index out of
 * 1..4, unknown or unfinished parent) are HTTP 200 with the protocol's code, as
 * midjourney-proxy does. Images under /sim/image need no secret, like a CDN link.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { SUBMIT_CODE, type SubmitReply } from "../protocol";
import { SIMULATOR_SECRET } from "./constants";
import {
	gridImage,
	type ImageSpec,
	MAX_MEGABYTES,
	renderPng,
	singleImage,
	upscaleImage,
	variationImage,
} from "./images";
import type { NewSimTask, SimSnapshot, SimTask } from "./object";

type SimContext = Context<{ Bindings: Env }>;

/** A failure answered with the protocol's `{code, description}` envelope. */
class SimulatorError extends Error {
	readonly status: 400 | 401 | 404;
	readonly code: number;
	constructor(status: 400 | 401 | 404, code: number, message: string) {
		super(message);
		this.name = "SimulatorError";
		this.status = status;
		this.code = code;
	}
}

interface Markers {
	banned: boolean;
	fail: boolean;
	queue: boolean;
	slow: boolean;
	megabytes?: number;
}

/** Reads the `--sim-*` marker words of a prompt. */
export function parseMarkers(prompt: string): Markers {
	const has = (word: string) => new RegExp(`(^|\\s)--sim-${word}(?=\\s|$)`, "i").test(prompt);
	const size = /(?:^|\s)--sim-size\s+(\d+(?:\.\d+)?)\s*mb(?=\s|$)/i.exec(prompt);
	const megabytes = size ? Math.min(Number(size[1]), MAX_MEGABYTES) : undefined;
	return {
		banned: has("banned"),
		fail: has("fail"),
		queue: has("queue"),
		slow: has("slow"),
		...(megabytes && megabytes > 0 ? { megabytes } : {}),
	};
}

const hookFields = {
	notifyHook: z.string().nullish(),
	state: z.string().nullish(),
};
const imagineSchema = z.object({ prompt: z.string(), base64Array: z.array(z.string()).nullish(), ...hookFields });
const changeSchema = z.object({
	taskId: z.string(),
	action: z.enum(["UPSCALE", "VARIATION", "REROLL"]),
	index: z.number().int().nullish(),
	...hookFields,
});
const simpleChangeSchema = z.object({ content: z.string(), ...hookFields });
const swapFaceSchema = z.object({
	sourceBase64: z.string().nullish(),
	targetBase64: z.string().nullish(),
	...hookFields,
});
const listSchema = z.object({ ids: z.array(z.union([z.string(), z.number()]).transform(String)).max(1000) });

type HookFields = { notifyHook?: string | null; state?: string | null };
type ChangeRequest = z.infer<typeof changeSchema>;

const mj = new Hono<{ Bindings: Env }>();

mj.use("*", async (c, next) => {
	if (c.req.header("mj-api-secret") !== SIMULATOR_SECRET) {
		throw new SimulatorError(401, SUBMIT_CODE.VALIDATION_ERROR, "missing or wrong mj-api-secret");
	}
	await next();
});

mj.post("/submit/imagine", async (c) => {
	const body = await readBody(c, imagineSchema);
	const prompt = body.prompt;
	if (prompt.trim() === "") return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "prompt is required"));
	const markers = parseMarkers(prompt);
	if (markers.banned) {
		return c.json(
			reply(SUBMIT_CODE.BANNED_PROMPT, "May contain a banned word", undefined, {
				promptEn: prompt,
				bannedWord: "sim-banned",
			}),
		);
	}
	const hook = hookOf(body);
	if ("code" in hook) return c.json(hook);
	const seed = [prompt, ...(body.base64Array ?? [])].join("\n");
	const id = await createTask(c.env, markers, (newId) => ({
		id: newId,
		action: "IMAGINE",
		prompt,
		customId: "",
		image: gridImage(seed, markers.megabytes),
		...hook,
	}));
	return c.json(accepted(id, markers));
});

mj.post("/submit/change", async (c) => c.json(await submitChange(c, await readBody(c, changeSchema))));

mj.post("/submit/simple-change", async (c) => {
	const body = await readBody(c, simpleChangeSchema);
	const malformed = reply(SUBMIT_CODE.VALIDATION_ERROR, 'content must look like "<taskId> U1..U4 | V1..V4 | R"');
	const match = /^\s*(\S+)\s+([UVR])(\d*)\s*$/i.exec(body.content);
	if (!match) return c.json(malformed);
	const [, taskId = "", letter = "", digits = ""] = match;
	const kind = letter.toUpperCase();
	const action = kind === "U" ? "UPSCALE" : kind === "V" ? "VARIATION" : "REROLL";
	if ((action === "REROLL") !== (digits === "")) return c.json(malformed);
	const index = digits === "" ? undefined : Number(digits);
	return c.json(await submitChange(c, { ...body, taskId, action, index }));
});

mj.post("/insight-face/swap", async (c) => {
	const body = await readBody(c, swapFaceSchema);
	if (!body.sourceBase64 || !body.targetBase64) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "sourceBase64 and targetBase64 are required"));
	}
	const hook = hookOf(body);
	if ("code" in hook) return c.json(hook);
	const markers = parseMarkers("");
	const seed = `${body.sourceBase64}\n${body.targetBase64}`;
	const id = await createTask(c.env, markers, (newId) => ({
		id: newId,
		action: "SWAP_FACE",
		prompt: "",
		customId: "",
		image: singleImage(seed),
		...hook,
	}));
	return c.json(accepted(id, markers));
});

// midjourney-proxy answers 200 with an empty body for an unknown id; a 404 with `null` says
// the same more plainly, and the upstream client accepts both.
mj.get("/task/:id/fetch", async (c) => {
	const task = await viewTask(c.env, c.req.param("id"));
	return task ? c.json(task) : c.json(null, 404);
});

mj.post("/task/list-by-condition", async (c) => {
	const { ids } = await readBody(c, listSchema);
	const tasks = await Promise.all([...new Set(ids)].map((id) => viewTask(c.env, id)));
	return c.json(tasks.filter((task): task is SimTask => task !== null));
});

/** The simulator's HTTP surface; reached through `upstreamFetch`, never the network. */
export const simulatorApp = new Hono<{ Bindings: Env }>();

simulatorApp.get("/sim/image/:file", async (c) => {
	const id = /^(\d{1,40})\.png$/.exec(c.req.param("file"))?.[1];
	const snapshot = id ? await snapshotOf(c.env, id) : null;
	if (snapshot?.task.status !== "SUCCESS") {
		throw new SimulatorError(404, SUBMIT_CODE.NOT_FOUND, "image not found");
	}
	const { body, length } = renderPng(snapshot.record.image);
	// A FixedLengthStream body has a known length, which R2 needs to store it as it streams.
	const fixed = new FixedLengthStream(length);
	body.pipeTo(fixed.writable).catch(() => {
		// The reader went away; the pipe has already cancelled the renderer.
	});
	return new Response(fixed.readable, {
		headers: {
			"content-type": "image/png",
			"content-length": String(length),
			"cache-control": "public, max-age=31536000, immutable",
		},
	});
});

for (const prefix of ["/mj", "/mj-fast/mj", "/mj-relax/mj", "/mj-turbo/mj"]) simulatorApp.route(prefix, mj);

simulatorApp.notFound((c) => c.json({ code: SUBMIT_CODE.NOT_FOUND, description: "no such route" }, 404));

simulatorApp.onError((error, c) => {
	if (error instanceof SimulatorError) return c.json({ code: error.code, description: error.message }, error.status);
	console.error("simulator error", error);
	return c.json({ code: SUBMIT_CODE.FAILURE, description: "simulator system error" }, 500);
});

async function submitChange(c: SimContext, body: ChangeRequest): Promise<SubmitReply> {
	const parent = await snapshotOf(c.env, body.taskId);
	if (!parent) return reply(SUBMIT_CODE.NOT_FOUND, "task not found");
	if (parent.task.status !== "SUCCESS") return reply(SUBMIT_CODE.VALIDATION_ERROR, "task is not finished");
	const parentImage = parent.record.image;
	if (parentImage.kind !== "grid") return reply(SUBMIT_CODE.VALIDATION_ERROR, `task has no ${body.action} button`);
	const index = body.action === "REROLL" ? 0 : body.index;
	if (index === undefined || index === null || (body.action !== "REROLL" && (index < 1 || index > 4))) {
		return reply(SUBMIT_CODE.VALIDATION_ERROR, "index must be 1..4");
	}
	const hook = hookOf(body);
	if ("code" in hook) return hook;
	const prompt = parent.record.prompt;
	const markers = parseMarkers(prompt);
	const { jobHash } = parent.record;
	const id = await createTask(c.env, markers, (newId) => {
		const change = changeOf(body.action, parentImage, index, newId, prompt, markers.megabytes);
		return {
			id: newId,
			action: body.action,
			prompt,
			customId:
				body.action === "REROLL"
					? `MJ::JOB::reroll::0::${jobHash}::SOLO`
					: `MJ::JOB::${change.verb}::${index}::${jobHash}`,
			image: change.image,
			...hook,
		};
	});
	return accepted(id, markers);
}

function changeOf(
	action: ChangeRequest["action"],
	parent: ImageSpec,
	index: number,
	newId: string,
	prompt: string,
	megabytes: number | undefined,
): { verb: string; image: ImageSpec } {
	switch (action) {
		case "UPSCALE":
			return { verb: "upsample", image: upscaleImage(parent, index, megabytes) };
		case "VARIATION":
			return { verb: "variation", image: variationImage(parent, index, newId, megabytes) };
		case "REROLL":
			return { verb: "reroll", image: gridImage(`${prompt}\n${newId}`, megabytes) };
	}
}

/** A task as a route describes it; the markers add its pace and fate. */
type TaskInput = Omit<NewSimTask, "stepMs" | "fail">;

/** Allocates a fresh id and stores the task under it; `build` sees the id (variation seeds use it). */
async function createTask(env: Env, markers: Markers, build: (id: string) => TaskInput): Promise<string> {
	const stepMs = stepMsOf(env) * (markers.slow ? 10 : 1);
	for (let attempt = 0; attempt < 5; attempt++) {
		const id = newTaskId();
		if (await stub(env, id).create({ ...build(id), stepMs, fail: markers.fail })) return id;
	}
	throw new Error("could not allocate a simulator task id");
}

/** Numeric like midjourney-proxy's ids: epoch ms plus 4 random digits (17 digits). */
function newTaskId(): string {
	const random = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
	return `${Date.now()}${String(random % 10_000).padStart(4, "0")}`;
}

function stepMsOf(env: Env): number {
	const step = Number(env.SIMULATOR_STEP_MS);
	return Number.isFinite(step) && step > 0 ? step : 800;
}

function stub(env: Env, id: string) {
	return env.SIMULATOR.getByName(id);
}

async function viewTask(env: Env, id: string): Promise<SimTask | null> {
	return isTaskId(id) ? stub(env, id).view() : null;
}

async function snapshotOf(env: Env, id: string): Promise<SimSnapshot | null> {
	return isTaskId(id) ? stub(env, id).snapshot() : null;
}

/** Only well-formed ids reach a Durable Object, so junk never instantiates one. */
function isTaskId(id: string): boolean {
	return /^\d{1,40}$/.test(id);
}

/** The hook fields to store, or a code-4 reply when the notifyHook is not an http(s) URL. */
function hookOf(body: HookFields): { notifyHook: string | null; state: string | null } | SubmitReply {
	const notifyHook = body.notifyHook?.trim() || null;
	if (notifyHook !== null) {
		const url = URL.parse(notifyHook);
		if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
			return reply(SUBMIT_CODE.VALIDATION_ERROR, "notifyHook must be an http(s) URL");
		}
	}
	return { notifyHook, state: body.state ?? null };
}

function accepted(id: string, markers: Markers): SubmitReply {
	return markers.queue
		? reply(SUBMIT_CODE.IN_QUEUE, "In queue, 1 task ahead", id, { discordInstanceId: "sim", numberOfQueues: 1 })
		: reply(SUBMIT_CODE.SUCCESS, "Submitted", id, { discordInstanceId: "sim" });
}

function reply(
	code: number,
	description: string,
	result?: string,
	properties: Record<string, unknown> = {},
): SubmitReply {
	return { code, description, result: result ?? null, properties };
}

async function readBody<T extends z.ZodType>(c: SimContext, schema: T): Promise<z.output<T>> {
	let json: unknown;
	try {
		json = await c.req.json();
	} catch {
		throw new SimulatorError(400, SUBMIT_CODE.VALIDATION_ERROR, "request body is not valid JSON");
	}
	const parsed = schema.safeParse(json);
	if (!parsed.success) {
		throw new SimulatorError(
			400,
			SUBMIT_CODE.VALIDATION_ERROR,
			`invalid request body: ${z.prettifyError(parsed.error)}`,
		);
	}
	return parsed.data;
}
