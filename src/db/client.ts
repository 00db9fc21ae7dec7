import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";

/**
 * drizzle without `{ schema }`: nothing uses the relational query API (`db.query.*`), and
 * building its relational config from the schema cost 0.13-0.18 ms of CPU on every request
 * (bench/README.md). The query builder (`db.select()`, `db.insert()`, …) needs no schema.
 */
export type Db = DrizzleD1Database;

/** One handle per D1 binding (so per isolate) or per D1 session (so per request). */
const handles = new WeakMap<D1Database | D1DatabaseSession, Db>();

/** A drizzle handle over a D1 database or a D1 session (read replicas). */
export function getDb(d1: D1Database | D1DatabaseSession): Db {
	let db = handles.get(d1);
	if (!db) {
		// A session speaks the same prepare/batch API drizzle uses.
		db = drizzle(d1 as D1Database);
		handles.set(d1, db);
	}
	return db;
}
