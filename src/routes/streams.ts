/**
 * Live progress, in the new-api envelope for errors and the ticket: `POST /api/user/stream-ticket`
 * trades a token or API key (in a header) for a short-lived ticket; `GET /api/user/stream` and
 * `GET /api/user/tasks/{id}/stream` take that ticket in the query string (browsers cannot set
 * headers on EventSource or WebSocket) and hand the connection to the user's hub
 * (src/durable/user-hub.ts): SSE, or a WebSocket when the request asks for the upgrade.
 *
 * This group shares /api/user with the account group, mounted before its signed-in catch-all.
 * The stream routes take no token at all: a token or key never belongs in a URL, so only a
 * ticket opens them.
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../context";
import { getDb } from "../db/client";
import { dbOf, requestDb } from "../db/request-db";
import { findUserTask } from "../db/tasks";
import { isUserDisabled } from "../db/users";
import { notFound, unauthorized, userDisabled } from "../errors";
import { connectRequest, parseLastEventId } from "../live/events";
import { userHub } from "../live/hub";
import { checkTicket, issueTicket } from "../live/ticket";
import { about, answers, inputOf, mediaAnswers, on, ownInput, routeGroup } from "../openapi/define";
import * as body from "../openapi/responses";
import { ok } from "./envelopes";
import { readJsonObject } from "./params";
import { parseWith } from "./validate";

export const ticketBody = z
	.object({ task_id: z.string().trim().min(1).max(128).optional() })
	.strict()
	.default({});

/** What a stream URL carries: the ticket and, to resume, the last event seen (documents the query). */
export const streamQuery = z.object({
	ticket: z.string().describe("a ticket from POST /api/user/stream-ticket (valid 60 s)"),
	last_event_id: z.string().optional().describe("resume after this event (or send the Last-Event-ID header)"),
});

const TICKET_HELP = "get one with POST /api/user/stream-ticket (tokens and API keys are never accepted in a URL)";

/** Checks the ticket and hands the connection to the user's hub. */
async function openStream(c: Context<AppEnv>, taskId?: string): Promise<Response> {
	const check = await checkTicket(c.env, c.req.query("ticket"), c.get("deps").now());
	if (!check.ok) {
		throw unauthorized(
			check.reason === "expired"
				? `stream ticket expired: ${TICKET_HELP}`
				: `missing or invalid stream ticket: ${TICKET_HELP}`,
		);
	}
	const { claims } = check;
	if ((claims.taskId ?? null) !== (taskId ?? null)) throw unauthorized("this stream ticket is for another stream");
	// A ticket outlives a disable by up to a minute: the user's flag is read as a token's is.
	if (await isUserDisabled(getDb(c.env.DB), claims.userId)) throw userDisabled();
	if (taskId && !(await findUserTask(dbOf(c), claims.userId, taskId))) throw notFound("no such task");
	const after = parseLastEventId(c.req.header("last-event-id") ?? c.req.query("last_event_id"));
	const request = connectRequest(c.req.raw, {
		userId: claims.userId,
		origin: new URL(c.req.url).origin,
		...(taskId ? { taskId } : {}),
		...(after !== undefined ? { after } : {}),
	});
	const response = await userHub(c.env, claims.userId).fetch(request);
	// The hub's answer has immutable headers; a copy lets the CORS middleware add its own.
	return response.webSocket ? response : new Response(response.body, response);
}

/** Mount at /api/user, before the account group. */
const ticketRoute = createRoute({
	...about("live", "user"),
	method: "post",
	path: "/stream-ticket",
	summary: "A 60-second ticket to open a stream with (of all the caller's tasks, or of one)",
	"x-input": ownInput("json", ticketBody),
	responses: answers("seed001", "The ticket.", body.StreamTicket),
});
const streamRoute = createRoute({
	...about("live", "none"),
	method: "get",
	path: "/stream",
	summary: "Every update of the caller's tasks: Server-Sent Events, or a WebSocket with Upgrade: websocket",
	description: 'Events {type: "snapshot" | "task", seq, …}; resume with Last-Event-ID or ?last_event_id=.',
	// Documented, not validated: a missing or bad ticket is a 401 (openStream), not a 400.
	"x-input": ownInput("query", streamQuery),
	middleware: requestDb(),
	responses: mediaAnswers("seed001", "An event stream.", "events"),
});
const taskStreamRoute = createRoute({
	...streamRoute,
	path: "/tasks/{id}/stream",
	summary: "Every update of one task, as /api/user/stream",
	description: undefined,
});

export const streamRoutes = routeGroup();
on(streamRoutes, ticketRoute, async (c) => {
	// No body (or an empty one) asks for a ticket to all the user's tasks.
	const body = parseWith(inputOf(ticketRoute), await readJsonObject(c, { emptyIsAbsent: true }));
	const user = c.get("user");
	if (body.task_id && !(await findUserTask(dbOf(c), user.id, body.task_id))) throw notFound("no such task");
	const { ticket, expiresAt } = await issueTicket(
		c.env,
		{ userId: user.id, ...(body.task_id ? { taskId: body.task_id } : {}) },
		c.get("deps").now(),
		c.get("deps"),
	);
	return ok(c, { ticket, expires_at: expiresAt, ...(body.task_id ? { task_id: body.task_id } : {}) });
});
on(streamRoutes, streamRoute, (c) => openStream(c));
on(streamRoutes, taskStreamRoute, (c) => openStream(c, c.req.param("id")));
