/**
 * POST /mj/callback/{id}?sig=…: an upstream pushing a task's progress (its notifyHook).
 * Only the URL the gateway handed out for that task is accepted, and only for the
 * upstream task id the gateway recorded.
 */
import { Hono } from "hono";
import { verify } from "../auth/signing";
import type { AppEnv } from "../context";
import { getDb } from "../db/client";
import { findTask } from "../db/tasks";
import { ApiError, badRequest, notFound } from "../errors";
import { taskObject } from "../tasks/task-object-stub";
import { updateFromUpstream } from "../tasks/upstream-map";
import { upstreamTaskSchema } from "../upstream/protocol";
import { ok } from "./envelopes";
import { validate } from "./validate";

export const upstreamCallbackRoutes = new Hono<AppEnv>().post(
	"/:id",
	async (c, next) => {
		if (!(await verify(c.env, "upstream-callback", c.req.param("id"), c.req.query("sig")))) {
			throw new ApiError("FORBIDDEN", "callback signature is missing or invalid");
		}
		await next();
	},
	validate("json", upstreamTaskSchema),
	async (c) => {
		const publicId = c.req.param("id");
		const body = c.req.valid("json");
		const task = await findTask(getDb(c.env.DB), publicId);
		if (!task) throw notFound("task not found");
		const object = taskObject(c.env, publicId);
		let channelId = task.channelId;
		// Only for the upstream task the gateway recorded: before the submit's answer there is none to
		// match. D1 may not have it yet when its write failed after the object's decision: the
		// object is asked (which repairs D1), and decides.
		if (task.upstreamId !== body.id) {
			const known = await object.sync(publicId);
			if (!known?.upstreamId || known.upstreamId !== body.id) throw badRequest("callback is for another upstream task");
			channelId = known.channelId ?? channelId;
		}
		const update = updateFromUpstream(body);
		if (!update) return ok(c, { code: 1, description: "ignored" });
		const result = await object.apply(publicId, { ...update, channelId: channelId ?? undefined });
		return ok(c, { code: 1, description: result.applied ? "applied" : `ignored (${result.reason})` });
	},
);
