/** Every query on the channels table. */
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { Db } from "./client";
import { type ChannelRow, channels, type NewChannelRow } from "./schema";

export async function listEnabledChannels(db: Db): Promise<ChannelRow[]> {
	return db.select().from(channels).where(eq(channels.enabled, true)).all();
}

export async function findChannel(db: Db, id: number): Promise<ChannelRow | undefined> {
	return db.select().from(channels).where(eq(channels.id, id)).get();
}

/** Creates the named channel unless a channel of that name exists (enabled or not). */
export async function ensureChannel(
	db: Db,
	channel: Pick<ChannelRow, "name" | "baseUrl" | "secret" | "weight"> & Partial<Pick<ChannelRow, "kind" | "discord">>,
	now: number,
): Promise<void> {
	await db
		.insert(channels)
		.values({ ...channel, enabled: true, createdAt: now, updatedAt: now })
		.onConflictDoNothing({ target: channels.name });
}

export async function enabledChannelByName(db: Db, name: string): Promise<ChannelRow | undefined> {
	return db
		.select()
		.from(channels)
		.where(and(eq(channels.name, name), eq(channels.enabled, true)))
		.get();
}

export async function disableChannel(db: Db, id: number, reason: string, now: number): Promise<void> {
	await db
		.update(channels)
		.set({ enabled: false, disabledReason: reason.slice(0, 500), updatedAt: now })
		.where(eq(channels.id, id));
}

/** Counts a fault; the `limit`-th in a row disables the channel. Returns whether it is still enabled. */
export async function recordChannelFault(
	db: Db,
	id: number,
	reason: string,
	limit: number,
	now: number,
): Promise<boolean> {
	const reachesLimit = sql`${channels.failureCount} + 1 >= ${limit}`;
	const row = await db
		.update(channels)
		.set({
			failureCount: sql`${channels.failureCount} + 1`,
			enabled: sql`CASE WHEN ${reachesLimit} THEN 0 ELSE ${channels.enabled} END`,
			disabledReason: sql`CASE WHEN ${reachesLimit} THEN ${`${limit} failures in a row; last: ${reason}`.slice(0, 500)} ELSE ${channels.disabledReason} END`,
			updatedAt: now,
		})
		.where(eq(channels.id, id))
		.returning({ enabled: channels.enabled })
		.get();
	return row?.enabled ?? false;
}

/** A success ends a run of faults. */
export async function clearChannelFaults(db: Db, id: number): Promise<void> {
	await db
		.update(channels)
		.set({ failureCount: 0 })
		.where(and(eq(channels.id, id), gt(channels.failureCount, 0)));
}

export async function listChannels(db: Db): Promise<ChannelRow[]> {
	return db.select().from(channels).orderBy(asc(channels.id)).all();
}

/** Undefined when the name is taken. */
export async function createChannel(db: Db, channel: NewChannelRow): Promise<ChannelRow | undefined> {
	return db.insert(channels).values(channel).onConflictDoNothing({ target: channels.name }).returning().get();
}

export async function updateChannel(
	db: Db,
	id: number,
	changes: Partial<
		Pick<
			ChannelRow,
			"name" | "baseUrl" | "secret" | "weight" | "enabled" | "disabledReason" | "failureCount" | "discord"
		>
	>,
	now: number,
): Promise<ChannelRow | undefined> {
	return db
		.update(channels)
		.set({ ...changes, updatedAt: now })
		.where(eq(channels.id, id))
		.returning()
		.get();
}

/** The account's object reports its connection and load; the admin list and the channel choice read it here. */
export async function setDiscordState(db: Db, id: number, state: string): Promise<void> {
	await db.update(channels).set({ discordState: state }).where(eq(channels.id, id));
}
