/**
 * Seed 001's cursor where tasks share a submit time: the page after a cursor starts exactly after
 * the last task shown, however many tasks of that time came before it. Every task is listed once,
 * in order, and a cursor page reads the page, one row past it and the step that ends a range (the
 * `+ 2` of bench/README.md), plus what the total costs.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import type { D1Stats } from "../../src/db/instrument";
import type { TaskRow } from "../../src/db/schema";
import { call, tokenFor, uniqueSub } from "../helpers/api";
import { insertTaskRow, userId } from "../helpers/db";
import { ALL, type ListData, newestFirst, SELF, withQuery, withStats } from "../helpers/seed001";
import { channelRow, newPerson, type Person } from "../helpers/seed001-fixture";

/** Far from every other file's tasks; the ties below are what the cursor must step through. */
const T = 1_900_000_000_000;
/** Oldest first, as they are written: three ties, one of three tasks. */
const TIMES = [T, T + 1000, T + 1000, T + 2000, T + 3000, T + 3000, T + 4000, T + 4000, T + 4000, T + 5000];
/** A cursor page reads one row past the page and the step that ends a range. */
const SLACK = 2;

interface Walked {
	ids: number[];
	pages: { data: ListData; stats: D1Stats }[];
}

async function page(path: string, token: string, params: Record<string, string | number>) {
	const { response, stats } = await withStats(withQuery(path, params), token);
	const text = await response.text();
	expect(response.status, text).toBe(200);
	expect(stats, "x-d1-stats").not.toBeNull();
	return { data: (JSON.parse(text) as { data: ListData }).data, stats: stats as D1Stats };
}

/** Page 1, then next_cursor to the end, with each page's D1 statistics. */
async function walk(path: string, token: string, params: Record<string, string | number>): Promise<Walked> {
	// The caller's first request also reads (and caches) their users row; not the list's cost.
	await withStats(path, token);
	const pages: Walked["pages"] = [];
	let cursor: string | null = null;
	for (let guard = 0; guard < 50; guard++) {
		const next = await page(path, token, cursor ? { ...params, cursor } : params);
		pages.push(next);
		cursor = next.data.next_cursor;
		if (cursor === null) return { ids: pages.flatMap((p) => p.data.items.map((item) => item.id)), pages };
		expect(next.data.items.length, "a page with a next_cursor is full").toBe(next.data.page_size);
	}
	throw new Error("the cursor never ended");
}

function expectIndexOrder(stats: D1Stats, index: string): void {
	for (const plan of stats.plans) {
		expect(plan).not.toMatch(/TEMP B-TREE/);
		expect(plan).not.toMatch(/\bSCAN \w+\b(?! USING (COVERING )?INDEX)/);
	}
	const listed = stats.plans.filter((plan) => /\btasks\b/.test(plan));
	expect(listed.join("\n")).toContain(index);
}

let owner: Person;
let ownRows: TaskRow[];

beforeAll(async () => {
	const sub = uniqueSub("s001-ties");
	const token = await tokenFor(sub);
	await call("/api/user/self", { token });
	const id = await userId(sub);
	owner = { sub, id, token, rows: [] };
	// Written raw: the submit path would push each submit time past the user's last one.
	ownRows = [];
	for (const [i, submitTime] of TIMES.entries()) {
		ownRows.push(await insertTaskRow({ userId: id, submitTime, userSeq: i + 1 }));
	}
	await env.DB.prepare("update users set task_count = ? where id = ?").bind(TIMES.length, id).run();
});

describe("a cursor through tasks that share a submit time", () => {
	it.each([2, 3, 4])("/api/mj/self, page_size %i: every task once, in order, at page size + 2 rows", async (size) => {
		const { ids, pages } = await walk(SELF, owner.token, { page_size: size });
		expect(ids).toEqual(newestFirst(ownRows).map((row) => row.id));
		const cursorPages = pages.slice(1);
		expect(cursorPages.length).toBeGreaterThan(0);
		for (const { data, stats } of cursorPages) {
			expect(data.total).toBe(TIMES.length);
			expectIndexOrder(stats, "tasks_user_time");
			// The total is the users row: one more row.
			expect(stats.rowsRead, JSON.stringify(stats)).toBeLessThanOrEqual(size + SLACK + 1);
		}
	});

	it("/api/mj/ on a channel: two users' tasks at each time, the boundary inside a tie", async () => {
		const admin = await newPerson("s001-ties-admin", "admin");
		// Two users of their own: the owner's list above stays as it is.
		const [first, second] = [await newPerson("s001-ties-a"), await newPerson("s001-ties-b")];
		const channel = await channelRow(`ties-${crypto.randomUUID().slice(0, 8)}`);
		const rows: TaskRow[] = [];
		for (const submitTime of TIMES) {
			rows.push(await insertTaskRow({ userId: first.id, submitTime, channelId: channel }));
			rows.push(await insertTaskRow({ userId: second.id, submitTime, channelId: channel }));
		}
		const size = 3;
		const { ids, pages } = await walk(ALL, admin.token, { page_size: size, channel_id: channel });
		expect(ids).toEqual(newestFirst(rows).map((row) => row.id));
		expect(new Set(ids).size).toBe(rows.length);
		for (const { data, stats } of pages.slice(1)) {
			expect(data.total).toBe(rows.length);
			expectIndexOrder(stats, "tasks_channel_time");
			// The filtered total is an index-only count: one row per task it counts.
			expect(stats.rowsRead, JSON.stringify(stats)).toBeLessThanOrEqual(size + SLACK + rows.length);
		}
	});

	it("a cursor handed out before (the same `submitTime.id` text) continues right after its task", async () => {
		const order = newestFirst(ownRows);
		// The second of the three tasks at T + 4000: one of its time before it, one after.
		const at = order.findIndex((row) => row.submitTime === T + 4000) + 1;
		expect(order[at].submitTime).toBe(T + 4000);
		const cursor = btoa(`${order[at].submitTime}.${order[at].id}`).replace(/=+$/, "");
		const { data } = await page(SELF, owner.token, { page_size: 3, cursor });
		expect(data.items.map((item) => item.id)).toEqual(order.slice(at + 1, at + 4).map((row) => row.id));
		const next = (await page(SELF, owner.token, { page_size: 3, cursor: data.next_cursor as string })).data;
		expect(next.items.map((item) => item.id)).toEqual(order.slice(at + 4, at + 7).map((row) => row.id));
	});
});
