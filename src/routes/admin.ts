/**
 * Admin endpoints, in the new-api envelope `{success, message, data}`: users' quota and the
 * upstream channels. A channel's secret is write-only: never returned.
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import { subProblem } from "../auth/first-admin";
import type { AppEnv } from "../context";
import { createChannel, findChannel, listChannels, updateChannel } from "../db/channels";
import { dbOf } from "../db/request-db";
import { CHANNEL_KINDS, type ChannelRow, type UserRow } from "../db/schema";
import { readStats } from "../db/stats";
import {
	addUserQuota,
	createUser,
	findUserBySub,
	listUsers,
	MAX_QUOTA,
	setUserDisabled,
	setUserQuota,
	type UserCursor,
	type UserListRow,
	type UserOrder,
} from "../db/users";
import {
	discordSettingsChanges,
	discordSettingsInput,
	mergeSettings,
	parseSettings,
	parseState,
} from "../discord/settings";
import { base64url, fromBase64url } from "../encoding";
import { ApiError, badRequest, notFound } from "../errors";
import { userHub } from "../live/hub";
import { logError, logWarning } from "../log";
import { urlProblem } from "../net/url-policy";
import { about, answers, jsonBody, on, routeGroup, signedInElsewhere } from "../openapi/define";
import * as body from "../openapi/responses";
import { accountObject } from "../tasks/discord-account-stub";
import { statsView, statsWindow } from "../tasks/stats";
import { cancelUserTasks } from "../tasks/task-control";
import { epochSeconds } from "../time";
import { TASK_ACTIONS, TASK_STATUSES } from "../vocabulary";
import { ok } from "./envelopes";
import { list, listFields, TIME_ORDER_MESSAGE, timeOrder } from "./seed001";
import { integer, requiredInteger } from "./validate";

export function userView(user: UserRow) {
	return {
		sub: user.sub,
		role: user.role,
		quota: user.quota,
		task_count: user.taskCount,
		created_at: epochSeconds(user.createdAt),
		disabled: user.disabledAt !== null,
		disabled_at: user.disabledAt === null ? null : epochSeconds(user.disabledAt),
	};
}

function userListView(row: UserListRow) {
	return { ...userView(row.user), spent: row.spent };
}

const USER_PAGE_DEFAULT = 20;
const USER_PAGE_MAX = 100;

/** The user list's cursor: opaque to clients, base64url of the place the last page ended. */
const userCursorShape = z.union([
	z.object({ order: z.literal("newest"), id: z.number().int() }).strict(),
	z.object({ order: z.literal("sub"), sub: z.string().max(128) }).strict(),
	z
		.object({ order: z.literal("spend"), spent: z.number().int(), tasks: z.number().int(), id: z.number().int() })
		.strict(),
]);

function encodeUserCursor(cursor: UserCursor): string {
	return base64url(new TextEncoder().encode(JSON.stringify(cursor)));
}

function decodeUserCursor(value: string, order: UserOrder): UserCursor {
	let parsed: unknown;
	try {
		parsed = JSON.parse(new TextDecoder().decode(fromBase64url(value)));
	} catch {
		throw badRequest("cursor is not valid");
	}
	const result = userCursorShape.safeParse(parsed);
	if (!result.success) throw badRequest("cursor is not valid");
	if (result.data.order !== order) throw badRequest("cursor is for another order");
	return result.data;
}

/** The admins' user list: newest first, biggest spenders first, or a search by sub prefix (in sub order). */
export const usersQuery = z
	.object({
		q: z.string().min(1).max(128).optional().describe("subs starting with this (case-sensitive), in sub order"),
		order: z
			.enum(["newest", "spend", "sub"], { error: "order must be one of newest, spend, sub" })
			.optional()
			.describe("newest (default), spend (users who submitted, most spent first), sub; a search is in sub order"),
		page_size: integer("page_size", 1, USER_PAGE_MAX, USER_PAGE_DEFAULT),
		cursor: z.string().max(400).optional().describe("next_cursor of the previous page"),
	})
	.strict()
	.refine((q) => q.q === undefined || q.order === undefined || q.order === "sub", {
		message: "a search (q) lists users in sub order: leave order out or send order=sub",
	});

export const newUserBody = z
	.object({
		sub: z.string().superRefine((sub, ctx) => {
			const problem = subProblem(sub);
			if (problem) ctx.addIssue({ code: "custom", message: problem });
		}),
		role: z.enum(["user", "admin"], { error: "role must be user or admin" }).default("user"),
		quota: z.number().int().min(0).max(MAX_QUOTA).default(0),
	})
	.strict();

