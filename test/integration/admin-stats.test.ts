/**
 * GET /api/admin/stats: the dashboard's figures equal what the tasks table says (checked
 * against a scan of tasks made here, never by the route), after submits that succeed, fail
 * (refunded) and are cancelled (refunded) through the simulator; its queries read the same
 * number of rows whatever the number of tasks; admins only.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { signToken } from "../../src/auth/token";
import type { D1Stats } from "../../src/db/instrument";
import { DAY_MS, durationBucket, HOUR_MS, statsQueries } from "../../src/db/stats";
import { defaultDeps } from "../../src/deps";
import { DEFAULT_PRICES } from "../../src/tasks/pricing";
import { statsWindow } from "../../src/tasks/stats";
import { BASE, call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";
import { proxyPost, reply, submitted } from "../helpers/proxy";

interface Counts {
	submitted: number;
	succeeded: number;
	failed: number;
	cancelled: number;
	spent: number;
}
interface Stats {
	generated_at: number;
	totals: { last_hours: Counts & { success_rate: number | null }; last_days: Counts & { success_rate: number | null } };
	per_hour: (Counts & { start: number })[];
	per_day: (Counts & { start: number })[];
	actions: { action: string; succeeded: number; p50_ms: number | null; p95_ms: number | null }[];
	channels: { id: number; name: string; tasks: number; failures: number; disabled_reason: string }[];
	busiest_users: Record<"today" | "all_time", { sub: string; tasks: number; spent: number }[]>;
}

async function stats(token: string, query = ""): Promise<Stats> {
	const response = await call(`/api/admin/stats${query}`, { token });
	const body = await json<{ success: boolean; data: Stats }>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	expect(body.success).toBe(true);
	return body.data;
}

interface TaskFacts {
	user_id: number;
	sub: string;
	action: string;
	status: string;
	submit_time: number;
	finish_time: number | null;
	quota: number;
	refunded: number;
	channel_id: number | null;
}

/** Every task, read the slow way: what the rollups must agree with. */
async function allTasks(): Promise<TaskFacts[]> {
	const { results } = await env.DB.prepare(
		`SELECT t.user_id, u.sub, t.action, t.status, t.submit_time, t.finish_time, t.quota, t.refunded, t.channel_id
		 FROM tasks t JOIN users u ON u.id = t.user_id`,
	).all<TaskFacts>();
	return results;
}

const ENDED = ["SUCCESS", "FAILURE", "CANCEL"];
const endOf = (t: TaskFacts) => t.finish_time ?? t.submit_time;

/** The counts of a [from, to) window: submits and spend by submit time, ends by finish time. */
function countsIn(tasks: TaskFacts[], from: number, to: number): Counts {
	const submittedIn = tasks.filter((t) => t.submit_time >= from && t.submit_time < to);
	const endedIn = tasks.filter((t) => ENDED.includes(t.status) && endOf(t) >= from && endOf(t) < to);
	return {
		submitted: submittedIn.length,
		succeeded: endedIn.filter((t) => t.status === "SUCCESS").length,
		failed: endedIn.filter((t) => t.status === "FAILURE").length,
		cancelled: endedIn.filter((t) => t.status === "CANCEL").length,
		spent: submittedIn.reduce((sum, t) => sum + t.quota * (1 - t.refunded), 0),
	};
}

