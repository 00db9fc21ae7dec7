/**
 * The one place the D1 schema is defined. `npm run db:generate` turns changes here into
 * a migration under migrations/; never edit generated migrations by hand.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { z } from "zod";
import { TASK_STATUSES } from "../vocabulary";

/**
 * The in-flight statuses as SQL, shared by the tasks_in_flight partial index and the queries that
 * use it: SQLite uses a partial index only when the query's WHERE repeats its condition.
 */
export const IN_FLIGHT_CONDITION = "status IN ('SUBMITTED', 'IN_PROGRESS', 'MODAL')";
/** The unfinished statuses as SQL, for the tasks_unfinished_time partial index and its queries. */
export const UNFINISHED_CONDITION = "status IN ('NOT_START', 'SUBMITTED', 'IN_PROGRESS', 'MODAL')";

/** Speed modes of the midjourney-proxy prefixes (`/mj-fast/mj`, …); "" is the plain `/mj`. */
export const TASK_MODES = ["", "fast", "relax", "turbo"] as const;
export type TaskMode = (typeof TASK_MODES)[number];

/**
 * Which changes of a task its notifyHook hears of: "all" (every status and progress change, as
 * midjourney-proxy servers call back) or "final" (only the end).
 */
export const HOOK_EVENT_MODES = ["all", "final"] as const;
export type HookEventMode = (typeof HOOK_EVENT_MODES)[number];

export const users = sqliteTable("users", {
	id: integer("id").primaryKey({ autoIncrement: true }),
	/** The token's `sub`: users are created the first time they submit. */
	sub: text("sub").notNull().unique(),
	role: text("role", { enum: ["user", "admin"] })
		.notNull()
		.default("user"),
	/**
	 * The `iat` (epoch seconds, 0 without one) of the token that set `role`: a token issued
	 * earlier never overwrites the role of one issued later, whichever isolate sees it first.
	 */
	roleIssuedAt: integer("role_issued_at").notNull().default(0),
	quota: integer("quota").notNull().default(0),
	/** Tasks this user has created; also hands out each task's `user_seq`. */
	taskCount: integer("task_count").notNull().default(0),
	/** Album pictures this user has created; hands out each album task's `album_seq`. */
	albumCount: integer("album_count").notNull().default(0),
	/**
	 * The submit time of the user's latest task. Each new task gets a later one, so a user's
	 * tasks in submit-time order are also in `user_seq` order (page k = a seek on user_seq).
	 */
	lastSubmitTime: integer("last_submit_time").notNull().default(0),
	/** What the notifyHook of this user's tasks hears of, unless a task says otherwise. */
	hookEvents: text("hook_events", { enum: HOOK_EVENT_MODES }).notNull().default("all"),
	createdAt: integer("created_at").notNull(),
	/**
	 * When an admin disabled the user (epoch ms); null while enabled. Every token and key of a
	 * disabled user is refused: the sign-in reads it in the same query that finds the user.
	 */
	disabledAt: integer("disabled_at"),
});

/** Named counters kept as rows are written, so totals never count a table. */
export const counters = sqliteTable("counters", {
	name: text("name").primaryKey(),
	value: integer("value").notNull().default(0),
});

/** An image template of the album: a prompt to imagine, or a picture to swap a face onto. */
export const templates = sqliteTable(
	"templates",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		kind: text("kind", { enum: ["prompt", "face_swap"] }).notNull(),
		title: text("title").notNull(),
		/** R2 key of the thumbnail. */
		coverKey: text("cover_key"),
		/** R2 key of the full picture (the face-swap target). */
		imageKey: text("image_key"),
		workflowId: integer("workflow_id").notNull().default(0),
		prompt: text("prompt").notNull().default(""),
		favoriteCount: integer("favorite_count").notNull().default(0),
		isAudit: integer("is_audit").notNull().default(0),
		pid: integer("pid").notNull().default(0),
		sort: integer("sort").notNull().default(0),
		author: text("author").notNull().default(""),
		createdAt: integer("created_at").notNull(),
		updatedAt: integer("updated_at").notNull(),
	},
	(t) => [index("templates_listing").on(t.isAudit, t.sort, t.id)],
);

