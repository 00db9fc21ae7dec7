/** Every query on the tasks table. */
import { and, asc, desc, eq, exists, getTableColumns, gte, inArray, lt, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { UNFINISHED_STATUSES } from "../vocabulary";
import type { Db } from "./client";
import { d1Of, PLAIN, rawRows, TASK } from "./rows";
import {
	counters,
	IN_FLIGHT_CONDITION,
	type NewTaskRow,
	type TaskRow,
	tasks,
	UNFINISHED_CONDITION,
	users,
} from "./schema";

/** Raised when a charge would take the balance below zero; the batch is rolled back. */
export class InsufficientQuotaError extends Error {}

/** Raised when the user is disabled; the batch is rolled back. */
export class UserDisabledError extends Error {}

/** Raised when the user already has the queue limit's worth of unfinished tasks; the batch is rolled back. */
export class QueueFullError extends Error {}

/** The counters row that holds the number of tasks ever written. */
export const TASKS_COUNTER = "tasks";

export type NewTaskInput = Omit<NewTaskRow, "userSeq" | "taskSeq" | "albumSeq" | "submitTime"> & { album?: boolean };

/**
 * Writes a new task and its charge in one D1 batch (one transaction) and returns the task's
 * submit time. The user's row hands out `user_seq` (and `album_seq` for album pictures) and a
 * submit time later than any of the user's earlier tasks; the counters row 'tasks', bumped
 * first in the same batch, hands out `task_seq` (1, 2, 3... over all tasks, in insert order).
 * When the charge takes the balance
 * below zero the `user_seq` subquery yields NULL, the NOT NULL constraint fails and the whole
 * batch, charge included, rolls back: under any concurrency no balance goes below zero and
 * no task exists without its charge.
 */
export async function insertTask(db: Db, input: NewTaskInput, now: number): Promise<number> {
	return (await writeTask(db, input, now, null)).submitTime;
}

/**
 * insertTask for a submit under USER_QUEUE_LIMIT: the limit is checked inside the same batch,
 * where `submit_time` is NULL (so the batch, charge included, rolls back: QueueFullError) when
 * the user already has `queueLimit` unfinished tasks. D1 runs batches one at a time, so no
 * burst of concurrent submits gets past the limit together, as none gets past the balance.
 * Also answers how many unfinished tasks the user has with this one, as of the same moment.
 */
export async function insertQueuedTask(
	db: Db,
	input: NewTaskInput,
	now: number,
	queueLimit: number,
): Promise<{ submitTime: number; unfinished: number }> {
	const written = await writeTask(db, input, now, queueLimit);
	return { submitTime: written.submitTime, unfinished: written.unfinished ?? 0 };
}

/**
 * The user's unfinished tasks, counting at most `cap`, as SQL (binds: user id, the statuses, the
 * cap): index-only on tasks_user_status, so it never reads more than `cap` entries however many
 * tasks the user has.
 */
const UNFINISHED_COUNT = `(SELECT count(*) FROM (select 1 from "tasks" where ("tasks"."user_id" = ? and "tasks"."status" in (${UNFINISHED_STATUSES.map(() => "?").join(", ")})) limit ?) "unfinished")`;
const unfinishedParams = (userId: number, cap: number) => [userId, ...UNFINISHED_STATUSES, cap];

/** The task columns an insert fills from SQL rather than from the row, with their parameters. */
type Computed = Partial<Record<keyof TaskRow, { sql: string; params: (row: NewTaskRow, limit: number) => unknown[] }>>;

/**
 * The submit batch's statements, built once per isolate for each (album, queue limit or not):
 * the charge, the counter, the insert (every column bound, as drizzle would bind the row with
 * its defaults) and, under a queue limit, the count after the insert.
 */
interface WriteStatements {
	charge: string;
	insert: string;
	insertParams: (row: NewTaskRow, limit: number) => unknown[];
}
const writeStatements = new Map<string, WriteStatements>();

function writeStatementsOf(album: boolean, limited: boolean): WriteStatements {
	const key = `${album}:${limited}`;
	const known = writeStatements.get(key);
	if (known) return known;
	const fromUser = (column: string, extra = "") => `(SELECT ${column} FROM users WHERE id = ?${extra})`;
	const computed: Computed = {
		userSeq: { sql: fromUser("task_count", " AND quota >= 0"), params: (row) => [row.userId] },
		taskSeq: { sql: "(SELECT value FROM counters WHERE name = ?)", params: () => [TASKS_COUNTER] },
		albumSeq: album ? { sql: fromUser("album_count"), params: (row) => [row.userId] } : undefined,
		submitTime: limited
			? {
					sql: fromUser("last_submit_time", ` AND ${UNFINISHED_COUNT} < ?`),
					params: (row, limit) => [row.userId, ...unfinishedParams(row.userId, limit), limit],
				}
			: { sql: fromUser("last_submit_time"), params: (row) => [row.userId] },
		// NULL for a disabled user: a submit that signed in just before the disable cannot add a
		// task after the disable's cancel has looked for them.
		updatedAt: {
			sql: "(SELECT ? FROM users WHERE id = ? AND disabled_at IS NULL)",
			params: (row) => [row.updatedAt, row.userId],
		},
	};
	const columns = Object.entries(getTableColumns(tasks)) as [keyof TaskRow, SQLiteColumn][];
	const values = columns.map(([key]) => (key === "id" ? "null" : (computed[key]?.sql ?? "?")));
	// Per bound column, decided here once: its SQL parameters, or the row's value with the column's
	// default and driver mapping (drizzle's is the identity for plain integers and text).
	const fills = columns
		.filter(([key]) => key !== "id")
		.map(([key, column]) => ({
			key,
			computed: computed[key]?.params,
			fallback: column.default as unknown,
			encode: PLAIN.has(column.columnType) ? null : (value: unknown) => column.mapToDriverValue(value),
		}));
	const built: WriteStatements = {
		charge: `update "users" set "quota" = "users"."quota" - ?, "task_count" = "users"."task_count" + 1, "album_count" = ${album ? `"users"."album_count" + 1` : `"users"."album_count"`}, "last_submit_time" = MAX("users"."last_submit_time" + 1, ?) where "users"."id" = ?`,
		insert: `insert into "tasks" (${columns.map(([, column]) => `"${column.name}"`).join(", ")}) values (${values.join(", ")}) returning "submit_time"`,
		insertParams: (row, limit) => {
			const params: unknown[] = [];
			for (const fill of fills) {
				if (fill.computed) {
					params.push(...fill.computed(row, limit));
					continue;
				}
				// As drizzle: a value left out takes the column's default; null stays NULL.
				const given = row[fill.key];
				const value = given === undefined ? fill.fallback : given;
				params.push(value === undefined || value === null ? null : fill.encode ? fill.encode(value) : value);
			}
			return params;
		},
	};
	writeStatements.set(key, built);
	return built;
}

const COUNTER_BUMP = `insert into "counters" ("name", "value") values (?, ?) on conflict ("counters"."name") do update set "value" = "counters"."value" + 1`;
const UNFINISHED_AFTER = `select ${UNFINISHED_COUNT} as "n" from "users" where "users"."id" = ?`;

async function writeTask(
	db: Db,
	input: NewTaskInput,
	now: number,
	queueLimit: number | null,
): Promise<{ submitTime: number; unfinished: number | null }> {
	const { album, ...fields } = input;
	const row = fields as NewTaskRow;
	const price = row.quota ?? 0;
	const limit = queueLimit ?? 0;
	const sql = writeStatementsOf(album === true, queueLimit !== null);
	const d1 = d1Of(db);
	const statements = [
		d1.prepare(sql.charge).bind(price, now, row.userId),
		d1.prepare(COUNTER_BUMP).bind(TASKS_COUNTER, 1),
		d1.prepare(sql.insert).bind(...sql.insertParams(row, limit)),
	];
	// Read after the insert, inside the batch: this task included, nobody else's write in between.
	if (queueLimit !== null) {
		statements.push(d1.prepare(UNFINISHED_AFTER).bind(...unfinishedParams(row.userId, queueLimit + 1), row.userId));
	}
	try {
		const results = await d1.batch<{ submit_time?: number; n?: number }>(statements);
		const submitTime = results[2].results[0]?.submit_time as number;
		return { submitTime, unfinished: queueLimit === null ? null : (results[3].results[0]?.n ?? 0) };
	} catch (error) {
		const message = String(error);
		if (message.includes("NOT NULL constraint failed: tasks.user_seq")) {
			throw new InsufficientQuotaError("insufficient quota");
		}
		if (message.includes("NOT NULL constraint failed: tasks.submit_time")) throw new QueueFullError("queue is full");
		if (message.includes("NOT NULL constraint failed: tasks.updated_at"))
			throw new UserDisabledError("user is disabled");
		throw error;
	}
}

export async function findTask(db: Db, publicId: string): Promise<TaskRow | undefined> {
	return db.select().from(tasks).where(eq(tasks.publicId, publicId)).get();
}

const USER_TASK = `select ${TASK.columns} from "tasks" where ("tasks"."public_id" = ? and "tasks"."user_id" = ?)`;

/** A user's task; another user's task answers exactly like an unknown id. */
export async function findUserTask(db: Db, userId: number, publicId: string): Promise<TaskRow | undefined> {
	const [row] = await rawRows(db, USER_TASK, [publicId, userId]);
	return row ? TASK.read(row) : undefined;
}

export interface TaskCursor {
	submitTime: number;
	id: number;
}

/** Fields the task's Durable Object writes when it accepts an update. */
export type TaskProgressFields = Partial<
	Pick<
		TaskRow,
		| "status"
		| "progress"
		| "description"
		| "failReason"
		| "upstreamId"
		| "channelId"
		| "upstreamImageUrl"
		| "promptEn"
		| "finalPrompt"
		| "buttons"
		| "videoUrl"
		| "videoUrls"
		| "startTime"
		| "finishTime"
		| "seed"
		| "width"
		| "height"
	>
>;

/**
 * Writes what the task's Durable Object accepted, conditional on the version so an older
 * write arriving late never overwrites a newer one. A FAILURE or CANCEL refunds the charge in
 * the same batch, guarded by `refunded`, so however often the end is written, the refund
 * happens once.
 */
export async function writeTaskProgress(
	db: Db,
	publicId: string,
	version: number,
	fields: TaskProgressFields,
	now: number,
): Promise<boolean> {
	const write = db
		.update(tasks)
		.set({ ...fields, version, updatedAt: now })
		.where(and(eq(tasks.publicId, publicId), lt(tasks.version, version)));
	if (fields.status !== "FAILURE" && fields.status !== "CANCEL") {
		return (await write).meta.changes > 0;
	}
	const [written] = await db.batch([write, ...refundStatements(db, publicId)]);
	return written.meta.changes > 0;
}

const REFUNDABLE = ["FAILURE", "CANCEL"] as const;

function refundStatements(db: Db, publicId: string) {
	const refundable = and(
		eq(tasks.publicId, publicId),
		eq(tasks.refunded, false),
		inArray(tasks.status, [...REFUNDABLE]),
	);
	return [
		db
			.update(users)
			.set({
				quota: sql`${users.quota} + (${db.select({ quota: tasks.quota }).from(tasks).where(eq(tasks.publicId, publicId))})`,
			})
			.where(
				and(
					eq(users.id, sql`(${db.select({ userId: tasks.userId }).from(tasks).where(eq(tasks.publicId, publicId))})`),
					exists(db.select({ one: sql`1` }).from(tasks).where(refundable)),
				),
			),
		db.update(tasks).set({ refunded: true }).where(refundable),
	] as const;
}

export async function setTaskImage(db: Db, publicId: string, key: string, contentType: string): Promise<void> {
	await db.update(tasks).set({ imageKey: key, imageType: contentType }).where(eq(tasks.publicId, publicId));
}

export const IN_FLIGHT_STATUSES = ["SUBMITTED", "IN_PROGRESS", "MODAL"] as const;

/** What the reconciler reads of a task: enough to plan, poll and fail it, not the whole row. */
export type ReconcileRow = Pick<
	TaskRow,
	"id" | "publicId" | "status" | "progress" | "submitTime" | "upstreamId" | "channelId"
>;

const reconcileColumns = {
	id: tasks.id,
	publicId: tasks.publicId,
	status: tasks.status,
	progress: tasks.progress,
	submitTime: tasks.submitTime,
	upstreamId: tasks.upstreamId,
	channelId: tasks.channelId,
};

/** The counters row that keeps where the reconciler's walk over in-flight tasks stopped. */
export const RECONCILE_CURSOR = "reconcile_walk";
/**
 * The counters rows that keep the last timed-out task the reconciler handed to the queue (its
 * submit_time and id, the order of tasks_unfinished_time): the next run seeks on from there, so
 * a task waiting in a message is not handed again before it is consumed.
 */
export const TIMEOUT_CURSOR = { time: "reconcile_timeout_time", id: "reconcile_timeout_id" } as const;

/** A timed-out task as the reconciler hands it on: enough to name its object and word its failReason. */
export interface TimedOutRow {
	id: number;
	submitTime: number;
	publicId: string;
	/** A MODAL step never sent (no upstream task): its failReason says so. */
	modal: boolean;
}

export interface ReconcileCursors {
	walk: number;
	timeout: { time: number; id: number };
}

const cursorValue = (name: string) => sql`coalesce((select value from counters where name = ${name}), 0)`;

/**
 * One round trip for the reconciler's three bounded reads, each a seek that stops at its limit
 * whatever the backlog:
 *  - `timedOut`: unfinished tasks submitted before `timedOutBefore`, in (submit_time, id) order
 *    after the stored timeout cursor, at most `limits.timedOut` (the partial index
 *    tasks_unfinished_time, no sort);
 *  - `lost`: NOT_START tasks submitted in [timedOutBefore, lostBefore), oldest first
 *    (tasks_status_time), whose queue message may be lost;
 *  - `walk`: the next in-flight tasks by id after the stored cursor (tasks_in_flight), wrapping
 *    to the start when the end is reached, so every in-flight task is polled in turn.
 */
export async function reconcileCandidates(
	db: Db,
	{ timedOutBefore, lostBefore }: { timedOutBefore: number; lostBefore: number },
	limits: { timedOut: number; lost: number; walk: number },
): Promise<{ timedOut: TimedOutRow[]; lost: ReconcileRow[]; walk: ReconcileRow[]; cursors: ReconcileCursors }> {
	// INDEXED BY: see inFlightAfter. The cursor's values are scalar subqueries, not a join, so
	// the seek starts at the cursor and reads the index in order: `limits.timedOut` rows at most.
	const after = { time: cursorValue(TIMEOUT_CURSOR.time), id: cursorValue(TIMEOUT_CURSOR.id) };
	const timedOut = db
		.select({
			id: sql<number>`id`,
			submitTime: sql<number>`submit_time`,
			publicId: sql<string>`public_id`,
			modal: sql<number>`status = 'MODAL' AND upstream_id IS NULL`,
		})
		.from(sql`tasks INDEXED BY tasks_unfinished_time`)
		.where(
			sql`${sql.raw(UNFINISHED_CONDITION)} AND submit_time < ${timedOutBefore} AND submit_time >= ${after.time} AND (submit_time > ${after.time} OR id > ${after.id})`,
		)
		.orderBy(sql`submit_time, id`)
		.limit(limits.timedOut);
	const lost = db
		.select(reconcileColumns)
		.from(tasks)
		.where(and(eq(tasks.status, "NOT_START"), gte(tasks.submitTime, timedOutBefore), lt(tasks.submitTime, lostBefore)))
		.orderBy(asc(tasks.submitTime))
		.limit(limits.lost);
	const cursorRows = db
		.select({ name: counters.name, value: counters.value })
		.from(counters)
		.where(inArray(counters.name, [RECONCILE_CURSOR, TIMEOUT_CURSOR.time, TIMEOUT_CURSOR.id]));
	const [cursorList, lostRows, walkRows, timedOutRows] = await db.batch([
		cursorRows,
		lost,
		inFlightAfter(db, cursorValue(RECONCILE_CURSOR), limits.walk),
		timedOut,
	]);
	const stored = new Map(cursorList.map((row) => [row.name, row.value]));
	const walkFrom = stored.get(RECONCILE_CURSOR) ?? 0;
	let walk = walkRows;
	// The end of the walk: start again from the first in-flight task, up to the cursor.
	if (walk.length < limits.walk && walkFrom > 0) {
		walk = [...walk, ...(await inFlightAfter(db, sql`0`, limits.walk - walk.length, walkFrom))];
	}
	return {
		timedOut: timedOutRows.map((row) => ({ ...row, modal: Boolean(row.modal) })),
		lost: lostRows,
		walk,
		cursors: {
			walk: walkFrom,
			timeout: { time: stored.get(TIMEOUT_CURSOR.time) ?? 0, id: stored.get(TIMEOUT_CURSOR.id) ?? 0 },
		},
	};
}

/**
 * In-flight tasks with an id above `after` (up to `upTo`), by id: a seek on the partial index
 * tasks_in_flight. Named with INDEXED BY: without table statistics SQLite prefers the equality on
 * tasks_status_time and sorts every in-flight row, and with INDEXED BY a query that could not use
 * the index fails loudly instead of scanning.
 */
function inFlightAfter(db: Db, after: SQL, limit: number, upTo?: number) {
	return db
		.select(walkColumns)
		.from(sql`tasks INDEXED BY tasks_in_flight`)
		.where(
			sql`${sql.raw(IN_FLIGHT_CONDITION)} AND id > ${after}${upTo === undefined ? sql`` : sql` AND id <= ${upTo}`}`,
		)
		.orderBy(sql`id`)
		.limit(limit);
}

/** reconcileColumns by bare name, for the queries with INDEXED BY: drizzle names columns by their table, which such a FROM is not. */
const walkColumns = {
	id: sql<number>`id`,
	publicId: sql<string>`public_id`,
	status: sql<ReconcileRow["status"]>`status`,
	progress: sql<string>`progress`,
	submitTime: sql<number>`submit_time`,
	upstreamId: sql<string | null>`upstream_id`,
	channelId: sql<number | null>`channel_id`,
};

/**
 * Stores where the next run's seeks start, in one statement: the walk after `walk` (0: from the
 * start) and the timed-out seek after `timeout` ({0, 0}: from the oldest again).
 */
export async function saveReconcileCursors(db: Db, cursors: ReconcileCursors): Promise<void> {
	await db
		.insert(counters)
		.values([
			{ name: RECONCILE_CURSOR, value: cursors.walk },
			{ name: TIMEOUT_CURSOR.time, value: cursors.timeout.time },
			{ name: TIMEOUT_CURSOR.id, value: cursors.timeout.id },
		])
		.onConflictDoUpdate({ target: counters.name, set: { value: sql`excluded.value` } });
}

/**
 * What a submit must know before it writes, in one statement: how many unfinished tasks the user
 * has (counting at most `cap`, index-only on tasks_user_status) and whether a channel can take the
 * task (the parent's channel for a follow-up, else any enabled one: a seek on channels_enabled).
 */
export async function submitChecks(
	db: Db,
	userId: number,
	cap: number,
	parentChannelId: number | null,
): Promise<{ unfinished: number; channelAvailable: boolean }> {
	const [row] = await rawRows(
		db,
		parentChannelId == null ? SUBMIT_CHECKS_ANY : SUBMIT_CHECKS_PARENT,
		parentChannelId == null
			? [...unfinishedParams(userId, cap), 1, userId]
			: [...unfinishedParams(userId, cap), 1, parentChannelId, userId],
	);
	return { unfinished: (row?.[0] as number | undefined) ?? 0, channelAvailable: Boolean(row?.[1]) };
}

const SUBMIT_CHECKS_ANY = `select ${UNFINISHED_COUNT}, exists (select 1 from "channels" where "channels"."enabled" = ?) from "users" where "users"."id" = ?`;
const SUBMIT_CHECKS_PARENT = `select ${UNFINISHED_COUNT}, exists (select 1 from "channels" where ("channels"."enabled" = ? and "channels"."id" = ?)) from "users" where "users"."id" = ?`;

/** The user's unfinished tasks, newest first (midjourney-proxy /task/queue). */
export async function listUnfinished(db: Db, userId: number, limit: number): Promise<TaskRow[]> {
	return db
		.select()
		.from(tasks)
		.where(and(eq(tasks.userId, userId), inArray(tasks.status, [...UNFINISHED_STATUSES])))
		.orderBy(desc(tasks.submitTime))
		.limit(limit)
		.all();
}

/** The user's tasks among `publicIds` (unknown and other users' ids are left out). */
export async function findUserTasks(db: Db, userId: number, publicIds: readonly string[]): Promise<TaskRow[]> {
	if (publicIds.length === 0) return [];
	return db
		.select()
		.from(tasks)
		.where(and(inArray(tasks.publicId, [...publicIds]), eq(tasks.userId, userId)))
		.all();
}

/** Records what the modal step of a MODAL task brought (its prompt, its mask), while it is still MODAL. */
/** Records a MODAL task's second step; a remix's new prompt replaces the task's prompt. */
export async function setModalOptions(db: Db, publicId: string, options: string, prompt?: string): Promise<boolean> {
	const result = await db
		.update(tasks)
		.set(prompt === undefined ? { options } : { options, prompt })
		.where(and(eq(tasks.publicId, publicId), eq(tasks.status, "MODAL")));
	return result.meta.changes > 0;
}

export async function setTaskVideoKeys(db: Db, publicId: string, keys: readonly string[]): Promise<void> {
	await db
		.update(tasks)
		.set({ videoKeys: JSON.stringify(keys) })
		.where(eq(tasks.publicId, publicId));
}

/** Up to `limit` of the user's unfinished tasks, in no set order (seeks on the tasks_user_status index). */
export async function findUnfinishedTasks(db: Db, userId: number, limit: number): Promise<TaskRow[]> {
	return db
		.select()
		.from(tasks)
		.where(and(eq(tasks.userId, userId), inArray(tasks.status, [...UNFINISHED_STATUSES])))
		.limit(limit)
		.all();
}
