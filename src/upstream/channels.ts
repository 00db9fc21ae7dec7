/** Which upstream channel a task goes to. */

import { ensureChannel, findChannel, listEnabledChannels } from "../db/channels";
import type { Db } from "../db/client";
import type { ChannelRow } from "../db/schema";
import { fakeDiscordOrigin } from "../discord/fetcher";
import { DEFAULT_USER_AGENT, type DiscordSettings, isFull, parseSettings, parseState } from "../discord/settings";
import { ApiError } from "../errors";
import { SIMULATOR_SECRET, simulatorOrigin } from "./fetcher";

export const SIMULATOR_CHANNEL_NAME = "simulator";

/** Databases (by binding) in which this isolate already ensured the simulator channel. */
const ensuredIn = new WeakSet<object>();

/**
 * Local dev and tests start with one channel, the simulator at SIMULATOR_URL; ensured once
 * per isolate and database, and only when SIMULATOR_URL is set.
 */
export async function ensureSimulatorChannel(db: Db, env: Env, now: number): Promise<void> {
	if (ensuredIn.has(env.DB)) return;
	const baseUrl = simulatorOrigin(env);
	if (baseUrl !== null) {
		await ensureChannel(db, { name: SIMULATOR_CHANNEL_NAME, baseUrl, secret: SIMULATOR_SECRET, weight: 1 }, now);
	}
	await ensureFakeDiscordChannel(db, env, now);
	ensuredIn.add(env.DB);
}

export const FAKE_DISCORD_CHANNEL_NAME = "fake-discord";

/**
 * `npm start` (ENVIRONMENT "development" with FAKE_DISCORD_URL set) also gets a discord channel on
 * the fake Discord, so a newcomer sees the whole Discord path work locally. Not in tests: there
 * every channel a test relies on is its own, and a second channel would take some of its tasks.
 */
async function ensureFakeDiscordChannel(db: Db, env: Env, now: number): Promise<void> {
	const origin = fakeDiscordOrigin(env);
	if (origin === null || env.ENVIRONMENT !== "development") return;
	const settings: DiscordSettings = {
		guild_id: "1000000000000000001",
		channel_id: "1000000000000000002",
		user_agent: DEFAULT_USER_AGENT,
		concurrency: 3,
		queue_size: 10,
		api_base: origin,
		activity_base: origin,
		describe_by_upload: false,
	};
	await ensureChannel(
		db,
		{
			name: FAKE_DISCORD_CHANNEL_NAME,
			kind: "discord",
			baseUrl: origin,
			secret: "fake-discord-token",
			weight: 1,
			discord: JSON.stringify(settings),
		},
		now,
	);
}

/** A discord channel whose object last reported `concurrency` running and `queue_size` waiting tasks. */
function isFullAccount(channel: ChannelRow): boolean {
	if (channel.kind !== "discord") return false;
	const settings = parseSettings(channel.discord);
	return settings === undefined || isFull(settings, parseState(channel.discordState));
}

/** midjourney-proxy's `accountFilter`: a channel (by id, name or Discord channel id) and/or the modes it may run in. */
export interface ChannelFilter {
	instanceId?: string;
	modes?: string[];
}

/** The filter as the task's options keep it. */
export function filterOptions(filter: ChannelFilter): { instanceId?: string; modes?: string[] } {
	return {
		...(filter.instanceId ? { instanceId: filter.instanceId } : {}),
		...(filter.modes ? { modes: filter.modes } : {}),
	};
}

/** A relay's accounts are the relay's business: only a Discord account's mode is known here. */
export function matchesFilter(channel: ChannelRow, filter: ChannelFilter): boolean {
	const settings = channel.kind === "discord" ? parseSettings(channel.discord) : undefined;
	if (filter.instanceId) {
		const id = filter.instanceId;
		if (String(channel.id) !== id && channel.name !== id && settings?.channel_id !== id) return false;
	}
	if (filter.modes?.length && settings) {
		const mode = parseState(channel.discordState).mode ?? settings.mode ?? "fast";
		if (!filter.modes.includes(mode)) return false;
	}
	return true;
}

export async function anyChannelMatches(db: Db, filter: ChannelFilter): Promise<boolean> {
	return (await listEnabledChannels(db)).some((channel) => matchesFilter(channel, filter));
}

/** Weighted random choice; `random` is injectable so tests can pin it. */
export function chooseByWeight<T extends { weight: number }>(items: T[], random: () => number): T | undefined {
	const usable = items.filter((item) => item.weight > 0);
	const total = usable.reduce((sum, item) => sum + item.weight, 0);
	if (total === 0) return undefined;
	let point = random() * total;
	for (const item of usable) {
		point -= item.weight;
		if (point < 0) return item;
	}
	return usable[usable.length - 1];
}

/**
 * The channel for a task: its parent's channel for follow-up actions (the upstream only
 * knows its own tasks), otherwise an enabled channel chosen by weight.
 */
export async function pickChannel(
	db: Db,
	env: Env,
	options: {
		parentChannelId?: number | null;
		random: () => number;
		/** When a missing simulator or fake Discord channel is created (epoch ms). */
		now: number;
		exclude?: readonly number[];
		filter?: ChannelFilter;
	},
): Promise<ChannelRow> {
	await ensureSimulatorChannel(db, env, options.now);
	if (options.parentChannelId != null) {
		const parent = await findChannel(db, options.parentChannelId);
		if (parent?.enabled) return parent;
		throw new ApiError("NO_CHANNEL", "the channel that ran the parent task is not available");
	}
	const exclude = options.exclude ?? [];
	const candidates = (await listEnabledChannels(db)).filter(
		(channel) =>
			!exclude.includes(channel.id) &&
			!isFullAccount(channel) &&
			(options.filter === undefined || matchesFilter(channel, options.filter)),
	);
	const chosen = chooseByWeight(candidates, options.random);
	if (!chosen) {
		throw new ApiError(
			"NO_CHANNEL",
			options.filter ? "no upstream channel matching accountFilter is available" : "no upstream channel is available",
		);
	}
	return chosen;
}