/** Nearest-rank quantile of the exact durations. */
function exactQuantile(values: number[], q: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

/** What the whole answer must be, computed from the tasks at the answer's own clock. */
function expectAgreesWithTasks(data: Stats, tasks: TaskFacts[], hours: number, days: number, top = 10): void {
	const now = data.generated_at * 1000;
	const nowHour = Math.floor(now / HOUR_MS);
	expect(data.per_hour).toHaveLength(hours);
	data.per_hour.forEach((point, i) => {
		const hour = nowHour - hours + 1 + i;
		expect(point, `hour ${i}`).toEqual({
			start: (hour * HOUR_MS) / 1000,
			...countsIn(tasks, hour * HOUR_MS, (hour + 1) * HOUR_MS),
		});
	});
	const today = Math.floor(now / DAY_MS);
	expect(data.per_day).toHaveLength(days);
	data.per_day.forEach((point, i) => {
		const day = today - days + 1 + i;
		expect(point, `day ${i}`).toEqual({
			start: (day * DAY_MS) / 1000,
			...countsIn(tasks, day * DAY_MS, (day + 1) * DAY_MS),
		});
	});
	const lastHours = countsIn(tasks, (nowHour - hours + 1) * HOUR_MS, (nowHour + 1) * HOUR_MS);
	expect(data.totals.last_hours).toMatchObject(lastHours);
	const ended = lastHours.succeeded + lastHours.failed;
	expect(data.totals.last_hours.success_rate).toBe(ended ? lastHours.succeeded / ended : null);
	expect(data.totals.last_days).toMatchObject(countsIn(tasks, (today - days + 1) * DAY_MS, (today + 1) * DAY_MS));

	const fromDay = (today - days + 1) * DAY_MS;
	for (const channel of data.channels) {
		const mine = tasks.filter((t) => t.channel_id === channel.id && t.submit_time >= fromDay);
		expect(channel, channel.name).toMatchObject({
			tasks: mine.length,
			failures: mine.filter((t) => t.status === "FAILURE").length,
		});
	}
	const successes = tasks.filter((t) => t.status === "SUCCESS" && endOf(t) >= fromDay);
	const actions = [...new Set(successes.map((t) => t.action))];
	expect(data.actions.map((a) => a.action).sort()).toEqual(actions.sort());
	for (const action of data.actions) {
		const durations = successes.filter((t) => t.action === action.action).map((t) => endOf(t) - t.submit_time);
		expect(action.succeeded).toBe(durations.length);
		for (const [q, estimate] of [
			[0.5, action.p50_ms],
			[0.95, action.p95_ms],
		] as const) {
			// The estimate lies in the exact value's bucket (src/tasks/stats.ts): same bucket, within 19%.
			const exact = exactQuantile(durations, q);
			expect(durationBucket(estimate ?? -1), `${action.action} p${q * 100}`).toBe(durationBucket(exact));
		}
	}

	const byUser = (from: number) => {
		const totals = new Map<string, { sub: string; tasks: number; spent: number }>();
		for (const t of tasks.filter((x) => x.submit_time >= from)) {
			const entry = totals.get(t.sub) ?? { sub: t.sub, tasks: 0, spent: 0 };
			entry.tasks += 1;
			entry.spent += t.quota * (1 - t.refunded);
			totals.set(t.sub, entry);
		}
		return [...totals.values()].sort((a, b) => b.spent - a.spent || b.tasks - a.tasks);
	};
	for (const [list, expected] of [
		[data.busiest_users.today, byUser(today * DAY_MS)],
		[data.busiest_users.all_time, byUser(0)],
	] as const) {
		// Equal spend and tasks may come in either order: compare the figures, then each user's own.
		expect(list.map((u) => [u.spent, u.tasks])).toEqual(expected.slice(0, top).map((u) => [u.spent, u.tasks]));
		for (const user of list) expect(user).toEqual(expected.find((u) => u.sub === user.sub));
	}
}

const TIMEOUT = 20_000;

describe("the dashboard's numbers are the tasks' numbers", () => {
	it("after a success, a refunded failure and a refunded cancel through the simulator", async () => {
		const admin = await tokenFor(uniqueSub("stats-admin"), "admin");
		const sub = uniqueSub("stats-user");
		const token = await tokenFor(sub);
		const before = await stats(admin);

		const ok = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a stats fox" }));
		const failing = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a stats fox --sim-fail" }));
		const slow = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "a stats fox --sim-slow" }));
		// Three charges, nothing ended yet: the rollups see the submits at once.
		const submittedNow = await stats(admin);
		expect(submittedNow.totals.last_hours.submitted - before.totals.last_hours.submitted).toBe(3);
		expect(submittedNow.totals.last_hours.spent - before.totals.last_hours.spent).toBe(3 * DEFAULT_PRICES.IMAGINE);
		expect(submittedNow.busiest_users.today.find((u) => u.sub === sub)).toEqual({
			sub,
			tasks: 3,
			spent: 3 * DEFAULT_PRICES.IMAGINE,
		});

		await waitFor(async () => (await taskRow(slow)).upstreamId, TIMEOUT, "the slow task to reach the simulator");
		expect((await reply(await proxyPost(`/mj/task/${slow}/cancel`, token, {}))).code).toBe(1);
		await waitFor(async () => (await taskRow(ok)).status === "SUCCESS", TIMEOUT, "the success");
		await waitFor(async () => (await taskRow(failing)).refunded, TIMEOUT, "the failure's refund");
		expect((await taskRow(slow)).refunded).toBe(true);

		const after = await stats(admin);
		const delta = (key: keyof Counts) => after.totals.last_hours[key] - before.totals.last_hours[key];
		expect({
			submitted: delta("submitted"),
			succeeded: delta("succeeded"),
			failed: delta("failed"),
			cancelled: delta("cancelled"),
			spent: delta("spent"),
		}).toEqual({ submitted: 3, succeeded: 1, failed: 1, cancelled: 1, spent: DEFAULT_PRICES.IMAGINE });
		expect(after.busiest_users.today.find((u) => u.sub === sub)).toEqual({
			sub,
			tasks: 3,
			spent: DEFAULT_PRICES.IMAGINE,
		});
		const channelId = (await taskRow(ok)).channelId;
		const channel = after.channels.find((c) => c.id === channelId);
		const channelBefore = before.channels.find((c) => c.id === channel?.id);
		expect((channel?.tasks ?? 0) - (channelBefore?.tasks ?? 0)).toBe(3);
		expect((channel?.failures ?? 0) - (channelBefore?.failures ?? 0)).toBe(1);
		expect(after.actions.find((a) => a.action === "IMAGINE")?.p50_ms).toBeGreaterThan(0);

		expectAgreesWithTasks(after, await allTasks(), 24, 30);
		const narrow = await stats(admin, "?hours=3&days=2&top=10");
		expectAgreesWithTasks(narrow, await allTasks(), 3, 2);
	}, 60_000);

	it("rows written every way (seeded, moved between channels, refunded, deleted) still agree", async () => {
		const admin = await tokenFor(uniqueSub("stats-admin"), "admin");
		const user = await userId(uniqueSub("stats-seeded"));
		const now = Date.now();
		const done = await insertTaskRow({
			userId: user,
			status: "SUCCESS",
			quota: 7,
			submitTime: now - 90_000,
			finishTime: now - 1000,
			channelId: 91,
		});
		const moved = await insertTaskRow({
			userId: user,
			status: "IN_PROGRESS",
			quota: 5,
			submitTime: now - 5000,
			channelId: 91,
		});
		const gone = await insertTaskRow({
			userId: user,
			action: "DESCRIBE",
			status: "SUCCESS",
			quota: 3,
			submitTime: now - 2 * HOUR_MS,
			finishTime: now - HOUR_MS,
		});
		await env.DB.prepare(
			"UPDATE tasks SET channel_id = 92, status = 'FAILURE', finish_time = ?, refunded = 1 WHERE public_id = ?",
		)
			.bind(now, moved.publicId)
			.run();
		await env.DB.prepare("UPDATE tasks SET finish_time = ? WHERE public_id = ?")
			.bind(now - 60_000, done.publicId)
			.run();
		await env.DB.prepare("DELETE FROM tasks WHERE public_id = ?").bind(gone.publicId).run();
		expectAgreesWithTasks(await stats(admin), await allTasks(), 24, 30);
	});
});

