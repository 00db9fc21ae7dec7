import { beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/api";
import { ALL, expectFailure, type Params, SELF, withQuery } from "../helpers/seed001";
import { adminToken, alice, writeFixture } from "../helpers/seed001-fixture";

beforeAll(writeFixture);

describe("bad parameters are 400 {success: false, message}, never a 500", () => {
	const BAD: [string, Params][] = [
		["p=0", { p: 0 }],
		["p=-1", { p: -1 }],
		["p=abc", { p: "abc" }],
		["p=1.5", { p: "1.5" }],
		["p=99999999999999999999", { p: "99999999999999999999" }],
		["page_size=-1", { page_size: -1 }],
		["page_size=0", { page_size: 0 }],
		["page_size=101", { page_size: 101 }],
		["page_size=99999999999999999999", { page_size: "99999999999999999999" }],
		["page_size=abc", { page_size: "abc" }],
		["start_timestamp=abc", { start_timestamp: "abc" }],
		["start_timestamp=1640908800x", { start_timestamp: "1640908800x" }],
		["end_timestamp=abc", { end_timestamp: "abc" }],
		["end_timestamp=-5", { end_timestamp: "-5" }],
		["start_timestamp after end_timestamp", { start_timestamp: 1_640_995_200, end_timestamp: 1_640_908_800 }],
		["a cursor that is not base64", { cursor: "%%%not-base64" }],
		["a cursor that decodes to nonsense", { cursor: btoa("not-a-cursor") }],
		["a cursor with a missing part", { cursor: btoa("1640908800500") }],
	];

	it.each(BAD)("/api/mj/self with %s", async (_name, params) => {
		await expectFailure(await call(withQuery(SELF, params), { token: alice.token }), 400);
	});

	it.each(BAD)("/api/mj/ with %s", async (_name, params) => {
		await expectFailure(await call(withQuery(ALL, params), { token: adminToken }), 400);
	});

	it("/api/mj/ with channel_id=abc", async () => {
		await expectFailure(await call(withQuery(ALL, { channel_id: "abc" }), { token: adminToken }), 400);
	});

	it("the message says which parameter is wrong", async () => {
		const pageSize = await expectFailure(await call(withQuery(SELF, { page_size: 101 }), { token: alice.token }), 400);
		expect(pageSize).toMatch(/page_size/);
		const order = await expectFailure(
			await call(withQuery(SELF, { start_timestamp: 20, end_timestamp: 10 }), { token: alice.token }),
			400,
		);
		expect(order).toMatch(/start_timestamp/);
	});
});
