import { afterEach, describe, expect, it, vi } from "vitest";
import { logError, redact } from "../../src/log";

afterEach(() => vi.restoreAllMocks());

describe("the logging point redacts secrets", () => {
	it("drops drizzle's query parameters, tokens, keys, webhook secrets and URL queries", () => {
		const text = redact(
			[
				'Failed query: insert into "channels" ("name", "secret") values (?, ?)\nparams: main,the-channel-secret',
				"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl",
				'{"mj-api-secret":"s3cr3t-value"}',
				"key mjk_AbCdEf0123456789 and whsec_c2VjcmV0c2VjcmV0",
				"GET https://cdn.example/img.png?X-Amz-Signature=abc&token=def failed",
			].join("\n"),
		);
		for (const secret of [
			"the-channel-secret",
			"eyJhbGciOiJIUzI1NiJ9",
			"s3cr3t-value",
			"AbCdEf0123456789",
			"c2VjcmV0c2VjcmV0",
			"X-Amz-Signature",
			"token=def",
		]) {
			expect(text, secret).not.toContain(secret);
		}
		expect(text).toContain("https://cdn.example/img.png?[redacted]");
		expect(text).toContain("params: [redacted]");
	});

	it("drops a Discord user token, bare or in a gateway payload", () => {
		const token = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789ab";
		const text = redact(
			`identify failed {"op":2,"d":{"token":"my-plain-token"}} with ${token} and Authorization: ${token}`,
		);
		expect(text).not.toContain("my-plain-token");
		expect(text).not.toContain("GaBcDe.aBcDeFgHiJkLmNoPqRsTuVwXyZ");
		expect(text).toContain("identify failed");
	});

	it("logError redacts errors and their causes, keeping what helps", () => {
		const log = vi.spyOn(console, "error").mockImplementation(() => {});
		const cause = new Error("D1_ERROR: UNIQUE constraint failed\nparams: x,hunter2");
		logError("unhandled error", new Error("Failed query: update channels", { cause }));
		const line = String(log.mock.calls[0]?.[0]);
		expect(line).toContain("UNIQUE constraint failed");
		expect(line).not.toContain("hunter2");
	});
});
