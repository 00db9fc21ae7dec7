/**
 * The success bodies of the API as zod schemas, named for the document's components. Only the
 * document uses them: the views in src/tasks/views/ build the answers, and test/integration/
 * openapi.test.ts checks real answers against these schemas, so the two cannot drift apart
 * unnoticed. Each named schema is added to RESPONSE_SCHEMAS with the component name it takes.
 */
import { z } from "zod";
import { CHANNEL_KINDS } from "../db/schema";
import { ACCOUNT_MODES, CONNECTION_STATES } from "../discord/settings";
import { TEMPLATE_KINDS } from "../tasks/templates";
import { TASK_STATUSES } from "../vocabulary";

/** Component name → schema, for every body an operation's success answer points at. */
export const RESPONSE_SCHEMAS = z.registry<{ id: string; description?: string }>();

function named<S extends z.ZodType>(id: string, schema: S, description?: string): S {
	RESPONSE_SCHEMAS.add(schema, { id, description });
	return schema;
}

const status = z.enum(TASK_STATUSES);
const epochMs = z.number().int().describe("epoch milliseconds");
const epochSeconds = z.number().int().describe("epoch seconds");

export const ProxyButton = named(
	"ProxyButton",
	z.strictObject({
		customId: z.string(),
		emoji: z.string(),
		label: z.string(),
		type: z.number(),
		style: z.number(),
	}),
	"A button of a finished task: send its customId to /mj/submit/action.",
);

export const ProxyTask = named(
	"ProxyTask",
	z.strictObject({
		id: z.string(),
		action: z.string(),
		customId: z.string(),
		botType: z.string(),
		prompt: z.string(),
		promptEn: z.string(),
		description: z.string(),
		state: z.string().describe("the client's own state, as submitted"),
		mode: z.string().describe('speed mode: "", "fast", "relax" or "turbo"'),
		parentId: z.string().describe("the task a follow-up was made from, or empty"),
		instanceId: z.string().describe("the id of the gateway's channel that ran the task, or empty before one took it"),
		seed: z.string().describe("the result's seed where known (the upstream's report or the prompt's --seed), or empty"),
		width: z.number().int().nullable().describe("the result picture's width in pixels, where the upstream reported it"),
		height: z
			.number()
			.int()
			.nullable()
			.describe("the result picture's height in pixels, where the upstream reported it"),
		submitTime: epochMs,
		startTime: epochMs.nullable(),
		finishTime: epochMs.nullable(),
		imageUrl: z.string(),
		imageUrls: z
			.array(z.strictObject({ url: z.string() }))
			.describe(
				"each picture of the result; a grid's four are the grid's link with a #xywh=percent:… media fragment naming the quadrant",
			),
		videoUrl: z.string(),
		videoUrls: z.array(z.strictObject({ url: z.string() })),
		status,
		progress: z.string().describe('"0%" to "100%"'),
		failReason: z.string(),
		buttons: z.array(ProxyButton),
		properties: z.strictObject({ finalPrompt: z.string(), finalZhPrompt: z.string(), notifyHook: z.string() }),
	}),
	"A task in the midjourney-proxy format.",
);
export const ProxyTaskList = named("ProxyTaskList", z.array(ProxyTask));

export const ProxySubmitAnswer = named(
	"ProxySubmitAnswer",
	z.strictObject({
		code: z.number().int().describe("1 success, 21 waiting for the modal step, 22 queued"),
		description: z.string(),
		result: z.string().describe("the task id"),
		properties: z.record(z.string(), z.unknown()),
	}),
	"An accepted submit.",
);
export const ProxyUploadAnswer = named(
	"ProxyUploadAnswer",
	z.strictObject({
		code: z.literal(1),
		description: z.string(),
		result: z.array(z.string()).describe("signed links to the uploaded pictures"),
		properties: z.record(z.string(), z.unknown()),
	}),
);
export const ProxySeedAnswer = named(
	"ProxySeedAnswer",
	z.strictObject({
		code: z.literal(1),
		description: z.string(),
		result: z.string().describe("the image seed"),
		properties: z.record(z.string(), z.unknown()),
	}),
);

