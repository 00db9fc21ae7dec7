/**
 * The seed-002 API (Midjourney-node-api): /api/v1/trigger/submit, /task/fetch, /task/list,
 * each in GET and POST form, parameters from the query string or any body.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { limitSubmits } from "../auth/rate-limit";
import { dbOf } from "../db/request-db";
import { findSettledOrLiveTask } from "../db/settled-tasks";
import { listTaskPage } from "../db/task-lists";
import { badRequest } from "../errors";
import { requestBase } from "../images/links";
import { about, answers, inputOf, onMethods, paramsInput, routeGroup, signedInElsewhere } from "../openapi/define";
import * as body from "../openapi/responses";
import { CLIENT_STATE_MAX_LENGTH, PROMPT_MAX_LENGTH, SUBMIT_ACTIONS } from "../tasks/model";
import { submitTask } from "../tasks/submit";
import { SEED002_ROWS, toSeed002, toSeed002Page } from "../tasks/views/seed002";
import { decodeCursor, encodeCursor } from "./cursor";
import { ok } from "./envelopes";
import { idempotent } from "./idempotency";
import { readParams } from "./params";
import { integer, notifyHookEvents, parseWith } from "./validate";

/** Page size of /task/list when `limit` is not given, and the most it may ask for. */
const LIST_DEFAULT_LIMIT = 20;
const LIST_MAX_LIMIT = 100;

const optionalText = (max: number, name: string) =>
	z
		.string()
		.max(max, `${name} must be at most ${max} characters`)
		.optional()
		.transform((v) => (v === "" ? undefined : v));

export const submitSchema = z.object({
	action: z.preprocess(
		(v) => (typeof v === "string" ? v.trim().toUpperCase() : v),
		z.enum(SUBMIT_ACTIONS, {
			error: (issue) =>
				issue.input === undefined
					? "action is required (IMAGINE, UPSCALE or VARIATION)"
					: "action must be IMAGINE, UPSCALE or VARIATION",
		}),
	),
	prompt: z.string().max(PROMPT_MAX_LENGTH, `prompt must be at most ${PROMPT_MAX_LENGTH} characters`).optional(),
	taskId: optionalText(64, "taskId"),
	// Read only for UPSCALE and VARIATION (parseIndex): IMAGINE ignores it, whatever it says.
	index: z.string().optional(),
	state: optionalText(CLIENT_STATE_MAX_LENGTH, "state"),
	notifyHook: z
		.string()
		.optional()
		.transform((v) => (v?.trim() ? v.trim() : undefined)),
	notifyHookEvents,
});

export const fetchSchema = z.object({
	_id: z.string({ error: "_id is required" }).trim().min(1, "_id is required").max(64, "_id is too long"),
});

export const listSchema = z.object({
	limit: integer("limit", 1, LIST_MAX_LIMIT, LIST_DEFAULT_LIMIT),
	cursor: z.string().optional(),
});

const indexSchema = integer("index", 1, 4, undefined, "index must be 1, 2, 3 or 4");

function parseIndex(action: string, raw: string | undefined): number | undefined {
	return action === "IMAGINE" ? undefined : parseWith(indexSchema, raw);
}

const call = about("seed002", "user");
const GET_POST = ["get", "post"] as const;

const submitRoute = createRoute({
	...call,
	method: "get",
	path: "/trigger/submit",
	summary: "Submit IMAGINE, UPSCALE or VARIATION",
	"x-input": paramsInput(submitSchema),
	"x-idempotent": true,
	middleware: [limitSubmits(), idempotent()],
	responses: answers("seed002", "Accepted: the task's _id in `result`.", body.Seed002SubmitAnswer),
});
const fetchRoute = createRoute({
	...call,
	method: "get",
	path: "/task/fetch",
	summary: "One task by its _id",
	"x-input": paramsInput(fetchSchema),
	responses: answers("seed002", "The task in the seed's format.", body.Seed002Task),
});
const listRoute = createRoute({
	...call,
	method: "get",
	path: "/task/list",
	summary: "The caller's tasks, newest first",
	"x-input": paramsInput(listSchema),
	"x-cursor": true,
	responses: answers(
		"seed002",
		"A bare array of tasks; the next page's cursor is in x-next-cursor.",
		body.Seed002TaskList,
	),
});

export const seed002Routes = routeGroup();
onMethods(seed002Routes, GET_POST, submitRoute, async (c) => {
	const input = parseWith(inputOf(submitRoute), (await readParams(c)).params);
	const { publicId } = await submitTask(
		c.env,
		dbOf(c),
		c.get("user"),
		{
			action: input.action,
			prompt: input.prompt,
			parentId: input.action === "IMAGINE" ? undefined : input.taskId,
			index: parseIndex(input.action, input.index),
			state: input.state,
			notifyHook: input.notifyHook,
			// The seed's contract: the notifyHook receives the finished task; every change only when asked.
			hookEvents: input.notifyHookEvents ?? "final",
		},
		c.get("deps").now(),
		c.get("deps"),
	);
	return ok(c, { code: 1, description: "成功", result: publicId });
});
onMethods(seed002Routes, GET_POST, fetchRoute, async (c) => {
	const { _id } = parseWith(inputOf(fetchRoute), (await readParams(c)).params);
	const task = await findSettledOrLiveTask(c.get("openDb"), c.get("user").id, _id);
	if (!task) throw badRequest(`no task with _id ${_id}`);
	return ok(c, await toSeed002(c.env, requestBase(c.env, c.req.url), task));
});
onMethods(seed002Routes, GET_POST, listRoute, async (c) => {
	const { limit, cursor } = parseWith(inputOf(listRoute), (await readParams(c)).params);
	const page = await listTaskPage(
		dbOf(c),
		{ userId: c.get("user").id },
		{ limit, cursor: cursor ? decodeCursor(cursor) : undefined },
		SEED002_ROWS,
	);
	// The body is the seed's bare array, so the next page's cursor travels in a header.
	if (page.next) c.header("x-next-cursor", encodeCursor(page.next));
	const base = requestBase(c.env, c.req.url);
	return ok(c, await toSeed002Page(c.env, base, page.rows));
});
signedInElsewhere(seed002Routes, "user");
