/**
 * The admin's unfiltered GET /api/mj/?p=N is a seek on tasks_seq at any N: the same rows as
 * the OFFSET query it replaced and as the cursor walk, page 100 read as cheaply as page 1,
 * and task_seq handed out by insertTask in insert order (a refused submit takes no number).
 *
 * 3,000 tasks are seeded in one statement (as bench/lib/seed.mjs does), numbered in the order
 * of their submit times, with pairs sharing a millisecond so the id has to break ties; in
 * such data insert order and (submit_time, id) order agree, so every way of paging must
 * give the same answer.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { listTaskPage } from "../../src/db/task-lists";
import { InsufficientQuotaError, insertTask, type NewTaskInput } from "../../src/db/tasks";
import { upsertUser } from "../../src/db/users";
import { tokenFor, uniqueSub } from "../helpers/api";
import { db, taskRow } from "../helpers/db";
import { ALL, type ListData, listOk, walkCursor, withQuery, withStats } from "../helpers/seed001";

const TASKS = 3_000;
const SIZE = 20;
/** 2022-01-01T00:00:00Z; seeded task n is submitted at T0 + floor(n / 2) s. */
const T0 = 1_640_995_200_000;

let adminToken: string;

beforeAll(async () => {
	const userId = await upsertUser(db(), uniqueSub("seek-user"), "user", 0, T0);
	await env.DB.batch([
		env.DB.prepare(
			`INSERT INTO tasks (id, public_id, user_id, user_seq, task_seq, action, status, submit_time, updated_at)
			 WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
			 SELECT n, printf('seek-%05d', n), ?2, n, n, 'IMAGINE', 'SUCCESS', ?3 + (n / 2) * 1000, ?3 FROM seq`,
		).bind(TASKS, userId, T0),
		env.DB.prepare("UPDATE users SET task_count = ?1, last_submit_time = ?2 WHERE id = ?3").bind(
			TASKS,
			T0 + (TASKS / 2) * 1000,
			userId,
		),
		env.DB.prepare(
			"INSERT INTO counters (name, value) VALUES ('tasks', ?1) ON CONFLICT (name) DO UPDATE SET value = ?1",
		).bind(TASKS),
	]);
	adminToken = await tokenFor(uniqueSub("seek-admin"), "admin");
});

/** Seeded task n's public id. */
const seeded = (n: number) => `seek-${String(n).padStart(5, "0")}`;
const ids = (data: ListData) => data.items.map((item) => item.mj_id);

describe("GET /api/mj/?p=N (admin, unfiltered)", () => {
	it.each([1, 2, 57, 100, 149, 150])("p=%i holds the same tasks as the OFFSET query, newest first", async (p) => {
		const data = await listOk(ALL, { p, page_size: SIZE }, adminToken);
		const offset = await listTaskPage(db(), {}, { limit: SIZE, page: p });
		expect(data.total).toBe(TASKS);
		expect(ids(data)).toEqual(offset.rows.map((row) => row.publicId));
		// Newest is task TASKS: page p starts at TASKS - (p - 1) * SIZE.
		const first = TASKS - (p - 1) * SIZE;
		expect(ids(data)).toEqual(Array.from({ length: SIZE }, (_, i) => seeded(first - i)));
		expect(data.next_cursor === null).toBe(p === TASKS / SIZE);
	});

	it("a page past the end is empty and keeps the total", async () => {
		const data = await listOk(ALL, { p: TASKS / SIZE + 1, page_size: SIZE }, adminToken);
		expect(data).toMatchObject({ total: TASKS, next_cursor: null });
		expect(data.items).toEqual([]);
	});

	it("pages by number, one after another, equal the cursor walk", async () => {
		const walk = await walkCursor(ALL, { page_size: 100 }, adminToken);
		const numbered: string[] = [];
		for (let p = 1; p <= TASKS / 100; p++) numbered.push(...ids(await listOk(ALL, { p, page_size: 100 }, adminToken)));
		expect(walk.items).toHaveLength(TASKS);
		expect(numbered).toEqual(walk.items.map((item) => item.mj_id));
	});

	it.each([1, 100])("p=%i is one seek on tasks_seq that reads page_size + 2 rows", async (p) => {
		await withStats(ALL, adminToken); // the admin's user row is then cached, as for any returning admin
		const { response, stats } = await withStats(withQuery(ALL, { p, page_size: SIZE }), adminToken);
		expect(response.status).toBe(200);
		expect(stats).not.toBeNull();
		const plans = stats?.plans ?? [];
		const taskPlans = plans.filter((plan) => /\btasks\b/.test(plan));
		expect(taskPlans).toHaveLength(1);
		expect(taskPlans[0]).toContain("SEARCH tasks USING INDEX tasks_seq (task_seq>? AND task_seq<?)");
		expect(plans.join("\n")).not.toMatch(/SCAN|TEMP B-TREE|COUNT/);
		// The counters row, the page and the one row past it.
		expect(stats?.rowsRead).toBeLessThanOrEqual(SIZE + 2);
	});
});