export const templateFavorites = sqliteTable(
	"template_favorites",
	{
		templateId: integer("template_id").notNull(),
		userId: integer("user_id").notNull(),
		createdAt: integer("created_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.templateId, t.userId] })],
);

/** The two kinds of channel: a relay to a midjourney-proxy server, or a Discord account. */
export const CHANNEL_KINDS = ["midjourney-proxy", "discord"] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

export const channels = sqliteTable(
	"channels",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		name: text("name").notNull().unique(),
		baseUrl: text("base_url").notNull(),
		secret: text("secret").notNull().default(""),
		weight: integer("weight").notNull().default(1),
		enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
		disabledReason: text("disabled_reason").notNull().default(""),
		failureCount: integer("failure_count").notNull().default(0),
		createdAt: integer("created_at").notNull(),
		updatedAt: integer("updated_at").notNull(),
		/** "midjourney-proxy" (a relay at base_url) or "discord" (an account the gateway drives; secret = user token). */
		kind: text("kind", { enum: CHANNEL_KINDS }).notNull().default("midjourney-proxy"),
		/** A discord channel's settings (src/discord/settings.ts), JSON; "" for a relay. */
		discord: text("discord").notNull().default(""),
		/**
		 * What the account's Durable Object last reported (connection, running/waiting counts, last
		 * error, last heard), JSON; written by the object so the admin list and channel choice read D1,
		 * not every object.
		 */
		discordState: text("discord_state").notNull().default(""),
	},
	// Submits ask "is any channel enabled?" on every request: a seek, not a scan.
	(t) => [index("channels_enabled").on(t.enabled, t.id)],
);

export const tasks = sqliteTable(
	"tasks",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		/** The opaque id every surface shows (`_id`, `mj_id`, `promptId`, midjourney-proxy `id`). */
		publicId: text("public_id").notNull(),
		userId: integer("user_id").notNull(),
		/** 1, 2, 3... per user, in submit order: turns "page k" into an index seek. */
		userSeq: integer("user_seq").notNull(),
		/**
		 * 1, 2, 3... over all tasks, in insert order, from the counters row 'tasks': turns the
		 * admin's "page k" into an index seek. Nullable only because the column was added to a
		 * table with rows (migration 0006 backfills them); insertTask always sets it.
		 */
		taskSeq: integer("task_seq"),
		action: text("action").notNull(),
		prompt: text("prompt").notNull().default(""),
		promptEn: text("prompt_en").notNull().default(""),
		/** The prompt as the upstream finally ran it (seed 002 `content`). */
		finalPrompt: text("final_prompt").notNull().default(""),
		/** 1..4 for UPSCALE / VARIATION. */
		taskIndex: integer("task_index"),
		/** Public id of the task an UPSCALE / VARIATION acts on. */
		parentId: text("parent_id"),
		/** The client's own `state` string, echoed back. */
		clientState: text("client_state").notNull().default(""),
		notifyHook: text("notify_hook").notNull().default(""),
		status: text("status", { enum: TASK_STATUSES }).notNull(),
		progress: text("progress").notNull().default("0%"),
		description: text("description").notNull().default(""),
		failReason: text("fail_reason").notNull().default(""),
		upstreamId: text("upstream_id"),
		channelId: integer("channel_id"),
		upstreamImageUrl: text("upstream_image_url").notNull().default(""),
		/** R2 key of the gateway's copy of the result image, once copied. */
		imageKey: text("image_key"),
		imageType: text("image_type"),
		videoUrl: text("video_url").notNull().default(""),
		videoUrls: text("video_urls").notNull().default("[]"),
		/** JSON array of the upstream's buttons. */
		buttons: text("buttons").notNull().default("[]"),
		submitTime: integer("submit_time").notNull(),
		startTime: integer("start_time"),
		finishTime: integer("finish_time"),
		updatedAt: integer("updated_at").notNull(),
		/** Bumped by every accepted update; D1 writes are conditional on it. */
		version: integer("version").notNull().default(0),
		/** What the submit charged. */
		quota: integer("quota").notNull().default(0),
		refunded: integer("refunded", { mode: "boolean" }).notNull().default(false),
		/** Album pictures: the template (`styleId`) the task was made from. */
		styleId: integer("style_id"),
		/** Album pictures: R2 key of the user's own photo (`origin`), for face swaps. */
		originKey: text("origin_key"),
		/** Album pictures: 1, 2, 3... per user, like user_seq but for album tasks only. */
		albumSeq: integer("album_seq"),
		/** Speed mode the client asked for (`/mj-fast/mj/...`): "fast", "relax", "turbo" or "" (the channel's default). */
		mode: text("mode", { enum: TASK_MODES }).notNull().default(""),
		/** midjourney-proxy `botType`: MID_JOURNEY or NIJI_JOURNEY ("" when not given). */
		botType: text("bot_type").notNull().default(""),
		/** The button (`customId`) of the parent task this task was started from, for button actions. */
		customId: text("custom_id").notNull().default(""),
		/** JSON array of the R2 keys of the images the client handed in (blend, describe, video, …). */
		inputs: text("inputs").notNull().default("[]"),
		/** JSON object of the action's other settings (blend dimensions, video motion, modal prompt, …). */
		options: text("options").notNull().default("{}"),
		/** JSON array of the R2 keys of the gateway's copies of the result videos, by index. */
		videoKeys: text("video_keys").notNull().default("[]"),
		/** The upstream's seed of the result, when it reported one ("" otherwise). */
		seed: text("seed").notNull().default(""),
		/** Pixel size of the result image, when the upstream reported it. */
		width: integer("width"),
		height: integer("height"),
		/** The submit's `notifyHookEvents`; "" follows the owner's setting (users.hook_events). */
		hookEvents: text("hook_events", { enum: ["", ...HOOK_EVENT_MODES] })
			.notNull()
			.default(""),
	},
	(t) => [
		uniqueIndex("tasks_public_id").on(t.publicId),
		uniqueIndex("tasks_user_seq").on(t.userId, t.userSeq),
		uniqueIndex("tasks_seq").on(t.taskSeq),
		uniqueIndex("tasks_user_album_seq").on(t.userId, t.albumSeq),
		index("tasks_user_time").on(t.userId, t.submitTime, t.id),
		index("tasks_time").on(t.submitTime, t.id),
		index("tasks_channel_time").on(t.channelId, t.submitTime, t.id),
		// The reconciler's scans: in-flight and not-started tasks by age.
		index("tasks_status_time").on(t.status, t.submitTime),
		// The reconciler's walk over in-flight tasks by id (src/cron/reconcile.ts): only those rows,
		// so the index stays as small as the work in flight. Queries must repeat the same condition.
		index("tasks_in_flight").on(t.id).where(sql.raw(IN_FLIGHT_CONDITION)),
		// The reconciler's timed-out tasks, oldest first, whatever their status: one seek to its limit.
		index("tasks_unfinished_time").on(t.submitTime).where(sql.raw(UNFINISHED_CONDITION)),
		// A user's unfinished tasks (midjourney-proxy /task/queue, queue limits).
		index("tasks_user_status").on(t.userId, t.status, t.submitTime),
		// Admins' task list filtered by action (/api/admin/tasks).
		index("tasks_action_time").on(t.action, t.submitTime),
	],
);

