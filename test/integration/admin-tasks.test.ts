/**
 * GET /api/admin/tasks: seed 001's admin list with three more filters (user, status, action),
 * in the same envelope and paging, served by indexes.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, json, tokenFor, uniqueSub } from "../helpers/api";
import { insertTaskRow, userId } from "../helpers/db";

interface Page {
	items: { mj_id: string; action: string; status: string; user_id: number }[];
	total: number;
	next_cursor: string | null;
}

async function page(token: string, query: string): Promise<Page> {
	const response = await call(`/api/admin/tasks?${query}`, { token });
	const body = await json<{ success: boolean; data: Page }>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	expect(body.success).toBe(true);
	return body.data;
}

describe("the admins' filtered task list", () => {
	it("filters by user, status and action, alone and together, newest first, with totals and cursors", async () => {
		const admin = await tokenFor(uniqueSub("tasks-admin"), "admin");
		const alice = uniqueSub("alice");
		const bob = uniqueSub("bob");
		const [a, b] = [await userId(alice), await userId(bob)];
		const now = Date.now();
		// Rows as insertTask writes them: user_seq 1, 2, 3 per user and the user's task_count.
		const rows = [
			await insertTaskRow({ userId: a, userSeq: 1, action: "IMAGINE", status: "SUCCESS", submitTime: now - 5000 }),
			await insertTaskRow({ userId: a, userSeq: 2, action: "UPSCALE", status: "FAILURE", submitTime: now - 4000 }),
			await insertTaskRow({ userId: a, userSeq: 3, action: "VIDEO", status: "SUCCESS", submitTime: now - 3000 }),
			await insertTaskRow({ userId: b, userSeq: 1, action: "IMAGINE", status: "IN_PROGRESS", submitTime: now - 2000 }),
			await insertTaskRow({ userId: b, userSeq: 2, action: "VIDEO", status: "SUCCESS", submitTime: now - 1000 }),
		];
		await env.DB.prepare("UPDATE users SET task_count = CASE id WHEN ? THEN 3 ELSE 2 END WHERE id IN (?, ?)")
			.bind(a, a, b)
			.run();
		const ids = (p: Page) => p.items.map((item) => item.mj_id);

		const alices = await page(admin, `user=${alice}`);
		expect(ids(alices)).toEqual([rows[2], rows[1], rows[0]].map((r) => r.publicId));
		expect(alices.total).toBe(3);
		const videos = await page(admin, `action=VIDEO&start_timestamp=${Math.floor((now - 10_000) / 1000)}`);
		expect(ids(videos)).toEqual([rows[4], rows[2]].map((r) => r.publicId));
		const aliceSuccess = await page(admin, `user=${alice}&status=SUCCESS`);
		expect(ids(aliceSuccess)).toEqual([rows[2], rows[0]].map((r) => r.publicId));
		expect(aliceSuccess.total).toBe(2);
		const first = await page(admin, `user=${alice}&page_size=1`);
		expect(ids(first)).toEqual([rows[2].publicId]);
		const second = await page(admin, `user=${alice}&page_size=1&cursor=${first.next_cursor}`);
		expect(ids(second)).toEqual([rows[1].publicId]);
		expect((await page(admin, `user=${uniqueSub("nobody")}`)).items).toEqual([]);
	});

	it("refuses unknown statuses and actions, and non-admins, in the new-api envelope", async () => {
		const admin = await tokenFor(uniqueSub("tasks-admin"), "admin");
		for (const query of ["status=DONE", "action=PAINT", "page_size=0x10", "start_timestamp=2&end_timestamp=1"]) {
			const response = await call(`/api/admin/tasks?${query}`, { token: admin });
			expect(response.status, query).toBe(400);
			expect(await json(response)).toMatchObject({ success: false, message: expect.any(String) });
		}
		const user = await tokenFor(uniqueSub("plain"));
		expect((await call("/api/admin/tasks", { token: user })).status).toBe(403);
	});
});
