/**
 * Helpers for the seed-001 surface tests (new-api's Midjourney module, GET /api/mj/self and
 * GET /api/mj/): listing through the Worker, the envelope checks, the cursor walk, a
 * reference ordering, and calls with D1 statistics switched on.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { createApp } from "../../src/app";
import type { D1Stats } from "../../src/db/instrument";
import type { TaskRow } from "../../src/db/schema";
import type { Seed001Item } from "../../src/tasks/views/seed001";
import { BASE, call, json } from "./api";

export type { Seed001Item };

/** The fifteen fields of a user's item, in the seed's order. */
export const USER_ITEM_KEYS = [
	"id",
	"mj_id",
	"action",
	"prompt",
	"prompt_en",
	"status",
	"progress",
	"image_url",
	"video_url",
	"video_urls",
	"submit_time",
	"start_time",
	"finish_time",
	"fail_reason",
	"quota",
] as const;

/** "All the fields of the user's own tasks, plus user_id and channel_id." */
export const ADMIN_ITEM_KEYS = [...USER_ITEM_KEYS, "user_id", "channel_id"] as const;

export const NUMBER_KEYS = new Set([
	"id",
	"submit_time",
	"start_time",
	"finish_time",
	"quota",
	"user_id",
	"channel_id",
]);

export interface ListData {
	items: Seed001Item[];
	total: number;
	page: number;
	page_size: number;
	next_cursor: string | null;
}

export type Params = Record<string, string | number>;

export const SELF = "/api/mj/self";
/** The admin path exactly as the document writes it, trailing slash included. */
export const ALL = "/api/mj/";

export function withQuery(path: string, params: Params = {}): string {
	const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
	return query ? `${path}?${query}` : path;
}

/** Lists and asserts the seed's success envelope exactly; returns `data`. */
export async function listOk(path: string, params: Params, token: string, headers?: HeadersInit): Promise<ListData> {
	const response = await call(withQuery(path, params), { token, headers });
	const body = await json<{ success: boolean; message: string; data: ListData }>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	expect(Object.keys(body).sort()).toEqual(["data", "message", "success"]);
	expect(body.success).toBe(true);
	expect(body.message).toBe("");
	expect(Object.keys(body.data).sort()).toEqual(["items", "next_cursor", "page", "page_size", "total"]);
	expect(Array.isArray(body.data.items)).toBe(true);
	expect(body.data.total).toBeTypeOf("number");
	expect(body.data.next_cursor === null || typeof body.data.next_cursor === "string").toBe(true);
	return body.data;
}

/** Asserts `{success: false, message}` with a non-empty reason and the status; returns the reason. */
export async function expectFailure(response: Response, status: number): Promise<string> {
	const text = await response.text();
	expect(response.status, text).toBe(status);
	const body = JSON.parse(text) as { success: boolean; message: string };
	expect(Object.keys(body).sort()).toEqual(["message", "success"]);
	expect(body.success).toBe(false);
	expect(body.message).toBeTypeOf("string");
	expect(body.message.length).toBeGreaterThan(0);
	return body.message;
}

/**
 * Follows next_cursor from the first page to the end. Every page must carry the same total,
 * and no page but the last may be short or end without a cursor.
 */
export async function walkCursor(
	path: string,
	params: Params,
	token: string,
): Promise<{ pages: ListData[]; items: Seed001Item[] }> {
	const pages: ListData[] = [];
	let cursor: string | null = null;
	for (let guard = 0; guard < 500; guard++) {
		const page = await listOk(path, cursor ? { ...params, cursor } : params, token);
		pages.push(page);
		if (pages.length > 1) expect(page.total).toBe(pages[0].total);
		cursor = page.next_cursor;
		if (cursor === null) return { pages, items: pages.flatMap((p) => p.items) };
		expect(page.items.length, "a page with a next_cursor is full").toBe(page.page_size);
	}
	throw new Error("the cursor never ended");
}

/** Newest first: submit time, then id, both descending (the order the seed's lists show). */
export function newestFirst(rows: TaskRow[]): TaskRow[] {
	return [...rows].sort((a, b) => b.submitTime - a.submitTime || b.id - a.id);
}

export const seconds = (ms: number | null): number => (ms ? Math.floor(ms / 1000) : 0);

/** The gateway's signed link to a task's image copy. */
export function imageLink(publicId: string): RegExp {
	return new RegExp(`^${BASE.replace(/\./g, "\\.")}/mj/image/${publicId}\\?sig=[\\w-]+$`);
}

/** Exact key set and the seed's types: numbers for ids, times and quota, strings for the rest. */
export function expectItemShape(item: Seed001Item, admin: boolean): void {
	const keys = admin ? ADMIN_ITEM_KEYS : USER_ITEM_KEYS;
	expect(Object.keys(item).sort()).toEqual([...keys].sort());
	for (const key of keys) {
		const value = (item as unknown as Record<string, unknown>)[key];
		if (NUMBER_KEYS.has(key)) {
			expect(value, key).toBeTypeOf("number");
			expect(Number.isInteger(value), key).toBe(true);
		} else {
			expect(value, key).toBeTypeOf("string");
		}
	}
	// Seconds, not milliseconds: anything past the year 5138 would be a millisecond value.
	for (const key of ["submit_time", "start_time", "finish_time"] as const) expect(item[key]).toBeLessThan(1e11);
	expect(Array.isArray(JSON.parse(item.video_urls))).toBe(true);
}

/**
 * A request straight into a fresh app with D1_STATS on; returns the response and its statistics.
 * A GET, or a POST of `body` as JSON when one is given.
 */
export async function withStats(
	path: string,
	token: string,
	envOverrides: Partial<Env> = {},
	body?: unknown,
): Promise<{ response: Response; stats: D1Stats | null }> {
	const headers: Record<string, string> = { authorization: `Bearer ${token}` };
	const init: RequestInit =
		body === undefined
			? { headers }
			: { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) };
	const response = await createApp().fetch(
		new Request(`${BASE}${path}`, init),
		{ ...env, D1_STATS: "true", ...envOverrides },
		createExecutionContext(),
	);
	const header = response.headers.get("x-d1-stats");
	return { response, stats: header ? (JSON.parse(header) as D1Stats) : null };
}
