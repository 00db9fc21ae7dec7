import { beforeAll, describe, expect, it } from "vitest";
import { ALL, listOk, type Params, SELF } from "../helpers/seed001";
import {
	ALICE_TASKS,
	adminToken,
	alice,
	at,
	BOB_TASKS,
	bob,
	east,
	ids,
	publicIds,
	sec,
	WINDOW_END,
	WINDOW_START,
	writeFixture,
} from "../helpers/seed001-fixture";

beforeAll(writeFixture);

describe("user isolation", () => {
	it("a user lists only their own tasks, even when another user's share the same times", async () => {
		const a = await listOk(SELF, { page_size: 100 }, alice.token);
		const b = await listOk(SELF, { page_size: 100 }, bob.token);
		expect(ids(a.items)).toEqual(publicIds(alice.rows));
		expect(ids(b.items)).toEqual(publicIds(bob.rows));
		expect(b.total).toBe(BOB_TASKS);
		const windowed = await listOk(SELF, { start_timestamp: sec(1), end_timestamp: sec(1) }, bob.token);
		expect(ids(windowed.items)).toEqual(publicIds(bob.rows.filter((row) => row.submitTime === at(1))));
	});

	it("another user's mj_id answers like no task: empty items, total 0", async () => {
		const target = bob.rows[3];
		for (const params of [
			{ mj_id: target.publicId } as Params,
			{ mj_id: target.publicId, start_timestamp: WINDOW_START, end_timestamp: WINDOW_END },
		]) {
			const data = await listOk(SELF, params, alice.token);
			expect(data).toEqual({ items: [], total: 0, page: 1, page_size: 20, next_cursor: null });
		}
		// Bob himself does find it.
		expect(ids((await listOk(SELF, { mj_id: target.publicId }, bob.token)).items)).toEqual([target.publicId]);
	});

	it("channel_id does not widen or narrow a user's own list", async () => {
		const data = await listOk(SELF, { channel_id: east, page_size: 100 }, alice.token);
		expect(ids(data.items)).toEqual(publicIds(alice.rows));
		expect(data.total).toBe(ALICE_TASKS);
		expect(data.items[0]).not.toHaveProperty("channel_id");
	});

	it("another user's cursor only moves the position: the list is still the caller's own", async () => {
		const fromAlice = await listOk(SELF, { page_size: 3 }, alice.token);
		const data = await listOk(SELF, { page_size: 100, cursor: fromAlice.next_cursor as string }, bob.token);
		const last = alice.rows[2];
		const expected = bob.rows.filter(
			(row) => row.submitTime < last.submitTime || (row.submitTime === last.submitTime && row.id < last.id),
		);
		expect(ids(data.items)).toEqual(publicIds(expected));
	});

	it("an admin's /api/mj/self is their own tasks, not everyone's", async () => {
		const data = await listOk(SELF, {}, adminToken);
		expect(data).toEqual({ items: [], total: 0, page: 1, page_size: 20, next_cursor: null });
	});
});

describe("/api/mj/ is for admins", () => {
	// A user's token on /api/mj/ is a 403: auth-matrix.test.ts.
	it("the admin sees several users' tasks, each with its user_id", async () => {
		const data = await listOk(
			ALL,
			{ start_timestamp: WINDOW_START, end_timestamp: WINDOW_END, page_size: 100 },
			adminToken,
		);
		const owner = new Map([...alice.rows, ...bob.rows].map((row) => [row.publicId, row.userId]));
		for (const item of data.items) expect(item.user_id).toBe(owner.get(item.mj_id));
		expect(data.items.filter((item) => item.user_id === bob.id)).toHaveLength(BOB_TASKS);
		expect(data.items.filter((item) => item.user_id === alice.id)).toHaveLength(ALICE_TASKS);
	});
});
