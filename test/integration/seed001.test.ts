/**
 * The seed-001 surface (new-api's Midjourney module) as a specification: GET /api/mj/self
 * (a user's own tasks) and GET /api/mj/ (an admin's view of everyone's), field by field
 * against the seed document; paging by `p` and by cursor; read-your-writes through the D1
 * bookmark; and the query plans that prove each list is served by an index in its order.
 * Filters: seed001-filters.test.ts; user isolation and admin-only access:
 * seed001-security.test.ts; bad parameters: seed001-errors.test.ts. The fixture:
 * test/helpers/seed001-fixture.ts.
 *
 * The query-plan bounds depend on where a cursor falls among the fixture's tied timestamps,
 * hence on the tasks the earlier tests of this file submit: they stay together, in order.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import type { D1Stats } from "../../src/db/instrument";
import { tasks } from "../../src/db/schema";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, taskRow } from "../helpers/db";
import {
	ALL,
	expectItemShape,
	imageLink,
	type ListData,
	listOk,
	newestFirst,
	type Params,
	SELF,
	USER_ITEM_KEYS,
	walkCursor,
	withQuery,
	withStats,
} from "../helpers/seed001";
import {
	ALICE_TASKS,
	adminItems,
	adminToken,
	alice,
	allRows,
	BOB_TASKS,
	BOOKMARK,
	bob,
	east,
	type Filter,
	ids,
	matches,
	paramsOf,
	publicIds,
	sec,
	userItem,
	WINDOW_END,
	WINDOW_START,
	west,
	writeFixture,
} from "../helpers/seed001-fixture";
import { finishedImagine, imagine, waitForSettled } from "../helpers/surface";

beforeAll(writeFixture);

describe("GET /api/mj/self answers as the seed shows, field by field", () => {
	it("a finished IMAGINE submitted through the API: seconds, the gateway's image link, the charged quota", async () => {
		const sub = uniqueSub("s001-carol");
		const token = await tokenFor(sub);
		const before = Math.floor(Date.now() / 1000);
		const { _id: mjId } = await finishedImagine(token, "a beautiful landscape");
		const after = Math.ceil(Date.now() / 1000);

		const data = await listOk(SELF, {}, token);
		expect(data).toMatchObject({ total: 1, page: 1, page_size: 20, next_cursor: null });
		expect(data.items).toHaveLength(1);
		const item = data.items[0];
		expectItemShape(item, false);
		const row = await taskRow(mjId);
		expect(item).toEqual({
			id: row.id,
			mj_id: mjId,
			action: "IMAGINE",
			prompt: "a beautiful landscape",
			prompt_en: "a beautiful landscape",
			status: "SUCCESS",
			progress: "100%",
			image_url: expect.stringMatching(imageLink(mjId)),
			video_url: "",
			video_urls: "[]",
			submit_time: expect.any(Number),
			start_time: expect.any(Number),
			finish_time: expect.any(Number),
			fail_reason: "",
			quota: 100,
		});
		expect(item.submit_time).toBeGreaterThanOrEqual(before);
		expect(item.submit_time).toBeLessThanOrEqual(item.start_time);
		expect(item.start_time).toBeLessThanOrEqual(item.finish_time);
		expect(item.finish_time).toBeLessThanOrEqual(after);

		// quota is what the submit charged: the user's balance went down by exactly that.
		const user = await env.DB.prepare("SELECT quota FROM users WHERE sub = ?").bind(sub).first<{ quota: number }>();
		expect(user?.quota).toBe(Number(env.NEW_USER_QUOTA) - item.quota);

		// image_url is the gateway's own copy, and it opens.
		const image = await call(item.image_url.slice("http://gateway.test".length));
		expect(image.status).toBe(200);
		expect(image.headers.get("content-type")).toMatch(/^image\//);
		await image.arrayBuffer();

		// The admin's item of the same task: the same fields plus who and which channel.
		const admin = await listOk(ALL, { mj_id: mjId }, adminToken);
		expect(admin.total).toBe(1);
		expectItemShape(admin.items[0], true);
		const simulator = await env.DB.prepare("SELECT id FROM channels WHERE name = 'simulator'").first<{ id: number }>();
		expect(admin.items[0]).toEqual({
			...item,
			user_id: row.userId,
			channel_id: simulator?.id,
		});
	});

	it("every kind of stored task: times in seconds and 0 when not reached, video_urls a JSON string, quota as charged", async () => {
		const data = await listOk(SELF, { page_size: 100 }, alice.token);
		expect(data.total).toBe(ALICE_TASKS);
		expect(data.items).toHaveLength(ALICE_TASKS);
		for (const item of data.items) expectItemShape(item, false);
		expect(data.items).toEqual(alice.rows.map((row) => userItem(row.publicId)));

		const byPrompt = (i: number) => data.items.find((item) => item.prompt === `alice prompt ${i}`);
		expect(byPrompt(0)).toMatchObject({
			status: "SUCCESS",
			prompt_en: "alice prompt 0 in English",
			video_url: "http://upstream.test/video/0.mp4",
			video_urls: '["http://upstream.test/video/0a.mp4","http://upstream.test/video/0b.mp4"]',
			submit_time: 1_640_908_800,
			start_time: 1_640_908_820,
			finish_time: 1_640_908_866,
			quota: 100,
		});
		expect(byPrompt(1)).toMatchObject({ status: "FAILURE", fail_reason: "banned prompt detected", image_url: "" });
		expect(byPrompt(2)).toMatchObject({ status: "IN_PROGRESS", progress: "45%", finish_time: 0 });
		expect(byPrompt(2)?.start_time).toBe(sec(2) + 3);
		expect(byPrompt(3)).toMatchObject({ status: "NOT_START", start_time: 0, finish_time: 0, image_url: "" });
		expect(byPrompt(4)).toMatchObject({ action: "UPSCALE", quota: 50 });
		expect(byPrompt(4)?.image_url).toMatch(imageLink(byPrompt(4)?.mj_id ?? "?"));
		// No admin-only fields for a user.
		for (const item of data.items) {
			expect(item).not.toHaveProperty("user_id");
			expect(item).not.toHaveProperty("channel_id");
		}
	});

	it("defaults to p=1 and page_size=20, newest first, with a cursor to the rest", async () => {
		const data = await listOk(SELF, {}, alice.token);
		expect(data).toMatchObject({ total: ALICE_TASKS, page: 1, page_size: 20 });
		expect(ids(data.items)).toEqual(publicIds(alice.rows.slice(0, 20)));
		expect(data.next_cursor).toBeTypeOf("string");
		const times = data.items.map((item) => item.submit_time);
		expect(times).toEqual([...times].sort((a, b) => b - a));
	});

	it("empty parameters count as absent", async () => {
		const data = await listOk(
			SELF,
			{ p: "", page_size: "", mj_id: "", start_timestamp: "", end_timestamp: "", cursor: "" },
			alice.token,
		);
		expect(data).toMatchObject({ total: ALICE_TASKS, page: 1, page_size: 20 });
		expect(ids(data.items)).toEqual(publicIds(alice.rows.slice(0, 20)));
	});
});

describe("GET /api/mj/ (admin) answers as the seed shows", () => {
	it("items carry every user field plus user_id and channel_id, for the tasks of every user", async () => {
		const data = await listOk(
			ALL,
			{ start_timestamp: WINDOW_START, end_timestamp: WINDOW_END, page_size: 100 },
			adminToken,
		);
		const expected = newestFirst([...alice.rows, ...bob.rows]);
		expect(data.total).toBe(ALICE_TASKS + BOB_TASKS);
		for (const item of data.items) expectItemShape(item, true);
		expect(Object.keys(data.items[0]).sort()).toEqual([...USER_ITEM_KEYS, "user_id", "channel_id"].sort());
		expect(data.items).toEqual(expected.map((row) => adminItems.get(row.publicId)));
		expect(new Set(data.items.map((item) => item.user_id))).toEqual(new Set([alice.id, bob.id]));
		// A task that has not reached a channel yet shows channel 0, as a number.
		const notStarted = data.items.find((item) => item.status === "NOT_START");
		expect(notStarted?.channel_id).toBe(0);
	});

	it("the unfiltered total is every task written; pages by number are in insert order, newest first", async () => {
		const data = await listOk(ALL, { page_size: 100 }, adminToken);
		const rows = await allRows();
		expect(data.total).toBe(rows.length);
		const counter = await env.DB.prepare("SELECT value FROM counters WHERE name = 'tasks'").first<{ value: number }>();
		expect(counter?.value).toBe(rows.length);
		// insertTask numbers every task 1, 2, 3... (task_seq); Bob's fixture tasks were written
		// after Alice's, so they come first although their submit times interleave with hers.
		const byInsert = [...rows].sort((a, b) => (b.taskSeq ?? 0) - (a.taskSeq ?? 0));
		expect(byInsert.map((row) => row.taskSeq)).toEqual(rows.map((_, i) => rows.length - i));
		expect(ids(data.items)).toEqual(publicIds(byInsert.slice(0, 100)));
	});

	it("also answers at /api/mj without the trailing slash", async () => {
		const withSlash = await listOk(ALL, { page_size: 5 }, adminToken);
		const response = await call("/api/mj?page_size=5", { token: adminToken });
		expect(response.status).toBe(200);
		expect((await json<{ data: ListData }>(response)).data).toEqual(withSlash);
	});
});

describe("pages by p and page_size", () => {
	it("p=2 continues p=1 with no overlap, and the last page is short", async () => {
		const one = await listOk(SELF, { p: 1 }, alice.token);
		const two = await listOk(SELF, { p: 2 }, alice.token);
		expect(two).toMatchObject({ total: ALICE_TASKS, page: 2, page_size: 20, next_cursor: null });
		expect(ids(two.items)).toEqual(publicIds(alice.rows.slice(20)));
		expect(ids(one.items).filter((id) => ids(two.items).includes(id))).toEqual([]);
	});

	it("any page_size pages through every task once, newest first", async () => {
		const seen: string[] = [];
		for (let p = 1; p <= 4; p++) {
			const data = await listOk(SELF, { p, page_size: 7 }, alice.token);
			expect(data).toMatchObject({ total: ALICE_TASKS, page: p, page_size: 7 });
			expect(data.items).toHaveLength(p < 4 ? 7 : 4);
			seen.push(...ids(data.items));
		}
		expect(seen).toEqual(publicIds(alice.rows));
	});

	it("a page that ends exactly at the last task has no next_cursor", async () => {
		const data = await listOk(SELF, { p: 5, page_size: 5 }, alice.token);
		expect(ids(data.items)).toEqual(publicIds(alice.rows.slice(20, 25)));
		expect(data.next_cursor).toBeNull();
	});

	it("page_size=1 and the documented maximum 100", async () => {
		const oldest = await listOk(SELF, { p: ALICE_TASKS, page_size: 1 }, alice.token);
		expect(ids(oldest.items)).toEqual([alice.rows[ALICE_TASKS - 1].publicId]);
		const all = await listOk(SELF, { page_size: 100 }, alice.token);
		expect(all.page_size).toBe(100);
		expect(all.items).toHaveLength(ALICE_TASKS);
	});

	it.each([
		{ name: "/api/mj/self", path: SELF, params: (): Params => ({}) },
		{ name: "/api/mj/self with a time range", path: SELF, params: (): Params => ({ start_timestamp: sec(5) }) },
		{ name: "/api/mj/ with a channel", path: ALL, params: (): Params => ({ channel_id: east }) },
		{ name: "/api/mj/", path: ALL, params: (): Params => ({}) },
	])("p beyond the end of $name: no items, the right total", async ({ path, params }) => {
		const token = path === SELF ? alice.token : adminToken;
		const rows = path === SELF ? alice.rows : await allRows();
		const f: Filter = {
			start: params().start_timestamp as number | undefined,
			channelId: params().channel_id as number | undefined,
		};
		const total = rows.filter((row) => matches(row, f)).length;
		expect(total).toBeGreaterThan(0);
		for (const p of [50, 1_000_000]) {
			const data = await listOk(path, { ...params(), p, page_size: 10 }, token);
			expect(data).toEqual({ items: [], total, page: p, page_size: 10, next_cursor: null });
		}
	});

	it("with a filter, pages follow the filtered order (20 tasks in pages of 6)", async () => {
		const f = { start: sec(2), end: sec(21) };
		const expected = alice.rows.filter((row) => matches(row, f));
		expect(expected).toHaveLength(20);
		const seen: string[] = [];
		for (let p = 1; p <= 4; p++) {
			const data = await listOk(SELF, { ...paramsOf(f), p, page_size: 6 }, alice.token);
			expect(data.total).toBe(20);
			expect(data.items).toHaveLength(p < 4 ? 6 : 2);
			seen.push(...ids(data.items));
		}
		expect(seen).toEqual(publicIds(expected));
	});

	it("the admin's p=2 continues p=1, ties in submit time ordered by id", async () => {
		const window = { start_timestamp: WINDOW_START, end_timestamp: WINDOW_END, page_size: 10 };
		const expected = newestFirst([...alice.rows, ...bob.rows]);
		const one = await listOk(ALL, { ...window, p: 1 }, adminToken);
		const two = await listOk(ALL, { ...window, p: 2 }, adminToken);
		expect(ids(one.items)).toEqual(publicIds(expected.slice(0, 10)));
		expect(ids(two.items)).toEqual(publicIds(expected.slice(10, 20)));
	});
});

describe("cursor / next_cursor", () => {
	it("following next_cursor returns every task exactly once, in order; the last page has next_cursor null", async () => {
		const { pages, items } = await walkCursor(SELF, { page_size: 4 }, alice.token);
		expect(pages).toHaveLength(7);
		expect(ids(items)).toEqual(publicIds(alice.rows));
		expect(pages.at(-1)?.next_cursor).toBeNull();
		expect(pages.at(-1)?.items).toHaveLength(1);
		for (const page of pages) expect(page.total).toBe(ALICE_TASKS);
	});

	it("a page size that divides the total ends without an empty page", async () => {
		const { pages, items } = await walkCursor(SELF, { page_size: 5 }, alice.token);
		expect(pages).toHaveLength(5);
		expect(ids(items)).toEqual(publicIds(alice.rows));
	});

	it("works with a time filter: the range, in order, once", async () => {
		const f = { start: sec(3), end: sec(16) };
		const expected = alice.rows.filter((row) => matches(row, f));
		const { pages, items } = await walkCursor(SELF, { ...paramsOf(f), page_size: 3 }, alice.token);
		expect(ids(items)).toEqual(publicIds(expected));
		expect(pages).toHaveLength(Math.ceil(expected.length / 3));
		for (const page of pages) expect(page.total).toBe(expected.length);
	});

	it("walks the admin's list one task at a time through tied submit times", async () => {
		const expected = newestFirst([...alice.rows, ...bob.rows]);
		const { items } = await walkCursor(
			ALL,
			{ start_timestamp: WINDOW_START, end_timestamp: WINDOW_END, page_size: 1 },
			adminToken,
		);
		expect(ids(items)).toEqual(publicIds(expected));
	});

	it("walks the admin's list with a channel filter", async () => {
		const expected = newestFirst([...alice.rows, ...bob.rows]).filter((row) => row.channelId === west);
		const { items } = await walkCursor(ALL, { channel_id: west, page_size: 2 }, adminToken);
		expect(ids(items)).toEqual(publicIds(expected));
		for (const item of items) expect(item.channel_id).toBe(west);
	});

	it("the cursor continues the list it came from, not the page number", async () => {
		const one = await listOk(SELF, { page_size: 6 }, alice.token);
		const next = await listOk(SELF, { page_size: 6, cursor: one.next_cursor as string, p: 1 }, alice.token);
		expect(ids(next.items)).toEqual(publicIds(alice.rows.slice(6, 12)));
		// A page reached by p hands out a cursor too, filtered or not.
		const two = await listOk(SELF, { page_size: 6, p: 2 }, alice.token);
		const three = await listOk(SELF, { page_size: 6, cursor: two.next_cursor as string }, alice.token);
		expect(ids(three.items)).toEqual(publicIds(alice.rows.slice(12, 18)));
		const range = { start_timestamp: sec(1), end_timestamp: sec(22) };
		const inRange = alice.rows.filter((row) => matches(row, { start: sec(1), end: sec(22) }));
		const twoInRange = await listOk(SELF, { ...range, page_size: 6, p: 2 }, alice.token);
		const threeInRange = await listOk(
			SELF,
			{ ...range, page_size: 6, cursor: twoInRange.next_cursor as string },
			alice.token,
		);
		expect(ids(threeInRange.items)).toEqual(publicIds(inRange.slice(12, 18)));
	});
});

describe("tasks submitted through the API, even at once, list in one order whichever way is asked", () => {
	it("p (a seek on user_seq), a time filter (tasks_user_time) and the cursor agree, newest first", async () => {
		const sub = uniqueSub("s001-erin");
		const token = await tokenFor(sub);
		const submitted = await Promise.all(Array.from({ length: 5 }, (_, i) => imagine(token, `erin prompt ${i}`)));
		const rows = await Promise.all(submitted.map((id) => taskRow(id)));
		// Each submit got its own place: user_seq 1..5 and strictly increasing submit times in that order.
		const bySeq = [...rows].sort((a, b) => a.userSeq - b.userSeq);
		expect(bySeq.map((row) => row.userSeq)).toEqual([1, 2, 3, 4, 5]);
		for (let i = 1; i < bySeq.length; i++) expect(bySeq[i].submitTime).toBeGreaterThan(bySeq[i - 1].submitTime);
		const expected = publicIds([...bySeq].reverse());

		const byPage = await listOk(SELF, { page_size: 100 }, token);
		expect(byPage.total).toBe(5);
		expect(ids(byPage.items)).toEqual(expected);
		const byTime = await listOk(SELF, { start_timestamp: 0, page_size: 100 }, token);
		expect(byTime.total).toBe(5);
		expect(ids(byTime.items)).toEqual(expected);
		const pages: string[] = [];
		for (let p = 1; p <= 3; p++) pages.push(...ids((await listOk(SELF, { p, page_size: 2 }, token)).items));
		expect(pages).toEqual(expected);
		expect(ids((await walkCursor(SELF, { page_size: 2 }, token)).items)).toEqual(expected);

		await Promise.all(submitted.map((id) => waitForSettled(token, id)));
	});
});

describe("read-your-writes through the D1 bookmark", () => {
	it("the bookmark from a submit, sent back, lists the new task", async () => {
		const sub = uniqueSub("s001-dave");
		const token = await tokenFor(sub);
		const submitted = await call("/api/v1/trigger/submit", {
			method: "POST",
			token,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ action: "IMAGINE", prompt: "a lighthouse at dusk" }),
		});
		const body = await json<{ code: number; result: string }>(submitted);
		expect(submitted.status, JSON.stringify(body)).toBe(200);
		const bookmark = submitted.headers.get("x-d1-bookmark");
		expect(bookmark).toMatch(BOOKMARK);

		const response = await call(SELF, { token, headers: { "x-d1-bookmark": bookmark as string } });
		const listed = await json<{ data: ListData }>(response);
		expect(response.status).toBe(200);
		expect(ids(listed.data.items)).toEqual([body.result]);
		expect(listed.data.total).toBe(1);
		// The list's own bookmark is at least as new as the one it was given.
		const after = response.headers.get("x-d1-bookmark");
		expect(after).toMatch(BOOKMARK);
		expect((after as string) >= (bookmark as string)).toBe(true);

		const settled = await waitForSettled(token, body.result);
		// A fetch answered from the isolate (a settled task, no query) hands the bookmark it was
		// given straight back, so a client's chain of bookmarks never breaks or goes backwards.
		await waitFor(async () => (await taskRow(settled._id)).imageKey, 10_000, "the image key in D1");
		const sent = (await call("/api/mj/self?page_size=1", { token })).headers.get("x-d1-bookmark") as string;
		await call(`/api/v1/task/fetch?_id=${settled._id}`, { token });
		const again = await call(`/api/v1/task/fetch?_id=${settled._id}`, {
			token,
			headers: { "x-d1-bookmark": sent },
		});
		expect(again.status).toBe(200);
		expect(again.headers.get("x-d1-bookmark")).toBe(sent);
		// A malformed bookmark is ignored, never echoed.
		const junk = await call(`/api/v1/task/fetch?_id=${settled._id}`, { token, headers: { "x-d1-bookmark": "junk" } });
		expect(junk.headers.get("x-d1-bookmark")).toBeNull();
	});

	it.each([
		["not a bookmark at all", "garbage"],
		["an old bookmark", `00000000-00000001-00000000-${"0".repeat(32)}`],
	])("%s is accepted and the list answers", async (_name, bookmark) => {
		const data = await listOk(SELF, { page_size: 3 }, alice.token, { "x-d1-bookmark": bookmark });
		expect(ids(data.items)).toEqual(publicIds(alice.rows.slice(0, 3)));
	});
});

/** No table scan and no temporary B-tree anywhere; every read of tasks goes through `index`. */
function expectServedBy(stats: D1Stats | null, index: string): asserts stats is D1Stats {
	expect(stats, "x-d1-stats header").not.toBeNull();
	const plans = (stats as D1Stats).plans;
	expect(plans.length).toBeGreaterThan(0);
	for (const plan of plans) {
		expect(plan).not.toMatch(/TEMP B-TREE/);
		// "SCAN tasks USING INDEX x" walks an index in order and stops at LIMIT; a bare SCAN reads the table.
		expect(plan).not.toMatch(/\bSCAN \w+\b(?! USING (COVERING )?INDEX)/);
	}
	const taskPlans = plans.filter((plan) => /\btasks\b/.test(plan));
	expect(taskPlans.length).toBeGreaterThan(0);
	for (const plan of taskPlans) expect(plan).toContain(index);
}