export const Seed002SubmitAnswer = named(
	"Seed002SubmitAnswer",
	z.strictObject({ code: z.literal(1), description: z.string(), result: z.string().describe("the task's _id") }),
);
export const Seed002Task = named(
	"Seed002Task",
	z.strictObject({
		_id: z.string(),
		index: z.string(),
		action: z.string(),
		prompt: z.string(),
		promptEn: z.string(),
		taskId: z.string().describe("the parent task's _id, or empty"),
		uri: z.string(),
		hash: z.string(),
		content: z.string(),
		progress: z.string().describe('"done" on success, else a percentage'),
		description: z.string(),
		submitTime: epochMs,
		finishTime: epochMs.nullable(),
		state: z.string(),
		notifyHook: z.string(),
		imageUrl: z.string(),
		status,
	}),
	"A task in the seed-002 (Midjourney-node-api) format.",
);
export const Seed002TaskList = named("Seed002TaskList", z.array(Seed002Task));

export const Seed001Item = named(
	"Seed001Item",
	z.strictObject({
		id: z.number().int(),
		mj_id: z.string(),
		action: z.string(),
		prompt: z.string(),
		prompt_en: z.string(),
		status,
		progress: z.string(),
		image_url: z.string(),
		video_url: z.string(),
		video_urls: z.string().describe("a JSON array in a string"),
		submit_time: epochSeconds,
		start_time: epochSeconds,
		finish_time: epochSeconds,
		fail_reason: z.string(),
		quota: z.number(),
		user_id: z.number().int().optional().describe("admin list only"),
		user: z.string().optional().describe("/api/admin/tasks only: the owner's sub"),
		channel_id: z.number().int().optional().describe("admin list only"),
	}),
	"A task in the seed-001 (new-api Midjourney module) format.",
);
export const Seed001Page = named(
	"Seed001Page",
	z.strictObject({
		items: z.array(Seed001Item),
		total: z.number().int(),
		page: z.number().int(),
		page_size: z.number().int(),
		next_cursor: z.string().nullable(),
	}),
);

