/**
 * The upstream simulator: a fake midjourney-proxy Worker speaking the whole protocol of
 * shared/UPSTREAM.md, so local development and tests exercise the gateway's real upstream
 * client without Discord. Each task lives in its own SimTaskObject; markers in a prompt
 * force the failure paths (see markers.ts).
 *
 * Timing: SUBMITTED "0%" at submit (MODAL until /submit/modal for Vary (Region) and Custom
 * Zoom), IN_PROGRESS "25%"/"50%"/"75%" after 1/2/3 steps, SUCCESS "100%" after 4 steps
 * (FAILURE after 3 with `--sim-fail`); one step is SIMULATOR_STEP_MS.
 *
 * HTTP conventions: a missing or wrong `mj-api-secret` is 401 `{code: 4}`; a body that is not
 * JSON or has the wrong shape is 400 `{code: 4}`; rule violations (empty prompt, index out of
 * 1..4, unknown or unfinished parent, a button the parent does not show) are HTTP 200 with the
 * protocol's code, as midjourney-proxy does. Every route is served under /mj and the speed
 * prefixes /mj-fast/mj, /mj-relax/mj, /mj-turbo/mj, and each task records the prefix it was
 * submitted under as `properties.mode`. Pictures under /sim/image and /sim/upload and videos
 * under /sim/video need no secret, like a CDN link.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { SUBMIT_CODE, type SubmitReply } from "../../src/upstream/protocol";
import { type ButtonIntent, type ButtonSet, intentOf } from "./buttons";
import { SIMULATOR_SECRET, type SimulatorEnv } from "./env";
import {
	derivedGrid,
	derivedSingle,
	gridImage,
	type ImageSpec,
	pngResponse,
	singleImage,
	sourceTile,
	upscaleImage,
	variationImage,
} from "./images";
import { type Markers, parseMarkers } from "./markers";
import {
	isFinal,
	type NewSimTask,
	type SimAction,
	type SimRequest,
	type SimResult,
	type SimSnapshot,
	type SimTask,
	type SpeedMode,
} from "./object";
import { describePrompts, shortenPrompt } from "./prompts";
import { SAMPLE_MP4_BASE64 } from "./sample-video";

type SimContext = Context<{ Bindings: SimulatorEnv }>;

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

const hookFields = {
	notifyHook: z.string().nullish(),
	state: z.string().nullish(),
};
const imagineSchema = z.object({
	prompt: z.string(),
	base64Array: z.array(z.string()).nullish(),
	botType: z.enum(["MID_JOURNEY", "NIJI_JOURNEY"]).nullish(),
	...hookFields,
});
const changeSchema = z.object({
	taskId: z.string(),
	action: z.enum(["UPSCALE", "VARIATION", "REROLL"]),
	index: z.number().int().nullish(),
	...hookFields,
});
const simpleChangeSchema = z.object({ content: z.string(), ...hookFields });
const actionSchema = z.object({
	taskId: z.string(),
	customId: z.string(),
	enableRemix: z.boolean().nullish(),
	strong: z.boolean().nullish(),
	...hookFields,
});
const modalSchema = z.object({ taskId: z.string(), prompt: z.string().nullish(), maskBase64: z.string().nullish() });
const describeSchema = z.object({
	base64: z.string().nullish(),
	link: z.string().nullish(),
	language: z.string().nullish(),
	...hookFields,
});
/** The languages the simulated describe writes in; any other is refused (code 4), as a channel that cannot would. */
const DESCRIBE_LANGUAGES = new Set(["en", "zh", "zh_cn", "zh-cn"]);
const blendSchema = z.object({
	base64Array: z.array(z.string()),
	dimensions: z.string().nullish(),
	...hookFields,
});
const shortenSchema = z.object({ prompt: z.string(), ...hookFields });
const videoSchema = z.object({
	prompt: z.string().nullish(),
	image: z.string().nullish(),
	taskId: z.string().nullish(),
	index: z.number().int().nullish(),
	motion: z.enum(["low", "high"]).nullish(),
	action: z.enum(["extend"]).nullish(),
	endImage: z.string().nullish(),
	loop: z.boolean().nullish(),
	batchSize: z.number().int().nullish(),
	videoType: z.string().nullish(),
	...hookFields,
});
const VIDEO_TYPES = new Set(["vid_1.1_i2v_480", "vid_1.1_i2v_720"]);
const editsSchema = z.object({ prompt: z.string(), image: z.string().nullish(), ...hookFields });
const uploadSchema = z.object({ base64Array: z.array(z.string()) });
const swapFaceSchema = z.object({
	sourceBase64: z.string().nullish(),
	sourceUrl: z.string().nullish(),
	targetBase64: z.string().nullish(),
	targetUrl: z.string().nullish(),
	...hookFields,
});
const listSchema = z.object({ ids: z.array(z.union([z.string(), z.number()]).transform(String)).max(1000) });