/*
 * Dashboard rollups (GET /api/admin/stats). SQLite triggers on tasks keep them (migration
 * 0011_stats-triggers.sql): whichever code writes a task, the rollups change in the same
 * statement, so they always agree with the tasks table and the dashboard never reads it.
 * Hours and days are UTC epoch hours and days (milliseconds / 3,600,000 and / 86,400,000).
 */

/**
 * Per hour: tasks submitted, charged and refunded in the hour they were submitted; tasks that
 * ended (SUCCESS, FAILURE, CANCEL) in the hour they finished.
 */
export const statsHours = sqliteTable("stats_hours", {
	hour: integer("hour").primaryKey(),
	submitted: integer("submitted").notNull().default(0),
	succeeded: integer("succeeded").notNull().default(0),
	failed: integer("failed").notNull().default(0),
	cancelled: integer("cancelled").notNull().default(0),
	charged: integer("charged").notNull().default(0),
	refunded: integer("refunded").notNull().default(0),
});

/** Per channel and day of submit: the tasks sent to the channel and how many of them failed. */
export const statsChannelDays = sqliteTable(
	"stats_channel_days",
	{
		day: integer("day").notNull(),
		channelId: integer("channel_id").notNull(),
		tasks: integer("tasks").notNull().default(0),
		failures: integer("failures").notNull().default(0),
	},
	(t) => [primaryKey({ columns: [t.day, t.channelId] })],
);