describe("each list is served by an index in the order it returns rows (D1_STATS)", () => {
	it("no x-d1-stats header unless D1_STATS is on, and never in production", async () => {
		const normal = await call(SELF, { token: alice.token });
		expect(normal.status).toBe(200);
		expect(normal.headers.get("x-d1-stats")).toBeNull();
		const production = await withStats(SELF, alice.token, { ENVIRONMENT: "production" });
		expect(production.response.status).toBe(200);
		expect(production.stats).toBeNull();
	});

	it("/api/mj/self page 1: a seek on tasks_user_seq, total from users.task_count", async () => {
		await withStats(SELF, alice.token); // the user's id is then cached, as it is for any returning user
		const { response, stats } = await withStats(withQuery(SELF, { page_size: 20 }), alice.token);
		expect(response.status).toBe(200);
		expect((await json<{ data: ListData }>(response)).data.total).toBe(ALICE_TASKS);
		expectServedBy(stats, "tasks_user_seq");
		expect(stats.plans.join("\n")).not.toMatch(/COUNT|COVERING INDEX tasks_user_time/);
		expect(stats.rowsRead).toBeLessThanOrEqual(20 + 2 + 1);
	});

	it("/api/mj/self deep by p costs what page 1 costs", async () => {
		await withStats(SELF, alice.token);
		const { stats } = await withStats(withQuery(SELF, { p: 5, page_size: 4 }), alice.token);
		expectServedBy(stats, "tasks_user_seq");
		expect(stats.rowsRead).toBeLessThanOrEqual(4 + 2 + 1);
	});

	it("/api/mj/self deep by cursor costs what page 1 costs", async () => {
		await withStats(SELF, alice.token);
		const { pages } = await walkCursor(SELF, { page_size: 4 }, alice.token);
		const { stats } = await withStats(
			withQuery(SELF, { page_size: 4, cursor: pages[4].next_cursor as string }),
			alice.token,
		);
		expectServedBy(stats, "tasks_user_time");
		expect(stats.rowsRead).toBeLessThanOrEqual(4 + 2 + 1);
	});

	it("/api/mj/self with a time range: tasks_user_time for the page and an index-only count", async () => {
		await withStats(SELF, alice.token);
		const params = { start_timestamp: sec(3), end_timestamp: sec(19), page_size: 5 };
		const { response, stats } = await withStats(withQuery(SELF, params), alice.token);
		const total = (await json<{ data: ListData }>(response)).data.total;
		expect(total).toBe(17);
		expectServedBy(stats, "tasks_user_time");
		expect(stats.plans.some((plan) => plan.includes("COVERING INDEX tasks_user_time"))).toBe(true);
		expect(stats.rowsRead).toBeLessThanOrEqual(5 + 2 + (total + 1));
	});

	it("/api/mj/ page 1: a seek on tasks_seq, total from the counters row", async () => {
		await withStats(ALL, adminToken);
		const { stats } = await withStats(withQuery(ALL, { page_size: 20 }), adminToken);
		expectServedBy(stats, "tasks_seq");
		expect(stats.plans.join("\n")).not.toMatch(/COUNT|tasks_time/);
		expect(stats.rowsRead).toBeLessThanOrEqual(20 + 2 + 1);
	});

	it("/api/mj/ deep by cursor costs what page 1 costs", async () => {
		await withStats(ALL, adminToken);
		const first = await listOk(ALL, { page_size: 4, p: 1 }, adminToken);
		let cursor = first.next_cursor as string;
		for (let i = 0; i < 4; i++)
			cursor = (await listOk(ALL, { page_size: 4, cursor }, adminToken)).next_cursor as string;
		const { stats } = await withStats(withQuery(ALL, { page_size: 4, cursor }), adminToken);
		expectServedBy(stats, "tasks_time");
		expect(stats.rowsRead).toBeLessThanOrEqual(4 + 2 + 1);
	});

	it("/api/mj/ with a time range: tasks_time and an index-only count", async () => {
		await withStats(ALL, adminToken);
		const params = { start_timestamp: sec(2), end_timestamp: sec(12), page_size: 5 };
		const { response, stats } = await withStats(withQuery(ALL, params), adminToken);
		const total = (await json<{ data: ListData }>(response)).data.total;
		expectServedBy(stats, "tasks_time");
		expect(stats.plans.some((plan) => plan.includes("COVERING INDEX tasks_time"))).toBe(true);
		expect(stats.rowsRead).toBeLessThanOrEqual(5 + 2 + (total + 1));
	});

	it("/api/mj/ with a channel: tasks_channel_time and an index-only count", async () => {
		await withStats(ALL, adminToken);
		const { response, stats } = await withStats(withQuery(ALL, { channel_id: west, page_size: 5 }), adminToken);
		const total = (await json<{ data: ListData }>(response)).data.total;
		expect(total).toBeGreaterThan(5);
		expectServedBy(stats, "tasks_channel_time");
		expect(stats.plans.some((plan) => plan.includes("COVERING INDEX tasks_channel_time"))).toBe(true);
		expect(stats.rowsRead).toBeLessThanOrEqual(5 + 2 + (total + 1));
	});

	it("/api/mj/ with a channel and a time range: still tasks_channel_time", async () => {
		await withStats(ALL, adminToken);
		const params = { channel_id: east, start_timestamp: sec(4), end_timestamp: sec(16), page_size: 3 };
		const { response, stats } = await withStats(withQuery(ALL, params), adminToken);
		const total = (await json<{ data: ListData }>(response)).data.total;
		expectServedBy(stats, "tasks_channel_time");
		expect(stats.rowsRead).toBeLessThanOrEqual(3 + 2 + (total + 1));
	});
});

describe("fixture sanity", () => {
	it("insertTask kept users.task_count and user_seq in step for the fixture users", async () => {
		for (const person of [alice, bob]) {
			const user = await env.DB.prepare("SELECT task_count FROM users WHERE id = ?")
				.bind(person.id)
				.first<{ task_count: number }>();
			expect(user?.task_count).toBe(person.rows.length);
			const seqs = (await db().select().from(tasks).where(eq(tasks.userId, person.id)).all())
				.map((row) => row.userSeq)
				.sort((a, b) => a - b);
			expect(seqs).toEqual(Array.from({ length: person.rows.length }, (_, i) => i + 1));
		}
	});
});
