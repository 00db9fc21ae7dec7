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
import type { Db } from "./client";
import { type RowShape, rawRows, TASK } from "./rows";
import type { TaskRow } from "./schema";
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

/** What a page needs of a row whatever the view: the next cursor's (submit_time, id). */
export type CursorRow = Pick<TaskRow, "id" | "submitTime">;
/** What every list needs of a row: the cursor's columns and user_seq (userSeqPage's order). */
export type ListRow = CursorRow & Pick<TaskRow, "userSeq">;

export interface TaskPage<T extends CursorRow = TaskRow> {
	rows: T[];
	/** Where the next page starts, when there is one. */
	next?: TaskCursor;
}

/** A filter's WHERE clause (with its leading " where ", or "") and its parameters, in binding order. */
function whereOf(filter: TaskListFilter): { sql: string; params: unknown[] } {
	const parts: string[] = [];
	const params: unknown[] = [];
	const add = (sql: string, ...values: unknown[]) => {
		parts.push(sql);
		params.push(...values);
	};
	if (filter.userId !== undefined) add(`"tasks"."user_id" = ?`, filter.userId);
	if (filter.channelId === 0) add(`"tasks"."channel_id" is null`);
	else if (filter.channelId !== undefined) add(`"tasks"."channel_id" = ?`, filter.channelId);
	if (filter.publicId !== undefined) add(`"tasks"."public_id" = ?`, filter.publicId);
	if (filter.status !== undefined) add(`"tasks"."status" = ?`, filter.status);
	if (filter.action !== undefined) add(`"tasks"."action" = ?`, filter.action);
	if (filter.fromMs !== undefined) add(`"tasks"."submit_time" >= ?`, filter.fromMs);
	if (filter.toMs !== undefined) add(`"tasks"."submit_time" <= ?`, filter.toMs);
	return { sql: parts.length === 0 ? "" : ` where ${parts.join(" and ")}`, params };
}

/** SQL text by the row shape and the shape of the request that needs it: each is built once per isolate. */
const statements = new WeakMap<RowShape<unknown>, Map<string, string>>();
function statement(shape: RowShape<unknown>, key: string, build: () => string): string {
	let byKey = statements.get(shape);
	if (byKey === undefined) {
		byKey = new Map();
		statements.set(shape, byKey);
	}
	let sql = byKey.get(key);
	if (sql === undefined) {
		sql = build();
		byKey.set(key, sql);
	}
	return sql;
}

function pageOf<T extends CursorRow>(rows: T[], limit: number): TaskPage<T> {
	if (rows.length <= limit) return { rows };
	const page = rows.slice(0, limit);
	const last = page[page.length - 1];
	return { rows: page, next: { submitTime: last.submitTime, id: last.id } };
}

/** The text of a page's statement (see listTaskPage); also what the bench's ceiling sends (bench/lib/ceilings.mjs). */
export function pageStatement(shape: RowShape<unknown>, whereSql: string, offset: boolean): string {
	return statement(
		shape,
		`page${whereSql}${offset ? " offset" : ""}`,
		() =>
			`select ${shape.columns} from "tasks"${whereSql} order by "tasks"."submit_time" desc, "tasks"."id" desc limit ?${offset ? " offset ?" : ""}`,
	);
}

/**
 * One page, newest first: after `cursor` when given, else page number `page` (1-based). Rows are
 * read as `shape` says: every column (TASK) unless the page's view reads fewer (taskShape).
 */
export async function listTaskPage<T extends CursorRow = TaskRow>(
	db: Db,
	filter: TaskListFilter,
	options: { limit: number; page?: number; cursor?: TaskCursor },
	shape: RowShape<T> = TASK as unknown as RowShape<T>,
): Promise<TaskPage<T>> {
	const { limit, cursor } = options;
	if (cursor) return pageAfter(db, filter, cursor, limit, shape);
	const page = options.page ?? 1;
	const where = whereOf(filter);
	const offset = page !== 1;
	const sql = pageStatement(shape, where.sql, offset);
	const params = offset ? [...where.params, limit + 1, (page - 1) * limit] : [...where.params, limit + 1];
	const rows = await rawRows(db, sql, params);
	return pageOf(
		rows.map((row) => shape.read(row)),
		limit,
	);
}

/**
 * The page after `cursor`, as two seeks merged in order: the rest of the cursor's own submit
 * time (`submit_time = t and id < i`), then everything older (`submit_time < t`). The row value
 * `(submit_time, id) < (t, i)` says the same in one range, but SQLite seeks a row value only as
 * far as its first column when the second is the rowid (`id`), so that range started at the first
 * task of time t and read again every task of t already shown (at least the cursor's own row)
 * before reaching the page. Each seek here starts at the first row it returns.
 */
