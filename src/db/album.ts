/**
 * The album page queries. Album tasks carry album_seq 1, 2, 3… per user (handed out by
 * users.album_count in the same batch that writes the task), so page k of a user's album,
 * newest first, is the album_seq range (count - k·size, count - (k-1)·size]: one seek on
 * tasks_user_album_seq whatever k is, never an OFFSET. The page's templates come in a second
 * query, each distinct template read once (a JOIN would read a template once per picture).
 */
import type { Db } from "./client";
import { rawRows, TEMPLATE } from "./rows";
import type { TaskRow, TemplateRow } from "./schema";

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
const ALBUM_PAGE = `select "tasks"."id", "tasks"."public_id", "tasks"."album_seq", "tasks"."style_id", "tasks"."origin_key", "tasks"."image_key", "tasks"."upstream_image_url", "tasks"."fail_reason", "tasks"."status", "tasks"."submit_time" from "users" inner join "tasks" on ("tasks"."user_id" = "users"."id" and "tasks"."album_seq" <= "users"."album_count" - ? and "tasks"."album_seq" > "users"."album_count" - ?) where "users"."id" = ? order by "tasks"."album_seq" desc limit ?`;

const TEMPLATE_BY_ID = `select ${TEMPLATE.columns} from "templates" where "templates"."id" = ?`;
/** The templates statement for n ids, built once per n. */
const templateStatements: string[] = [];
function templatesSql(n: number): string {
	templateStatements[n] ??= Array.from({ length: n }, () => TEMPLATE_BY_ID).join(" union all ");
	return templateStatements[n];
}

export async function listAlbumPage(db: Db, userId: number, page: number, pageSize: number): Promise<AlbumPage> {
	const newerThanPage = (page - 1) * pageSize;
	const raw = await rawRows(db, ALBUM_PAGE, [newerThanPage, newerThanPage + pageSize, userId, pageSize]);
	const rows: AlbumTask[] = raw.map((row) => ({
		id: row[0] as number,
		publicId: row[1] as string,
		albumSeq: row[2] as number | null,
		styleId: row[3] as number | null,
		originKey: row[4] as string | null,
		imageKey: row[5] as string | null,
		upstreamImageUrl: row[6] as string,
		failReason: row[7] as string,
		status: row[8] as TaskRow["status"],
		submitTime: row[9] as number,
	}));
	const styleIds = [...new Set(rows.flatMap((row) => (row.styleId == null ? [] : [row.styleId])))];
	// One primary-key seek per template, UNION ALL'ed into one statement: `id IN (…)` would also
	// read the temporary table SQLite builds for the list (twice the rows).
	const found =
		styleIds.length === 0
			? []
			: (await rawRows(db, templatesSql(styleIds.length), styleIds)).map((row) => TEMPLATE.read(row));
	return { tasks: rows, templates: new Map(found.map((template) => [template.id, template])) };
}