type HookFields = { notifyHook?: string | null; state?: string | null };
type Hook = { notifyHook: string | null; state: string | null };

/** A task as a route describes it; `launch` adds the id, the hook, the mode, the pace and the fate. */
interface Draft {
	action: SimAction;
	prompt: string;
	customId?: string;
	botType?: string;
	result: SimResult;
	buttons: ButtonSet;
	/** Defaults to the prompt with the model's version flag, as Midjourney reports it. */
	finalPrompt?: string;
	awaitsModal?: boolean;
	remix?: boolean;
	videos?: number;
	request?: SimRequest;
}

const BLEND_RATIOS: Record<string, string> = { PORTRAIT: "2:3", SQUARE: "1:1", LANDSCAPE: "3:2" };
const VIDEO_BYTES = Uint8Array.from(atob(SAMPLE_MP4_BASE64), (ch) => ch.charCodeAt(0));

const mj = new Hono<{ Bindings: SimulatorEnv }>();

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
	const seed = [prompt, ...(body.base64Array ?? [])].join("\n");
	return c.json(
		await launch(c, body, prompt, (_id, markers) => ({
			action: "IMAGINE",
			prompt,
			botType: body.botType ?? "MID_JOURNEY",
			result: { kind: "image", image: gridImage(seed, markers.megabytes) },
			buttons: "grid",
		})),
	);
});

mj.post("/submit/change", async (c) => {
	const body = await readBody(c, changeSchema);
	return c.json(await submitChange(c, body, body.action, body.index ?? undefined));
});

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
	return c.json(await submitChange(c, { ...body, taskId }, action, index));
});

mj.post("/submit/action", async (c) => {
	const body = await readBody(c, actionSchema);
	const press = { remix: body.enableRemix === true, strong: body.strong ?? undefined };
	return c.json(await pressButton(c, await snapshotOf(c.env, body.taskId), body.customId, body, press));
});

mj.post("/submit/modal", async (c) => {
	const body = await readBody(c, modalSchema);
	const parent = await snapshotOf(c.env, body.taskId);
	// An unknown id is one more task that is not waiting: code 4, as the protocol has it.
	if (parent?.task.status !== "MODAL") {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "task is not waiting for a modal"));
	}
	const prompt = body.prompt?.trim() ?? "";
	if (parent.record.action === "INPAINT" && !isImageData(body.maskBase64)) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "maskBase64 (a base64 or data-URL image) is required"));
	}
	if (parent.record.remix && prompt === "") {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "prompt is required: the remix's new prompt"));
	}
	if (parent.record.action === "CUSTOM_ZOOM" && prompt === "") {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, 'prompt is required, e.g. "--zoom 1.8"'));
	}
	if (!(await stub(c.env, body.taskId).confirmModal(prompt || null))) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "task is not waiting for a modal"));
	}
	return c.json(accepted(body.taskId, parseMarkers(parent.record.prompt)));
});

mj.post("/submit/describe", async (c) => {
	const body = await readBody(c, describeSchema);
	const link = body.link?.trim() ?? "";
	if (!isImageData(body.base64) && !isHttpUrl(link)) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "base64 (an image) or link (an http(s) URL) is required"));
	}
	const language = body.language?.trim().toLowerCase() || undefined;
	if (language && !DESCRIBE_LANGUAGES.has(language)) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, `describe cannot write in language "${language}"`));
	}
	const seed = body.base64 || link;
	const prompts = describePrompts(seed, language);
	return c.json(
		await launch(c, body, "", () => ({
			action: "DESCRIBE",
			prompt: prompts,
			result: { kind: "image", image: singleImage(seed) },
			buttons: "none",
			finalPrompt: prompts,
			request: language ? { language } : {},
		})),
	);
});

