/**
 * POST /mj/callback/{id}?sig=…: an upstream pushing a task's progress (its notifyHook).
 * Only the URL the gateway handed out for that task is accepted, and only for the
 * upstream task id the gateway recorded.
 */
import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { verify } from "../auth/signing";
import type { AppEnv } from "../context";
import { getDb } from "../db/client";
import { findTask } from "../db/tasks";
import { ApiError, badRequest, notFound } from "../errors";
import { about, answers, jsonBody, on, routeGroup } from "../openapi/define";
import * as body from "../openapi/responses";
import { taskObject } from "../tasks/task-object-stub";
import { updateFromUpstream } from "../tasks/upstream-map";
import { upstreamTaskSchema } from "../upstream/protocol";
import { ok } from "./envelopes";

/** Only the signed URL the gateway handed out for the task: checked before the body is read. */
const signed: MiddlewareHandler<AppEnv> = async (c, next) => {
	if (!(await verify(c.env, "upstream-callback", c.req.param("id") ?? "", c.req.query("sig")))) {
		throw new ApiError("FORBIDDEN", "callback signature is missing or invalid");
	}
	await next();
};

const callbackRoute = createRoute({
	...about("upstream", "signature"),
	method: "post",
	path: "/{id}",
	summary: "An upstream pushing a task's progress (its notifyHook)",
	description: "Only the signed URL the gateway handed out for the task, and only for its upstream task id.",
	middleware: signed,
	request: { body: jsonBody(upstreamTaskSchema) },
	responses: answers("proxy", "Applied or ignored.", body.CallbackAnswer),
});

export const upstreamCallbackRoutes = routeGroup();
on(upstreamCallbackRoutes, callbackRoute, async (c) => {
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
});
