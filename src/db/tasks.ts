/** Every query on the tasks table. */
import { and, asc, desc, eq, exists, gte, inArray, lt, type SQL, sql } from "drizzle-orm";
import { UNFINISHED_STATUSES } from "../vocabulary";
import type { Db } from "./client";
import {
	channels,
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
 * The user's unfinished tasks, counting at most `cap`: index-only on tasks_user_status, so it
 * never reads more than `cap` entries however many tasks the user has.
 */
function unfinishedCount(db: Db, userId: number, cap: number) {
	const unfinished = db
		.select({ one: sql`1` })
		.from(tasks)
		.where(and(eq(tasks.userId, userId), inArray(tasks.status, [...UNFINISHED_STATUSES])))
		.limit(cap)
		.as("unfinished");
	return sql<number>`(SELECT count(*) FROM ${unfinished})`;
}

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

async function writeTask(
	db: Db,
	input: NewTaskInput,
	now: number,
	queueLimit: number | null,
): Promise<{ submitTime: number; unfinished: number | null }> {
	const { album, ...row } = input;
	const price = row.quota ?? 0;
	const fromUser = (column: string, extra = sql``) =>
		sql`(SELECT ${sql.raw(column)} FROM users WHERE id = ${row.userId}${extra})`;
	const belowLimit =
		queueLimit === null ? sql`` : sql` AND ${unfinishedCount(db, row.userId, queueLimit)} < ${queueLimit}`;
	const insert = db
		.insert(tasks)
		.values({
			...row,
			userSeq: fromUser("task_count", sql` AND quota >= 0`),
			taskSeq: sql`(SELECT value FROM counters WHERE name = ${TASKS_COUNTER})`,
			albumSeq: album ? fromUser("album_count") : null,
			submitTime: fromUser("last_submit_time", belowLimit),
			// NULL for a disabled user: a submit that signed in just before the disable cannot add a
			// task after the disable's cancel has looked for them.
			updatedAt: sql`(SELECT ${row.updatedAt} FROM users WHERE id = ${row.userId} AND disabled_at IS NULL)`,
		})
		.returning({ submitTime: tasks.submitTime });
	const charge = db
		.update(users)
		.set({
			taskCount: sql`${users.taskCount} + 1`,
			albumCount: album ? sql`${users.albumCount} + 1` : users.albumCount,
			quota: sql`${users.quota} - ${price}`,
			lastSubmitTime: sql`MAX(${users.lastSubmitTime} + 1, ${now})`,
		})
		.where(eq(users.id, row.userId));
	const counter = db
		.insert(counters)
		.values({ name: TASKS_COUNTER, value: 1 })
		.onConflictDoUpdate({ target: counters.name, set: { value: sql`${counters.value} + 1` } });
	try {
		if (queueLimit === null) {
			const [, , inserted] = await db.batch([charge, counter, insert]);
			return { submitTime: inserted[0].submitTime, unfinished: null };
		}
		// Read after the insert, inside the batch: this task included, nobody else's write in between.
		const after = db
			.select({ n: unfinishedCount(db, row.userId, queueLimit + 1) })
			.from(users)
			.where(eq(users.id, row.userId));
		const [, , inserted, [count]] = await db.batch([charge, counter, insert, after]);
		return { submitTime: inserted[0].submitTime, unfinished: count?.n ?? 0 };
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

/** A user's task; another user's task answers exactly like an unknown id. */
export async function findUserTask(db: Db, userId: number, publicId: string): Promise<TaskRow | undefined> {
	return db
		.select()
		.from(tasks)
		.where(and(eq(tasks.publicId, publicId), eq(tasks.userId, userId)))
		.get();
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
 * One round trip for the reconciler's three bounded reads, each a seek that stops at its limit
 * whatever the backlog:
 *  - `timedOut`: unfinished tasks submitted before `timedOutBefore`, oldest first, at most
 *    `limits.timedOut` (the partial index tasks_unfinished_time);
 *  - `lost`: NOT_START tasks submitted in [timedOutBefore, lostBefore), oldest first
 *    (tasks_status_time), whose queue message may be lost;
 *  - `walk`: the next in-flight tasks by id after the stored cursor (tasks_in_flight), wrapping
 *    to the start when the end is reached, so every in-flight task is polled in turn.
 */
export async function reconcileCandidates(
	db: Db,
	{ timedOutBefore, lostBefore }: { timedOutBefore: number; lostBefore: number },
	limits: { timedOut: number; lost: number; walk: number },
): Promise<{ timedOut: ReconcileRow[]; lost: ReconcileRow[]; walk: ReconcileRow[]; walkFrom: number }> {
	// INDEXED BY: see inFlightAfter; this seek reads `limits.timedOut` rows at most.
	const timedOut = db
		.select(walkColumns)
		.from(sql`tasks INDEXED BY tasks_unfinished_time`)
		.where(sql`${sql.raw(UNFINISHED_CONDITION)} AND submit_time < ${timedOutBefore}`)
		.orderBy(sql`submit_time`)
		.limit(limits.timedOut);
	const lost = db
		.select(reconcileColumns)
		.from(tasks)
		.where(and(eq(tasks.status, "NOT_START"), gte(tasks.submitTime, timedOutBefore), lt(tasks.submitTime, lostBefore)))
		.orderBy(asc(tasks.submitTime))
		.limit(limits.lost);
	const cursor = db.select({ value: counters.value }).from(counters).where(eq(counters.name, RECONCILE_CURSOR));
	const [cursorRows, lostRows, walkRows, timedOutRows] = await db.batch([
		cursor,
		lost,
		inFlightAfter(db, sql`coalesce((${cursor}), 0)`, limits.walk),
		timedOut,
	]);
	const walkFrom = cursorRows[0]?.value ?? 0;
	let walk = walkRows;
	// The end of the walk: start again from the first in-flight task, up to the cursor.
	if (walk.length < limits.walk && walkFrom > 0) {
		walk = [...walk, ...(await inFlightAfter(db, sql`0`, limits.walk - walk.length, walkFrom))];
	}
	return {
		timedOut: timedOutRows,
		lost: lostRows,
		walk,
		walkFrom,
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

/** Where the next run's walk starts: after `lastId`, or from the start (0). */
export async function saveReconcileCursor(db: Db, lastId: number): Promise<void> {
	await db
		.insert(counters)
		.values({ name: RECONCILE_CURSOR, value: lastId })
		.onConflictDoUpdate({ target: counters.name, set: { value: lastId } });
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
	const channel = db
		.select({ one: sql`1` })
		.from(channels)
		.where(and(eq(channels.enabled, true), parentChannelId == null ? undefined : eq(channels.id, parentChannelId)));
	const row = await db
		.select({
			unfinished: unfinishedCount(db, userId, cap),
			channelAvailable: sql<number>`${exists(channel)}`,
		})
		.from(users)
		.where(eq(users.id, userId))
		.get();
	return { unfinished: row?.unfinished ?? 0, channelAvailable: Boolean(row?.channelAvailable) };
}

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