mj.post("/submit/blend", async (c) => {
	const body = await readBody(c, blendSchema);
	const images = body.base64Array;
	if (images.length < 2 || images.length > 5 || !images.every((image) => isImageData(image))) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "base64Array must hold 2 to 5 images"));
	}
	const dimensions = body.dimensions ?? "SQUARE";
	const ratio = BLEND_RATIOS[dimensions];
	if (!ratio) return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "dimensions must be PORTRAIT, SQUARE or LANDSCAPE"));
	return c.json(
		await launch(c, body, "", () => ({
			action: "BLEND",
			prompt: "",
			result: { kind: "image", image: gridImage(`${images.join("\n")}\n${dimensions}`) },
			buttons: "grid",
			finalPrompt: `blend of ${images.length} images --ar ${ratio} --v 6`,
		})),
	);
});

mj.post("/submit/shorten", async (c) => {
	const body = await readBody(c, shortenSchema);
	const prompt = body.prompt;
	if (prompt.trim() === "") return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "prompt is required"));
	return c.json(
		await launch(c, body, prompt, () => ({
			action: "SHORTEN",
			prompt,
			result: { kind: "text" },
			buttons: "none",
			finalPrompt: shortenPrompt(prompt),
		})),
	);
});

mj.post("/submit/video", async (c) => {
	const body = await readBody(c, videoSchema);
	const motion = body.motion ?? "low";
	const batchSize = body.batchSize ?? 1;
	if (![1, 2, 4].includes(batchSize)) return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "batchSize must be 1, 2 or 4"));
	if (body.videoType && !VIDEO_TYPES.has(body.videoType)) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, `unknown videoType ${body.videoType}`));
	}
	if (body.endImage != null && !isImageData(body.endImage)) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "endImage must be a base64 or data-URL image"));
	}
	if (body.endImage && body.loop)
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "loop and endImage exclude each other"));
	const request: SimRequest = {
		...(body.endImage ? { endImage: true } : {}),
		...(body.loop != null ? { loop: body.loop } : {}),
		...(body.batchSize != null ? { batchSize: body.batchSize } : {}),
		...(body.videoType ? { videoType: body.videoType } : {}),
	};
	const flags = `${body.loop ? " --loop" : ""}${body.endImage ? " --end" : ""}${body.videoType === "vid_1.1_i2v_720" ? " --hd" : ""}`;
	if (body.taskId) {
		const parent = await snapshotOf(c.env, body.taskId);
		if (!parent) return c.json(reply(SUBMIT_CODE.NOT_FOUND, "task not found"));
		if (parent.task.status !== "SUCCESS") return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "task is not finished"));
		const { record } = parent;
		let intent: ButtonIntent;
		let index = 1;
		if (body.action === "extend") {
			if (record.action !== "VIDEO") return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "only a video can be extended"));
			intent = { kind: "extend", motion };
		} else if (record.buttons === "grid" || record.buttons === "upscaled") {
			if (record.buttons === "grid") {
				if (!body.index || body.index < 1 || body.index > 4) {
					return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "index must be 1..4"));
				}
				index = body.index;
			}
			intent = { kind: "animate", motion };
		} else {
			return c.json(
				reply(SUBMIT_CODE.VALIDATION_ERROR, 'task has no picture to animate (a video takes action "extend")'),
			);
		}
		return c.json(
			await followUp(c, parent, intent, "", body, {
				index,
				prompt: body.prompt?.trim() || undefined,
				video: { videos: batchSize, request, flags },
			}),
		);
	}
	if (!isImageData(body.image)) return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "image or taskId is required"));
	const image = body.image;
	const prompt = body.prompt?.trim() ?? "";
	return c.json(
		await launch(c, body, prompt, (_id, markers) => ({
			action: "VIDEO",
			prompt,
			result: { kind: "video", cover: singleImage(`${image}\n${prompt}`, markers.megabytes) },
			buttons: "video",
			finalPrompt: `${prompt} --motion ${motion} --video 1${flags}`.trim(),
			videos: batchSize,
			request,
		})),
	);
});

