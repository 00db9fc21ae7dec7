/**
 * Every public route of the Worker, described once: the source of /openapi.json. Request
 * schemas are the very zod objects the route files validate with, so the document cannot
 * promise what the handlers refuse. A route added to the app without an entry here (or an
 * entry whose route is gone) fails test/integration/openapi.test.ts.
 *
 * To add a route: export its request schema from its route file and add one Operation to
 * OPERATIONS: its methods, its full mounted path (`{param}` for Hono's `:param`), surface, tag,
 * auth, summary, input (the schema and where it is read from) and success (a body schema,
 * best a named one added to ./responses.ts, or a media type).
 */
import type { z } from "zod";
import type { Surface } from "../context";
import * as admin from "../routes/admin";
import * as album from "../routes/album";
import * as bannedWords from "../routes/banned-words";
import * as deliveries from "../routes/deliveries";
import * as keys from "../routes/keys";
import * as proxy from "../routes/proxy";
import * as seed001 from "../routes/seed001";
import * as seed002 from "../routes/seed002";
import * as streams from "../routes/streams";
import * as templates from "../routes/templates";
import { upstreamTaskSchema } from "../upstream/protocol";
import { type Auth, type Input, TAGS, type Tag } from "./define";
import * as body from "./responses";

export { TAGS };

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";

export interface Operation {
	/** Every method the one handler is registered for (Hono's `.on([...])`). */
	methods: readonly Method[];
	/** The full mounted path, with `{name}` for each path parameter. */
	path: string;
	/** Decides the error envelope (src/routes/envelopes.ts) and, for seed001 and album, the success wrapper. */
	surface: Surface;
	tag: Tag;
	auth: Auth;
	summary: string;
	description?: string;
	input?: Input;
	/** The `validate("param", …)` schema; without it every path parameter is a string. */
	pathParams?: z.ZodType;
	success: {
		status?: 200 | 201 | 202;
		description: string;
		/**
		 * The JSON data inside the surface's success envelope (src/routes/envelopes.ts `ok`): best a
		 * named schema from ./responses.ts (a component, checked against real answers in the test).
		 */
		body?: z.ZodType;
		/** A non-JSON answer (`events`: an SSE stream). */
		media?: "image" | "video" | "html" | "javascript" | "openapi" | "events";
	};
	/** Takes an Idempotency-Key header (src/routes/idempotency.ts). */
	idempotent?: boolean;
	/** Answers the next page's cursor in an x-next-cursor header. */
	cursorHeader?: boolean;
	/** Also served under every speed-mode prefix (/mj-fast/mj/…): see SPEED_MODE_PREFIXES. */
	speedModes?: boolean;
}

const proxySubmit = (path: string, summary: string, schema: z.ZodType, description?: string): Operation => ({
	methods: ["POST"],
	path: `/mj/submit/${path}`,
	surface: "proxy",
	tag: "proxy",
	auth: "user",
	summary,
	description,
	input: { from: "json", schema },
	success: { description: "Accepted: the task id in `result`.", body: body.ProxySubmitAnswer },
	idempotent: true,
	speedModes: true,
});

const proxyTask = (
	methods: readonly Method[],
	path: string,
	summary: string,
	success: Operation["success"],
	extra: Partial<Operation> = {},
): Operation => ({
	methods,
	path: `/mj/task/${path}`,
	surface: "proxy",
	tag: "proxy",
	auth: "user",
	summary,
	success,
	speedModes: true,
	...extra,
});

const v1Call = (path: string, summary: string, schema: z.ZodType, success: Operation["success"]): Operation => ({
	methods: ["GET", "POST"],
	path: `/api/v1/${path}`,
	surface: "seed002",
	tag: "seed002",
	auth: "user",
	summary,
	input: { from: "params", schema },
	success,
});

const templateCall = (path: string, summary: string, role: "user" | "admin", extra: Partial<Operation>): Operation => ({
	methods: ["POST"],
	path: `/imageTemp/${path}`,
	surface: "album",
	tag: "templates",
	auth: role,
	summary,
	success: { description: "The template.", body: body.Template },
	...extra,
});

const signedFile = (
	path: string,
	tag: Tag,
	surface: Surface,
	summary: string,
	media: "image" | "video",
): Operation => ({
	methods: ["GET", "HEAD"],
	path,
	surface,
	tag,
	auth: "signature",
	summary,
	success: { description: "The file, with ETag, Range (206) and If-None-Match (304) support.", media },
});

