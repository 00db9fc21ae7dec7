/**
 * Client callbacks, in the new-api envelope `{success, message, data}`: the caller's signing
 * secret (show, rotate), callback settings and delivery log (list, redeliver) under /api/user; everyone's log under
 * /api/admin. Times are epoch seconds.
 *
 * Each route's auth is its definition's: these groups share their base paths with the account
 * and admin groups, mounted before those groups' signed-in catch-alls.
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../context";
import { dbOf } from "../db/request-db";
import { DELIVERY_OUTCOMES, HOOK_EVENT_MODES, type WebhookSecretRow } from "../db/schema";
import { findUserBySub, findUserHookEvents, setUserHookEvents } from "../db/users";
import { type DeliveryFilter, type DeliveryListing, findEventAttempt, listDeliveries } from "../db/webhooks";
import { badRequest, notFound } from "../errors";
import { storedChange } from "../hooks/deliver";
import { ensureWebhookSecret, previousExpiresAt, rotateUserWebhookSecret } from "../hooks/secrets";
import { about, answers, jsonBody, on, routeGroup } from "../openapi/define";
import * as body from "../openapi/responses";
import type { HookMessage } from "../tasks/messages";
import { epochSeconds } from "../time";
import { cursorText, opaqueCursor } from "./cursor";
import { ok } from "./envelopes";
import { integer } from "./validate";

const maybeSeconds = (ms: number | null) => (ms === null ? null : epochSeconds(ms));

function secretView(row: WebhookSecretRow, now: number) {
	return { secret: row.secret, previous_expires_at: maybeSeconds(previousExpiresAt(row, now)) };
}

function deliveryView(row: DeliveryListing) {
	const change = storedChange(row.event);
	return {
		id: row.id,
		event_id: row.eventId,
		task_id: row.taskId,
		user: row.sub,
		url: row.url,
		attempt: row.attempt,
		manual: row.manual,
		http_status: row.httpStatus,
		error: row.error,
		duration_ms: row.durationMs,
		outcome: row.outcome,
		next_try_at: maybeSeconds(row.nextTryAt),
		created_at: epochSeconds(row.createdAt),
		sequence: change?.seq ?? null,
		task_status: change?.status ?? null,
		task_progress: change ? `${change.progress}%` : null,
	};
}

/** The cursor is the id of the last attempt shown, opaque to clients. */
const encodeCursor = (id: number) => opaqueCursor(`d${id}`);

function decodeCursor(value: string): number {
	const match = /^d(\d{1,15})$/.exec(cursorText(value));
	if (!match) throw badRequest("cursor is not valid");
	return Number(match[1]);
}

const listFields = {
	task_id: z.string().min(1).max(64).optional(),
	outcome: z.enum(DELIVERY_OUTCOMES).optional(),
	cursor: z.string().max(64).optional(),
	limit: integer("limit", 1, 100, 20),
};
export const userQuery = z.object(listFields);
export const adminQuery = z.object({ ...listFields, user: z.string().min(1).max(128).optional() });
export const hookSettingsBody = z.object({
	events: z.enum(HOOK_EVENT_MODES, { error: 'events must be "all" or "final"' }),
});

export const eventParam = z.object({ eventId: z.string().regex(/^msg_[A-Za-z0-9_-]{1,64}$/, "not an event id") });

type ListQuery = z.infer<typeof userQuery>;

async function listPage(c: Context<AppEnv>, query: ListQuery, userId: number | undefined) {
	const filter: DeliveryFilter = {
		userId,
		taskId: query.task_id,
		outcome: query.outcome,
		beforeId: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
	};
	const rows = await listDeliveries(dbOf(c), filter, query.limit + 1);
	const page = rows.slice(0, query.limit);
	const next = rows.length > query.limit ? encodeCursor(page[page.length - 1].id) : null;
	return ok(c, { items: page.map(deliveryView), next_cursor: next });
}

/** Queues the event again with its own webhook-id; `manual` lets it past the already-delivered check. */
async function redeliver(c: Context<AppEnv>, eventId: string, userId: number | undefined) {
	const attempt = await findEventAttempt(dbOf(c), eventId, userId);
	if (!attempt) throw notFound("no such delivery event");
	// The change the event reported goes along, so the receiver gets that news again, not today's.
	const change = storedChange(attempt.event);
	await c.env.HOOK_QUEUE.send({ taskId: attempt.taskId, eventId, manual: true, change } satisfies HookMessage);
	return ok(c, { event_id: eventId, task_id: attempt.taskId }, 202);
}

