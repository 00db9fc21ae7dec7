import { describe, expect, it } from "vitest";
import { okText } from "../../src/routes/envelopes";

/** What `ok` answered when it handed the envelope object to Hono's c.json. */
function asObject(surface: Parameters<typeof okText>[0], data: unknown): string | undefined {
	switch (surface) {
		case "seed001":
			return JSON.stringify({ success: true, message: "", data });
		case "album":
			return JSON.stringify({ code: 200, msg: "SUCCESS", data });
		default:
			return JSON.stringify(data);
	}
}

describe("okText (the envelope written around the data's JSON)", () => {
	const values: unknown[] = [
		{ items: [{ id: 1, prompt: 'a "quoted" \u2028 prompt 🦊', image_url: "" }], total: 1, next_cursor: null },
		[{ _id: "x", finishTime: null, submitTime: 1_700_000_000_000 }],
		[],
		"text",
		0,
		null,
		undefined,
		{ nested: { undefinedField: undefined, date: new Date(0) } },
	];
	for (const surface of ["seed001", "album", "seed002", "proxy", "plain", undefined] as const) {
		it.each(values.map((value) => [value]))(`${surface}: %j is the bytes c.json sent`, (value) => {
			expect(okText(surface, value)).toBe(asObject(surface, value));
		});
	}
});
