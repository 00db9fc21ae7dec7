import { describe, expect, it } from "vitest";
import { sign, verify } from "../../src/auth/signing";

describe("signatures", () => {
	const env = { SIGNING_SECRET: "unit-test-secret" } as Env;

	it("verify accepts the signature sign made and refuses malformed ones without throwing", async () => {
		const signature = await sign(env, "image", "task-1");
		expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
		expect(await verify(env, "image", "task-1", signature)).toBe(true);
		expect(await verify(env, "upstream-callback", "task-1", signature)).toBe(false);
		expect(await verify(env, "image", "task-2", signature)).toBe(false);
		for (const bad of [undefined, "", "A", "AAAAA", `${signature}=`, "a+b/", "x".repeat(129), "é"]) {
			expect(await verify(env, "image", "task-1", bad), String(bad)).toBe(false);
		}
	});
});
