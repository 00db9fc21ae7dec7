/**
 * Client callbacks, in the new-api envelope `{success, message, data}`: the caller's signing
 * secret (show, rotate), callback settings and delivery log (list, redeliver) under /api/user; everyone's log under
 * /api/admin. Times are epoch seconds.
 *
 * Middleware is per route, not `.use()`: these groups share their base paths with the account
 * and admin groups, and mounted before them they answer their own paths alone.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import { authenticate } from "../auth/middleware";
import type { AppEnv } from "../context";
import { dbOf, requestDb } from "../db/request-db";
import { DELIVERY_OUTCOMES, HOOK_EVENT_MODES, type WebhookSecretRow } from "../db/schema";
import { findUserBySub, findUserHookEvents, setUserHookEvents } from "../db/users";
import { type DeliveryFilter, type DeliveryListing, findEventAttempt, listDeliveries } from "../db/webhooks";
import { badRequest, notFound } from "../errors";
import { storedChange } from "../hooks/deliver";
import { ensureWebhookSecret, previousExpiresAt, rotateUserWebhookSecret } from "../hooks/secrets";
import type { HookMessage } from "../tasks/messages";
import { epochSeconds } from "../time";
import { ok } from "./envelopes";
import { integer, validate } from "./validate";

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
const encodeCursor = (id: number) => btoa(`d${id}`).replace(/=+$/, "");

function decodeCursor(value: string): number {
	let text: string;
	try {
		text = atob(value);
	} catch {
		throw badRequest("cursor is not valid");
	}
	const match = /^d(\d{1,15})$/.exec(text);
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

/** Mount at /api/user, before the account group. */
export const userDeliveryRoutes = new Hono<AppEnv>()
	.get("/webhook-secret", requestDb(), authenticate(), async (c) => {
		const now = c.get("deps").now();
		return ok(c, secretView(await ensureWebhookSecret(dbOf(c), c.get("user").id, now), now));
	})
	.post("/webhook-secret/rotate", requestDb(), authenticate(), async (c) => {
		const now = c.get("deps").now();
		return ok(c, secretView(await rotateUserWebhookSecret(dbOf(c), c.get("user").id, now), now));
	})
	// Which changes the caller's tasks call back about, for tasks whose submit does not say.
	.get("/webhook-settings", requestDb(), authenticate(), async (c) =>
		ok(c, { events: await findUserHookEvents(dbOf(c), c.get("user").id) }),
	)
	.put("/webhook-settings", requestDb(), authenticate(), validate("json", hookSettingsBody), async (c) =>
		ok(c, { events: await setUserHookEvents(dbOf(c), c.get("user").id, c.req.valid("json").events) }),
	)
	.get("/deliveries", requestDb(), authenticate(), validate("query", userQuery), (c) =>
		listPage(c, c.req.valid("query"), c.get("user").id),
	)
	.post("/deliveries/:eventId/redeliver", requestDb(), authenticate(), validate("param", eventParam), (c) =>
		redeliver(c, c.req.valid("param").eventId, c.get("user").id),
	);

/** Mount at /api/admin, before the admin group. */
export const adminDeliveryRoutes = new Hono<AppEnv>()
	.get("/deliveries", requestDb(), authenticate({ role: "admin" }), validate("query", adminQuery), async (c) => {
		const query = c.req.valid("query");
		let userId: number | undefined;
		if (query.user !== undefined) {
			const user = await findUserBySub(dbOf(c), query.user);
			if (!user) return ok(c, { items: [], next_cursor: null });
			userId = user.id;
		}
		return listPage(c, query, userId);
	})
	.post(
		"/deliveries/:eventId/redeliver",
		requestDb(),
		authenticate({ role: "admin" }),
		validate("param", eventParam),
		(c) => redeliver(c, c.req.valid("param").eventId, undefined),
	);