/**
 * Per action, day of finish and duration bucket: successful tasks, by how long submit to finish
 * took. Bucket 0 is under a second; bucket b >= 1 starts at 1000 * 2^((b - 1) / 4) ms
 * (src/db/stats.ts, durationBucket).
 */
export const statsActionDurations = sqliteTable(
	"stats_action_durations",
	{
		day: integer("day").notNull(),
		action: text("action").notNull(),
		bucket: integer("bucket").notNull(),
		count: integer("count").notNull().default(0),
	},
	(t) => [primaryKey({ columns: [t.day, t.action, t.bucket] })],
);

/** Per user and day of submit: tasks and quota spent (charges minus refunds). */
export const statsUserDays = sqliteTable(
	"stats_user_days",
	{
		day: integer("day").notNull(),
		userId: integer("user_id").notNull(),
		tasks: integer("tasks").notNull().default(0),
		spent: integer("spent").notNull().default(0),
	},
	(t) => [
		primaryKey({ columns: [t.day, t.userId] }),
		// A day's busiest users: the first N entries of this index.
		index("stats_user_days_spent").on(t.day, t.spent, t.tasks),
	],
);

/** Per user, all time: tasks and quota spent (charges minus refunds). */
export const statsUsers = sqliteTable(
	"stats_users",
	{
		userId: integer("user_id").primaryKey(),
		tasks: integer("tasks").notNull().default(0),
		spent: integer("spent").notNull().default(0),
	},
	(t) => [index("stats_users_spent").on(t.spent, t.tasks)],
);

/**
 * Long-lived API keys for clients configured once with a static secret. Only the SHA-256
 * of a key is stored (with its first characters, so users can tell keys apart); a revoked
 * key keeps its row with `revoked_at` set.
 */
export const apiKeys = sqliteTable(
	"api_keys",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		userId: integer("user_id").notNull(),
		name: text("name").notNull(),
		/** The key's first characters, shown in lists. */
		prefix: text("prefix").notNull(),
		/** Hex SHA-256 of the whole key: the one column a request looks a key up by. */
		hash: text("hash").notNull(),
		/** The creator's role when the key was made; capped by the user's current role on use. */
		role: text("role", { enum: ["user", "admin"] })
			.notNull()
			.default("user"),
		createdAt: integer("created_at").notNull(),
		lastUsedAt: integer("last_used_at"),
		revokedAt: integer("revoked_at"),
	},
	(t) => [
		uniqueIndex("api_keys_hash").on(t.hash),
		// A user's live keys (list, cap count) without reading the revoked ones.
		index("api_keys_user_live").on(t.userId, t.revokedAt, t.id),
	],
);

/**
 * Idempotency-Key records (Stripe's semantics): the first request with a key claims it, its answer
 * is kept for 24 hours, and a repeat of the same request gets that answer instead of a new task.
 */
export const idempotencyKeys = sqliteTable(
	"idempotency_keys",
	{
		userId: integer("user_id").notNull(),
		key: text("key").notNull(),
		/** SHA-256 of the method, path, query and body: the same key with another request is refused. */
		fingerprint: text("fingerprint").notNull(),
		/** Null while the first request is still running. */
		responseStatus: integer("response_status"),
		responseBody: text("response_body"),
		responseType: text("response_type"),
		createdAt: integer("created_at").notNull(),
	},
	(t) => [primaryKey({ columns: [t.userId, t.key] }), index("idempotency_keys_created").on(t.createdAt)],
);

/**
 * Each user's Standard Webhooks signing secret (`whsec_…`), made on first need. The gateway
 * must compute HMACs with it, so it is stored as is. After a rotation the previous secret
 * keeps signing too until `previous_expires_at`, so receivers can switch without a gap.
 */
export const webhookSecrets = sqliteTable("webhook_secrets", {
	userId: integer("user_id").primaryKey(),
	secret: text("secret").notNull(),
	previousSecret: text("previous_secret"),
	previousExpiresAt: integer("previous_expires_at"),
	createdAt: integer("created_at").notNull(),
	rotatedAt: integer("rotated_at"),
});

