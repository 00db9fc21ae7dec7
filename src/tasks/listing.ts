/**
 * Which queries serve a task list page and its total. Unfiltered totals are counters kept
 * as tasks are written; only filters need a count. An unfiltered page by number is one
 * statement: a user's is the user's row and a seek on user_seq, the admin's is the counters
 * row and a seek on task_seq. Everything else pages through the time indexes, after a cursor
 * or by page number.
 */
import type { Db } from "../db/client";
import { type RowShape, TASK } from "../db/rows";
import type { TaskRow } from "../db/schema";
import {
	allSeqPage,
	allTaskCount,
	countTasks,
	type ListRow,
	listTaskPage,
	type TaskListFilter,
	type TaskPage,
	userSeqPage,
	userTaskCount,
} from "../db/task-lists";
import type { TaskCursor } from "../db/tasks";

export interface ListRequest {
	filter: TaskListFilter;
	page: number;
	limit: number;
	cursor?: TaskCursor;
}

function isFiltered(filter: TaskListFilter): boolean {
	return [filter.channelId, filter.publicId, filter.fromMs, filter.toMs, filter.status, filter.action].some(
		(v) => v !== undefined,
	);
}

/** A page and its total; rows read as `shape` says (every column unless the view reads fewer). */
export async function listTasks<T extends ListRow = TaskRow>(
	db: Db,
	request: ListRequest,
	shape: RowShape<T> = TASK as unknown as RowShape<T>,
): Promise<TaskPage<T> & { total: number }> {
	const { filter, page, limit, cursor } = request;
	const filtered = isFiltered(filter);
	if (!filtered && !cursor) {
		return filter.userId !== undefined
			? userSeqPage(db, filter.userId, page, limit, shape)
			: allSeqPage(db, page, limit, shape);
	}
	const [total, result] = await Promise.all([
		filtered
			? countTasks(db, filter)
			: filter.userId !== undefined
				? userTaskCount(db, filter.userId)
				: allTaskCount(db),
		listTaskPage(db, filter, { limit, page, cursor }, shape),
	]);
	return { ...result, total };
}