export const UserView = named(
	"User",
	z.strictObject({
		sub: z.string(),
		role: z.enum(["user", "admin"]),
		quota: z.number(),
		task_count: z.number().int(),
		created_at: epochSeconds,
		disabled: z.boolean().describe("every token and key of a disabled user is refused (403)"),
		disabled_at: epochSeconds.nullable(),
	}),
);
const userFields = UserView.shape;
export const UserListItem = named(
	"UserListItem",
	z.strictObject({ ...userFields, spent: z.number().int().describe("quota spent, all time (charges minus refunds)") }),
);
export const UserPage = named(
	"UserPage",
	z.strictObject({
		items: z.array(UserListItem),
		order: z.enum(["newest", "spend", "sub"]),
		next_cursor: z.string().nullable(),
	}),
);
export const DisabledUser = named(
	"DisabledUser",
	z.strictObject({
		...userFields,
		cancelled: z.number().int().describe("tasks this call cancelled (each refunded once)"),
		remaining: z.boolean().describe("more unfinished tasks are left to cancel: call again"),
	}),
);
const keyFields = {
	id: z.number().int(),
	name: z.string(),
	prefix: z.string().describe("the key's first 12 characters"),
	role: z.enum(["user", "admin"]),
	created_at: epochSeconds,
	last_used_at: epochSeconds.nullable(),
};
export const ApiKeyView = named("ApiKey", z.strictObject(keyFields));
export const ApiKeyList = named("ApiKeyList", z.array(ApiKeyView));
export const NewApiKey = named(
	"NewApiKey",
	z.strictObject({ ...keyFields, key: z.string().describe("the whole key: shown only in this answer") }),
);
export const WebhookSecret = named(
	"WebhookSecret",
	z.strictObject({
		secret: z.string().describe("whsec_…: verify deliveries with it (Standard Webhooks)"),
		previous_expires_at: epochSeconds.nullable().describe("until then the previous secret signs too"),
	}),
);
export const Delivery = named(
	"Delivery",
	z.strictObject({
		id: z.number().int(),
		event_id: z.string(),
		task_id: z.string(),
		user: z.string(),
		url: z.string(),
		attempt: z.number().int(),
		manual: z.boolean(),
		http_status: z.number().int().nullable(),
		error: z.string().nullable(),
		duration_ms: z.number().int().nullable(),
		outcome: z.enum(["delivered", "failed", "dead"]),
		next_try_at: epochSeconds.nullable(),
		created_at: epochSeconds,
		sequence: z
			.number()
			.int()
			.nullable()
			.describe("the task's version the event reports (mj-edge-sequence); null for events logged before it"),
		task_status: z.string().nullable().describe("the status the event reports"),
		task_progress: z.string().nullable().describe('the progress the event reports, "0%".."100%"'),
	}),
);
export const HookSettings = named(
	"HookSettings",
	z.strictObject({
		events: z
			.enum(["all", "final"])
			.describe(
				'"all": every change of status and progress; "final": only the end. A submit\'s notifyHookEvents wins.',
			),
	}),
);
export const DeliveryPage = named(
	"DeliveryPage",
	z.strictObject({ items: z.array(Delivery), next_cursor: z.string().nullable() }),
);
export const Redelivery = named("Redelivery", z.strictObject({ event_id: z.string(), task_id: z.string() }));
export const StreamTicket = named(
	"StreamTicket",
	z.strictObject({ ticket: z.string(), expires_at: epochSeconds, task_id: z.string().optional() }),
);
export const IdAnswer = named("IdAnswer", z.strictObject({ id: z.number().int() }));
export const BannedWordView = named(
	"BannedWord",
	z.strictObject({
		word: z.string().describe("lower-cased, one space between words"),
		source: z.enum(["env", "admin"]).describe("env: seeded from BANNED_WORDS"),
		hits: z.number().int().describe("prompts and translations refused for it"),
		last_hit_at: epochSeconds.nullable(),
		created_at: epochSeconds,
	}),
);
export const BannedWordList = named("BannedWordList", z.array(BannedWordView));
const DiscordSettingsView = z.strictObject({
	guild_id: z.string(),
	channel_id: z.string(),
	user_agent: z.string(),
	concurrency: z.number().int(),
	queue_size: z.number().int(),
	mode: z.enum(ACCOUNT_MODES).optional(),
	api_base: z.string(),
	activity_base: z.string(),
	describe_by_upload: z.boolean().describe("describe uploads the picture to Discord rather than linking it"),
	dm_channel_id: z.string().optional().describe("the account's DM channel with the Midjourney bot"),
	niji_dm_channel_id: z.string().optional().describe("the account's DM channel with the Niji bot"),
});
export const ChannelView = named(
	"Channel",
	z.strictObject({
		id: z.number().int(),
		name: z.string(),
		kind: z.enum(CHANNEL_KINDS).describe("a relay to a midjourney-proxy server, or a Discord account"),
		base_url: z.string().describe("a discord channel shows its discord.api_base"),
		weight: z.number().int(),
		enabled: z.boolean(),
		disabled_reason: z.string(),
		failure_count: z.number().int(),
		has_secret: z.boolean().describe("the secret (a discord channel's user token) is never returned"),
		created_at: epochSeconds,
		updated_at: epochSeconds,
		discord: DiscordSettingsView.optional().describe("discord channels only: the account's settings"),
		connection: z.enum(CONNECTION_STATES).optional().describe("discord channels only: the gateway connection"),
		running: z.number().int().optional().describe("discord channels only: tasks Midjourney runs now"),
		waiting: z.number().int().optional().describe("discord channels only: tasks waiting for a free slot"),
		mode: z.enum(ACCOUNT_MODES).optional().describe("discord channels only: the mode the account runs in"),
		last_error: z.string().optional().describe("discord channels only: the last connection or account error"),
		last_heard_at: epochSeconds.nullable().optional().describe("discord channels only: the last gateway event"),
		fast_time_remaining: z.string().optional().describe("discord channels only: from /info, once read"),
	}),
);
export const ChannelList = named("ChannelList", z.array(ChannelView));

