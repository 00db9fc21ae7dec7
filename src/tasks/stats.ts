/**
 * The admin dashboard's figures (GET /api/admin/stats), made from the rollups of db/stats.ts:
 * series zero-filled per hour and per local day, totals, success rates, and p50/p95 of the time
 * from submit to finish estimated from the duration histograms.
 *
 * Estimation error of p50/p95: a histogram bucket spans a factor of 2^(1/4) (about 1.19), and
 * the estimate lies in the same bucket as the true value (the rank decides the bucket exactly),
 * so from 1 s to about 4 h 33 min the estimate is within 19% of the true value (interpolated
 * geometrically inside the bucket, usually much closer). Under 1 s it is within 1 s; past
 * 4 h 33 min (the open last bucket) the estimate is that lower bound.
 */
import {
	bucketStart,
	DAY_MS,
	type DurationRow,
	HOUR_MS,
	type HourRow,
	MAX_BUCKET,
	type StatsRows,
	type StatsWindow,
	type UserSpendRow,
} from "../db/stats";

export interface StatsQuery {
	hours: number;
	days: number;
	/** Minutes east of UTC; local days start at local midnight. */
	utcOffset: number;
	top: number;
}

export interface Counts {
	submitted: number;
	succeeded: number;
	failed: number;
	cancelled: number;
	/** Charged minus refunded. */
	spent: number;
}

const MINUTE_MS = 60_000;

/** The rollup rows a query needs at `now` (the hours cover both series). */
export function statsWindow(query: StatsQuery, now: number): StatsWindow {
	const offset = query.utcOffset * MINUTE_MS;
	const nowHour = Math.floor(now / HOUR_MS);
	const firstLocalDay = Math.floor((now + offset) / DAY_MS) - query.days + 1;
	// Local midnights fall on hour boundaries only for whole-hour offsets: a day then starts
	// within its first hour, and that hour counts for the day it starts in.
	const firstDayHour = Math.floor((firstLocalDay * DAY_MS - offset) / HOUR_MS);
	const today = Math.floor(now / DAY_MS);
	return {
		fromHour: Math.min(nowHour - query.hours + 1, firstDayHour),
		toHour: nowHour,
		fromDay: today - query.days + 1,
		today,
		top: query.top,
	};
}

function counts(row: HourRow | undefined): Counts {
	return {
		submitted: row?.submitted ?? 0,
		succeeded: row?.succeeded ?? 0,
		failed: row?.failed ?? 0,
		cancelled: row?.cancelled ?? 0,
		spent: (row?.charged ?? 0) - (row?.refunded ?? 0),
	};
}

function add(into: Counts, more: Counts): void {
	into.submitted += more.submitted;
	into.succeeded += more.succeeded;
	into.failed += more.failed;
	into.cancelled += more.cancelled;
	into.spent += more.spent;
}

/** Succeeded out of the tasks that succeeded or failed (cancels are the user's choice); null with none. */
export function successRate(c: Counts): number | null {
	const ended = c.succeeded + c.failed;
	return ended === 0 ? null : c.succeeded / ended;
}

/**
 * The q-quantile (0 < q <= 1) of a histogram by bucket, in ms; null when empty. The bucket
 * holding the rank is exact; inside it the value is interpolated (linearly in bucket 0,
 * geometrically above), see the error note at the top of this file.
 */
export function estimateQuantile(histogram: ReadonlyMap<number, number>, q: number): number | null {
	const buckets = [...histogram.entries()].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
	const total = buckets.reduce((sum, [, n]) => sum + n, 0);
	if (total === 0) return null;
	const rank = Math.max(1, Math.ceil(q * total));
	let before = 0;
	for (const [bucket, n] of buckets) {
		if (before + n >= rank) {
			// The rank's place among the bucket's n values, each taken at the middle of its 1/n share.
			const f = (rank - before - 0.5) / n;
			const lo = bucketStart(bucket);
			if (bucket === MAX_BUCKET) return Math.round(lo);
			const hi = bucketStart(bucket + 1);
			return Math.round(bucket === 0 ? f * hi : lo * (hi / lo) ** f);
		}
		before += n;
	}
	return null;
}

function actionStats(durations: DurationRow[]) {
	const byAction = new Map<string, Map<number, number>>();
	for (const row of durations) {
		const histogram = byAction.get(row.action) ?? new Map<number, number>();
		byAction.set(row.action, histogram);
		histogram.set(row.bucket, (histogram.get(row.bucket) ?? 0) + row.count);
	}
	return [...byAction.entries()]
		.map(([action, histogram]) => ({
			action,
			succeeded: [...histogram.values()].reduce((a, b) => a + b, 0),
			p50_ms: estimateQuantile(histogram, 0.5),
			p95_ms: estimateQuantile(histogram, 0.95),
		}))
		.filter((a) => a.succeeded > 0)
		.sort((a, b) => b.succeeded - a.succeeded || a.action.localeCompare(b.action));
}

const userView = (row: UserSpendRow) => ({ sub: row.sub, tasks: row.tasks, spent: row.spent });

/** The answer of GET /api/admin/stats. Times are epoch seconds. */
export function statsView(query: StatsQuery, now: number, rows: StatsRows) {
	const w = statsWindow(query, now);
	const byHour = new Map(rows.hours.map((row) => [row.hour, row]));
	const hours = [];
	const lastHours = counts(undefined);
	for (let hour = w.toHour - query.hours + 1; hour <= w.toHour; hour++) {
		const c = counts(byHour.get(hour));
		add(lastHours, c);
		hours.push({ start: (hour * HOUR_MS) / 1000, ...c });
	}
	const offset = query.utcOffset * MINUTE_MS;
	const lastLocalDay = Math.floor((now + offset) / DAY_MS);
	const days = Array.from({ length: query.days }, (_, i) => {
		const day = lastLocalDay - query.days + 1 + i;
		return { start: (day * DAY_MS - offset) / 1000, ...counts(undefined) };
	});
	const lastDays = counts(undefined);
	for (const row of rows.hours) {
		const index = Math.floor((row.hour * HOUR_MS + offset) / DAY_MS) - (lastLocalDay - query.days + 1);
		if (index < 0 || index >= days.length) continue;
		const c = counts(row);
		add(days[index], c);
		add(lastDays, c);
	}
	const channelStats = new Map(rows.channels.map((row) => [row.channelId, row]));
	return {
		generated_at: Math.floor(now / 1000),
		hours: query.hours,
		days: query.days,
		utc_offset: query.utcOffset,
		totals: {
			last_hours: { ...lastHours, success_rate: successRate(lastHours) },
			last_days: { ...lastDays, success_rate: successRate(lastDays) },
		},
		per_hour: hours,
		per_day: days,
		actions: actionStats(rows.durations),
		channels: rows.channelStates.map((channel) => ({
			id: channel.id,
			name: channel.name,
			enabled: channel.enabled,
			disabled_reason: channel.disabledReason,
			failure_count: channel.failureCount,
			tasks: channelStats.get(channel.id)?.tasks ?? 0,
			failures: channelStats.get(channel.id)?.failures ?? 0,
		})),
		busiest_users: {
			today: rows.busiestToday.map(userView),
			all_time: rows.busiestAllTime.map(userView),
		},
	};
}