mj.on("POST", ["/submit/edits", "/submit/edit"], async (c) => {
	const body = await readBody(c, editsSchema);
	const prompt = body.prompt;
	if (prompt.trim() === "" || !isImageData(body.image)) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "prompt and image are required"));
	}
	const seed = `${prompt}\n${body.image}`;
	return c.json(
		await launch(c, body, prompt, (_id, markers) => ({
			action: "EDITS",
			prompt,
			result: { kind: "image", image: singleImage(seed, markers.megabytes) },
			buttons: "none",
		})),
	);
});

mj.post("/submit/retexture", async (c) => {
	const body = await readBody(c, editsSchema);
	const prompt = body.prompt;
	if (prompt.trim() === "" || !isImageData(body.image)) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "prompt and image are required"));
	}
	const seed = `retexture\n${prompt}\n${body.image}`;
	return c.json(
		await launch(c, body, prompt, (_id, markers) => ({
			action: "RETEXTURE",
			prompt,
			result: { kind: "image", image: gridImage(seed, markers.megabytes) },
			buttons: "grid",
		})),
	);
});

mj.post("/submit/upload-discord-images", async (c) => {
	const { base64Array } = await readBody(c, uploadSchema);
	if (base64Array.length === 0 || !base64Array.every((image) => isImageData(image))) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "base64Array must hold images"));
	}
	const origin = new URL(c.req.url).origin;
	const urls = await Promise.all(base64Array.map(async (image) => `${origin}/sim/upload/${await digest(image)}.png`));
	return c.json({ code: SUBMIT_CODE.SUCCESS, description: "Success", result: urls, properties: {} });
});

mj.post("/insight-face/swap", async (c) => {
	const body = await readBody(c, swapFaceSchema);
	const source = body.sourceBase64 || body.sourceUrl;
	const target = body.targetBase64 || body.targetUrl;
	if (!source || !target) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "sourceBase64 and targetBase64 are required"));
	}
	return c.json(
		await launch(c, body, "", () => ({
			action: "SWAP_FACE",
			prompt: "",
			botType: "INSIGHT_FACE",
			result: { kind: "image", image: singleImage(`${source}\n${target}`) },
			buttons: "none",
			finalPrompt: "",
		})),
	);
});

// trueai-org takes a video face swap as a multipart form: the face as text (base64 or URL), the video as a file or URL.
mj.post("/insight-face/video-swap", async (c) => {
	let form: FormData;
	try {
		form = await c.req.formData();
	} catch {
		throw new SimulatorError(400, SUBMIT_CODE.VALIDATION_ERROR, "the body must be a multipart form");
	}
	const text = (name: string) => {
		const value = form.get(name);
		return typeof value === "string" && value !== "" ? value : null;
	};
	const source = text("sourceBase64") ?? text("sourceUrl");
	const file = form.get("targetFile");
	const target = file instanceof File ? new Uint8Array(await file.arrayBuffer()) : null;
	const targetUrl = text("targetUrl");
	if (!source || (!target && !targetUrl)) {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "sourceBase64 and targetFile (or targetUrl) are required"));
	}
	if (target && new TextDecoder().decode(target.subarray(4, 8)) !== "ftyp") {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "targetFile must be an MP4 video"));
	}
	const body = { notifyHook: text("notifyHook"), state: text("state") };
	return c.json(
		await launch(c, body, "", () => ({
			action: "SWAP_VIDEO_FACE",
			prompt: "",
			botType: "INSIGHT_FACE",
			result: { kind: "video", cover: singleImage(`${source}\n${target?.length ?? targetUrl}`) },
			buttons: "none",
			finalPrompt: "",
			request: target ? { targetBytes: target.length } : {},
		})),
	);
});

// midjourney-proxy answers 200 with an empty body for an unknown id; a 404 with `null` says
// the same more plainly, and the upstream client accepts both.
mj.get("/task/:id/fetch", async (c) => {
	const task = await viewTask(c.env, c.req.param("id"));
	return task ? c.json(task) : c.json(null, 404);
});