export const disableBody = z
	.object({
		tasks: z
			.enum(["finish", "cancel"], { error: "tasks must be finish or cancel" })
			.describe("the user's unfinished tasks: finish (run to their end) or cancel (each refunded once)"),
	})
	.strict();

function channelView(channel: ChannelRow) {
	const view = {
		id: channel.id,
		name: channel.name,
		kind: channel.kind,
		base_url: channel.baseUrl,
		weight: channel.weight,
		enabled: channel.enabled,
		disabled_reason: channel.disabledReason,
		failure_count: channel.failureCount,
		has_secret: channel.secret !== "",
		created_at: epochSeconds(channel.createdAt),
		updated_at: epochSeconds(channel.updatedAt),
	};
	const settings = channel.kind === "discord" ? parseSettings(channel.discord) : undefined;
	if (!settings) return view;
	const state = parseState(channel.discordState);
	return {
		...view,
		discord: settings,
		// A disabled channel's object has closed its socket, whatever it last wrote.
		connection: channel.enabled ? state.connection : ("disabled" as const),
		running: state.running,
		waiting: state.waiting,
		mode: state.mode ?? settings.mode ?? "fast",
		last_error: state.lastError,
		last_heard_at: state.lastHeardAt ? epochSeconds(state.lastHeardAt) : null,
		fast_time_remaining: state.fastTimeRemaining ?? "",
	};
}

export const quotaBody = z
	.object({
		quota: z.number().int().min(0).max(MAX_QUOTA).optional(),
		delta: z.number().int().min(-MAX_QUOTA).max(MAX_QUOTA).optional(),
	})
	.strict()
	.refine((b) => (b.quota === undefined) !== (b.delta === undefined), {
		message: "send exactly one of quota or delta",
	});

const channelFields = {
	name: z.string().trim().min(1).max(64),
	base_url: z.string().max(2048),
	secret: z.string().max(512),
	weight: z.number().int().min(0).max(1000),
	enabled: z.boolean(),
};
/**
 * A relay (`kind` "midjourney-proxy", the default) needs base_url; a Discord account (`kind`
 * "discord") needs its user token as `secret` and `discord` settings, and has no base_url (its
 * api_base stands in, as the origin its media may come from).
 */
export const newChannelBody = z
	.object({
		...channelFields,
		kind: z
			.enum(CHANNEL_KINDS, { error: `kind must be one of ${CHANNEL_KINDS.join(", ")}` })
			.default("midjourney-proxy"),
		base_url: channelFields.base_url.optional(),
		secret: channelFields.secret.default(""),
		weight: channelFields.weight.default(1),
		enabled: channelFields.enabled.default(true),
		discord: discordSettingsInput.optional(),
	})
	.strict()
	.superRefine((body, ctx) => {
		if (body.kind === "discord") {
			if (!body.discord)
				ctx.addIssue({
					code: "custom",
					path: ["discord"],
					message: "discord: required for a discord channel (guild_id, channel_id)",
				});
			if (!body.secret.trim())
				ctx.addIssue({
					code: "custom",
					path: ["secret"],
					message: "secret: a discord channel needs the account's user token",
				});
			if (body.base_url !== undefined)
				ctx.addIssue({
					code: "custom",
					path: ["base_url"],
					message: "base_url: not used by a discord channel (set discord.api_base)",
				});
		} else {
			if (body.base_url === undefined)
				ctx.addIssue({ code: "custom", path: ["base_url"], message: "base_url: required" });
			if (body.discord !== undefined)
				ctx.addIssue({ code: "custom", path: ["discord"], message: "discord: only for kind discord" });
		}
	});
export const channelChanges = z
	.object({ ...channelFields, discord: discordSettingsChanges })
	.partial()
	.strict();
export const channelId = z.object({ id: requiredInteger("id", 1, Number.MAX_SAFE_INTEGER) });

function checkBaseUrl(env: Env, baseUrl: string | undefined, field = "base_url"): void {
	if (baseUrl === undefined) return;
	const problem = urlProblem(baseUrl, env, field);
	if (problem) throw badRequest(problem);
}

/** Runs work after the response (an upstream's cancel); without an execution context (tests) it still runs. */
function inBackground(c: Context<AppEnv>, work: Promise<unknown>): void {
	try {
		c.executionCtx.waitUntil(work);
	} catch {
		// app.fetch called without a context.
	}
}

