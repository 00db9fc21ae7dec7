/**
 * The seed-001 API (new-api's Midjourney module): GET /api/mj/self for a user's own tasks,
 * GET /api/mj/ for an admin's view of everyone's. `p` pages as the document describes;
 * `cursor` / `next_cursor` page at the same cost at any depth.
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../context";
import { dbOf } from "../db/request-db";
import type { TaskListFilter } from "../db/task-lists";
import { subsOf } from "../db/users";
import { requestBase } from "../images/links";
import { about, answers, on, routeGroup } from "../openapi/define";
import * as body from "../openapi/responses";
import { listTasks } from "../tasks/listing";
import { SEED001_ROWS, toSeed001Page } from "../tasks/views/seed001";
import { decodeCursor, encodeCursor } from "./cursor";
import { ok } from "./envelopes";
import { integer } from "./validate";

/** Page size when `page_size` is not given, and the most it may be. */
const PAGE_SIZE_DEFAULT = 20;
const PAGE_SIZE_MAX = 100;

/** Seconds since the epoch, up to the year 5138. */
const timestamp = (name: string) => integer(name, 0, 99_999_999_999);

/** The seed's list parameters, shared with the admins' filtered list (/api/admin/tasks). */
export const listFields = {
	p: integer("p", 1, 1_000_000),
	page_size: integer("page_size", 1, PAGE_SIZE_MAX),
	mj_id: z.string().max(64, "mj_id is too long").optional(),
	start_timestamp: timestamp("start_timestamp"),
	end_timestamp: timestamp("end_timestamp"),
	channel_id: integer("channel_id", 0, Number.MAX_SAFE_INTEGER),
	cursor: z.string().max(100).optional(),
};

export const timeOrder = (q: { start_timestamp?: number; end_timestamp?: number }) =>
	q.start_timestamp === undefined || q.end_timestamp === undefined || q.start_timestamp <= q.end_timestamp;
export const TIME_ORDER_MESSAGE = "start_timestamp must not be after end_timestamp";

export const listQuery = z.object(listFields).refine(timeOrder, { message: TIME_ORDER_MESSAGE });

type ListQuery = z.infer<typeof listQuery>;

/** A page in seed 001's shape; `extra` narrows an admin's list further (status, action, user). */
export async function list(
	c: Context<AppEnv>,
	query: ListQuery,
	admin: boolean,
	extra: Pick<TaskListFilter, "status" | "action" | "userId"> = {},
	withSubs = false,
): Promise<Response> {
	const db = dbOf(c);
	const user = c.get("user");
	const page = query.p ?? 1;
	const pageSize = query.page_size ?? PAGE_SIZE_DEFAULT;
	const filter: TaskListFilter = {
		userId: admin ? undefined : user.id,
		channelId: admin ? query.channel_id : undefined,
		publicId: query.mj_id || undefined,
		fromMs: query.start_timestamp === undefined ? undefined : query.start_timestamp * 1000,
		toMs: query.end_timestamp === undefined ? undefined : query.end_timestamp * 1000 + 999,
		...(admin ? extra : {}),
	};
	const result = await listTasks(
		db,
		{ filter, page, limit: pageSize, cursor: query.cursor ? decodeCursor(query.cursor) : undefined },
		SEED001_ROWS,
	);
	const base = requestBase(c.env, c.req.url);
	const items = await toSeed001Page(c.env, base, result.rows, admin);
	if (withSubs) {
		// One read by primary key for the page's owners, not a join on every task of the scan.
		const subs = await subsOf(
			db,
			result.rows.map((task) => task.userId),
		);
		for (const [i, task] of result.rows.entries()) items[i].user = subs.get(task.userId) ?? "";
	}
	return ok(c, {
		items,
		total: result.total,
		page,
		page_size: pageSize,
		next_cursor: result.next ? encodeCursor(result.next) : null,
	});
}

const ownTasks = createRoute({
	...about("seed001", "user"),
	method: "get",
	path: "/self",
	summary: "The caller's tasks",
	description: "Pages by `p` as the seed describes, or by `cursor` / `next_cursor` at the same cost at any depth.",
	request: { query: listQuery },
	responses: answers("seed001", "A page of tasks.", body.Seed001Page),
});
const allTasks = createRoute({
	...about("seed001", "admin"),
	method: "get",
	path: "/",
	summary: "Everyone's tasks (admins)",
	description: "Also answered at /api/mj/ (with the trailing slash the seed's URL has).",
	request: { query: listQuery },
	responses: answers("seed001", "A page of tasks, with user_id and channel_id.", body.Seed001Page),
});

export const seed001Routes = routeGroup();
on(seed001Routes, ownTasks, (c) => list(c, c.req.valid("query"), false));
on(seed001Routes, allTasks, (c) => list(c, c.req.valid("query"), true));