mj.on("POST", ["/task/list-by-condition", "/task/list-by-ids"], async (c) => {
	const { ids } = await readBody(c, listSchema);
	return c.json(await viewTasks(c.env, [...new Set(ids)]));
});

mj.get("/task/list", async (c) => c.json(await viewTasks(c.env, await recentIds(c.env))));

mj.get("/task/queue", async (c) => {
	const tasks = await viewTasks(c.env, await recentIds(c.env));
	return c.json(tasks.filter((task) => !isFinal(task.status)));
});

mj.get("/task/:id/image-seed", async (c) => {
	const snapshot = await snapshotOf(c.env, c.req.param("id"));
	if (!snapshot) return c.json(reply(SUBMIT_CODE.NOT_FOUND, "task not found"));
	if (snapshot.task.status !== "SUCCESS" || snapshot.record.result.kind !== "image") {
		return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "only a finished image task has a seed"));
	}
	return c.json(reply(SUBMIT_CODE.SUCCESS, "Success", snapshot.record.seed));
});

mj.post("/task/:id/cancel", async (c) => {
	const id = c.req.param("id");
	const outcome = isTaskId(id) ? await stub(c.env, id).cancel() : null;
	if (outcome === null) return c.json(reply(SUBMIT_CODE.NOT_FOUND, "task not found"));
	if (outcome === "finished") return c.json(reply(SUBMIT_CODE.VALIDATION_ERROR, "task is already finished"));
	return c.json(reply(SUBMIT_CODE.SUCCESS, "Success", id));
});

/** The simulator's pictures never change once drawn. */
const IMMUTABLE = "public, max-age=31536000, immutable";

/** The simulator's HTTP surface. */
export const simulatorApp = new Hono<{ Bindings: SimulatorEnv }>();

simulatorApp.get("/sim/image/:file", async (c) => {
	const id = /^(\d{1,40})\.png$/.exec(c.req.param("file"))?.[1];
	const snapshot = id ? await snapshotOf(c.env, id) : null;
	const result = snapshot?.task.status === "SUCCESS" ? snapshot.record.result : null;
	if (!result || result.kind === "text") throw new SimulatorError(404, SUBMIT_CODE.NOT_FOUND, "image not found");
	return pngResponse(result.kind === "image" ? result.image : result.cover, IMMUTABLE);
});

simulatorApp.get("/sim/upload/:file", (c) => {
	const hex = /^([0-9a-f]{32})\.png$/.exec(c.req.param("file"))?.[1];
	if (!hex) throw new SimulatorError(404, SUBMIT_CODE.NOT_FOUND, "image not found");
	return pngResponse(singleImage(hex), IMMUTABLE);
});

simulatorApp.get("/sim/video/:file", async (c) => {
	// `<id>.mp4` is the first video of a task, `<id>_<n>.mp4` the n-th of a batch.
	const id = /^(\d{1,40})(?:_[1-3])?\.mp4$/.exec(c.req.param("file"))?.[1];
	const snapshot = id ? await snapshotOf(c.env, id) : null;
	if (snapshot?.task.status !== "SUCCESS" || snapshot.record.result.kind !== "video") {
		throw new SimulatorError(404, SUBMIT_CODE.NOT_FOUND, "video not found");
	}
	return videoResponse(c.req.header("range"));
});

for (const prefix of ["/mj", "/mj-fast/mj", "/mj-relax/mj", "/mj-turbo/mj"]) simulatorApp.route(prefix, mj);

simulatorApp.notFound((c) => c.json({ code: SUBMIT_CODE.NOT_FOUND, description: "no such route" }, 404));

simulatorApp.onError((error, c) => {
	if (error instanceof SimulatorError) return c.json({ code: error.code, description: error.message }, error.status);
	console.error("simulator error", error);
	return c.json({ code: SUBMIT_CODE.FAILURE, description: "simulator system error" }, 500);
});

/**
 * The sample video, whole or one byte range: Safari plays only what a server serves in
 * ranges, so `Range: bytes=a-b` (and `a-`, `-n`) gets a 206; anything else the whole file.
 */
