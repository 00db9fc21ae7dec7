import { beforeAll, describe, expect, it } from "vitest";
import type { TaskRow } from "../../src/db/schema";
import { ALL, listOk, SELF, seconds } from "../helpers/seed001";
import {
	ALICE_TASKS,
	adminToken,
	alice,
	allRows,
	bob,
	east,
	type Filter,
	ids,
	matches,
	paramsOf,
	publicIds,
	sec,
	WINDOW_END,
	west,
	writeFixture,
} from "../helpers/seed001-fixture";

beforeAll(writeFixture);

/** Filters for the user list, each built from the fixture once it exists. */
const SELF_FILTERS: { name: string; filter: () => Filter }[] = [
	{ name: "mj_id alone", filter: () => ({ mjId: alice.rows[7].publicId }) },
	{ name: "mj_id of no task", filter: () => ({ mjId: crypto.randomUUID() }) },
	{ name: "start_timestamp alone", filter: () => ({ start: sec(10) }) },
	{ name: "end_timestamp alone (its own second included)", filter: () => ({ end: sec(4) }) },
	{ name: "both timestamps", filter: () => ({ start: sec(5), end: sec(9) }) },
	{ name: "start = end, one second", filter: () => ({ start: sec(12), end: sec(12) }) },
	{ name: "a range before every task", filter: () => ({ end: sec(0) - 1 }) },
	{ name: "a range after every task", filter: () => ({ start: sec(ALICE_TASKS - 1) + 1, end: WINDOW_END }) },
	{
		name: "mj_id inside the time range",
		filter: () => ({ mjId: alice.rows[17].publicId, start: sec(5), end: sec(9) }),
	},
	{
		name: "mj_id outside the time range",
		filter: () => ({ mjId: alice.rows[17].publicId, start: sec(10), end: sec(20) }),
	},
];

/** Filters for the admin list; the window keeps API-submitted tasks out where a test needs it. */
const ADMIN_FILTERS: { name: string; filter: () => Filter }[] = [
	{ name: "channel_id alone", filter: () => ({ channelId: east }) },
	{ name: "the other channel_id alone", filter: () => ({ channelId: west }) },
	{ name: "channel_id of no task", filter: () => ({ channelId: 987_654 }) },
	{ name: "mj_id of one user's task", filter: () => ({ mjId: bob.rows[2].publicId }) },
	{ name: "start_timestamp alone", filter: () => ({ start: sec(14) }) },
	{ name: "end_timestamp alone", filter: () => ({ end: sec(3) }) },
	{ name: "both timestamps, on tied times", filter: () => ({ start: sec(3), end: sec(7) }) },
	{ name: "channel_id and a time range", filter: () => ({ channelId: west, start: sec(2), end: sec(11) }) },
	{ name: "channel_id and mj_id of a task on it", filter: () => ({ channelId: east, mjId: bob.rows[1].publicId }) },
	{ name: "channel_id and mj_id of a task elsewhere", filter: () => ({ channelId: west, mjId: bob.rows[1].publicId }) },
	{
		name: "channel_id, mj_id and time together",
		filter: () => ({ channelId: east, mjId: alice.rows[0].publicId, start: sec(20), end: sec(30) }),
	},
];

describe("filters, alone and combined: the items and the total match", () => {
	it.each(SELF_FILTERS)("/api/mj/self: $name", async ({ filter }) => {
		const f = filter();
		const expected = alice.rows.filter((row) => matches(row, f));
		const data = await listOk(SELF, { ...paramsOf(f), page_size: 100 }, alice.token);
		expect(ids(data.items)).toEqual(publicIds(expected));
		expect(data.total).toBe(expected.length);
		expect(data.next_cursor).toBeNull();
	});

	it("the fixture gives every filter something to tell apart", () => {
		for (const { name, filter } of SELF_FILTERS.filter((c) => !/no task|before|after|outside/.test(c.name))) {
			const n = alice.rows.filter((row) => matches(row, filter())).length;
			expect(n, name).toBeGreaterThan(0);
			expect(n, name).toBeLessThan(ALICE_TASKS);
		}
	});

	it("whole seconds, both ends inclusive: a task at S.5 s is inside start=S and end=S", async () => {
		const row = alice.rows.find((r) => r.prompt === "alice prompt 12") as TaskRow;
		expect(row.submitTime % 1000).toBe(500);
		const s = seconds(row.submitTime);
		for (const [start, end, found] of [
			[s, s, true],
			[s - 100, s, true],
			[s, s + 100, true],
			[s + 1, s + 100, false],
			[s - 100, s - 1, false],
		] as const) {
			const data = await listOk(SELF, { start_timestamp: start, end_timestamp: end, page_size: 100 }, alice.token);
			expect(ids(data.items).includes(row.publicId), `${start}..${end}`).toBe(found);
		}
	});

	it.each(ADMIN_FILTERS)("/api/mj/: $name", async ({ filter }) => {
		const f = filter();
		const expected = (await allRows()).filter((row) => matches(row, f));
		const data = await listOk(ALL, { ...paramsOf(f), page_size: 100 }, adminToken);
		expect(ids(data.items)).toEqual(publicIds(expected));
		expect(data.total).toBe(expected.length);
		if (f.channelId !== undefined) for (const item of data.items) expect(item.channel_id).toBe(f.channelId);
	});

	it("channel_id=0 lists the tasks not on any channel yet, as their items show channel_id 0", async () => {
		const data = await listOk(ALL, { channel_id: 0, page_size: 100 }, adminToken);
		const unassigned = (await allRows()).filter((row) => row.channelId === null);
		expect(unassigned.length).toBeGreaterThan(0);
		expect(data.total).toBe(unassigned.length);
		expect(new Set(ids(data.items))).toEqual(new Set(publicIds(unassigned)));
		for (const item of data.items) expect(item.channel_id).toBe(0);
	});

	it("the channel filters split the fixture between the two channels", async () => {
		const [e, w] = await Promise.all([
			listOk(ALL, { channel_id: east, page_size: 100 }, adminToken),
			listOk(ALL, { channel_id: west, page_size: 100 }, adminToken),
		]);
		const onChannels = [...alice.rows, ...bob.rows].filter((row) => row.channelId !== null);
		expect(e.total).toBeGreaterThan(0);
		expect(w.total).toBeGreaterThan(0);
		expect(e.total + w.total).toBe(onChannels.length);
		expect(new Set([...ids(e.items), ...ids(w.items)])).toEqual(new Set(publicIds(onChannels)));
	});
});
