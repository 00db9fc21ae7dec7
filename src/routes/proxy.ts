/**
 * The midjourney-proxy API (shared/UPSTREAM.md, "Serving this protocol"), so every client written
 * for midjourney-proxy (web UIs, SDKs, bots, relays such as new-api) can point at the gateway.
 * Mounted at `/mj` and at `/mj-fast/mj`, `/mj-relax/mj`, `/mj-turbo/mj`: the prefix is the speed
 * mode, stored on the task and used for its upstream calls. Submits answer
 * `{code, description, result, properties}`; errors `{code, description}` with the protocol's codes.
 */
import { createRoute, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { authenticate } from "../auth/middleware";
import { limitSubmits } from "../auth/rate-limit";
import type { AppEnv } from "../context";
import { dbOf, requestDb } from "../db/request-db";
import type { HookEventMode, TaskMode } from "../db/schema";
import { findSettledOrLiveTask, findSettledOrLiveTasks } from "../db/settled-tasks";
import { listTaskPage } from "../db/task-lists";
import { listUnfinished } from "../db/tasks";
import { ApiError, badRequest, notFound } from "../errors";
import { decodeInlineImage } from "../images/inputs";
import { publicBase, uploadUrl } from "../images/links";
import { type CheckedImage, downloadImage, MAX_UPLOAD_BYTES, newFileName, putImage } from "../images/upload";
import { downloadVideo, readVideo } from "../images/video-input";
import { about, answers, inputOf, on, ownInput, refusalOnly, routeGroup, signedInElsewhere } from "../openapi/define";
import * as body from "../openapi/responses";
import { CLIENT_STATE_MAX_LENGTH, PROMPT_MAX_LENGTH, type TaskOptions } from "../tasks/model";
import { type SubmitRequest, type SubmitResult, submitTask } from "../tasks/submit";
import { cancelTask, imageSeed, submitModal } from "../tasks/task-control";
import { toProxyTask } from "../tasks/views/proxy";
import { NOTIFY_HOOK_MAX_LENGTH } from "../vocabulary";
import { decodeCursor, encodeCursor } from "./cursor";
import { proxyResult } from "./envelopes";
import { idempotent } from "./idempotency";
import { declaresJson, limitBody, readJsonObject } from "./params";
import { notifyHookEvents, parseWith } from "./validate";

/** A submit body may carry five pictures of the largest size, base64-encoded, and its other fields. */
export const PROXY_BODY_LIMIT = 5 * Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 256 * 1024;
/** Most ids one list-by-condition call may ask for. */
export const LIST_BY_CONDITION_MAX = 500;
export const PROXY_LIST_DEFAULT = 20;
export const PROXY_LIST_MAX = 100;

/** Midjourney's video models: standard (480p) and HD (720p), as trueai-org names them. */
export const VIDEO_TYPES = ["vid_1.1_i2v_480", "vid_1.1_i2v_720"] as const;

const text = (name: string, max: number) => z.string().max(max, `${name} must be at most ${max} characters`);
const taskId = z
	.string({ error: "taskId is required" })
	.trim()
	.min(1, "taskId is required")
	.max(64, "taskId is too long");
const picture = z.string().max(Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 1024, "an image is larger than 10 MB");

/** Fields every submit may carry. */
const hookFields = {
	state: text("state", CLIENT_STATE_MAX_LENGTH).nullish(),
	notifyHook: text("notifyHook", NOTIFY_HOOK_MAX_LENGTH).nullish(),
	notifyHookEvents,
	/** Which account runs a new task (trueai-org's extension): a channel, and/or the modes it may run in. */
	accountFilter: z
		.object({
			instanceId: z.union([z.string().trim().max(64), z.number().int()]).nullish(),
			modes: z
				.array(
					z.enum(["FAST", "RELAX", "TURBO", "fast", "relax", "turbo"], {
						error: "accountFilter.modes: FAST, RELAX or TURBO",
					}),
				)
				.max(3)
				.nullish(),
		})
		.nullish(),
};
const botType = z
	.enum(["MID_JOURNEY", "NIJI_JOURNEY"], { error: "botType must be MID_JOURNEY or NIJI_JOURNEY" })
	.nullish();

export const imagineBody = z.object({
	prompt: text("prompt", PROMPT_MAX_LENGTH),
	base64Array: z.array(picture).max(5, "base64Array takes at most 5 images").nullish(),
	/** The single reference image of older clients. */
	base64: picture.nullish(),
	botType,
	...hookFields,
});
export const changeBody = z.object({
	taskId,
	action: z.enum(["UPSCALE", "VARIATION", "REROLL"], { error: "action must be UPSCALE, VARIATION or REROLL" }),
	index: z.number().int().min(1, "index must be 1..4").max(4, "index must be 1..4").nullish(),
	...hookFields,
});
export const simpleChangeBody = z.object({ content: z.string().max(200), ...hookFields });
export const actionBody = z.object({
	taskId,
	customId: z.string().trim().min(1, "customId is required").max(256),
	/** Press the button in remix mode: the task waits in MODAL for its new prompt (`/submit/modal`). */
	enableRemix: z.boolean({ error: "enableRemix must be true or false" }).nullish(),
	/** V1..V4 only: a strong variation instead of the default subtle one. */
	strong: z.boolean({ error: "strong must be true or false" }).nullish(),
	...hookFields,
});
export const modalBody = z.object({
	taskId,
	prompt: text("prompt", PROMPT_MAX_LENGTH).nullish(),
	maskBase64: picture.nullish(),
});
export const describeBody = z.object({
	base64: picture.nullish(),
	link: z.string().max(2048).nullish(),
	/** The language the four prompts come back in (`zh`, `zh_cn`, `en`, …), where the channel can write it. */
	language: z
		.string()
		.trim()
		.regex(/^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?$/, 'language must be a language code such as "en", "zh" or "zh_cn"')
		.nullish(),
	botType,
	...hookFields,
});
export const blendBody = z.object({
	base64Array: z.array(picture, { error: "base64Array is required (2 to 5 images)" }),
	dimensions: z
		.enum(["PORTRAIT", "SQUARE", "LANDSCAPE"], { error: "dimensions must be PORTRAIT, SQUARE or LANDSCAPE" })
		.nullish(),
	botType,
	...hookFields,
});
export const shortenBody = z.object({ prompt: text("prompt", PROMPT_MAX_LENGTH), botType, ...hookFields });
export const videoBody = z.object({
	prompt: text("prompt", PROMPT_MAX_LENGTH).nullish(),
	image: picture.nullish(),
	taskId: taskId.nullish(),
	index: z.number().int().min(1, "index must be 1..4").max(4, "index must be 1..4").nullish(),
	motion: z.enum(["low", "high"], { error: "motion must be low or high" }).nullish(),
	action: z.enum(["extend"], { error: 'action must be "extend"' }).nullish(),
	/** The end frame (base64 or link). */
	endImage: picture.nullish(),
	loop: z.boolean({ error: "loop must be true or false" }).nullish(),
	batchSize: z.union([z.literal(1), z.literal(2), z.literal(4)], { error: "batchSize must be 1, 2 or 4" }).nullish(),
	videoType: z.enum(VIDEO_TYPES, { error: `videoType must be one of ${VIDEO_TYPES.join(", ")}` }).nullish(),
	...hookFields,
});
export const editsBody = z.object({ prompt: text("prompt", PROMPT_MAX_LENGTH), image: picture, ...hookFields });
/** `/submit/retexture` takes the same body as `/submit/edits`. */
export const retextureBody = editsBody;
/** The text fields of `/insight-face/video-swap`'s form; the video is the file part `targetFile` (or `targetUrl`). */
export const videoSwapForm = z.object({
	sourceBase64: picture.nullish(),
	sourceUrl: z.string().max(2048).nullish(),
	targetUrl: z.string().max(2048).nullish(),
	...hookFields,
});
export const uploadBody = z.object({
	base64Array: z.array(picture).min(1, "base64Array needs an image").max(5, "base64Array takes at most 5 images"),
});
export const swapBody = z.object({
	sourceBase64: picture.nullish(),
	sourceUrl: z.string().max(2048).nullish(),
	targetBase64: picture.nullish(),
	targetUrl: z.string().max(2048).nullish(),
	...hookFields,
});
export const listByConditionBody = z.object({
	ids: z
		.array(z.union([z.string().max(64), z.number()]).transform(String), { error: "ids must be an array" })
		.max(LIST_BY_CONDITION_MAX, `ids takes at most ${LIST_BY_CONDITION_MAX} ids`),
});
export const listQuery = z.object({
	limit: z
		.string()
		.regex(/^\d{1,3}$/, `limit must be an integer from 1 to ${PROXY_LIST_MAX}`)
		.transform(Number)
		.refine((n) => n >= 1 && n <= PROXY_LIST_MAX, `limit must be an integer from 1 to ${PROXY_LIST_MAX}`)
		.optional(),
	cursor: z.string().max(100).optional(),
});

/** The JSON object of the request body, checked; anything else is a code-4 error. */
async function bodyOf<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
	if (!declaresJson(c.req.header("content-type"), true)) {
		throw badRequest("the body must be JSON (content-type: application/json)");
	}
	return parseWith(schema, await readJsonObject(c));
}