describe("the rollups", () => {
	it("put durations in the buckets src/db/stats.ts computes", async () => {
		const user = await userId(uniqueSub("stats-buckets"));
		const start = Date.UTC(2030, 0, 1);
		const durations = [0, 999, 1000, 1100, 1250, 5000, 59_000, 600_000, 3_600_000, 20_000_000, 100_000_000];
		for (const ms of durations) {
			await insertTaskRow({
				userId: user,
				action: "SHORTEN",
				status: "SUCCESS",
				submitTime: start,
				finishTime: start + ms,
			});
		}
		const { results } = await env.DB.prepare(
			"SELECT bucket, count FROM stats_action_durations WHERE day = ? AND action = 'SHORTEN' ORDER BY bucket",
		)
			.bind(Math.floor(start / DAY_MS))
			.all<{ bucket: number; count: number }>();
		const expected = new Map<number, number>();
		for (const ms of durations.filter((d) => start + d < (Math.floor(start / DAY_MS) + 1) * DAY_MS)) {
			expected.set(durationBucket(ms), (expected.get(durationBucket(ms)) ?? 0) + 1);
		}
		expect(results.map((r) => [r.bucket, r.count])).toEqual([...expected.entries()].sort((a, b) => a[0] - b[0]));
	});

	it("are what the stats-triggers migration's backfill builds from the tasks", async () => {
		const tables = ["stats_hours", "stats_channel_days", "stats_action_durations", "stats_user_days", "stats_users"];
		const snapshot = async () => {
			const out: Record<string, unknown[]> = {};
			for (const table of tables) {
				const { results } = await env.DB.prepare(`SELECT * FROM ${table}`).all<Record<string, number | string>>();
				// Rows whose every count went back to zero carry nothing.
				out[table] = results
					.filter((row) =>
						Object.entries(row).some(
							([k, v]) =>
								typeof v === "number" && v !== 0 && !["hour", "day", "channel_id", "user_id", "bucket"].includes(k),
						),
					)
					.map((row) => JSON.stringify(row))
					.sort();
			}
			return out;
		};
		const kept = await snapshot();
		expect(kept.stats_users.length).toBeGreaterThan(0);
		const migration = env.TEST_MIGRATIONS.find((m) => m.name.endsWith("_stats-triggers.sql"));
		const backfill = migration?.queries.filter((q) => /^\s*(--[^\n]*\n\s*)*INSERT/i.test(q)) ?? [];
		expect(backfill).toHaveLength(6);
		await env.DB.batch([
			...tables.map((t) => env.DB.prepare(`DELETE FROM ${t}`)),
			...backfill.map((q) => env.DB.prepare(q)),
		]);
		expect(await snapshot()).toEqual(kept);
	});
});

