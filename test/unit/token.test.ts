import { describe, expect, it, vi } from "vitest";
import { signToken, verifyToken } from "../../src/auth/token";

const SECRET = "unit-test-secret-0123456789abcdef0123";

describe("verifyToken", () => {
	it("a token verified once stays valid only until its exp", async () => {
		const token = await signToken({ sub: "u-exp", role: "user" }, SECRET, "2s");
		expect(await verifyToken(token, SECRET)).toEqual({ sub: "u-exp", role: "user" });
		// The second call is answered from the cache, which still honours exp.
		expect(await verifyToken(token, SECRET)).toEqual({ sub: "u-exp", role: "user" });
		vi.useFakeTimers();
		try {
			vi.setSystemTime(Date.now() + 5_000);
			await expect(verifyToken(token, SECRET)).rejects.toThrow("token expired");
		} finally {
			vi.useRealTimers();
		}
	});

	it("a cached token is not valid under another secret", async () => {
		const token = await signToken({ sub: "u-secret", role: "admin" }, SECRET);
		await verifyToken(token, SECRET);
		await expect(verifyToken(token, `${SECRET}-rotated`)).rejects.toThrow("token signature is invalid");
	});
});