const secretRoute = createRoute({
	...about("callbacks", "user"),
	method: "get",
	path: "/webhook-secret",
	summary: "The caller's webhook secret (made on first use)",
	responses: answers("seed001", "The secret.", body.WebhookSecret),
});
const rotateRoute = createRoute({
	...about("callbacks", "user"),
	method: "post",
	path: "/webhook-secret/rotate",
	summary: "Rotate the webhook secret; the previous one keeps signing for 24 hours",
	responses: answers("seed001", "The new secret.", body.WebhookSecret),
});
const settingsRoute = createRoute({
	...about("callbacks", "user"),
	method: "get",
	path: "/webhook-settings",
	summary: "Which changes the caller's tasks call back about",
	description:
		"For midjourney-proxy submits without notifyHookEvents (seed-002 and album tasks hear of the end unless told). Default all, as midjourney-proxy servers.",
	responses: answers("seed001", "The setting.", body.HookSettings),
});
const setSettingsRoute = createRoute({
	...about("callbacks", "user"),
	method: "put",
	path: "/webhook-settings",
	summary: "Set which changes the caller's tasks call back about",
	description:
		"`final`: only each task's end; `all`: every change of status and progress. Applies to tasks that have not started yet.",
	request: { body: jsonBody(hookSettingsBody) },
	responses: answers("seed001", "The setting now.", body.HookSettings),
});
const ownDeliveries = createRoute({
	...about("callbacks", "user"),
	method: "get",
	path: "/deliveries",
	summary: "The caller's callback attempts, newest first",
	request: { query: userQuery },
	responses: answers("seed001", "A page of attempts.", body.DeliveryPage),
});
const redeliverOwn = createRoute({
	...about("callbacks", "user"),
	method: "post",
	path: "/deliveries/{eventId}/redeliver",
	summary: "Send one of the caller's events again, with the same webhook-id",
	request: { params: eventParam },
	responses: answers("seed001", "Queued.", body.Redelivery, 202),
});

/** Mount at /api/user, before the account group. */
export const userDeliveryRoutes = routeGroup();
on(userDeliveryRoutes, secretRoute, async (c) => {
	const now = c.get("deps").now();
	return ok(c, secretView(await ensureWebhookSecret(dbOf(c), c.get("user").id, now, c.get("deps")), now));
});
on(userDeliveryRoutes, rotateRoute, async (c) => {
	const now = c.get("deps").now();
	return ok(c, secretView(await rotateUserWebhookSecret(dbOf(c), c.get("user").id, now, c.get("deps")), now));
});
// Which changes the caller's tasks call back about, for tasks whose submit does not say.
on(userDeliveryRoutes, settingsRoute, async (c) =>
	ok(c, { events: await findUserHookEvents(dbOf(c), c.get("user").id) }),
);
on(userDeliveryRoutes, setSettingsRoute, async (c) =>
	ok(c, { events: await setUserHookEvents(dbOf(c), c.get("user").id, c.req.valid("json").events) }),
);
on(userDeliveryRoutes, ownDeliveries, (c) => listPage(c, c.req.valid("query"), c.get("user").id));
on(userDeliveryRoutes, redeliverOwn, (c) => redeliver(c, c.req.valid("param").eventId, c.get("user").id));

const allDeliveries = createRoute({
	...about("admin", "admin"),
	method: "get",
	path: "/deliveries",
	summary: "Everyone's callback attempts, newest first",
	request: { query: adminQuery },
	responses: answers("seed001", "A page of attempts.", body.DeliveryPage),
});
const redeliverAny = createRoute({
	...about("admin", "admin"),
	method: "post",
	path: "/deliveries/{eventId}/redeliver",
	summary: "Send any event again, with the same webhook-id",
	request: { params: eventParam },
	responses: answers("seed001", "Queued.", body.Redelivery, 202),
});

/** Mount at /api/admin, before the admin group. */
export const adminDeliveryRoutes = routeGroup();
on(adminDeliveryRoutes, allDeliveries, async (c) => {
	const query = c.req.valid("query");
	let userId: number | undefined;
	if (query.user !== undefined) {
		const user = await findUserBySub(dbOf(c), query.user);
		if (!user) return ok(c, { items: [], next_cursor: null });
		userId = user.id;
	}
	return listPage(c, query, userId);
});
on(adminDeliveryRoutes, redeliverAny, (c) => redeliver(c, c.req.valid("param").eventId, undefined));
