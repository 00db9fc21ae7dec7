/**
 * The album page queries. Album tasks carry album_seq 1, 2, 3… per user (handed out by
 * users.album_count in the same batch that writes the task), so page k of a user's album,
 * newest first, is the album_seq range (count - k·size, count - (k-1)·size]: one seek on
 * tasks_user_album_seq whatever k is, never an OFFSET. The page's templates come in a second
 * query, each distinct template read once (a JOIN would read a template once per picture).
 */
import { and, desc, eq, sql } from "drizzle-orm";
import { unionAll } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";
import { type TaskRow, type TemplateRow, tasks, templates, users } from "./schema";

/** The task columns an album item shows. */
export type AlbumTask = Pick<
	TaskRow,
	| "id"
	| "publicId"
	| "albumSeq"
	| "styleId"
	| "originKey"
	| "imageKey"
	| "upstreamImageUrl"
	| "failReason"
	| "status"
	| "submitTime"
>;

export interface AlbumPage {
	tasks: AlbumTask[];
	/** The templates of the page's pictures by id; a deleted template is missing. */
	templates: Map<number, TemplateRow>;
}

/**
 * Page `page` (from 1) of `pageSize` album pictures of the user, newest first, and their
 * templates: two queries reading the user's row, at most pageSize task rows and each of the
 * page's templates once.
 */
export async function listAlbumPage(db: Db, userId: number, page: number, pageSize: number): Promise<AlbumPage> {
	const newerThanPage = (page - 1) * pageSize;
	const rows = await db
		.select({
			id: tasks.id,
			publicId: tasks.publicId,
			albumSeq: tasks.albumSeq,
			styleId: tasks.styleId,
			originKey: tasks.originKey,
			imageKey: tasks.imageKey,
			upstreamImageUrl: tasks.upstreamImageUrl,
			failReason: tasks.failReason,
			status: tasks.status,
			submitTime: tasks.submitTime,
		})
		.from(users)
		.innerJoin(
			tasks,
			and(
				eq(tasks.userId, users.id),
				sql`${tasks.albumSeq} <= ${users.albumCount} - ${newerThanPage}`,
				sql`${tasks.albumSeq} > ${users.albumCount} - ${newerThanPage + pageSize}`,
			),
		)
		.where(eq(users.id, userId))
		.orderBy(desc(tasks.albumSeq))
		.limit(pageSize)
		.all();
	const styleIds = [...new Set(rows.flatMap((row) => (row.styleId == null ? [] : [row.styleId])))];
	// One primary-key seek per template, UNION ALL'ed into one statement: `id IN (…)` would also
	// read the temporary table SQLite builds for the list (twice the rows).
	const [first, second, ...rest] = styleIds.map((id) => db.select().from(templates).where(eq(templates.id, id)));
	const found = !first ? [] : !second ? await first.all() : await unionAll(first, second, ...rest).all();
	return { tasks: rows, templates: new Map(found.map((template) => [template.id, template])) };
}