/** D1's error for a taken name, also when drizzle wraps it (DrizzleQueryError keeps it as `cause`). */
function isUniqueViolation(error: unknown): boolean {
	for (let e = error, depth = 0; e !== undefined && depth < 5; depth++) {
		if (String(e).includes("UNIQUE constraint failed: channels.name")) return true;
		e = e instanceof Error ? e.cause : undefined;
	}
	return false;
}

/** The admins' task list: seed 001's parameters plus a user (by sub), a status and an action. */
export const adminTasksQuery = z
	.object({
		...listFields,
		user: z.string().trim().min(1).max(128).optional(),
		status: z.enum(TASK_STATUSES, { error: `status must be one of ${TASK_STATUSES.join(", ")}` }).optional(),
		action: z.enum(TASK_ACTIONS, { error: `action must be one of ${TASK_ACTIONS.join(", ")}` }).optional(),
	})
	.refine(timeOrder, { message: TIME_ORDER_MESSAGE });

/** The dashboard's windows: the last `hours` hours, the last `days` days (local to utc_offset). */
export const statsQuery = z
	.object({
		hours: integer("hours", 1, 168, 24),
		days: integer("days", 1, 90, 30),
		utc_offset: integer("utc_offset", -840, 840, 0).describe("minutes east of UTC that local days start at; default 0"),
		top: integer("top", 1, 50, 10),
	})
	.strict();

const tasksRoute = createRoute({
	...about("admin", "admin"),
	method: "get",
	path: "/tasks",
	summary: "Everyone's tasks, filtered by user, channel, status, action and time",
	description:
		"Seed 001's admin list (same answer and paging) with three more filters: user (a sub), status, action. Each item also names its owner's sub (user).",
	request: { query: adminTasksQuery },
	responses: answers("seed001", "A page of tasks, with user (the sub), user_id and channel_id.", body.Seed001Page),
});
const statsRoute = createRoute({
	...about("admin", "admin"),
	method: "get",
	path: "/stats",
	summary: "The dashboard: tasks per hour and day by status, quota spent, durations, channels, busiest users",
	description:
		"Served from rollups kept by triggers as tasks change (no scan of the tasks table): the cost depends on the windows asked for, not on how many tasks exist. p50/p95 are estimated from histograms with four buckets per doubling (within 19%).",
	request: { query: statsQuery },
	responses: answers("seed001", "The figures.", body.AdminStats),
});
const usersRoute = createRoute({
	...about("admin", "admin"),
	method: "get",
	path: "/users",
	summary: "Users: newest first, biggest spenders first, or a search by sub prefix",
	description:
		"Each page reads about page_size rows at any number of users: newest walks the users primary key, a search (q, in sub order) the sub index, spend the stats_users_spent index (users who have submitted a task). Page on with next_cursor.",
	request: { query: usersQuery },
	responses: answers("seed001", "A page of users.", body.UserPage),
});
const newUserRoute = createRoute({
	...about("admin", "admin"),
	method: "post",
	path: "/users",
	summary: "Create a user with a role and a starting quota",
	description: "A taken sub answers 409. Give the user access with POST /api/admin/users/{sub}/keys.",
	request: { body: jsonBody(newUserBody) },
	responses: answers("seed001", "The account.", body.UserView, 201),
});
const disableRoute = createRoute({
	...about("admin", "admin"),
	method: "post",
	path: "/users/{sub}/disable",
	summary: "Disable a user: every token and key refused at once; unfinished tasks finish or are cancelled",
	description:
		"From the next request on, in every isolate, the user's tokens, keys and stream tickets answer 403 on every surface. tasks: finish lets unfinished tasks run to their end; cancel ends them as CANCEL, each refunded once (up to 100 per call: call again while remaining is true). An admin cannot disable itself (400).",
	request: { body: jsonBody(disableBody) },
	responses: answers("seed001", "The account, and what was cancelled.", body.DisabledUser),
});
const enableRoute = createRoute({
	...about("admin", "admin"),
	method: "post",
	path: "/users/{sub}/enable",
	summary: "Enable a disabled user: its tokens and live keys work again",
	responses: answers("seed001", "The account.", body.UserView),
});
const userRoute = createRoute({
	...about("admin", "admin"),
	method: "get",
	path: "/users/{sub}",
	summary: "A user's account",
	responses: answers("seed001", "The account.", body.UserView),
});
const quotaRoute = createRoute({
	...about("admin", "admin"),
	method: "put",
	path: "/users/{sub}/quota",
	summary: "Set (quota) or adjust (delta) a user's balance",
	description: "Send exactly one of quota and delta; the balance never goes below zero (400).",
	request: { body: jsonBody(quotaBody) },
	responses: answers("seed001", "The account after the change.", body.UserView),
});
const channelsRoute = createRoute({
	...about("admin", "admin"),
	method: "get",
	path: "/channels",
	summary: "Every channel: relays and Discord accounts (with connection state and load)",
	responses: answers("seed001", "The channels (never their secrets).", body.ChannelList),
});
const newChannelRoute = createRoute({
	...about("admin", "admin"),
	method: "post",
	path: "/channels",
	summary: "Add a channel: a midjourney-proxy relay (base_url) or a Discord account (kind discord)",
	description: "A taken name answers 409.",
	request: { body: jsonBody(newChannelBody) },
	responses: answers("seed001", "The channel.", body.ChannelView, 201),
});
const channelRoute = createRoute({
	...about("admin", "admin"),
	method: "patch",
	path: "/channels/{id}",
	summary: "Change a channel; enabled: true re-enables it and clears its failures",
	request: { params: channelId, body: jsonBody(channelChanges) },
	responses: answers("seed001", "The channel.", body.ChannelView),
});

