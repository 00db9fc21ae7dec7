/**
 * The hot reads send hand-built SQL and map rows by hand (src/db/rows.ts). Each one must answer
 * exactly what drizzle's own query builder answers for the same query: every column, its mode
 * (`refunded` is a boolean), NULLs, the order, the page's next cursor, the totals.
 */
import { env } from "cloudflare:workers";
import { and, desc, eq, gte, isNull, lte, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { ceilingStatements } from "../../bench/lib/ceilings.mjs";
import { listAlbumPage } from "../../src/db/album";
import { addBannedWord, bannedWordsVersion, readBannedWords } from "../../src/db/banned-words";
import { getDb } from "../../src/db/client";
import { TASK, taskShape } from "../../src/db/rows";
import { counters, tasks, templates, users } from "../../src/db/schema";
import {
	allSeqPage,
	allSeqStatement,
	countTasks,
	listTaskPage,
	pageStatement,
	userSeqPage,
	userSeqStatement,
	userTaskCount,
} from "../../src/db/task-lists";
import {
	findUserTask,
	InsufficientQuotaError,
	insertQueuedTask,
	insertTask,
	QueueFullError,
	submitChecks,
	UserDisabledError,
} from "../../src/db/tasks";
import { isUserDisabled, setUserDisabled, upsertUser } from "../../src/db/users";
import { SEED001_ROWS } from "../../src/tasks/views/seed001";
import { SEED002_ROWS } from "../../src/tasks/views/seed002";
import { uniqueSub } from "../helpers/api";
import { db } from "../helpers/db";

const T0 = 1_700_000_000_000;
let userId: number;
let sub: string;
const publicIds: string[] = [];

beforeAll(async () => {
	sub = uniqueSub("hand-reads");
	userId = await upsertUser(db(), sub, "user", 1_000, T0);
	const [template] = await db()
		.insert(templates)
		.values({ kind: "prompt", title: "t", prompt: "p", createdAt: T0, updatedAt: T0 })
		.returning();
	for (let i = 0; i < 7; i++) {
		const publicId = `hand-${sub}-${i}`;
		publicIds.push(publicId);
		await insertTask(
			db(),
			{
				publicId,
				userId,
				action: "IMAGINE",
				prompt: `prompt ${i}`,
				status: i % 3 === 0 ? "FAILURE" : "SUCCESS",
				progress: "100%",
				updatedAt: T0,
				quota: 1,
				channelId: i % 2 === 0 ? null : 5,
				styleId: i % 2 ? template.id : null,
				album: i % 2 === 1,
			},
			T0 + i * 1000,
		);
	}
	// Every kind of column value: a boolean set, NULLs, numbers, JSON text.
	await db()
		.update(tasks)
		.set({ refunded: true, width: 512, height: 768, imageKey: "images/x" })
		.where(eq(tasks.publicId, publicIds[0]));
});

/** `row` with only `keys`, in the row's own (schema) order. */
const pick = (row: object, keys: readonly string[]) =>
	Object.fromEntries(Object.entries(row).filter(([key]) => keys.includes(key)));
const keysOf = (shape: { read: (row: readonly unknown[]) => object; width: number }) =>
	Object.keys(shape.read(Array.from({ length: shape.width }, () => null)));

const drizzlePage = (where: ReturnType<typeof and>, limit: number) =>
	db().select().from(tasks).where(where).orderBy(desc(tasks.submitTime), desc(tasks.id)).limit(limit).all();

describe("hand-built reads answer what drizzle answers", () => {
	it("maps every column of a task row (refunded as a boolean, NULLs kept)", async () => {
		const expected = await db().select().from(tasks).where(eq(tasks.publicId, publicIds[0])).get();
		const found = await findUserTask(db(), userId, publicIds[0]);
		expect(found).toEqual(expected);
		expect(found?.refunded).toBe(true);
		expect(Object.keys(found ?? {})).toEqual(Object.keys(expected ?? {}));
		const other = await findUserTask(db(), userId, publicIds[1]);
		expect(other?.refunded).toBe(false);
		expect(other?.taskIndex).toBeNull();
		// Another user's id answers like an unknown one.
		expect(await findUserTask(db(), userId + 1_000_000, publicIds[0])).toBeUndefined();
		expect(TASK.width).toBe(Object.keys(expected ?? {}).length);
	});

	it("pages a user's list by time, with a cursor and by OFFSET, as drizzle does", async () => {
		const first = await listTaskPage(db(), { userId }, { limit: 3 });
		expect(first.rows).toEqual(await drizzlePage(eq(tasks.userId, userId), 3));
		expect(first.next).toEqual({ submitTime: first.rows[2].submitTime, id: first.rows[2].id });
		const next = await listTaskPage(db(), { userId }, { limit: 3, cursor: first.next });
		const cursor = first.next ?? { submitTime: 0, id: 0 };
		expect(next.rows).toEqual(
			await drizzlePage(
				and(eq(tasks.userId, userId), sql`(${tasks.submitTime}, ${tasks.id}) < (${cursor.submitTime}, ${cursor.id})`),
				3,
			),
		);
		const third = await listTaskPage(db(), { userId }, { limit: 3, page: 3 });
		expect(third.rows.map((r) => r.publicId)).toEqual([publicIds[0]]);
		expect(third.next).toBeUndefined();
	});

	it("filters by channel (0 is none), time range, status and action, and counts the same", async () => {
		const filter = { userId, channelId: 0, fromMs: T0 + 1000, toMs: T0 + 6000, status: "SUCCESS" as const };
		const where = and(
			eq(tasks.userId, userId),
			isNull(tasks.channelId),
			eq(tasks.status, "SUCCESS"),
			gte(tasks.submitTime, T0 + 1000),
			lte(tasks.submitTime, T0 + 6000),
		);
		const page = await listTaskPage(db(), filter, { limit: 10 });
		const expected = await drizzlePage(where, 11);
		expect(page.rows).toEqual(expected);
		expect(page.rows.length).toBeGreaterThan(0);
		expect(await countTasks(db(), filter)).toBe(expected.length);
		const channel5 = await listTaskPage(db(), { userId, channelId: 5, action: "IMAGINE" }, { limit: 10 });
		expect(channel5.rows).toEqual(await drizzlePage(and(eq(tasks.userId, userId), eq(tasks.channelId, 5)), 11));
	});

	it("reads a user's page by user_seq and their total from the users row", async () => {
		const page = await userSeqPage(db(), userId, 2, 3);
		expect(page.total).toBe(7);
		expect(page.rows).toEqual(
			await db()
				.select()
				.from(tasks)
				.where(eq(tasks.userId, userId))
				.orderBy(desc(tasks.userSeq))
				.limit(3)
				.offset(3)
				.all(),
		);
		expect(page.next).toBeDefined();
		expect(await userTaskCount(db(), userId)).toBe(7);
		// Past the end: no rows, the total still there.
		const empty = await userSeqPage(db(), userId, 10, 3);
		expect(empty).toEqual({ rows: [], total: 7 });
		expect(await userSeqPage(db(), -1, 1, 3)).toEqual({ rows: [], total: 0 });
	});

	it("reads everyone's page by task_seq with the counter as total", async () => {
		const page = await allSeqPage(db(), 1, 4);
		const expected = await db().select().from(tasks).orderBy(desc(tasks.taskSeq)).limit(4).all();
		expect(page.rows).toEqual(expected);
		expect(page.total).toBeGreaterThanOrEqual(7);
	});

	it("reads an album page and its templates", async () => {
		const found = await listAlbumPage(db(), userId, 1, 2);
		const expected = await db()
			.select({ id: tasks.id, publicId: tasks.publicId, albumSeq: tasks.albumSeq, styleId: tasks.styleId })
			.from(tasks)
			.innerJoin(users, eq(users.id, tasks.userId))
			.where(and(eq(tasks.userId, userId), sql`${tasks.albumSeq} is not null`))
			.orderBy(desc(tasks.albumSeq))
			.limit(2)
			.all();
		expect(found.tasks.map(({ id, publicId, albumSeq, styleId }) => ({ id, publicId, albumSeq, styleId }))).toEqual(
			expected,
		);
		const template = await db()
			.select()
			.from(templates)
			.where(eq(templates.id, expected[0].styleId ?? -1))
			.get();
		expect([...found.templates.values()]).toEqual([template]);
	});

	it("reads the disabled flag on the primary", async () => {
		expect(await isUserDisabled(db(), userId)).toBe(false);
		expect(await isUserDisabled(db(), -1)).toBe(false);
		await setUserDisabled(db(), sub, T0);
		expect(await isUserDisabled(getDb(env.DB), userId)).toBe(true);
		await setUserDisabled(db(), sub, null);
		expect(await isUserDisabled(db(), userId)).toBe(false);
	});

	it("writes a task with drizzle's defaults and the user's sequence numbers", async () => {
		const rows = await db().select().from(tasks).where(eq(tasks.userId, userId)).orderBy(tasks.userSeq).all();
		expect(rows.map((r) => r.userSeq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
		expect(rows.map((r) => r.albumSeq)).toEqual([null, 1, null, 2, null, 3, null]);
		expect(rows.map((r) => r.submitTime)).toEqual(rows.map((_, i) => T0 + i * 1000));
		const plain = rows[2];
		expect(plain).toMatchObject({
			promptEn: "",
			finalPrompt: "",
			buttons: "[]",
			videoUrls: "[]",
			videoKeys: "[]",
			inputs: "[]",
			options: "{}",
			mode: "",
			hookEvents: "",
			refunded: false,
			version: 0,
			width: null,
			taskIndex: null,
			updatedAt: T0,
		});
		expect(rows[1].taskSeq).toBe((rows[0].taskSeq ?? 0) + 1);
	});

	it("reads the banned words' version as drizzle does: 0 with no counter row, then the counter", async () => {
		const drizzleVersion = async () =>
			(await db().select({ value: counters.value }).from(counters).where(eq(counters.name, "banned_words")).get())
				?.value ?? 0;
		await db().delete(counters).where(eq(counters.name, "banned_words"));
		expect(await bannedWordsVersion(db())).toBe(0);
		await addBannedWord(db(), `hand-${sub}`, T0);
		const version = await drizzleVersion();
		expect(version).toBeGreaterThan(0);
		expect(await bannedWordsVersion(db())).toBe(version);
		expect((await readBannedWords(db())).version).toBe(version);
	});

	it("refuses a write past the queue limit, the balance or a disable, writing nothing", async () => {
		const other = await upsertUser(db(), uniqueSub("hand-writes"), "user", 2, T0);
		const input = (n: number) => ({
			publicId: `hand-w-${other}-${n}`,
			userId: other,
			action: "IMAGINE",
			status: "NOT_START" as const,
			updatedAt: T0,
			quota: 1,
		});
		expect(await insertQueuedTask(db(), input(1), T0, 2)).toEqual({ submitTime: T0, unfinished: 1 });
		expect(await submitChecks(db(), other, 5, null)).toEqual({ unfinished: 1, channelAvailable: expect.any(Boolean) });
		expect(await submitChecks(db(), other, 5, -1)).toEqual({ unfinished: 1, channelAvailable: false });
		await expect(insertQueuedTask(db(), input(2), T0, 1)).rejects.toThrow(QueueFullError);
		expect((await insertQueuedTask(db(), input(3), T0, 5)).unfinished).toBe(2);
		await expect(insertQueuedTask(db(), input(4), T0, 5)).rejects.toThrow(InsufficientQuotaError);
		await db().update(users).set({ quota: 10, disabledAt: T0 }).where(eq(users.id, other));
		await expect(insertQueuedTask(db(), input(5), T0, 5)).rejects.toThrow(UserDisabledError);
		const written = await db().select().from(tasks).where(eq(tasks.userId, other)).all();
		expect(written.map((r) => r.publicId)).toEqual([input(1).publicId, input(3).publicId]);
		const [user] = await db().select().from(users).where(eq(users.id, other)).all();
		expect(user).toMatchObject({ taskCount: 2, quota: 10 });
	});

	it("reads only a view's columns, each as drizzle reads it, in the lists' order", async () => {
		const seed002 = keysOf(SEED002_ROWS);
		const seed001 = keysOf(SEED001_ROWS);
		// Each list reads fewer columns than a task has, and at least what its page needs.
		expect(seed002.length).toBeLessThan(TASK.width);
		expect(seed001.length).toBeLessThan(TASK.width);
		for (const key of ["id", "submitTime", "publicId", "imageKey", "buttons", "customId"])
			expect(seed002).toContain(key);
		for (const key of ["id", "submitTime", "userSeq", "userId", "channelId", "videoUrls"])
			expect(seed001).toContain(key);

		const first = await listTaskPage(db(), { userId }, { limit: 3 }, SEED002_ROWS);
		expect(first.rows).toEqual((await drizzlePage(eq(tasks.userId, userId), 3)).map((row) => pick(row, seed002)));
		expect(first.next).toEqual({ submitTime: first.rows[2].submitTime, id: first.rows[2].id });
		const full = await listTaskPage(db(), { userId }, { limit: 3, cursor: first.next });
		const narrow = await listTaskPage(db(), { userId }, { limit: 3, cursor: first.next }, SEED002_ROWS);
		expect(narrow.rows).toEqual(full.rows.map((row) => pick(row, seed002)));
		expect(narrow.next).toEqual(full.next);

		const mine = await userSeqPage(db(), userId, 2, 3, SEED001_ROWS);
		const mineFull = await userSeqPage(db(), userId, 2, 3);
		expect(mine.rows).toEqual(mineFull.rows.map((row) => pick(row, seed001)));
		expect(mine.total).toBe(7);
		expect(mine.next).toEqual(mineFull.next);
		expect(await userSeqPage(db(), userId, 10, 3, SEED001_ROWS)).toEqual({ rows: [], total: 7 });

		const everyone = await allSeqPage(db(), 1, 4, SEED001_ROWS);
		const everyoneFull = await allSeqPage(db(), 1, 4);
		expect(everyone.rows).toEqual(everyoneFull.rows.map((row) => pick(row, seed001)));
		expect(everyone.total).toBe(everyoneFull.total);
		// A shape names real columns only.
		expect(() => taskShape(["nope" as "id"])).toThrow(/no task column nope/);
	});

	it("the bench's ceilings send the lists' statements to the character (bench/lib/ceilings.mjs)", () => {
		const ceiling = ceilingStatements();
		expect(ceiling.list002).toBe(pageStatement(SEED002_ROWS, ' where "tasks"."user_id" = ?', false));
		expect(ceiling.self).toBe(userSeqStatement(SEED001_ROWS));
		expect(ceiling.admin).toBe(allSeqStatement(SEED001_ROWS));
		expect(ceiling.fetch).toContain(`select ${TASK.columns.replaceAll('"tasks".', "")} from "tasks"`);
	});
});
