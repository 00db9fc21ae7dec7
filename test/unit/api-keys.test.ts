/** The key format and its hash: what the api_keys table stores and what a request is looked up by. */
import { describe, expect, it } from "vitest";
import { API_KEY_PREFIX, generateApiKey, hashApiKey, isApiKey, KEY_PREFIX_LENGTH } from "../../src/auth/api-keys";

describe("API keys", () => {
	it("are mjk_ and 32 random bytes in base64url, each one different", () => {
		const keys = Array.from({ length: 200 }, generateApiKey);
		for (const key of keys) expect(key).toMatch(/^mjk_[A-Za-z0-9_-]{43}$/);
		expect(new Set(keys).size).toBe(keys.length);
		expect(new Set(keys.map((k) => k.slice(0, KEY_PREFIX_LENGTH))).size).toBe(keys.length);
	});

	it("are hashed with SHA-256, as lowercase hex", async () => {
		// FIPS 180-2's test vector for "abc".
		expect(await hashApiKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
		const key = generateApiKey();
		expect(await hashApiKey(key)).toBe(await hashApiKey(key));
		expect(await hashApiKey(key)).not.toBe(await hashApiKey(generateApiKey()));
	});

	it("are told from JWTs by their prefix alone", () => {
		expect(isApiKey(generateApiKey())).toBe(true);
		expect(isApiKey(`${API_KEY_PREFIX}anything`)).toBe(true);
		expect(isApiKey("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig")).toBe(false);
		expect(isApiKey("MJK_uppercase")).toBe(false);
	});
});