const statsCounts = {
	submitted: z.number().int().describe("tasks submitted (by submit time)"),
	succeeded: z.number().int().describe("tasks that ended in SUCCESS (by finish time)"),
	failed: z.number().int().describe("tasks that ended in FAILURE (by finish time)"),
	cancelled: z.number().int().describe("tasks that ended in CANCEL (by finish time)"),
	spent: z.number().int().describe("quota charged minus quota refunded, for the tasks submitted then"),
};
const StatsPoint = z.strictObject({ start: epochSeconds.describe("the hour's or local day's start"), ...statsCounts });
const StatsTotals = z.strictObject({
	...statsCounts,
	success_rate: z.number().nullable().describe("succeeded / (succeeded + failed); null when none ended"),
});
const StatsUser = z.strictObject({ sub: z.string(), tasks: z.number().int(), spent: z.number().int() });
export const AdminStats = named(
	"AdminStats",
	z.strictObject({
		generated_at: epochSeconds,
		hours: z.number().int(),
		days: z.number().int(),
		utc_offset: z.number().int().describe("minutes east of UTC the local days are cut at"),
		totals: z.strictObject({
			last_hours: StatsTotals.describe("over per_hour"),
			last_days: StatsTotals.describe("over per_day"),
		}),
		per_hour: z.array(StatsPoint).describe("the last `hours` hours, oldest first, zero-filled"),
		per_day: z.array(StatsPoint).describe("the last `days` local days, today last, zero-filled"),
		actions: z
			.array(
				z.strictObject({
					action: z.string(),
					succeeded: z.number().int(),
					p50_ms: z.number().int().nullable().describe("median submit-to-finish time, estimated within 19%"),
					p95_ms: z.number().int().nullable().describe("95th percentile, estimated within 19%"),
				}),
			)
			.describe("successful tasks that finished in the last `days` UTC days, by action, most first"),
		channels: z
			.array(
				z.strictObject({
					id: z.number().int(),
					name: z.string(),
					enabled: z.boolean(),
					disabled_reason: z.string(),
					failure_count: z.number().int().describe("faults in a row now"),
					tasks: z.number().int().describe("tasks submitted in the last `days` UTC days that went to the channel"),
					failures: z.number().int().describe("of those, how many failed"),
				}),
			)
			.describe("every channel"),
		busiest_users: z.strictObject({
			today: z.array(StatsUser).describe("the top users of the current UTC day, by spend then tasks"),
			all_time: z.array(StatsUser).describe("the top users ever, by spend then tasks"),
		}),
	}),
);

export const ImageTemp = named(
	"ImageTemp",
	z.strictObject({
		id: z.number().int(),
		title: z.string(),
		covering: z.string(),
		image: z.string(),
		workflowId: z.number().int(),
		prompt: z.string(),
		favoriteCount: z.number().int(),
		isAudit: z.number().int(),
		pid: z.number().int(),
		sort: z.number().int(),
		author: z.string(),
		createdAt: epochSeconds,
		updatedAt: epochSeconds,
	}),
	"An image template.",
);
const kind = z.enum(TEMPLATE_KINDS);
export const Template = named(
	"Template",
	z.strictObject({ ...ImageTemp.shape, kind }),
	"An image template and its kind.",
);
export const TemplateListItem = named(
	"TemplateListItem",
	z.strictObject({ ...ImageTemp.shape, kind, favorited: z.boolean() }),
);
export const TemplateList = named("TemplateList", z.array(TemplateListItem));
export const FavoriteState = named(
	"FavoriteState",
	z.strictObject({ id: z.number().int(), favoriteCount: z.number().int(), favorited: z.boolean() }),
);
export const AlbumItem = named(
	"AlbumItem",
	z.strictObject({
		id: z.number().int(),
		taskId: z.string(),
		styleId: z.number().int(),
		promptId: z.string(),
		covering: z.string(),
		origin: z.string(),
		reason: z.string(),
		state: z
			.union([z.literal(2), z.literal(10), z.literal(20), z.literal(30)])
			.describe("2 failed, 10 waiting, 20 generating, 30 done"),
		createdAt: epochSeconds,
		imageTemp: ImageTemp,
	}),
	"A picture of the user's album.",
);
export const AlbumPage = named("AlbumPage", z.array(AlbumItem));

export const CallbackAnswer = named("CallbackAnswer", z.strictObject({ code: z.literal(1), description: z.string() }));
export const Health = named("Health", z.strictObject({ ok: z.literal(true) }));

// The error envelope of each surface, as src/routes/envelopes.ts renders it.
export const Seed002Error = named(
	"Seed002Error",
	z.strictObject({ code: z.literal(0), description: z.string() }),
	"Seed 002's error: code 0 and the reason.",
);
export const NewApiError = named(
	"NewApiError",
	z.strictObject({ success: z.literal(false), message: z.string() }),
	"The new-api envelope's error (seed 001, account, API keys, admin).",
);
export const AlbumError = named(
	"AlbumError",
	z.strictObject({
		code: z.number().int().describe("800 parameter error, 510 system error, 401, 402 (quota), 403, 429"),
		msg: z.string(),
	}),
	"The album's error (seed 000).",
);
export const ProxyError = named(
	"ProxyError",
	z.strictObject({
		code: z
			.number()
			.int()
			.describe("3 not found, 4 validation error, 9 other failure, 23 queue full or rate limited, 24 banned prompt"),
		description: z.string(),
		properties: z.record(z.string(), z.unknown()).optional(),
	}),
	"The midjourney-proxy protocol's error.",
);
export const PlainError = named(
	"PlainError",
	z.strictObject({ error: z.strictObject({ code: z.string(), message: z.string() }) }),
	"The error of a path outside every API.",
);
