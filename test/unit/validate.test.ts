import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiError } from "../../src/errors";
import { integer, parseWith, requiredInteger } from "../../src/routes/validate";

const refusal = (run: () => unknown) => {
	try {
		run();
	} catch (error) {
		if (error instanceof ApiError) return { code: error.code, message: error.message };
		throw error;
	}
	throw new Error("not refused");
};

describe("integer", () => {
	it("reads decimal digits, trimmed, and a leading minus only where the range is below zero", () => {
		expect(integer("n", 1, 100).parse("42")).toBe(42);
		expect(integer("n", 1, 100).parse(" 42 ")).toBe(42);
		expect(integer("n", -5, 5).parse("-5")).toBe(-5);
		expect(integer("n", 0, Number.MAX_SAFE_INTEGER).parse(String(Number.MAX_SAFE_INTEGER))).toBe(
			Number.MAX_SAFE_INTEGER,
		);
		expect(integer("n", 1, 100, 20).parse("")).toBe(20);
		expect(integer("n", 1, 100).parse(undefined)).toBeUndefined();
	});

	it("refuses every other spelling of a number with one message", () => {
		for (const bad of ["0x10", "1e2", "+2", "2.0", "1.5", "-0", "-1", "101", "1 2", "ten", "9007199254740993"]) {
			const result = integer("n", 0, 100).safeParse(bad);
			expect(result.success, bad).toBe(false);
			expect(result.error?.issues[0]?.message, bad).toBe("n must be an integer from 0 to 100");
		}
		expect(
			integer("index", 1, 4, undefined, "index must be 1, 2, 3 or 4").safeParse("5").error?.issues[0]?.message,
		).toBe("index must be 1, 2, 3 or 4");
	});

	it("requiredInteger says the field is required", () => {
		expect(refusal(() => parseWith(z.object({ id: requiredInteger("id", 1, 9) }), {}))).toEqual({
			code: "BAD_REQUEST",
			message: "id is required",
		});
	});
});

describe("parseWith", () => {
	it("names the field unless the message already does", () => {
		const schema = z.object({ name: z.string().min(2, "too short"), page: integer("page", 1, 9) });
		expect(refusal(() => parseWith(schema, { name: "a" }))).toEqual({
			code: "BAD_REQUEST",
			message: "name: too short",
		});
		expect(refusal(() => parseWith(schema, { name: "ab", page: "0" }))).toEqual({
			code: "BAD_REQUEST",
			message: "page must be an integer from 1 to 9",
		});
	});
});