export const OPERATIONS: readonly Operation[] = [
	// Seed 002
	{
		...v1Call("trigger/submit", "Submit IMAGINE, UPSCALE or VARIATION", seed002.submitSchema, {
			description: "Accepted: the task's _id in `result`.",
			body: body.Seed002SubmitAnswer,
		}),
		idempotent: true,
	},
	v1Call("task/fetch", "One task by its _id", seed002.fetchSchema, {
		description: "The task in the seed's format.",
		body: body.Seed002Task,
	}),
	{
		...v1Call("task/list", "The caller's tasks, newest first", seed002.listSchema, {
			description: "A bare array of tasks; the next page's cursor is in x-next-cursor.",
			body: body.Seed002TaskList,
		}),
		cursorHeader: true,
	},

	// midjourney-proxy
	proxySubmit("imagine", "Imagine: a prompt, with optional reference pictures", proxy.imagineBody),
	proxySubmit("change", "Upscale, vary or reroll a finished task (legacy)", proxy.changeBody),
	proxySubmit("simple-change", 'The same as change, as text: "<taskId> U1"', proxy.simpleChangeBody),
	proxySubmit("action", "Press any button of a finished task, by its customId", proxy.actionBody),
	proxySubmit(
		"modal",
		"The second step of a task waiting in MODAL (custom zoom, vary region)",
		proxy.modalBody,
		"Answers the waiting task's own id.",
	),
	proxySubmit("describe", "Describe a picture (base64 or link)", proxy.describeBody),
	proxySubmit("blend", "Blend 2 to 5 pictures", proxy.blendBody),
	proxySubmit("shorten", "Shorten a prompt", proxy.shortenBody),
	proxySubmit("video", "A video from a picture or from a finished task", proxy.videoBody),
	proxySubmit("edits", "Edit a picture with a prompt", proxy.editsBody),
	proxySubmit("edit", "The same as edits (trueai-org's name)", proxy.editsBody),
	proxySubmit(
		"retexture",
		"Retexture a picture: a new surface on its shape, described by the prompt",
		proxy.retextureBody,
	),
	{
		...proxySubmit("upload-discord-images", "Upload pictures; answers signed links to them", proxy.uploadBody),
		success: { description: "The pictures' links in `result`.", body: body.ProxyUploadAnswer },
	},
	{
		...proxySubmit("", "", proxy.swapBody),
		path: "/mj/insight-face/swap",
		summary: "Swap the face of one picture onto another",
	},
	{
		...proxySubmit("", "", proxy.videoSwapForm),
		path: "/mj/insight-face/video-swap",
		summary: "Swap the face of a picture into a video",
		description:
			"A multipart form, as trueai-org takes it: the face as text, the video as the file targetFile (MP4, at most 10 MB) or its URL targetUrl.",
		input: {
			from: "form",
			schema: proxy.videoSwapForm,
			formFiles: { targetFile: { media: "video/mp4", description: "the video (MP4, at most 10 MB)" } },
		},
	},
	...(
		[
			["POST", "create"],
			["GET", "{id}/fetch"],
			["POST", "pair/skip"],
			["POST", "pair/rate"],
		] as const
	).map(
		([method, path]): Operation => ({
			methods: [method],
			path: `/mj/profile/${path}`,
			surface: "proxy",
			tag: "proxy",
			auth: "user",
			summary: "Personalization profiles: not supported",
			description:
				"Profiles need Midjourney web accounts, which the gateway's channels are not: this (and any other path under /mj/profile) answers HTTP 400 with code 4 and a description saying so.",
			success: { description: "Never: always the error." },
			speedModes: true,
		}),
	),
	proxyTask(
		["GET"],
		"list",
		"The caller's tasks, newest first",
		{ description: "A bare array; the next page's cursor is in x-next-cursor.", body: body.ProxyTaskList },
		{ input: { from: "query", schema: proxy.listQuery }, cursorHeader: true },
	),
	proxyTask(["GET"], "queue", "The caller's unfinished tasks", {
		description: "A bare array of tasks.",
		body: body.ProxyTaskList,
	}),
	proxyTask(
		["POST"],
		"list-by-condition",
		"The caller's tasks with the given ids, in that order",
		{ description: "Unknown ids and other users' are left out.", body: body.ProxyTaskList },
		{ input: { from: "json", schema: proxy.listByConditionBody } },
	),
	proxyTask(
		["POST"],
		"list-by-ids",
		"The same as list-by-condition (trueai-org's name)",
		{ description: "Unknown ids and other users' are left out.", body: body.ProxyTaskList },
		{ input: { from: "json", schema: proxy.listByConditionBody } },
	),
	proxyTask(["GET"], "{id}/fetch", "One task", { description: "The task.", body: body.ProxyTask }),
	proxyTask(["GET"], "{id}/image-seed", "The seed of a finished task's image", {
		description: "The seed in `result`.",
		body: body.ProxySeedAnswer,
	}),
	proxyTask(["POST"], "{id}/cancel", "Cancel a task that has not finished", {
		description: "Cancelled (or cancelled already): the id in `result`.",
		body: body.ProxySubmitAnswer,
	}),

	// Seed 001
	{
		methods: ["GET"],
		path: "/api/mj/self",
		surface: "seed001",
		tag: "seed001",
		auth: "user",
		summary: "The caller's tasks",
		description: "Pages by `p` as the seed describes, or by `cursor` / `next_cursor` at the same cost at any depth.",
		input: { from: "query", schema: seed001.listQuery },
		success: { description: "A page of tasks.", body: body.Seed001Page },
	},
	{
		methods: ["GET"],
		path: "/api/mj",
		surface: "seed001",
		tag: "seed001",
		auth: "admin",
		summary: "Everyone's tasks (admins)",
		description: "Also answered at /api/mj/ (with the trailing slash the seed's URL has).",
		input: { from: "query", schema: seed001.listQuery },
		success: { description: "A page of tasks, with user_id and channel_id.", body: body.Seed001Page },
	},
	{
		methods: ["GET"],
		path: "/api/admin/tasks",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Everyone's tasks, filtered by user, channel, status, action and time",
		description:
			"Seed 001's admin list (same answer and paging) with three more filters: user (a sub), status, action. Each item also names its owner's sub (user).",
		input: { from: "query", schema: admin.adminTasksQuery },
		success: { description: "A page of tasks, with user (the sub), user_id and channel_id.", body: body.Seed001Page },
	},

	// Callbacks: the webhook secret and the delivery log
	{
		methods: ["GET"],
		path: "/api/user/webhook-secret",
		surface: "seed001",
		tag: "callbacks",
		auth: "user",
		summary: "The caller's webhook secret (made on first use)",
		success: { description: "The secret.", body: body.WebhookSecret },
	},
	{
		methods: ["POST"],
		path: "/api/user/webhook-secret/rotate",
		surface: "seed001",
		tag: "callbacks",
		auth: "user",
		summary: "Rotate the webhook secret; the previous one keeps signing for 24 hours",
		success: { description: "The new secret.", body: body.WebhookSecret },
	},
	{
		methods: ["GET"],
		path: "/api/user/webhook-settings",
		surface: "seed001",
		tag: "callbacks",
		auth: "user",
		summary: "Which changes the caller's tasks call back about",
		description:
			"For midjourney-proxy submits without notifyHookEvents (seed-002 and album tasks hear of the end unless told). Default all, as midjourney-proxy servers.",
		success: { description: "The setting.", body: body.HookSettings },
	},
	{
		methods: ["PUT"],
		path: "/api/user/webhook-settings",
		surface: "seed001",
		tag: "callbacks",
		auth: "user",
		summary: "Set which changes the caller's tasks call back about",
		description:
			"`final`: only each task's end; `all`: every change of status and progress. Applies to tasks that have not started yet.",
		input: { from: "json", schema: deliveries.hookSettingsBody },
		success: { description: "The setting now.", body: body.HookSettings },
	},
	{
		methods: ["GET"],
		path: "/api/user/deliveries",
		surface: "seed001",
		tag: "callbacks",
		auth: "user",
		summary: "The caller's callback attempts, newest first",
		input: { from: "query", schema: deliveries.userQuery },
		success: { description: "A page of attempts.", body: body.DeliveryPage },
	},
	{
		methods: ["POST"],
		path: "/api/user/deliveries/{eventId}/redeliver",
		surface: "seed001",
		tag: "callbacks",
		auth: "user",
		summary: "Send one of the caller's events again, with the same webhook-id",
		pathParams: deliveries.eventParam,
		success: { status: 202, description: "Queued.", body: body.Redelivery },
	},
	{
		methods: ["GET"],
		path: "/api/admin/deliveries",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Everyone's callback attempts, newest first",
		input: { from: "query", schema: deliveries.adminQuery },
		success: { description: "A page of attempts.", body: body.DeliveryPage },
	},
	{
		methods: ["POST"],
		path: "/api/admin/deliveries/{eventId}/redeliver",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Send any event again, with the same webhook-id",
		pathParams: deliveries.eventParam,
		success: { status: 202, description: "Queued.", body: body.Redelivery },
	},
	// Live progress
	{
		methods: ["POST"],
		path: "/api/user/stream-ticket",
		surface: "seed001",
		tag: "live",
		auth: "user",
		summary: "A 60-second ticket to open a stream with (of all the caller's tasks, or of one)",
		input: { from: "json", schema: streams.ticketBody },
		success: { description: "The ticket.", body: body.StreamTicket },
	},
	{
		methods: ["GET"],
		path: "/api/user/stream",
		surface: "seed001",
		tag: "live",
		auth: "none",
		summary: "Every update of the caller's tasks: Server-Sent Events, or a WebSocket with Upgrade: websocket",
		description: 'Events {type: "snapshot" | "task", seq, …}; resume with Last-Event-ID or ?last_event_id=.',
		input: { from: "query", schema: streams.streamQuery },
		success: { description: "An event stream.", media: "events" },
	},
	{
		methods: ["GET"],
		path: "/api/user/tasks/{id}/stream",
		surface: "seed001",
		tag: "live",
		auth: "none",
		summary: "Every update of one task, as /api/user/stream",
		input: { from: "query", schema: streams.streamQuery },
		success: { description: "An event stream.", media: "events" },
	},
	// Account and API keys
	{
		methods: ["GET"],
		path: "/api/user/self",
		surface: "seed001",
		tag: "account",
		auth: "user",
		summary: "The caller's account and quota",
		success: { description: "The account.", body: body.UserView },
	},
	{
		methods: ["POST"],
		path: "/api/user/keys",
		surface: "seed001",
		tag: "keys",
		auth: "user",
		summary: "Make an API key",
		description: "The whole key is in this answer only. At most 20 live keys (409 beyond).",
		input: { from: "json", schema: keys.newKeyBody },
		success: { status: 201, description: "The new key.", body: body.NewApiKey },
	},
	{
		methods: ["GET"],
		path: "/api/user/keys",
		surface: "seed001",
		tag: "keys",
		auth: "user",
		summary: "The caller's live API keys, newest first",
		success: { description: "The keys (prefixes only).", body: body.ApiKeyList },
	},
	{
		methods: ["DELETE"],
		path: "/api/user/keys/{id}",
		surface: "seed001",
		tag: "keys",
		auth: "user",
		summary: "Revoke one of the caller's API keys",
		pathParams: keys.keyId,
		success: { description: "Revoked.", body: body.IdAnswer },
	},
	{
		methods: ["GET"],
		path: "/api/admin/users/{sub}/keys",
		surface: "seed001",
		tag: "keys",
		auth: "admin",
		summary: "Any user's live API keys",
		success: { description: "The keys (prefixes only).", body: body.ApiKeyList },
	},
	{
		methods: ["POST"],
		path: "/api/admin/users/{sub}/keys",
		surface: "seed001",
		tag: "keys",
		auth: "admin",
		summary: "Make an API key for a user",
		description:
			"The key acts as that user, with that user's role (an admin's key stops acting as admin when the user is demoted). The whole key is in this answer only. At most 20 live keys (409 beyond).",
		input: { from: "json", schema: keys.newKeyBody },
		success: { status: 201, description: "The new key.", body: body.NewApiKey },
	},
	{
		methods: ["DELETE"],
		path: "/api/admin/keys/{id}",
		surface: "seed001",
		tag: "keys",
		auth: "admin",
		summary: "Revoke any API key",
		pathParams: keys.keyId,
		success: { description: "Revoked.", body: body.IdAnswer },
	},

	// Admin
	{
		methods: ["GET"],
		path: "/api/admin/users",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Users: newest first, biggest spenders first, or a search by sub prefix",
		description:
			"Each page reads about page_size rows at any number of users: newest walks the users primary key, a search (q, in sub order) the sub index, spend the stats_users_spent index (users who have submitted a task). Page on with next_cursor.",
		input: { from: "query", schema: admin.usersQuery },
		success: { description: "A page of users.", body: body.UserPage },
	},
	{
		methods: ["POST"],
		path: "/api/admin/users",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Create a user with a role and a starting quota",
		description: "A taken sub answers 409. Give the user access with POST /api/admin/users/{sub}/keys.",
		input: { from: "json", schema: admin.newUserBody },
		success: { status: 201, description: "The account.", body: body.UserView },
	},
	{
		methods: ["POST"],
		path: "/api/admin/users/{sub}/disable",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Disable a user: every token and key refused at once; unfinished tasks finish or are cancelled",
		description:
			"From the next request on, in every isolate, the user's tokens, keys and stream tickets answer 403 on every surface. tasks: finish lets unfinished tasks run to their end; cancel ends them as CANCEL, each refunded once (up to 100 per call: call again while remaining is true). An admin cannot disable itself (400).",
		input: { from: "json", schema: admin.disableBody },
		success: { description: "The account, and what was cancelled.", body: body.DisabledUser },
	},
	{
		methods: ["POST"],
		path: "/api/admin/users/{sub}/enable",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Enable a disabled user: its tokens and live keys work again",
		success: { description: "The account.", body: body.UserView },
	},
	{
		methods: ["GET"],
		path: "/api/admin/users/{sub}",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "A user's account",
		success: { description: "The account.", body: body.UserView },
	},
	{
		methods: ["PUT"],
		path: "/api/admin/users/{sub}/quota",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Set (quota) or adjust (delta) a user's balance",
		description: "Send exactly one of quota and delta; the balance never goes below zero (400).",
		input: { from: "json", schema: admin.quotaBody },
		success: { description: "The account after the change.", body: body.UserView },
	},
	{
		methods: ["GET"],
		path: "/api/admin/stats",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "The dashboard: tasks per hour and day by status, quota spent, durations, channels, busiest users",
		description:
			"Served from rollups kept by triggers as tasks change (no scan of the tasks table): the cost depends on the windows asked for, not on how many tasks exist. p50/p95 are estimated from histograms with four buckets per doubling (within 19%).",
		input: { from: "query", schema: admin.statsQuery },
		success: { description: "The figures.", body: body.AdminStats },
	},
	{
		methods: ["GET"],
		path: "/api/admin/channels",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Every channel: relays and Discord accounts (with connection state and load)",
		success: { description: "The channels (never their secrets).", body: body.ChannelList },
	},
	{
		methods: ["POST"],
		path: "/api/admin/channels",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Add a channel: a midjourney-proxy relay (base_url) or a Discord account (kind discord)",
		description: "A taken name answers 409.",
		input: { from: "json", schema: admin.newChannelBody },
		success: { status: 201, description: "The channel.", body: body.ChannelView },
	},
	{
		methods: ["PATCH"],
		path: "/api/admin/channels/{id}",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Change a channel; enabled: true re-enables it and clears its failures",
		input: { from: "json", schema: admin.channelChanges },
		pathParams: admin.channelId,
		success: { description: "The channel.", body: body.ChannelView },
	},

	{
		methods: ["GET"],
		path: "/api/admin/banned-words",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "The banned words and phrases, with how often each refused a prompt",
		description: "BANNED_WORDS' words are merged in (source env) the first time the list is read.",
		success: { description: "The words, alphabetically.", body: body.BannedWordList },
	},
	{
		methods: ["POST"],
		path: "/api/admin/banned-words",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Ban a word or phrase (whole words, any case); in force for the next prompt",
		description:
			"Stored lower-cased and single-spaced. Checked on prompts at submit and on their English translation. A word already banned answers 409.",
		input: { from: "json", schema: bannedWords.newBannedWordBody },
		success: { status: 201, description: "The word.", body: body.BannedWordView },
	},
	{
		methods: ["DELETE"],
		path: "/api/admin/banned-words/{word}",
		surface: "seed001",
		tag: "admin",
		auth: "admin",
		summary: "Lift a ban (URL-encode the word); in force for the next prompt",
		description: "A word not banned answers 404. A BANNED_WORDS word removed here stays removed.",
		pathParams: bannedWords.bannedWordParam,
		success: { description: "The word as it was.", body: body.BannedWordView },
	},

	// The album
	{
		methods: ["POST"],
		path: "/userAlbum",
		surface: "album",
		tag: "album",
		auth: "user",
		summary: "A page of the caller's album, newest first",
		input: { from: "params", schema: album.listSchema },
		success: { description: "The pictures.", body: body.AlbumPage },
	},
	{
		methods: ["POST"],
		path: "/userAlbum/create",
		surface: "album",
		tag: "album",
		auth: "user",
		summary: "A new picture from a template (with the user's photo for face-swap templates)",
		input: { from: "params", schema: album.createSchema, files: ["origin"] },
		success: { description: "The picture, waiting.", body: body.AlbumItem },
		idempotent: true,
	},
	{
		...signedFile("/userAlbum/origin/{name}", "album", "album", "The user's own photo behind a signed link", "image"),
	},
	templateCall("list", "Image templates, in pages", "user", {
		methods: ["GET", "POST"],
		description: "Users see audited templates; admins every one, or filtered by isAudit.",
		input: { from: "params", schema: templates.listSchema },
		success: { description: "The templates.", body: body.TemplateList },
	}),
	templateCall("create", "Create a template (admins)", "admin", {
		input: { from: "params", schema: templates.createSchema, files: ["covering", "image"] },
	}),
	templateCall("update", "Change a template (admins)", "admin", {
		input: { from: "params", schema: templates.updateSchema, files: ["covering", "image"] },
	}),
	templateCall("delete", "Delete a template (admins)", "admin", {
		input: { from: "params", schema: templates.idSchema },
		success: { description: "Deleted.", body: body.IdAnswer },
	}),
	templateCall("favorite", "Favorite a template", "user", {
		input: { from: "params", schema: templates.idSchema },
		success: { description: "The template's favorites.", body: body.FavoriteState },
	}),
	templateCall("unfavorite", "Take a favorite back", "user", {
		input: { from: "params", schema: templates.idSchema },
		success: { description: "The template's favorites.", body: body.FavoriteState },
	}),
	{
		methods: ["GET", "HEAD"],
		path: "/imageTemp/file/{name}",
		surface: "album",
		tag: "templates",
		auth: "none",
		summary: "A template's picture (public)",
		success: { description: "The picture.", media: "image" },
	},

	// Images
	signedFile("/mj/image/{id}", "images", "proxy", "A task's result image", "image"),
	signedFile("/mj/video/{id}/{n}", "images", "proxy", "A task's n-th result video", "video"),
	signedFile("/mj/upload/{name}", "images", "proxy", "A picture uploaded with upload-discord-images", "image"),

	// Upstreams
	{
		methods: ["POST"],
		path: "/mj/callback/{id}",
		surface: "proxy",
		tag: "upstream",
		auth: "signature",
		summary: "An upstream pushing a task's progress (its notifyHook)",
		description: "Only the signed URL the gateway handed out for the task, and only for its upstream task id.",
		input: { from: "json", schema: upstreamTaskSchema },
		success: { description: "Applied or ignored.", body: body.CallbackAnswer },
	},

	// The service
	{
		methods: ["GET"],
		path: "/health",
		surface: "plain",
		tag: "meta",
		auth: "none",
		summary: "Liveness",
		success: { description: "Up.", body: body.Health },
	},
	{
		methods: ["GET"],
		path: "/openapi.json",
		surface: "plain",
		tag: "meta",
		auth: "none",
		summary: "This document",
		success: { description: "The OpenAPI 3.1 document.", media: "openapi" },
	},
	{
		methods: ["GET"],
		path: "/docs",
		surface: "plain",
		tag: "meta",
		auth: "none",
		summary: "The interactive API reference",
		success: { description: "An HTML page (its script is a local static asset, /docs/scalar.js).", media: "html" },
	},
	{
		methods: ["GET"],
		path: "/docs/scalar.js",
		surface: "plain",
		tag: "meta",
		auth: "none",
		summary: "The reference page's script (a static asset)",
		success: { description: "JavaScript.", media: "javascript" },
	},
	{
		methods: ["GET"],
		path: "/",
		surface: "plain",
		tag: "meta",
		auth: "none",
		summary: "The web console",
		description: "A single page; its scripts and styles are static assets under /app/.",
		success: { description: "An HTML page.", media: "html" },
	},
];
