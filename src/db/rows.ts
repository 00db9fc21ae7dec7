/**
 * Hand-built statements for the hot reads (every request's sign-in check, the task lists, the
 * album, a task by id). drizzle builds a query's SQL again on every call and maps each row
 * through its generic paths; under list load that was a third of the isolate's CPU
 * (bench/README.md, issue 20). Here the SQL text is built once per isolate from the schema's
 * column names and rows are mapped by a fixed column order, so a request only binds and reads.
 * The statements still go through the handle's own D1 client (a request's session, or the
 * instrumented one under D1_STATS), so bookmarks and the bench's counts are unchanged.
 */
import { getTableColumns } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "./client";
import { type TaskRow, type TemplateRow, tasks, templates } from "./schema";

/** What the hand-built reads need of a D1 database or session. */
export type D1Like = Pick<D1Database, "prepare" | "batch">;

/** The D1 database or session under a drizzle handle (drizzle() keeps it as `$client`; its type leaves it out). */
export function d1Of(db: Db): D1Like {
	return (db as Db & { $client: D1Like }).$client;
}

/** Column types whose driver value is the value (drizzle's mapping is the identity for them). */
export const PLAIN: ReadonlySet<string> = new Set(["SQLiteInteger", "SQLiteText"]);

interface ColumnMap {
	key: string;
	decode: ((value: unknown) => unknown) | null;
}

/** A row mapper and the column list of one table (all of its columns or some), in schema order. */
export interface RowShape<T> {
	/** `"table"."a", "table"."b", …`: the columns in the order `read` expects them. */
	columns: string;
	/** How many columns a row of this table takes. */
	width: number;
	/** The row that starts at `at` in a raw D1 row. */
	read: (row: readonly unknown[], at?: number) => T;
}

function shapeOf<T>(table: SQLiteTable, name: string, only?: ReadonlySet<string>): RowShape<T> {
	const entries = (Object.entries(getTableColumns(table)) as [string, SQLiteColumn][]).filter(
		([key]) => only === undefined || only.has(key),
	);
	const maps: ColumnMap[] = entries.map(([key, column]) => ({
		key,
		decode: PLAIN.has(column.columnType) ? null : (value) => column.mapFromDriverValue(value),
	}));
	return {
		columns: entries.map(([, column]) => `"${name}"."${column.name}"`).join(", "),
		width: maps.length,
		read: (row, at = 0) => {
			const out: Record<string, unknown> = {};
			for (let i = 0; i < maps.length; i++) {
				const { key, decode } = maps[i];
				const value = row[at + i];
				// As drizzle: NULL stays null, whatever the column's mode.
				out[key] = value === null || decode === null ? value : decode(value);
			}
			return out as T;
		},
	};
}

export const TASK: RowShape<TaskRow> = shapeOf<TaskRow>(tasks, "tasks");

/**
 * The task columns `keys` only (in schema order, whatever the order given): for a list page whose
 * view reads only those. The D1 binding turns every cell of a result into JavaScript, and the
 * lists' views show about 19 of a task's 45 columns. Build it once per isolate, beside the view
 * (its `Pick<TaskRow, …>` parameter is what keeps the two from drifting apart).
 */
export function taskShape<K extends keyof TaskRow>(keys: readonly K[]): RowShape<Pick<TaskRow, K>> {
	for (const key of keys) if (!(key in getTableColumns(tasks))) throw new Error(`no task column ${key}`);
	return shapeOf<Pick<TaskRow, K>>(tasks, "tasks", new Set<string>(keys));
}
export const TEMPLATE: RowShape<TemplateRow> = shapeOf<TemplateRow>(templates, "templates");

/** Runs one read and answers its rows as arrays (D1's `raw()`, what drizzle reads too). */
export function rawRows(db: Db, sql: string, params: readonly unknown[]): Promise<unknown[][]> {
	return d1Of(db)
		.prepare(sql)
		.bind(...params)
		.raw();
}