/** Outcomes of a callback attempt: `dead` is a failure after which the queue gave up. */
export const DELIVERY_OUTCOMES = ["delivered", "failed", "dead"] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/**
 * The delivery log: one row per attempt to POST a callback event (one task end to its
 * notifyHook; `event_id` is the `webhook-id` every attempt of the event carries).
 */
export const deliveries = sqliteTable(
	"deliveries",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		eventId: text("event_id").notNull(),
		taskId: text("task_id").notNull(),
		userId: integer("user_id").notNull(),
		url: text("url").notNull(),
		/** 1, 2, 3… per event, manual redeliveries included. */
		attempt: integer("attempt").notNull(),
		/** Sent by a user's or admin's redeliver request rather than the task's end. */
		manual: integer("manual", { mode: "boolean" }).notNull().default(false),
		/** The receiver's HTTP status; null when no answer came. */
		httpStatus: integer("http_status"),
		/** Why the attempt failed ("HTTP 500", "timed out", "connection failed", …); "" when delivered. */
		error: text("error").notNull().default(""),
		durationMs: integer("duration_ms").notNull().default(0),
		outcome: text("outcome", { enum: DELIVERY_OUTCOMES }).notNull(),
		/** When the queue tries again; null when it will not. */
		nextTryAt: integer("next_try_at"),
		createdAt: integer("created_at").notNull(),
		/**
		 * JSON of the change the event reports (`{seq, status, progress, at}`), so a redelivery sends
		 * it again as it was; null in rows written before events had one.
		 */
		event: text("event"),
	},
	(t) => [
		// An event's attempts: idempotency, attempt numbers, redelivery, marking dead.
		index("deliveries_event").on(t.eventId, t.id),
		// The list filters, newest first: a user's, a user's by outcome, a task's, everyone's by outcome.
		index("deliveries_user").on(t.userId, t.id),
		index("deliveries_user_outcome").on(t.userId, t.outcome, t.id),
		index("deliveries_task").on(t.taskId, t.id),
		index("deliveries_outcome").on(t.outcome, t.id),
	],
);

/**
 * Words and phrases a prompt may not contain (stored lower-cased, single-spaced), managed by
 * admins and seeded from BANNED_WORDS. A removed word keeps its row (`removed_at` set) so its
 * hits survive and BANNED_WORDS does not bring it back. Every change bumps the counters row
 * 'banned_words', which isolates compare to know their cached list is current.
 */
export const bannedWords = sqliteTable(
	"banned_words",
	{
		id: integer("id").primaryKey({ autoIncrement: true }),
		word: text("word").notNull(),
		/** "env" (seeded from BANNED_WORDS) or "admin". */
		source: text("source", { enum: ["env", "admin"] }).notNull(),
		/** Prompts (or their translations) refused for this word. */
		hits: integer("hits").notNull().default(0),
		lastHitAt: integer("last_hit_at"),
		createdAt: integer("created_at").notNull(),
		removedAt: integer("removed_at"),
	},
	(t) => [uniqueIndex("banned_words_word").on(t.word)],
);

export type UserRow = typeof users.$inferSelect;
export type TemplateRow = typeof templates.$inferSelect;
export type NewTemplateRow = typeof templates.$inferInsert;
export type ChannelRow = typeof channels.$inferSelect;
export type NewChannelRow = typeof channels.$inferInsert;
export type TaskRow = typeof tasks.$inferSelect;
export type NewTaskRow = typeof tasks.$inferInsert;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type WebhookSecretRow = typeof webhookSecrets.$inferSelect;
export type DeliveryRow = typeof deliveries.$inferSelect;
export type BannedWordRow = typeof bannedWords.$inferSelect;

/** A JSON text column read with `schema`; undefined when it is empty, not JSON or not of that shape. */
export function parseJsonColumn<S extends z.ZodType>(
	json: string | null | undefined,
	schema: S,
): z.output<S> | undefined {
	if (!json) return undefined;
	try {
		const parsed = schema.safeParse(JSON.parse(json));
		return parsed.success ? parsed.data : undefined;
	} catch {
		return undefined;
	}
}

/** A JSON array of strings from a text column; [] for anything else. */
export function parseStringArray(json: string): string[] {
	try {
		const value: unknown = JSON.parse(json);
		return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
	} catch {
		return [];
	}
}
