/**
 * A discord channel's settings (the `discord` column, JSON) and what its account object reports
 * about itself (the `discord_state` column, JSON). Both are read by the admin API and the channel
 * choice from D1, so neither has to ask every account's object.
 */
import { z } from "zod";
import { parseJsonColumn } from "../db/schema";

export const DISCORD_API_BASE = "https://discord.com";
export const DISCORD_ACTIVITY_BASE = "https://936929561302675456.discordsays.com";
/** A current desktop Chrome: Discord expects a browser's User-Agent from a user account. */
export const DEFAULT_USER_AGENT =
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

export const ACCOUNT_MODES = ["fast", "relax", "turbo"] as const;
export type AccountMode = (typeof ACCOUNT_MODES)[number];

const snowflake = (field: string) =>
	z.string({ error: `${field} must be a string of digits (a Discord id)` }).regex(/^\d{15,21}$/, {
		message: `${field} must be a Discord id: 15 to 21 digits`,
	});
const base = (field: string) =>
	z
		.string()
		.max(2048)
		.url({ message: `${field} must be an http(s) URL` })
		.refine((value) => /^https?:\/\//i.test(value), { message: `${field} must be an http(s) URL` })
		.transform((value) => value.replace(/\/+$/, ""));

const fields = {
	guild_id: snowflake("discord.guild_id"),
	channel_id: snowflake("discord.channel_id"),
	user_agent: z.string().trim().min(1).max(512),
	/** Tasks the account runs at once (Midjourney's own limit: 3 on Basic/Standard, 12-15 on Pro/Mega). */
	concurrency: z.number().int().min(1).max(15),
	/** Tasks that wait for a free slot; past concurrency + queue_size the account is full. */
	queue_size: z.number().int().min(0).max(100),
	mode: z.enum(ACCOUNT_MODES, { error: `discord.mode must be one of ${ACCOUNT_MODES.join(", ")}` }),
	api_base: base("discord.api_base"),
	activity_base: base("discord.activity_base"),
	/**
	 * Describe sends the picture as an upload to Discord (the attachments flow) instead of a signed
	 * link; without PUBLIC_BASE_URL there is no link to give, so an upload is used then anyway.
	 */
	describe_by_upload: z.boolean({ error: "discord.describe_by_upload must be true or false" }),
	/** The account's DM channels with the Midjourney and Niji bots, where seeds arrive; unset: opened when needed. */
	dm_channel_id: snowflake("discord.dm_channel_id"),
	niji_dm_channel_id: snowflake("discord.niji_dm_channel_id"),
};

export const discordSettingsInput = z
	.object({
		...fields,
		user_agent: fields.user_agent.default(DEFAULT_USER_AGENT),
		concurrency: fields.concurrency.default(3),
		queue_size: fields.queue_size.default(10),
		mode: fields.mode.optional(),
		api_base: fields.api_base.default(DISCORD_API_BASE),
		activity_base: fields.activity_base.default(DISCORD_ACTIVITY_BASE),
		describe_by_upload: fields.describe_by_upload.default(false),
		dm_channel_id: fields.dm_channel_id.optional(),
		niji_dm_channel_id: fields.niji_dm_channel_id.optional(),
	})
	.strict();
/** A DM channel id in a PATCH: "" forgets it (the DM is then opened when needed). */
const clearable = (field: string) =>
	z
		.string({ error: `${field} must be a string of digits (a Discord id)` })
		.regex(/^(\d{15,21})?$/, { message: `${field} must be a Discord id (15 to 21 digits), or "" to clear it` });
export const discordSettingsChanges = z
	.object({
		...fields,
		// "" forgets the mode: the account runs in whatever mode its Midjourney settings say.
		mode: z.enum([...ACCOUNT_MODES, ""], {
			error: `discord.mode must be one of ${ACCOUNT_MODES.join(", ")}, or "" to clear it`,
		}),
		dm_channel_id: clearable("discord.dm_channel_id"),
		niji_dm_channel_id: clearable("discord.niji_dm_channel_id"),
	})
	.partial()
	.strict();

/** Settings after a PATCH: the changes merged in, a mode or DM channel id given as "" removed. */
export function mergeSettings(
	current: DiscordSettings | undefined,
	changes: z.output<typeof discordSettingsChanges>,
): Record<string, unknown> {
	const merged: Record<string, unknown> = { ...current, ...changes };
	for (const key of ["mode", "dm_channel_id", "niji_dm_channel_id"]) if (merged[key] === "") delete merged[key];
	return merged;
}

export type DiscordSettings = z.output<typeof discordSettingsInput>;

export const CONNECTION_STATES = ["connecting", "connected", "disconnected", "disabled"] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

/** What the account's object last wrote about itself. */
export interface DiscordState {
	connection: ConnectionState;
	running: number;
	waiting: number;
	/** The mode the account runs in now (a "credits exhausted" account drops to relax). */
	mode?: AccountMode;
	lastError: string;
	/** ms since the epoch; 0 = never. */
	lastHeardAt: number;
	/** From /info: "12.34/15.0 hours (82.27%)" or similar; "" until read. */
	fastTimeRemaining?: string;
}

export const IDLE_STATE: DiscordState = {
	connection: "disconnected",
	running: 0,
	waiting: 0,
	lastError: "",
	lastHeardAt: 0,
};

/** Settings from the column; undefined when the column does not hold valid settings (a relay). */
export function parseSettings(column: string): DiscordSettings | undefined {
	return parseJsonColumn(column, discordSettingsInput);
}

export function parseState(column: string): DiscordState {
	if (!column) return { ...IDLE_STATE };
	try {
		return { ...IDLE_STATE, ...(JSON.parse(column) as Partial<DiscordState>) };
	} catch {
		return { ...IDLE_STATE };
	}
}

/** A discord channel takes no more tasks when it runs `concurrency` and `queue_size` wait. */
export function isFull(settings: DiscordSettings, state: DiscordState): boolean {
	return state.running + state.waiting >= settings.concurrency + settings.queue_size;
}
