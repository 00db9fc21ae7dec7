/**
 * Paged task lists, newest first, for users (one user's tasks) and admins (everyone's).
 * Every query is served by an index in the order it returns rows:
 *  - a user's unfiltered page k is a seek on tasks_user_seq (users.task_count says where
 *    page k starts), so a deep page costs the same as the first;
 *  - the admin's unfiltered page k is a seek on tasks_seq (the counters row 'tasks' says
 *    where page k starts), in insert order, newest first;
 *  - otherwise rows come from tasks_user_time, tasks_channel_time or tasks_time, newest first;
 *    a cursor continues with a range on (submit_time, id) instead of OFFSET;
 *  - unfiltered totals are kept counters; filtered totals are index-only counts.
 */
import { and, count, desc, eq, gte, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { Db } from "./client";
import { counters, type TaskRow, tasks, users } from "./schema";
import { TASKS_COUNTER, type TaskCursor } from "./tasks";

export interface TaskListFilter {
	userId?: number;
	/** 0 means tasks not on any channel yet (shown as channel_id 0). */
	channelId?: number;
	publicId?: string;
	/** Inclusive bounds on submit_time, epoch ms. */
	fromMs?: number;
	toMs?: number;
	/** Admins' task list: one status, one action. */
	status?: TaskRow["status"];
	action?: string;
}

export interface TaskPage {
	rows: TaskRow[];
	/** Where the next page starts, when there is one. */
	next?: TaskCursor;
}

function conditions(filter: TaskListFilter, cursor?: TaskCursor): SQL | undefined {
	const parts: (SQL | undefined)[] = [
		filter.userId !== undefined ? eq(tasks.userId, filter.userId) : undefined,
		filter.channelId === undefined
			? undefined
			: filter.channelId === 0
				? isNull(tasks.channelId)
				: eq(tasks.channelId, filter.channelId),
		filter.publicId !== undefined ? eq(tasks.publicId, filter.publicId) : undefined,
		filter.status !== undefined ? eq(tasks.status, filter.status) : undefined,
		filter.action !== undefined ? eq(tasks.action, filter.action) : undefined,
		filter.fromMs !== undefined ? gte(tasks.submitTime, filter.fromMs) : undefined,
		filter.toMs !== undefined ? lte(tasks.submitTime, filter.toMs) : undefined,
		cursor ? sql`(${tasks.submitTime}, ${tasks.id}) < (${cursor.submitTime}, ${cursor.id})` : undefined,
	];
	return and(...parts.filter((p): p is SQL => p !== undefined));
}

function pageOf(rows: TaskRow[], limit: number): TaskPage {
	if (rows.length <= limit) return { rows };
	const page = rows.slice(0, limit);
	const last = page[page.length - 1];
	return { rows: page, next: { submitTime: last.submitTime, id: last.id } };
}

/** One page, newest first: after `cursor` when given, else page number `page` (1-based). */
export async function listTaskPage(
	db: Db,
	filter: TaskListFilter,
	options: { limit: number; page?: number; cursor?: TaskCursor },
): Promise<TaskPage> {
	const { limit, cursor } = options;
	const page = options.page ?? 1;
	const query = db
		.select()
		.from(tasks)
		.where(conditions(filter, cursor))
		.orderBy(desc(tasks.submitTime), desc(tasks.id))
		.limit(limit + 1);
	const rows = cursor || page === 1 ? await query.all() : await query.offset((page - 1) * limit).all();
	return pageOf(rows, limit);
}

/**
 * A user's unfiltered page `page` (newest first) and their task count, in one statement: the
 * user's row joined to the page's user_seq range (a seek on tasks_user_seq). Rows come in
 * index order and are put newest first here, so no sort runs in SQLite.
 */
export async function userSeqPage(
	db: Db,
	userId: number,
	page: number,
	limit: number,
): Promise<TaskPage & { total: number }> {
	const skip = (page - 1) * limit;
	const rows = await db
		.select({ task: tasks, total: users.taskCount })
		.from(users)
		.leftJoin(
			tasks,
			and(
				eq(tasks.userId, users.id),
				lte(tasks.userSeq, sql`${users.taskCount} - ${skip}`),
				// One row past the page (when it exists) says whether there is a next one.
				gte(tasks.userSeq, sql`${users.taskCount} - ${skip + limit}`),
			),
		)
		.where(eq(users.id, userId))
		.all();
	const total = rows[0]?.total ?? 0;
	const found = rows.flatMap((row) => (row.task ? [row.task] : [])).sort((a, b) => b.userSeq - a.userSeq);
	return { ...pageOf(found, limit), total };
}

/**
 * Everyone's unfiltered page `page` (newest first) and the task count, in one statement: the
 * counters row 'tasks' joined to the page's task_seq range (a seek on tasks_seq), so page
 * 1,000 reads as few rows as page 1 (page size + 2: the counter, the page, one row past it).
 *
 * The order is insert order (task_seq), newest first. It equals (submit_time, id) order
 * except when two users' tasks commit in the other order of their submit times (a request
 * that read its clock earlier commits later, or a user's submit time was pushed past the
 * clock by max(now, last + 1)); submit times are only monotonic per user. Cursors keep
 * (submit_time, id) order, so the `next` cursor of such a page is only as exact as those
 * orders agree.
 */
export async function allSeqPage(db: Db, page: number, limit: number): Promise<TaskPage & { total: number }> {
	const skip = (page - 1) * limit;
	const rows = await db
		.select({ task: tasks, total: counters.value })
		.from(counters)
		.leftJoin(
			tasks,
			and(
				lte(tasks.taskSeq, sql`${counters.value} - ${skip}`),
				// One row past the page (when it exists) says whether there is a next one.
				gte(tasks.taskSeq, sql`${counters.value} - ${skip + limit}`),
			),
		)
		.where(eq(counters.name, TASKS_COUNTER))
		// The counters row is one primary-key lookup, so the index walks newest first and
		// stops at the limit instead of stepping onto the row below the range.
		.orderBy(desc(tasks.taskSeq))
		.limit(limit + 1)
		.all();
	const total = rows[0]?.total ?? 0;
	return {
		...pageOf(
			rows.flatMap((row) => (row.task ? [row.task] : [])),
			limit,
		),
		total,
	};
}

/** The user's task count (users.task_count): an unfiltered total without counting. */
export async function userTaskCount(db: Db, userId: number): Promise<number> {
	const row = await db.select({ n: users.taskCount }).from(users).where(eq(users.id, userId)).get();
	return row?.n ?? 0;
}

/** Every task ever written (the counters row): the admin's unfiltered total. */
export async function allTaskCount(db: Db): Promise<number> {
	const row = await db.select({ n: counters.value }).from(counters).where(eq(counters.name, TASKS_COUNTER)).get();
	return row?.n ?? 0;
}

/** A filtered total: an index-only count over the same index the page uses. */
export async function countTasks(db: Db, filter: TaskListFilter): Promise<number> {
	const row = await db.select({ n: count() }).from(tasks).where(conditions(filter)).get();
	return row?.n ?? 0;
}