export const adminRoutes = routeGroup();
on(adminRoutes, tasksRoute, async (c) => {
	const query = c.req.valid("query");
	let userId: number | undefined;
	if (query.user !== undefined) {
		// An unknown user has no tasks: an empty page, like any filter that matches nothing.
		userId = (await findUserBySub(dbOf(c), query.user))?.id ?? -1;
	}
	return list(c, query, true, { status: query.status, action: query.action, userId }, true);
});
on(adminRoutes, statsRoute, async (c) => {
	const q = c.req.valid("query");
	const query = { hours: q.hours, days: q.days, utcOffset: q.utc_offset, top: q.top };
	const now = c.get("deps").now();
	const rows = await readStats(dbOf(c), statsWindow(query, now));
	return ok(c, statsView(query, now, rows));
});
on(adminRoutes, usersRoute, async (c) => {
	const q = c.req.valid("query");
	const order: UserOrder = q.q !== undefined ? "sub" : (q.order ?? "newest");
	const page = await listUsers(dbOf(c), {
		order,
		prefix: q.q,
		after: q.cursor ? decodeUserCursor(q.cursor, order) : undefined,
		limit: q.page_size,
	});
	return ok(c, {
		items: page.rows.map(userListView),
		order,
		next_cursor: page.next ? encodeUserCursor(page.next) : null,
	});
});
on(adminRoutes, newUserRoute, async (c) => {
	const body = c.req.valid("json");
	const user = await createUser(dbOf(c), body, c.get("deps").now());
	if (!user) throw new ApiError("CONFLICT", `a user with sub ${body.sub} exists`);
	return ok(c, userView(user), 201);
});
on(adminRoutes, disableRoute, async (c) => {
	const sub = c.req.param("sub");
	// An admin who disabled itself could not undo it.
	if (sub === c.get("user").sub) throw badRequest("you cannot disable yourself");
	const db = dbOf(c);
	const user = await setUserDisabled(db, sub, c.get("deps").now());
	if (!user) throw notFound("no such user");
	// Streams already open end too (a ticket to reopen them is refused from now on).
	await userHub(c.env, user.id)
		.closeAll("this user is disabled")
		.catch((error: unknown) => logError("closing a disabled user's streams failed", error));
	let cancelled = 0;
	let remaining = false;
	if (c.req.valid("json").tasks === "cancel") {
		({ cancelled, remaining } = await cancelUserTasks(c.env, db, user.id, c.get("deps"), (p) => inBackground(c, p)));
	}
	// The refunds of what was cancelled changed the balance: answer with the account as it is now.
	const now = cancelled > 0 ? ((await findUserBySub(db, sub)) ?? user) : user;
	return ok(c, { ...userView(now), cancelled, remaining });
});
on(adminRoutes, enableRoute, async (c) => {
	const user = await setUserDisabled(dbOf(c), c.req.param("sub"), null);
	if (!user) throw notFound("no such user");
	return ok(c, userView(user));
});
on(adminRoutes, userRoute, async (c) => {
	const user = await findUserBySub(dbOf(c), c.req.param("sub"));
	if (!user) throw notFound("no such user");
	return ok(c, userView(user));
});
on(adminRoutes, quotaRoute, async (c) => {
	const body = c.req.valid("json");
	const sub = c.req.param("sub");
	if (sub.length > 128) throw badRequest("sub must be at most 128 characters");
	const db = dbOf(c);
	const user =
		body.quota !== undefined
			? await setUserQuota(db, sub, body.quota, c.get("deps").now())
			: // quotaBody lets exactly one of the two through.
				await addUserQuota(db, sub, body.delta ?? 0);
	if (!user) {
		if (!(await findUserBySub(db, sub))) throw notFound("no such user");
		throw badRequest((body.delta ?? 0) < 0 ? "quota would go below zero" : `quota would exceed ${MAX_QUOTA}`);
	}
	return ok(c, userView(user));
});
on(adminRoutes, channelsRoute, async (c) => {
	const channels = await listChannels(dbOf(c));
	return ok(c, channels.map(channelView));
});
on(adminRoutes, newChannelRoute, async (c) => {
	const body = c.req.valid("json");
	const settings = body.kind === "discord" ? body.discord : undefined;
	const baseUrl = settings ? settings.api_base : (body.base_url ?? "");
	checkBaseUrl(c.env, baseUrl, settings ? "discord.api_base" : "base_url");
	if (settings) checkBaseUrl(c.env, settings.activity_base, "discord.activity_base");
	const now = c.get("deps").now();
	const channel = await createChannel(dbOf(c), {
		name: body.name,
		kind: body.kind,
		baseUrl,
		secret: body.secret,
		weight: body.weight,
		enabled: body.enabled,
		discord: settings ? JSON.stringify(settings) : "",
		createdAt: now,
		updatedAt: now,
	});
	if (!channel) throw new ApiError("CONFLICT", `a channel named ${body.name} exists`);
	if (channel.kind === "discord" && channel.enabled) await refreshAccount(c.env, channel.id);
	return ok(c, channelView(channel), 201);
});
on(adminRoutes, channelRoute, async (c) => {
	const body = c.req.valid("json");
	const id = c.req.valid("param").id;
	const db = dbOf(c);
	const changes: Parameters<typeof updateChannel>[2] = {
		name: body.name,
		secret: body.secret,
		weight: body.weight,
		enabled: body.enabled,
	};
	const current = await findChannel(db, id);
	if (!current) throw notFound("no such channel");
	if (current.kind === "discord") {
		if (body.base_url !== undefined) throw badRequest("base_url: not used by a discord channel (set discord.api_base)");
		if (body.secret !== undefined && !body.secret.trim())
			throw badRequest("secret: a discord channel needs the account's user token");
		if (body.discord) {
			const checked = discordSettingsInput.safeParse(mergeSettings(parseSettings(current.discord), body.discord));
			if (!checked.success) throw badRequest(`discord: ${checked.error.issues[0].message}`);
			checkBaseUrl(c.env, checked.data.api_base, "discord.api_base");
			checkBaseUrl(c.env, checked.data.activity_base, "discord.activity_base");
			changes.discord = JSON.stringify(checked.data);
			changes.baseUrl = checked.data.api_base;
		}
	} else {
		if (body.discord !== undefined) throw badRequest("discord: only for kind discord");
		checkBaseUrl(c.env, body.base_url, "base_url");
		changes.baseUrl = body.base_url;
	}
	// Enabling starts afresh; disabling by hand says so.
	if (body.enabled === true) Object.assign(changes, { disabledReason: "", failureCount: 0 });
	if (body.enabled === false) changes.disabledReason = "disabled by an admin";
	let channel: ChannelRow | undefined;
	try {
		channel = await updateChannel(db, id, changes, c.get("deps").now());
	} catch (error) {
		if (isUniqueViolation(error)) throw new ApiError("CONFLICT", `a channel named ${body.name} exists`);
		throw error;
	}
	if (!channel) throw notFound("no such channel");
	// The account's object reads its row again: a disabled one closes its socket, an enabled one connects.
	if (channel.kind === "discord") await refreshAccount(c.env, channel.id);
	return ok(c, channelView(channel));
});
// The admin API answers admins only, unknown paths included (the last group under /api/admin).
signedInElsewhere(adminRoutes, "admin");

/** Best effort: the object's watchdog alarm catches up on anything this call misses. */
async function refreshAccount(env: Env, channelId: number): Promise<void> {
	try {
		await accountObject(env, channelId).refresh(channelId);
	} catch (error) {
		logWarning("discord account refresh failed", channelId, error instanceof Error ? error.message : String(error));
	}
}