function videoResponse(range: string | undefined): Response {
	const total = VIDEO_BYTES.length;
	const headers = {
		"content-type": "video/mp4",
		"accept-ranges": "bytes",
		"cache-control": "public, max-age=31536000, immutable",
	};
	const match = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
	if (!match || (match[1] === "" && match[2] === "")) {
		return new Response(VIDEO_BYTES, { headers: { ...headers, "content-length": String(total) } });
	}
	const [, from = "", to = ""] = match;
	const start = from === "" ? Math.max(0, total - Number(to)) : Number(from);
	const end = from === "" || to === "" ? total - 1 : Math.min(Number(to), total - 1);
	if (start > end || start >= total) {
		return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${total}` } });
	}
	return new Response(VIDEO_BYTES.slice(start, end + 1), {
		status: 206,
		headers: {
			...headers,
			"content-length": String(end - start + 1),
			"content-range": `bytes ${start}-${end}/${total}`,
		},
	});
}

/** The legacy change calls, answered as the button they name (so both paths behave alike). */
async function submitChange(
	c: SimContext,
	body: HookFields & { taskId: string },
	action: "UPSCALE" | "VARIATION" | "REROLL",
	index: number | undefined,
): Promise<SubmitReply> {
	const parent = await snapshotOf(c.env, body.taskId);
	if (!parent) return reply(SUBMIT_CODE.NOT_FOUND, "task not found");
	if (parent.task.status !== "SUCCESS") return reply(SUBMIT_CODE.VALIDATION_ERROR, "task is not finished");
	if (action !== "REROLL" && (index === undefined || index < 1 || index > 4)) {
		return reply(SUBMIT_CODE.VALIDATION_ERROR, "index must be 1..4");
	}
	const hash = parent.record.jobHash;
	const customId =
		action === "REROLL"
			? `MJ::JOB::reroll::0::${hash}::SOLO`
			: `MJ::JOB::${action === "UPSCALE" ? "upsample" : "variation"}::${index}::${hash}`;
	if (!parent.task.buttons.some((button) => button.customId === customId)) {
		return reply(SUBMIT_CODE.VALIDATION_ERROR, `task has no ${action} button`);
	}
	return pressButton(c, parent, customId, body);
}

/** `/submit/action`: the customId must be one of the finished parent's buttons. */
async function pressButton(
	c: SimContext,
	parent: SimSnapshot | null,
	customId: string,
	body: HookFields,
	press: { remix?: boolean; strong?: boolean } = {},
): Promise<SubmitReply> {
	if (!parent) return reply(SUBMIT_CODE.NOT_FOUND, "task not found");
	if (parent.task.status !== "SUCCESS") return reply(SUBMIT_CODE.VALIDATION_ERROR, "task is not finished");
	const intent = intentOf(customId);
	if (!intent || !parent.task.buttons.some((button) => button.customId === customId)) {
		return reply(SUBMIT_CODE.VALIDATION_ERROR, "unknown customId");
	}
	if (press.strong !== undefined && intent.kind !== "variation") {
		return reply(SUBMIT_CODE.VALIDATION_ERROR, "strong applies to V1..V4 only");
	}
	if (press.remix && !REMIXABLE.has(intent.kind) && intent.kind !== "custom-zoom" && intent.kind !== "inpaint") {
		return reply(SUBMIT_CODE.VALIDATION_ERROR, "this button has no remix");
	}
	const index = intent.kind === "upscale" || intent.kind === "variation" ? intent.index : 1;
	return followUp(c, parent, intent, customId, body, { index, press });
}

/** Buttons Midjourney opens a remix modal for when remix mode is on. */
const REMIXABLE: ReadonlySet<ButtonIntent["kind"]> = new Set([
	"variation",
	"vary-single",
	"reroll",
	"pan",
	"animate",
	"extend",
]);

/** Starts the task a button (or /submit/video) asks for, from the parent's picture. */
async function followUp(
	c: SimContext,
	parent: SimSnapshot,
	intent: ButtonIntent,
	customId: string,
	body: HookFields,
	options: {
		index: number;
		prompt?: string;
		press?: { remix?: boolean; strong?: boolean };
		video?: { videos: number; request: SimRequest; flags: string };
	},
): Promise<SubmitReply> {
	const { record } = parent;
	const prompt = options.prompt ?? record.prompt;
	const picture =
		record.result.kind === "image" ? record.result.image : record.result.kind === "video" ? record.result.cover : null;
	if (!picture) return reply(SUBMIT_CODE.VALIDATION_ERROR, "task has no picture");
	const tile = sourceTile(picture, options.index);
	const finalPrompt = (suffix: string) => `${record.finalPrompt} ${suffix}`.trim();
	const press = options.press ?? {};
	const remix = press.remix === true && REMIXABLE.has(intent.kind);
	const request: SimRequest = {
		...options.video?.request,
		...(press.remix ? { enableRemix: true } : {}),
		...(press.strong !== undefined ? { strong: press.strong } : {}),
	};
	return launch(c, body, prompt, (id, markers): Draft => {
		const mb = markers.megabytes;
		const base = { prompt, customId, botType: record.botType, request, ...(remix ? { remix, awaitsModal: true } : {}) };
		const grid = (action: SimAction, image: ImageSpec, extra: Partial<Draft> = {}): Draft => ({
			...base,
			action,
			result: { kind: "image", image },
			buttons: "grid",
			...extra,
		});
		switch (intent.kind) {
			case "upscale":
				return {
					...base,
					action: "UPSCALE",
					result: { kind: "image", image: upscaleImage(picture, intent.index, mb) },
					buttons: "upscaled",
				};
			case "upscale-again":
				return {
					...base,
					action: "UPSCALE",
					result: { kind: "image", image: derivedSingle(tile, `${id}:${intent.flavour}`, mb) },
					buttons: "upscaled",
					finalPrompt: finalPrompt(`--upscale ${intent.flavour}`),
				};
			case "variation":
				return press.strong
					? grid("VARIATION", variationImage(picture, intent.index, `${id}:strong`, mb), {
							finalPrompt: finalPrompt("--vary strong"),
						})
					: grid("VARIATION", variationImage(picture, intent.index, id, mb));
			case "vary-single":
				return grid("VARIATION", derivedGrid(tile, `${id}:${intent.strength}`, mb));
			case "reroll":
				return grid("REROLL", gridImage(`${prompt}\n${id}`, mb));
			case "pan":
				return grid("PAN", derivedGrid(tile, `${id}:pan_${intent.direction}`, mb), {
					finalPrompt: finalPrompt(`--pan ${intent.direction}`),
				});
			case "zoom":
				return grid("ZOOM", derivedGrid(tile, `${id}:zoom`, mb), {
					finalPrompt: finalPrompt(`--zoom ${intent.factor}`),
				});
			case "custom-zoom":
				return grid("CUSTOM_ZOOM", derivedGrid(tile, `${id}:custom-zoom`, mb), { awaitsModal: true });
			case "inpaint":
				return grid("INPAINT", derivedGrid(tile, `${id}:inpaint`, mb), { awaitsModal: true });
			case "animate":
			case "extend":
				return {
					...base,
					action: "VIDEO",
					result: { kind: "video", cover: derivedSingle(tile, `${id}:${intent.kind}`, mb) },
					buttons: "video",
					finalPrompt:
						`${prompt} --motion ${intent.motion} --video 1${intent.kind === "extend" ? " --extend" : ""}${options.video?.flags ?? ""}`.trim(),
					videos: options.video?.videos ?? 1,
				};
		}
	});
}

/**
 * The one way a task comes to be: the prompt's markers decide refusal, pace and fate, the
 * hook is checked, a fresh id is allocated and recorded in the index. Tasks that wait for
 * a modal answer code 21 "Waiting for window confirm" with their id.
 */
async function launch(
	c: SimContext,
	body: HookFields,
	prompt: string,
	draft: (id: string, markers: Markers) => Draft,
): Promise<SubmitReply> {
	const markers = parseMarkers(prompt);
	if (markers.banned) {
		return reply(SUBMIT_CODE.BANNED_PROMPT, "May contain a banned word", undefined, {
			promptEn: prompt,
			bannedWord: "sim-banned",
		});
	}
	const hook = hookOf(body);
	if ("code" in hook) return hook;
	const origin = new URL(c.req.url).origin;
	const mode = modeOf(c.req.path);
	const stepMs = stepMsOf(c.env) * (markers.slow ? 10 : 1);
	const build = (id: string): NewSimTask => {
		const task = draft(id, markers);
		const version = task.botType === "NIJI_JOURNEY" ? "--niji 6" : "--v 6";
		return {
			id,
			action: task.action,
			prompt: task.prompt,
			customId: task.customId ?? "",
			botType: task.botType ?? "MID_JOURNEY",
			mode,
			origin,
			result: task.result,
			buttons: task.buttons,
			finalPrompt: task.finalPrompt ?? `${task.prompt} ${version}`.trim(),
			awaitsModal: task.awaitsModal ?? false,
			remix: task.remix ?? false,
			videos: task.videos ?? 1,
			request: task.request ?? {},
			stepMs,
			fail: markers.fail,
			...hook,
		};
	};
	const { id, awaitsModal } = await createTask(c.env, build);
	await c.env.INDEX.getByName("recent").add(id);
	if (awaitsModal) return reply(SUBMIT_CODE.EXISTED, "Waiting for window confirm", id, { discordInstanceId: "sim" });
	return accepted(id, markers);
}

/** Allocates a fresh id and stores the task under it; `build` sees the id (variation seeds use it). */
async function createTask(env: SimulatorEnv, build: (id: string) => NewSimTask): Promise<NewSimTask> {
	for (let attempt = 0; attempt < 5; attempt++) {
		const task = build(newTaskId());
		if (await stub(env, task.id).create(task)) return task;
	}
	throw new Error("could not allocate a simulator task id");
}

/** Numeric like midjourney-proxy's ids: epoch ms plus 4 random digits (17 digits). */
function newTaskId(): string {
	const random = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
	return `${Date.now()}${String(random % 10_000).padStart(4, "0")}`;
}

function modeOf(path: string): SpeedMode {
	const match = /^\/mj-(fast|relax|turbo)\/mj\//.exec(path);
	return match?.[1] === "fast" || match?.[1] === "relax" || match?.[1] === "turbo" ? match[1] : "";
}

function stepMsOf(env: SimulatorEnv): number {
	const step = Number(env.SIMULATOR_STEP_MS);
	return Number.isFinite(step) && step > 0 ? step : 800;
}

function stub(env: SimulatorEnv, id: string) {
	return env.TASKS.getByName(id);
}

async function recentIds(env: SimulatorEnv): Promise<string[]> {
	return env.INDEX.getByName("recent").recent();
}

async function viewTask(env: SimulatorEnv, id: string): Promise<SimTask | null> {
	return isTaskId(id) ? stub(env, id).view() : null;
}

async function viewTasks(env: SimulatorEnv, ids: string[]): Promise<SimTask[]> {
	const tasks = await Promise.all(ids.map((id) => viewTask(env, id)));
	return tasks.filter((task): task is SimTask => task !== null);
}

async function snapshotOf(env: SimulatorEnv, id: string): Promise<SimSnapshot | null> {
	return isTaskId(id) ? stub(env, id).snapshot() : null;
}

/** Only well-formed ids reach a Durable Object, so junk never instantiates one. */
function isTaskId(id: string): boolean {
	return /^\d{1,40}$/.test(id);
}

/** A base64 image or a data URL of one: what the protocol's image fields carry. */
function isImageData(value: string | null | undefined): value is string {
	if (!value) return false;
	const data = value.replace(/^data:image\/[\w.+-]+;base64,/i, "");
	return data.length > 0 && /^[A-Za-z0-9+/=\s]+$/.test(data);
}

function isHttpUrl(value: string): boolean {
	const url = URL.parse(value);
	return url !== null && (url.protocol === "http:" || url.protocol === "https:");
}

/** 32 hex digits of the SHA-256 of an upload: its stable name under /sim/upload. */
async function digest(data: string): Promise<string> {
	const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(data));
	return [...new Uint8Array(hash).subarray(0, 16)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The hook fields to store, or a code-4 reply when the notifyHook is not an http(s) URL. */
function hookOf(body: HookFields): Hook | SubmitReply {
	const notifyHook = body.notifyHook?.trim() || null;
	if (notifyHook !== null && !isHttpUrl(notifyHook)) {
		return reply(SUBMIT_CODE.VALIDATION_ERROR, "notifyHook must be an http(s) URL");
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