const base = (c: Context<AppEnv>) => publicBase(c.env, new URL(c.req.url).origin);

/** A picture given inline (base64 / data URL), or by link where the protocol allows one. */
async function pictureOf(c: Context<AppEnv>, value: string, field: string): Promise<CheckedImage> {
	const trimmed = value.trim();
	if (/^https?:\/\//i.test(trimmed)) return downloadImage(trimmed, field, { env: c.env, fetch: c.get("deps").fetch });
	return decodeInlineImage(trimmed, field);
}

/**
 * Personalization profiles (`/mj/profile/*`) are made and rated on Midjourney's website, with a
 * web account; the gateway's channels (midjourney-proxy upstreams, Discord accounts) have none.
 * trueai-org's profile paths are routes of their own (so the reference lists them); anything else
 * under /profile (its GET pair/{id} too) falls to the catch-all. `/submit/edit` and
 * `/task/list-by-ids` are trueai-org's names for `/submit/edits` and `/task/list-by-condition`.
 */
function profilesNotSupported(): never {
	throw new ApiError(
		"NOT_SUPPORTED",
		"personalization profiles are not supported: they need Midjourney web accounts, which this gateway's channels are not",
	);
}

/** The multipart form of `/insight-face/video-swap`: its text fields, checked, and the video file part. */
async function videoSwapFormOf(c: Context<AppEnv>) {
	const type = (c.req.header("content-type") ?? "").toLowerCase();
	if (!type.startsWith("multipart/form-data") && !type.startsWith("application/x-www-form-urlencoded")) {
		throw badRequest("the body must be multipart/form-data: sourceBase64 or sourceUrl, and targetFile or targetUrl");
	}
	let form: FormData;
	try {
		form = await c.req.formData();
	} catch {
		throw badRequest("malformed form body");
	}
	const text: Record<string, string> = {};
	for (const name of ["sourceBase64", "sourceUrl", "targetUrl", "state", "notifyHook"]) {
		const value = form.get(name);
		if (typeof value === "string" && value !== "") text[name] = value;
		else if (value !== null && typeof value !== "string") throw badRequest(`${name} must be a text field`);
	}
	const file = form.get("targetFile");
	if (typeof file === "string" && file !== "") throw badRequest("targetFile must be a file (or send targetUrl)");
	return { fields: parseWith(inputOf(videoSwapRoute), text), targetFile: file instanceof File ? file : undefined };
}

/** The protocol's answer to an accepted submit: 1, 21 (waiting for the modal step) or 22 (queued). */
function accepted(result: SubmitResult) {
	// The channel is known at submit only for a follow-up (it runs where its parent ran); a new task gets one when dispatched.
	const channel = result.channelId == null ? {} : { discordInstanceId: String(result.channelId) };
	if (result.status === "MODAL") {
		return proxyResult(result.publicId, {
			code: 21,
			description: "Waiting for window confirm",
			properties: { status: "MODAL", ...channel },
		});
	}
	if (result.queuedAhead > 0) {
		return proxyResult(result.publicId, {
			code: 22,
			description: `In queue, ${result.queuedAhead} task${result.queuedAhead === 1 ? "" : "s"} ahead`,
			properties: { numberOfQueues: result.queuedAhead, ...channel },
		});
	}
	return proxyResult(result.publicId, { properties: channel });
}

function hooks(body: {
	state?: string | null;
	notifyHook?: string | null;
	notifyHookEvents?: HookEventMode;
	accountFilter?: { instanceId?: string | number | null; modes?: string[] | null } | null;
}) {
	const filter = body.accountFilter;
	const instanceId = filter?.instanceId == null || filter.instanceId === "" ? undefined : String(filter.instanceId);
	const modes = filter?.modes?.length ? filter.modes.map((mode) => mode.toLowerCase()) : undefined;
	return {
		state: body.state ?? undefined,
		notifyHook: body.notifyHook?.trim() || undefined,
		hookEvents: body.notifyHookEvents,
		...(instanceId || modes ? { accountFilter: { instanceId, modes } } : {}),
	};
}

const proxyCall = about("proxy", "user");

/** Every protocol route's body limit: after the guard, so a caller without a token learns nothing. */
const proxyBodyLimit = limitBody(PROXY_BODY_LIMIT);
const taskCall = { ...proxyCall, middleware: proxyBodyLimit };
const ACCEPTED = "Accepted: the task id in `result`.";

/** A submit: a JSON body read leniently (bodyOf), an Idempotency-Key, the task id in `result`. */
const submitRoute = <S extends z.ZodType>(path: string, summary: string, schema: S, description?: string) =>
	createRoute({
		...proxyCall,
		method: "post",
		path: `/submit/${path}`,
		summary,
		...(description ? { description } : {}),
		"x-input": ownInput("json", schema),
		"x-idempotent": true,
		middleware: [proxyBodyLimit, limitSubmits(), idempotent()],
		responses: answers("proxy", ACCEPTED, body.ProxySubmitAnswer),
	});

const imagineRoute = submitRoute("imagine", "Imagine: a prompt, with optional reference pictures", imagineBody);
const changeRoute = submitRoute("change", "Upscale, vary or reroll a finished task (legacy)", changeBody);
const simpleChangeRoute = submitRoute("simple-change", 'The same as change, as text: "<taskId> U1"', simpleChangeBody);
const actionRoute = submitRoute("action", "Press any button of a finished task, by its customId", actionBody);
const modalRoute = submitRoute(
	"modal",
	"The second step of a task waiting in MODAL (custom zoom, vary region)",
	modalBody,
	"Answers the waiting task's own id.",
);
const describeRoute = submitRoute("describe", "Describe a picture (base64 or link)", describeBody);
const blendRoute = submitRoute("blend", "Blend 2 to 5 pictures", blendBody);
const shortenRoute = submitRoute("shorten", "Shorten a prompt", shortenBody);
const videoRoute = submitRoute("video", "A video from a picture or from a finished task", videoBody);
const editsRoute = submitRoute("edits", "Edit a picture with a prompt", editsBody);
const editRoute = submitRoute("edit", "The same as edits (trueai-org's name)", editsBody);
const retextureRoute = submitRoute(
	"retexture",
	"Retexture a picture: a new surface on its shape, described by the prompt",
	retextureBody,
);
const uploadRoute = createRoute({
	...submitRoute("upload-discord-images", "Upload pictures; answers signed links to them", uploadBody),
	responses: answers("proxy", "The pictures' links in `result`.", body.ProxyUploadAnswer),
});
const swapRoute = createRoute({
	...submitRoute("", "Swap the face of one picture onto another", swapBody),
	path: "/insight-face/swap",
});
const videoSwapRoute = createRoute({
	...submitRoute(
		"",
		"Swap the face of a picture into a video",
		videoSwapForm,
		"A multipart form, as trueai-org takes it: the face as text, the video as the file targetFile (MP4, at most 10 MB) or its URL targetUrl.",
	),
	path: "/insight-face/video-swap",
	"x-input": ownInput("form", videoSwapForm, {
		formFiles: { targetFile: { media: "video/mp4", description: "the video (MP4, at most 10 MB)" } },
	}),
});

const profileRoute = (method: "get" | "post", path: string) =>
	createRoute({
		...proxyCall,
		method,
		path: `/profile/${path}`,
		summary: "Personalization profiles: not supported",
		description:
			"Profiles need Midjourney web accounts, which the gateway's channels are not: this (and any other path under /mj/profile) answers HTTP 400 with code 4 and a description saying so.",
		middleware: proxyBodyLimit,
		responses: refusalOnly("proxy", "Never: always the error."),
	});
const profileCreate = profileRoute("post", "create");
const profileFetch = profileRoute("get", "{id}/fetch");
const profileSkip = profileRoute("post", "pair/skip");
const profileRate = profileRoute("post", "pair/rate");

const TASKS = "A bare array of tasks.";
const listRoute = createRoute({
	...taskCall,
	method: "get",
	path: "/task/list",
	summary: "The caller's tasks, newest first",
	"x-input": ownInput("query", listQuery),
	"x-cursor": true,
	responses: answers("proxy", "A bare array; the next page's cursor is in x-next-cursor.", body.ProxyTaskList),
});
const queueRoute = createRoute({
	...taskCall,
	method: "get",
	path: "/task/queue",
	summary: "The caller's unfinished tasks",
	responses: answers("proxy", TASKS, body.ProxyTaskList),
});
const listByConditionRoute = createRoute({
	...taskCall,
	method: "post",
	path: "/task/list-by-condition",
	summary: "The caller's tasks with the given ids, in that order",
	"x-input": ownInput("json", listByConditionBody),
	responses: answers("proxy", "Unknown ids and other users' are left out.", body.ProxyTaskList),
});
const listByIdsRoute = createRoute({
	...listByConditionRoute,
	path: "/task/list-by-ids",
	summary: "The same as list-by-condition (trueai-org's name)",
});
const fetchRoute = createRoute({
	...taskCall,
	method: "get",
	path: "/task/{id}/fetch",
	summary: "One task",
	responses: answers("proxy", "The task.", body.ProxyTask),
});
const seedRoute = createRoute({
	...taskCall,
	method: "get",
	path: "/task/{id}/image-seed",
	summary: "The seed of a finished task's image",
	responses: answers("proxy", "The seed in `result`.", body.ProxySeedAnswer),
});
const cancelRoute = createRoute({
	...taskCall,
	method: "post",
	path: "/task/{id}/cancel",
	summary: "Cancel a task that has not finished",
	responses: answers("proxy", "Cancelled (or cancelled already): the id in `result`.", body.ProxySubmitAnswer),
});

type Handler<R extends RouteConfig> = (c: Parameters<RouteHandler<R, AppEnv>>[0]) => Promise<Response>;

/** The proxy API for one speed mode ("" for the plain `/mj`). */
export function proxyRoutes(mode: TaskMode) {
	const submit = async (c: Context<AppEnv>, request: Omit<SubmitRequest, "mode">) =>
		c.json(
			accepted(
				await submitTask(c.env, dbOf(c), c.get("user"), { ...request, mode }, c.get("deps").now(), c.get("deps")),
			),
		);

	const group = routeGroup();
	on(group, profileCreate, profilesNotSupported);
	on(group, profileFetch, profilesNotSupported);
	on(group, profileSkip, profilesNotSupported);
	on(group, profileRate, profilesNotSupported);
	group.all("/profile/*", requestDb(), authenticate(), proxyBodyLimit, profilesNotSupported);
	on(group, imagineRoute, async (c) => {
		const body = await bodyOf(c, inputOf(imagineRoute));
		const given = [...(body.base64Array ?? []), ...(body.base64 ? [body.base64] : [])];
		const images = given.map((value, n) => decodeInlineImage(value, `base64Array[${n}]`));
		return submit(c, {
			action: "IMAGINE",
			prompt: body.prompt,
			images,
			botType: body.botType ?? undefined,
			...hooks(body),
		});
	});
	on(group, changeRoute, async (c) => {
		const body = await bodyOf(c, inputOf(changeRoute));
		return submit(c, {
			action: body.action,
			parentId: body.taskId,
			index: body.index ?? undefined,
			...hooks(body),
		});
	});
	on(group, simpleChangeRoute, async (c) => {
		const body = await bodyOf(c, inputOf(simpleChangeRoute));
		const match = /^\s*(\S+)\s+([UVR])([1-4]?)\s*$/i.exec(body.content);
		const letter = match?.[2]?.toUpperCase();
		if (!match || !letter || (letter === "R") !== (match[3] === "")) {
			throw badRequest('content must look like "<taskId> U1" (U1-U4, V1-V4 or R)');
		}
		const action = letter === "U" ? "UPSCALE" : letter === "V" ? "VARIATION" : "REROLL";
		const index = match[3] ? Number(match[3]) : undefined;
		return submit(c, { action, parentId: match[1], index, ...hooks(body) });
	});
	on(group, actionRoute, async (c) => {
		const body = await bodyOf(c, inputOf(actionRoute));
		const options: TaskOptions = {
			...(body.enableRemix ? { remix: true } : {}),
			...(body.strong == null ? {} : { strong: body.strong }),
		};
		return submit(c, { action: "ACTION", parentId: body.taskId, customId: body.customId, options, ...hooks(body) });
	});
	on(group, modalRoute, async (c) => {
		const body = await bodyOf(c, inputOf(modalRoute));
		const mask = body.maskBase64 ? decodeInlineImage(body.maskBase64, "maskBase64") : undefined;
		await submitModal(
			c.env,
			dbOf(c),
			c.get("user"),
			body.taskId,
			{ prompt: body.prompt ?? undefined, mask },
			c.get("deps").now(),
		);
		return c.json(proxyResult(body.taskId));
	});
	on(group, describeRoute, async (c) => {
		const body = await bodyOf(c, inputOf(describeRoute));
		const source = body.base64 ?? body.link;
		if (!source) throw badRequest("base64 (or link) is required: the image to describe");
		const image = await pictureOf(c, source, body.base64 ? "base64" : "link");
		return submit(c, {
			action: "DESCRIBE",
			images: [image],
			botType: body.botType ?? undefined,
			options: body.language ? { language: body.language } : {},
			...hooks(body),
		});
	});
	on(group, blendRoute, async (c) => {
		const body = await bodyOf(c, inputOf(blendRoute));
		const images = body.base64Array.map((value, n) => decodeInlineImage(value, `base64Array[${n}]`));
		return submit(c, {
			action: "BLEND",
			images,
			options: { dimensions: body.dimensions ?? "SQUARE" },
			botType: body.botType ?? undefined,
			...hooks(body),
		});
	});
	on(group, shortenRoute, async (c) => {
		const body = await bodyOf(c, inputOf(shortenRoute));
		return submit(c, {
			action: "SHORTEN",
			prompt: body.prompt,
			botType: body.botType ?? undefined,
			...hooks(body),
		});
	});
	on(group, videoRoute, async (c) => {
		const body = await bodyOf(c, inputOf(videoRoute));
		if (!body.image && !body.taskId) throw badRequest("VIDEO needs an image, or the taskId of a finished task");
		if (body.image && body.taskId) throw badRequest("VIDEO takes an image or a taskId, not both");
		const [start, end] = await Promise.all([
			body.image ? pictureOf(c, body.image, "image") : undefined,
			body.endImage ? pictureOf(c, body.endImage, "endImage") : undefined,
		]);
		const images = [start, end].filter((image): image is CheckedImage => image !== undefined);
		return submit(c, {
			action: "VIDEO",
			prompt: body.prompt ?? undefined,
			parentId: body.taskId ?? undefined,
			index: body.index ?? undefined,
			images,
			options: {
				...(body.motion ? { motion: body.motion } : {}),
				...(body.action ? { videoAction: body.action } : {}),
				...(end ? { endImage: true } : {}),
				...(body.loop == null ? {} : { loop: body.loop }),
				...(body.batchSize == null ? {} : { batchSize: body.batchSize }),
				...(body.videoType ? { videoType: body.videoType } : {}),
			},
			...hooks(body),
		});
	});
	const edits: Handler<typeof editsRoute> = async (c) => {
		const body = await bodyOf(c, inputOf(editsRoute));
		const image = await pictureOf(c, body.image, "image");
		return submit(c, { action: "EDITS", prompt: body.prompt, images: [image], ...hooks(body) });
	};
	on(group, editsRoute, edits);
	on(group, editRoute, edits);
	on(group, retextureRoute, async (c) => {
		const body = await bodyOf(c, inputOf(retextureRoute));
		const image = await pictureOf(c, body.image, "image");
		return submit(c, { action: "RETEXTURE", prompt: body.prompt, images: [image], ...hooks(body) });
	});
	on(group, uploadRoute, async (c) => {
		const body = await bodyOf(c, inputOf(uploadRoute));
		const images = body.base64Array.map((value, n) => decodeInlineImage(value, `base64Array[${n}]`));
		const urls = await Promise.all(
			images.map(async (image) => {
				const name = newFileName(c.get("deps"), image.type);
				await putImage(c.env.IMAGES, `uploads/${name}`, image);
				return uploadUrl(c.env, base(c), name);
			}),
		);
		return c.json(proxyResult(urls));
	});
	on(group, swapRoute, async (c) => {
		const body = await bodyOf(c, inputOf(swapRoute));
		const source = body.sourceBase64 ?? body.sourceUrl;
		const target = body.targetBase64 ?? body.targetUrl;
		if (!source || !target)
			throw badRequest("sourceBase64 (or sourceUrl) and targetBase64 (or targetUrl) are required");
		const images = await Promise.all([
			pictureOf(c, source, body.sourceBase64 ? "sourceBase64" : "sourceUrl"),
			pictureOf(c, target, body.targetBase64 ? "targetBase64" : "targetUrl"),
		]);
		return submit(c, { action: "SWAP_FACE", images, ...hooks(body) });
	});
	on(group, videoSwapRoute, async (c) => {
		const form = await videoSwapFormOf(c);
		const source = form.fields.sourceBase64 ?? form.fields.sourceUrl;
		if (!source) throw badRequest("sourceBase64 (or sourceUrl) is required: the face");
		const [face, video] = await Promise.all([
			pictureOf(c, source, form.fields.sourceBase64 ? "sourceBase64" : "sourceUrl"),
			form.targetFile
				? readVideo(form.targetFile, "targetFile")
				: form.fields.targetUrl
					? downloadVideo(form.fields.targetUrl, "targetUrl", { env: c.env, fetch: c.get("deps").fetch })
					: Promise.reject(badRequest("targetFile (or targetUrl) is required: the video")),
		]);
		return submit(c, { action: "SWAP_VIDEO_FACE", images: [face], video, ...hooks(form.fields) });
	});
	on(group, listRoute, async (c) => {
		const { limit, cursor } = parseWith(inputOf(listRoute), c.req.query());
		const page = await listTaskPage(
			dbOf(c),
			{ userId: c.get("user").id },
			{ limit: limit ?? PROXY_LIST_DEFAULT, cursor: cursor ? decodeCursor(cursor) : undefined },
		);
		if (page.next) c.header("x-next-cursor", encodeCursor(page.next));
		return c.json(await Promise.all(page.rows.map((task) => toProxyTask(c.env, base(c), task))));
	});
	on(group, queueRoute, async (c) => {
		const rows = await listUnfinished(dbOf(c), c.get("user").id, PROXY_LIST_MAX);
		return c.json(await Promise.all(rows.map((task) => toProxyTask(c.env, base(c), task))));
	});
	const byIds: Handler<typeof listByConditionRoute> = async (c) => {
		const { ids } = await bodyOf(c, inputOf(listByConditionRoute));
		const rows = await findSettledOrLiveTasks(c.get("openDb"), c.get("user").id, [...new Set(ids)]);
		// In the order asked for; unknown and other users' ids are left out, as the protocol does.
		const byId = new Map(rows.map((row) => [row.publicId, row]));
		const ordered = [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
		return c.json(await Promise.all(ordered.map((task) => toProxyTask(c.env, base(c), task))));
	};
	on(group, listByConditionRoute, byIds);
	on(group, listByIdsRoute, byIds);
	on(group, fetchRoute, async (c) => {
		const task = await findSettledOrLiveTask(c.get("openDb"), c.get("user").id, c.req.param("id"));
		if (!task) throw notFound(`no task with id ${c.req.param("id")}`);
		return c.json(await toProxyTask(c.env, base(c), task));
	});
	on(group, seedRoute, async (c) => {
		const seed = await imageSeed(c.env, dbOf(c), c.get("user"), c.req.param("id"), c.get("deps"));
		return c.json(proxyResult(seed));
	});
	on(group, cancelRoute, async (c) => {
		const id = c.req.param("id");
		const result = await cancelTask(c.env, dbOf(c), c.get("user"), id, c.get("deps"), (p) =>
			c.executionCtx.waitUntil(p),
		);
		return c.json(proxyResult(id, { description: result === "cancelled" ? "Success" : "already cancelled" }));
	});
	// The protocol's other paths are a signed-in API's: /mj/image and /mj/callback live beside them without a token.
	for (const path of ["/submit/*", "/task/*", "/insight-face/*"]) signedInElsewhere(group, "user", path);
	return group;
}
