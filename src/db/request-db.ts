/**
 * The database handle of one request: a D1 session, so reads may be served by a nearby read
 * replica. The session's bookmark goes back in the `x-d1-bookmark` response header; a client
 * that sends it back on its next request reads at least what it wrote (read-your-writes).
 */
import type { Context, MiddlewareHandler } from "hono";
import { config } from "../config";
import type { AppEnv } from "../context";
import { type Db, getDb } from "./client";
import { instrumentD1, newD1Stats } from "./instrument";

export const BOOKMARK_HEADER = "x-d1-bookmark";
export const STATS_HEADER = "x-d1-stats";

/** D1 bookmarks look like 00000000-00000004-00000000-<32 hex>; anything else is ignored. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;

export function requestDb(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const finish = openRequestDb(c);
		await next();
		finish();
	};
}

/**
 * What requestDb() does, for a middleware that does more in the same hop (src/openapi/define.ts
 * `guard`): sets this request's `openDb` and answers the function that puts the session's
 * bookmark (and the bench's stats) on the answer. Called before the answer exists (a refusal
 * thrown in the same hop), it puts them on the headers the error's answer is made with.
 */
export function openRequestDb(c: Context<AppEnv>): () => void {
	const sent = c.req.header(BOOKMARK_HEADER);
	const bookmark = sent && BOOKMARK.test(sent) ? sent : null;
	const stats = config(c.env).d1Stats ? newD1Stats() : null;
	// Opened on first use: a request answered without a query (a settled task, a refusal)
	// builds no session and no drizzle handle.
	let session: D1DatabaseSession | undefined;
	let db: Db | undefined;
	c.set("openDb", () => {
		if (!db) {
			session = c.env.DB.withSession(bookmark ?? "first-unconstrained");
			db = getDb(stats ? instrumentD1(session, stats) : session);
		}
		return db;
	});
	return () => {
		// An unopened session is still at the bookmark it was given.
		const latest = session ? session.getBookmark() : bookmark;
		if (latest) setHeader(c, BOOKMARK_HEADER, latest);
		if (stats) setHeader(c, STATS_HEADER, JSON.stringify(stats));
	};
}

/**
 * A header on the answer the route already made. Hono's c.header() copies a finished Response
 * first (a new Response on every request); the route's own Response takes the header as it is,
 * and only one whose headers are immutable (straight from a binding) needs the copy.
 */
function setHeader(c: Context<AppEnv>, name: string, value: string): void {
	// Before the answer exists: on the headers Hono will make it with.
	if (!c.finalized) {
		c.header(name, value);
		return;
	}
	try {
		c.res.headers.set(name, value);
	} catch {
		c.header(name, value);
	}
}

/** This request's database handle (requestDb() must run before). */
export function dbOf(c: Context<AppEnv>): Db {
	return c.get("openDb")();
}