describe("what the dashboard reads", () => {
	/** 2031-03-10T12:30Z: far from every other test's tasks, so the windows hold only what is seeded here. */
	const NOW = Date.UTC(2031, 2, 10, 12, 30);

	async function statsAt(token: string): Promise<{ data: Stats; stats: D1Stats }> {
		const response = await createApp({ ...defaultDeps(), now: () => NOW }).fetch(
			new Request(`${BASE}/api/admin/stats?top=5`, { headers: { authorization: `Bearer ${token}` } }),
			{ ...env, D1_STATS: "true" },
			createExecutionContext(),
		);
		const body = await json<{ data: Stats }>(response);
		expect(response.status, JSON.stringify(body)).toBe(200);
		return { data: body.data, stats: JSON.parse(response.headers.get("x-d1-stats") ?? "null") as D1Stats };
	}

	/** `count` tasks over the last 24 hours by `users` new users; the same hours, actions, statuses, durations and channels at any count. */
	async function seed(label: string, count: number, users: number): Promise<void> {
		await env.DB.prepare(
			`INSERT INTO users (sub, role, quota, created_at)
			 WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
			 SELECT printf('%s-%d', ?2, n), 'user', 0, ?3 FROM seq`,
		)
			.bind(users, label, NOW)
			.run();
		await env.DB.prepare(
			`INSERT INTO tasks (public_id, user_id, user_seq, action, status, submit_time, finish_time, updated_at, quota, refunded, channel_id)
			 WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1),
			 rows AS (SELECT n, ?3 - (n % 24) * 3600000 - 60000 AS submit,
			   CASE n % 4 WHEN 0 THEN 'SUCCESS' WHEN 1 THEN 'FAILURE' WHEN 2 THEN 'CANCEL' ELSE 'IN_PROGRESS' END AS status FROM seq)
			 SELECT printf('%s-%d', ?2, n), (SELECT id FROM users WHERE sub = printf('%s-%d', ?2, 1 + n % ?4)), n,
			   CASE n % 3 WHEN 0 THEN 'IMAGINE' WHEN 1 THEN 'UPSCALE' ELSE 'VARIATION' END, status, submit,
			   CASE WHEN status = 'IN_PROGRESS' THEN NULL ELSE submit + 500 + (n % 40) * 1000 END, submit, 10, status IN ('FAILURE', 'CANCEL'), 1 + n % 2
			 FROM rows`,
		)
			.bind(count, label, NOW, users)
			.run();
	}

	it("the same rows at 480 and 5,280 tasks, none of them from tasks", async () => {
		// Signed at the app's clock (NOW): the token is checked against the same clock as the stats.
		const admin = await signToken({ sub: uniqueSub("stats-admin"), role: "admin" }, env.JWT_SECRET, NOW / 1000 + 3600, {
			issuedAt: NOW / 1000,
		});
		await seed("small", 480, 8);
		await statsAt(admin); // the admin's user row is then cached, as for any returning admin
		const small = await statsAt(admin);
		await seed("large", 4_800, 80);
		const large = await statsAt(admin);

		expect(small.data.totals.last_hours.submitted).toBe(480);
		expect(large.data.totals.last_hours.submitted).toBe(5_280);
		expect(large.data.totals.last_hours).toMatchObject({ succeeded: 1_320, failed: 1_320, cancelled: 1_320 });
		expect(large.data.busiest_users.all_time).toHaveLength(5);
		expect(large.stats.rowsRead).toBe(small.stats.rowsRead);
		// The hours of 31 days, 2 channels x 2 days, 3 actions x 2 days x 40 buckets, top 5 twice with their users, auth.
		expect(small.stats.rowsRead).toBeLessThan(24 * 31 + 4 + 240 + 20 + 10);
		// The queries run in one batch, which D1_STATS does not explain: explain them here.
		const queries = statsQueries(db(), statsWindow({ hours: 24, days: 30, utcOffset: 0, top: 5 }, NOW));
		expect(queries).toHaveLength(6);
		for (const query of queries) {
			const { sql, params } = query.toSQL();
			const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
				.bind(...params)
				.all<{ detail: string }>();
			const plan = results.map((step) => step.detail).join(" | ");
			expect(sql).not.toMatch(/\b(from|join)\s+"tasks"/i);
			expect(plan).not.toMatch(/\b(SCAN|SEARCH) tasks\b/);
			// "SCAN x USING INDEX" walks an index in order and stops at LIMIT; only the handful of channels is read whole.
			expect(plan.replace(/SCAN channels$/, ""), plan).not.toMatch(/\bSCAN \w+\b(?! USING (COVERING )?INDEX)/);
			expect(plan, plan).not.toMatch(/TEMP B-TREE FOR ORDER BY/);
		}
		expectAgreesWithTasks({ ...large.data, generated_at: NOW / 1000 }, await allTasks(), 24, 30, 5);
	}, 60_000);
});

describe("who may read it", () => {
	it("admins only, and bad windows are refused in the new-api envelope", async () => {
		expect((await call("/api/admin/stats")).status).toBe(401);
		expect((await call("/api/admin/stats", { token: await tokenFor(uniqueSub("plain")) })).status).toBe(403);
		const admin = await tokenFor(uniqueSub("stats-admin"), "admin");
		for (const query of ["hours=0", "hours=169", "days=91", "utc_offset=900", "top=0", "days=1e1", "bogus=1"]) {
			const response = await call(`/api/admin/stats?${query}`, { token: admin });
			expect(response.status, query).toBe(400);
			expect(await json(response)).toEqual({ success: false, message: expect.any(String) });
		}
	});
});
