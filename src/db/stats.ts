/**
 * The dashboard's reads: every one is on a rollup table (schema.ts, kept by the triggers of
 * migration 0011_stats-triggers), keyed by hour, day, channel, action or user, never on tasks. Each reads at
 * most (rows in its window) or (its LIMIT) rows, so the cost depends on the window asked for,
 * not on how many tasks exist.
 */
import { and, asc, desc, eq, gte, lte, sql } from "drizzle-orm";
import type { Db } from "./client";
import {
	channels as channelTable,
	statsActionDurations,
	statsChannelDays,
	statsHours,
	statsUserDays,
	statsUsers,
	users,
} from "./schema";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/**
 * Duration buckets of stats_action_durations: bucket 0 is [0, 1 s); bucket b >= 1 is
 * [1000 * 2^((b-1)/4), 1000 * 2^(b/4)) ms, four per doubling; the last, MAX_BUCKET, is open
 * (from 2^14 s, about 4 h 33 min). Migration 0011_stats-triggers computes the same in SQL.
 */
export const MAX_BUCKET = 57;

export function durationBucket(ms: number): number {
	if (ms < 1000) return 0;
	return Math.min(MAX_BUCKET, 1 + Math.floor(4 * Math.log2(ms / 1000)));
}

/** The bucket's first millisecond. */
export function bucketStart(bucket: number): number {
	return bucket === 0 ? 0 : 1000 * 2 ** ((bucket - 1) / 4);
}

export interface HourRow {
	hour: number;
	submitted: number;
	succeeded: number;
	failed: number;
	cancelled: number;
	charged: number;
	refunded: number;
}

export interface ChannelStatsRow {
	channelId: number;
	tasks: number;
	failures: number;
}

export interface ChannelStateRow {
	id: number;
	name: string;
	enabled: boolean;
	disabledReason: string;
	failureCount: number;
}

export interface DurationRow {
	action: string;
	bucket: number;
	count: number;
}

export interface UserSpendRow {
	sub: string;
	tasks: number;
	spent: number;
}

export interface StatsWindow {
	/** Epoch hours, inclusive. */
	fromHour: number;
	toHour: number;
	/** Epoch days (UTC), inclusive: channels and durations. */
	fromDay: number;
	/** The UTC day whose busiest users are listed. */
	today: number;
	top: number;
}

export interface StatsRows {
	hours: HourRow[];
	channelStates: ChannelStateRow[];
	channels: ChannelStatsRow[];
	durations: DurationRow[];
	busiestToday: UserSpendRow[];
	busiestAllTime: UserSpendRow[];
}

/** The dashboard's queries (exported so a test can read their plans). */
export function statsQueries(db: Db, w: StatsWindow) {
	return [
		db
			.select()
			.from(statsHours)
			.where(and(gte(statsHours.hour, w.fromHour), lte(statsHours.hour, w.toHour)))
			.orderBy(asc(statsHours.hour)),
		// Channels are few (an admin adds each by hand): all of them, with or without tasks.
		db
			.select({
				id: channelTable.id,
				name: channelTable.name,
				enabled: channelTable.enabled,
				disabledReason: channelTable.disabledReason,
				failureCount: channelTable.failureCount,
			})
			.from(channelTable)
			.orderBy(asc(channelTable.id)),
		db
			.select({
				channelId: statsChannelDays.channelId,
				tasks: sql<number>`sum(${statsChannelDays.tasks})`,
				failures: sql<number>`sum(${statsChannelDays.failures})`,
			})
			.from(statsChannelDays)
			.where(gte(statsChannelDays.day, w.fromDay))
			.groupBy(statsChannelDays.channelId),
		db
			.select({
				action: statsActionDurations.action,
				bucket: statsActionDurations.bucket,
				count: sql<number>`sum(${statsActionDurations.count})`,
			})
			.from(statsActionDurations)
			.where(gte(statsActionDurations.day, w.fromDay))
			.groupBy(statsActionDurations.action, statsActionDurations.bucket),
		// The first `top` entries of stats_user_days_spent for the day, each with its user's sub.
		db
			.select({ sub: users.sub, tasks: statsUserDays.tasks, spent: statsUserDays.spent })
			.from(statsUserDays)
			.innerJoin(users, eq(users.id, statsUserDays.userId))
			.where(and(eq(statsUserDays.day, w.today), sql`${statsUserDays.tasks} > 0`))
			.orderBy(desc(statsUserDays.spent), desc(statsUserDays.tasks))
			.limit(w.top),
		db
			.select({ sub: users.sub, tasks: statsUsers.tasks, spent: statsUsers.spent })
			.from(statsUsers)
			.innerJoin(users, eq(users.id, statsUsers.userId))
			.where(sql`${statsUsers.tasks} > 0`)
			.orderBy(desc(statsUsers.spent), desc(statsUsers.tasks))
			.limit(w.top),
	] as const;
}

/** Every rollup the dashboard shows, in one D1 round trip. */
export async function readStats(db: Db, w: StatsWindow): Promise<StatsRows> {
	const [hours, channelStates, channels, durations, busiestToday, busiestAllTime] = await db.batch(statsQueries(db, w));
	return { hours, channelStates, channels, durations, busiestToday, busiestAllTime };
}
