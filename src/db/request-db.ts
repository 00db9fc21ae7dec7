/**
 * The database handle of one request: a D1 session, so reads may be served by a nearby read
 * replica. The session's bookmark goes back in the `x-d1-bookmark` response header; a client
 * that sends it back on its next request reads at least what it wrote (read-your-writes).
 */
import type { MiddlewareHandler } from "hono";
import { config } from "../config";
import type { AppEnv } from "../context";
import { getDb } from "./client";
import { instrumentD1, newD1Stats } from "./instrument";

export const BOOKMARK_HEADER = "x-d1-bookmark";
export const STATS_HEADER = "x-d1-stats";

/** D1 bookmarks look like 00000000-00000004-00000000-<32 hex>; anything else is ignored. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/i;

export function requestDb(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const bookmark = c.req.header(BOOKMARK_HEADER);
		const session = c.env.DB.withSession(bookmark && BOOKMARK.test(bookmark) ? bookmark : "first-unconstrained");
		const stats = config(c.env).d1Stats ? newD1Stats() : null;
		c.set("db", getDb(stats ? instrumentD1(session, stats) : session));
		await next();
		const latest = session.getBookmark();
		if (latest) c.header(BOOKMARK_HEADER, latest);
		if (stats) c.header(STATS_HEADER, JSON.stringify(stats));
	};
}
