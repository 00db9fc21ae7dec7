/** Every query on the channels table. */
import { and, eq } from "drizzle-orm";
import type { Db } from "./client";
import { type ChannelRow, channels } from "./schema";

export async function listEnabledChannels(db: Db): Promise<ChannelRow[]> {
	return db.select().from(channels).where(eq(channels.enabled, true)).all();
}

export async function findChannel(db: Db, id: number): Promise<ChannelRow | undefined> {
	return db.select().from(channels).where(eq(channels.id, id)).get();
}

/** Creates the named channel unless a channel of that name exists (enabled or not). */
export async function ensureChannel(
	db: Db,
	channel: Pick<ChannelRow, "name" | "baseUrl" | "secret" | "weight">,
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

export async function anyEnabledChannel(db: Db): Promise<boolean> {
	const row = await db.select({ id: channels.id }).from(channels).where(eq(channels.enabled, true)).limit(1).get();
	return row !== undefined;
}