async function pageAfter<T extends CursorRow>(
	db: Db,
	filter: TaskListFilter,
	cursor: TaskCursor,
	limit: number,
	shape: RowShape<T>,
): Promise<TaskPage<T>> {
	const where = whereOf(filter);
	const sql = statement(shape, `after${where.sql}`, () => {
		const seek = (range: string) =>
			`select ${shape.columns} from "tasks"${where.sql ? `${where.sql} and ` : " where "}${range}`;
		// A compound's ORDER BY names its result columns, unqualified.
		return `${seek(`"tasks"."submit_time" = ? and "tasks"."id" < ?`)} union all ${seek(`"tasks"."submit_time" < ?`)} order by "submit_time" desc, "id" desc limit ?`;
	});
	const params = [...where.params, cursor.submitTime, cursor.id, ...where.params, cursor.submitTime, limit + 1];
	const rows = await rawRows(db, sql, params);
	return pageOf(
		rows.map((row) => shape.read(row)),
		limit,
	);
}

/** The text of userSeqPage's statement; also what the bench's ceiling sends. */
export const userSeqStatement = (shape: RowShape<unknown>): string =>
	statement(
		shape,
		"userSeq",
		() =>
			`select ${shape.columns}, "users"."task_count" from "users" left join "tasks" on ("tasks"."user_id" = "users"."id" and "tasks"."user_seq" <= "users"."task_count" - ? and "tasks"."user_seq" >= "users"."task_count" - ?) where "users"."id" = ?`,
	);

/**
 * A user's unfiltered page `page` (newest first) and their task count, in one statement: the
 * user's row joined to the page's user_seq range (a seek on tasks_user_seq). Rows come in
 * index order and are put newest first here, so no sort runs in SQLite.
 */
export async function userSeqPage<T extends ListRow = TaskRow>(
	db: Db,
	userId: number,
	page: number,
	limit: number,
	shape: RowShape<T> = TASK as unknown as RowShape<T>,
): Promise<TaskPage<T> & { total: number }> {
	const skip = (page - 1) * limit;
	// One row past the page (when it exists) says whether there is a next one.
	const rows = await rawRows(db, userSeqStatement(shape), [skip, skip + limit, userId]);
	const total = (rows[0]?.[shape.width] as number | null | undefined) ?? 0;
	// A user whose range is empty still has their row, with every task column NULL (id, the first
	// column of every shape, is never NULL in a task).
	const found = rows.flatMap((row) => (row[0] === null ? [] : [shape.read(row)])).sort((a, b) => b.userSeq - a.userSeq);
	return { ...pageOf(found, limit), total };
}

/*
 * The counters row is one primary-key lookup, so the index walks newest first and stops at the
 * limit instead of stepping onto the row below the range.
 */
/** The text of allSeqPage's statement; also what the bench's ceiling sends. */
export const allSeqStatement = (shape: RowShape<unknown>): string =>
	statement(
		shape,
		"allSeq",
		() =>
			`select ${shape.columns}, "counters"."value" from "counters" left join "tasks" on ("tasks"."task_seq" <= "counters"."value" - ? and "tasks"."task_seq" >= "counters"."value" - ?) where "counters"."name" = ? order by "tasks"."task_seq" desc limit ?`,
	);

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
export async function allSeqPage<T extends CursorRow = TaskRow>(
	db: Db,
	page: number,
	limit: number,
	shape: RowShape<T> = TASK as unknown as RowShape<T>,
): Promise<TaskPage<T> & { total: number }> {
	const skip = (page - 1) * limit;
	const rows = await rawRows(db, allSeqStatement(shape), [skip, skip + limit, TASKS_COUNTER, limit + 1]);
	const total = (rows[0]?.[shape.width] as number | null | undefined) ?? 0;
	return {
		...pageOf(
			rows.flatMap((row) => (row[0] === null ? [] : [shape.read(row)])),
			limit,
		),
		total,
	};
}

/** The user's task count (users.task_count): an unfiltered total without counting. */
export async function userTaskCount(db: Db, userId: number): Promise<number> {
	const [row] = await rawRows(db, `select "task_count" from "users" where "users"."id" = ?`, [userId]);
	return (row?.[0] as number | undefined) ?? 0;
}

/** Every task ever written (the counters row): the admin's unfiltered total. */
export async function allTaskCount(db: Db): Promise<number> {
	const [row] = await rawRows(db, `select "value" from "counters" where "counters"."name" = ?`, [TASKS_COUNTER]);
	return (row?.[0] as number | undefined) ?? 0;
}

/** A filtered total: an index-only count over the same index the page uses. */
export async function countTasks(db: Db, filter: TaskListFilter): Promise<number> {
	const where = whereOf(filter);
	const sql = statement(TASK, `count${where.sql}`, () => `select count(*) from "tasks"${where.sql}`);
	const [row] = await rawRows(db, sql, where.params);
	return (row?.[0] as number | undefined) ?? 0;
}
