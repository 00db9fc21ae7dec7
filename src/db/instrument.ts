/**
 * Bench-only D1 instrumentation: counts the queries a request makes, adds up D1's own
 * meta.rows_read / rows_written, and records each read's EXPLAIN QUERY PLAN, so a
 * benchmark can check the real queries of an endpoint. drizzle reads through `raw()`,
 * which carries no meta; here a read is answered by `raw()` and measured by running it
 * once more through `all()`, which is why this never runs outside benchmarks.
 */
export interface D1Stats {
	queries: number;
	rowsRead: number;
	rowsWritten: number;
	/** One line per read: the plan's steps joined with " | ". */
	plans: string[];
}

export function newD1Stats(): D1Stats {
	return { queries: 0, rowsRead: 0, rowsWritten: 0, plans: [] };
}

type D1Like = Pick<D1Database, "prepare" | "batch">;

const realStatement = new WeakMap<object, D1PreparedStatement>();

function record(stats: D1Stats, meta: D1Meta | undefined): void {
	stats.queries += 1;
	stats.rowsRead += meta?.rows_read ?? 0;
	stats.rowsWritten += meta?.rows_written ?? 0;
}

function wrapStatement(
	db: D1Like,
	real: D1PreparedStatement,
	sql: string,
	params: unknown[],
	stats: D1Stats,
): D1PreparedStatement {
	const explain = async () => {
		if (!/^\s*select/i.test(sql)) return;
		const plan = await db
			.prepare(`EXPLAIN QUERY PLAN ${sql}`)
			.bind(...params)
			.all<{ detail: string }>();
		stats.plans.push(plan.results.map((step) => step.detail).join(" | "));
	};
	const wrapper = {
		bind: (...values: unknown[]) => wrapStatement(db, real.bind(...values), sql, values, stats),
		first: async (column?: string) => {
			const result = await real.all<Record<string, unknown>>();
			record(stats, result.meta);
			await explain();
			const row = result.results[0] ?? null;
			return column && row ? row[column] : row;
		},
		all: async () => {
			const result = await real.all();
			record(stats, result.meta);
			await explain();
			return result;
		},
		run: async () => {
			const result = await real.run();
			record(stats, result.meta);
			await explain();
			return result;
		},
		raw: async (options?: { columnNames?: boolean }) => {
			const rows = await (options?.columnNames ? real.raw({ columnNames: true }) : real.raw());
			record(stats, (await real.all()).meta);
			await explain();
			return rows;
		},
	} as unknown as D1PreparedStatement;
	realStatement.set(wrapper, real);
	return wrapper;
}

/** The same database, counting into `stats`. */
export function instrumentD1<T extends D1Like>(db: T, stats: D1Stats): T {
	return {
		prepare: (sql: string) => wrapStatement(db, db.prepare(sql), sql, [], stats),
		batch: async (statements: D1PreparedStatement[]) => {
			const results = await db.batch(statements.map((s) => realStatement.get(s) ?? s));
			for (const result of results) record(stats, result.meta);
			return results;
		},
	} as unknown as T;
}
