/** The key format and its hash: what the api_keys table stores and what a request is looked up by. */
import { describe, expect, it } from "vitest";
import { API_KEY_PREFIX, generateApiKey, hashApiKey, isApiKey, KEY_PREFIX_LENGTH } from "../../src/auth/api-keys";
import { defaultDeps } from "../../src/deps";

const { randomBytes } = defaultDeps();

describe("API keys", () => {
	it("are mjk_ and 32 random bytes in base64url, each one different", () => {
		const keys = Array.from({ length: 200 }, () => generateApiKey(randomBytes));
		for (const key of keys) expect(key).toMatch(/^mjk_[A-Za-z0-9_-]{43}$/);
		expect(new Set(keys).size).toBe(keys.length);
		expect(new Set(keys.map((k) => k.slice(0, KEY_PREFIX_LENGTH))).size).toBe(keys.length);
	});

	it("take their 32 bytes from the injected generator, nothing else", () => {
		const asked: number[] = [];
		const key = generateApiKey((length) => {
			asked.push(length);
			return new Uint8Array(length).fill(0xff);
		});
		expect(asked).toEqual([32]);
		expect(key).toBe(`mjk_${"_".repeat(42)}8`);
	});

	it("are hashed with SHA-256, as lowercase hex", async () => {
		// FIPS 180-2's test vector for "abc".
		expect(await hashApiKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
		const key = generateApiKey(randomBytes);
		expect(await hashApiKey(key)).toBe(await hashApiKey(key));
		expect(await hashApiKey(key)).not.toBe(await hashApiKey(generateApiKey(randomBytes)));
	});

	it("are told from JWTs by their prefix alone", () => {
		expect(isApiKey(generateApiKey(randomBytes))).toBe(true);
		expect(isApiKey(`${API_KEY_PREFIX}anything`)).toBe(true);
		expect(isApiKey("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig")).toBe(false);
		expect(isApiKey("MJK_uppercase")).toBe(false);
	});
});
