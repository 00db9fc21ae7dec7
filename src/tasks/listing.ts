/**
 * Which queries serve a task list page and its total. Unfiltered totals are counters kept
 * as tasks are written; only filters need a count. A user's unfiltered page by number is
 * one statement (the user's row and a seek on user_seq); everything else pages through the
 * time indexes, after a cursor or by page number.
 */
import type { Db } from "../db/client";
import {
	allTaskCount,
	countTasks,
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
	return [filter.channelId, filter.publicId, filter.fromMs, filter.toMs].some((v) => v !== undefined);
}

export async function listTasks(db: Db, request: ListRequest): Promise<TaskPage & { total: number }> {
	const { filter, page, limit, cursor } = request;
	const filtered = isFiltered(filter);
	if (!filtered && !cursor && filter.userId !== undefined) return userSeqPage(db, filter.userId, page, limit);
	const [total, result] = await Promise.all([
		filtered
			? countTasks(db, filter)
			: filter.userId !== undefined
				? userTaskCount(db, filter.userId)
				: allTaskCount(db),
		listTaskPage(db, filter, { limit, page, cursor }),
	]);
	return { ...result, total };
}
