import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Db = ReturnType<typeof getDb>;

/** A drizzle handle over a D1 database or a D1 session (read replicas). */
export function getDb(d1: D1Database | D1DatabaseSession) {
	// A session speaks the same prepare/batch API drizzle uses.
	return drizzle(d1 as D1Database, { schema });
}