describe("insertTask hands out task_seq", () => {
	const task = (userId: number, quota = 0): NewTaskInput => ({
		publicId: crypto.randomUUID(),
		userId,
		action: "IMAGINE",
		status: "NOT_START",
		updatedAt: T0,
		quota,
	});

	it("in insert order, across users, even against submit times; a refused submit takes no number", async () => {
		const early = await upsertUser(db(), uniqueSub("seek-early"), "user", 0, T0);
		const late = await upsertUser(db(), uniqueSub("seek-late"), "user", 0, T0);
		const later = T0 + 10 * 86_400_000;
		const a = task(late);
		await insertTask(db(), a, later + 5);
		// The charge would take the balance below zero: the batch, counter bump included, rolls back.
		await expect(insertTask(db(), task(early, 100), later)).rejects.toThrow(InsufficientQuotaError);
		// Written second with an earlier clock (a request that read its clock first, committed last).
		const b = task(early);
		await insertTask(db(), b, later);
		expect((await taskRow(a.publicId)).taskSeq).toBe(TASKS + 1);
		expect((await taskRow(b.publicId)).taskSeq).toBe(TASKS + 2);

		// Pages by number follow insert order; the cursor order stays (submit_time, id).
		const numbered = await listOk(ALL, { p: 1, page_size: 3 }, adminToken);
		expect(numbered.total).toBe(TASKS + 2);
		expect(ids(numbered)).toEqual([b.publicId, a.publicId, seeded(TASKS)]);
		const filtered = await listOk(ALL, { start_timestamp: Math.floor(later / 1000), page_size: 3 }, adminToken);
		expect(ids(filtered)).toEqual([a.publicId, b.publicId]);
	});
});

describe("migration 0006 (backfill)", () => {
	it("numbers rows written before task_seq in (submit_time, id) order, the newest at the counter", async () => {
		const backfill = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0006_"));
		expect(backfill).toBeDefined();
		await env.DB.prepare("UPDATE tasks SET task_seq = NULL").run();
		for (const query of backfill?.queries ?? []) await env.DB.prepare(query).run();
		const { results } = await env.DB.prepare("SELECT task_seq FROM tasks ORDER BY submit_time DESC, id DESC").all<{
			task_seq: number;
		}>();
		const counter = await env.DB.prepare("SELECT value FROM counters WHERE name = 'tasks'").first<{ value: number }>();
		expect(counter?.value).toBe(TASKS + 2);
		expect(results.map((row) => row.task_seq)).toEqual(results.map((_, i) => TASKS + 2 - i));
		// The page by number now shows the two late tasks in submit order, as the cursor does.
		const newest = await env.DB.prepare("SELECT public_id FROM tasks ORDER BY submit_time DESC, id DESC LIMIT 3").all<{
			public_id: string;
		}>();
		const page = await listOk(ALL, { p: 1, page_size: 3 }, adminToken);
		expect(page.total).toBe(TASKS + 2);
		expect(ids(page)).toEqual(newest.results.map((row) => row.public_id));
		expect(ids(page)[2]).toBe(seeded(TASKS));
	});
});
