import { SignJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import { signToken, type TokenSettings, verifyToken } from "../../src/auth/token";
import { parseDuration } from "../../src/config";

const SECRET = "unit-test-secret-0123456789abcdef0123";
/** The defaults of wrangler.toml. */
const DEFAULTS: TokenSettings = { JWT_SECRET: SECRET, JWT_ISSUER: "", JWT_AUDIENCE: "", JWT_MAX_LIFETIME: "30d" };

const now = () => Math.floor(Date.now() / 1000);

/** A token with exactly the given time claims (iat omitted when undefined). */
async function tokenWith(times: { iat?: number; exp: number }, extra: Record<string, string> = {}): Promise<string> {
	const jwt = new SignJWT({ role: "user", ...extra })
		.setProtectedHeader({ alg: "HS256" })
		.setSubject(`u-${crypto.randomUUID()}`)
		.setExpirationTime(times.exp);
	if (times.iat !== undefined) jwt.setIssuedAt(times.iat);
	return jwt.sign(new TextEncoder().encode(SECRET));
}

describe("verifyToken", () => {
	it("a token verified once stays valid only until its exp", async () => {
		const token = await signToken({ sub: "u-exp", role: "user" }, SECRET, "2s");
		expect(await verifyToken(token, DEFAULTS, Date.now())).toEqual({
			sub: "u-exp",
			role: "user",
			issuedAt: expect.any(Number),
		});
		// The second call is answered from the cache, which still honours exp.
		expect(await verifyToken(token, DEFAULTS, Date.now())).toEqual({
			sub: "u-exp",
			role: "user",
			issuedAt: expect.any(Number),
		});
		await expect(verifyToken(token, DEFAULTS, Date.now() + 5_000)).rejects.toThrow("token expired");
	});

	it("a cached token is not valid under another secret", async () => {
		const token = await signToken({ sub: "u-secret", role: "admin" }, SECRET);
		await verifyToken(token, DEFAULTS, Date.now());
		await expect(verifyToken(token, { ...DEFAULTS, JWT_SECRET: `${SECRET}-rotated` }, Date.now())).rejects.toThrow(
			"token signature is invalid",
		);
	});
});

describe("JWT_MAX_LIFETIME", () => {
	it("the default 30d admits what `npm run token` and signToken make by default (30d)", async () => {
		const token = await signToken({ sub: "u-30d", role: "user" }, SECRET);
		expect(await verifyToken(token, DEFAULTS, Date.now())).toEqual({
			sub: "u-30d",
			role: "user",
			issuedAt: expect.any(Number),
		});
	});

	it("refuses a token whose exp - iat is over the maximum, by one second", async () => {
		const iat = now();
		const fits = await tokenWith({ iat, exp: iat + 30 * 86_400 });
		await expect(verifyToken(fits, DEFAULTS, Date.now())).resolves.toMatchObject({ role: "user" });
		const over = await tokenWith({ iat, exp: iat + 30 * 86_400 + 1 });
		await expect(verifyToken(over, DEFAULTS, Date.now())).rejects.toThrow("token lifetime exceeds the maximum of 30d");
		const tenYears = await signToken({ sub: "u-10y", role: "admin" }, SECRET, "3650d");
		await expect(verifyToken(tenYears, DEFAULTS, Date.now())).rejects.toThrow(
			"token lifetime exceeds the maximum of 30d",
		);
		await expect(verifyToken(tenYears, { ...DEFAULTS, JWT_MAX_LIFETIME: "3650d" }, Date.now())).resolves.toMatchObject({
			role: "admin",
		});
	});

	it("refuses a token without iat while a maximum is set, and accepts it when the maximum is empty", async () => {
		const token = await tokenWith({ exp: now() + 3600 });
		await expect(verifyToken(token, DEFAULTS, Date.now())).rejects.toThrow(
			"token lifetime exceeds the maximum of 30d: the token has no iat",
		);
		await expect(verifyToken(token, { ...DEFAULTS, JWT_MAX_LIFETIME: "" }, Date.now())).resolves.toMatchObject({
			role: "user",
		});
	});

	it("counts from now when iat is in the future, so a post-dated iat cannot stretch the window", async () => {
		const iat = now() + 365 * 86_400;
		const token = await tokenWith({ iat, exp: iat + 3600 });
		await expect(verifyToken(token, DEFAULTS, Date.now())).rejects.toThrow("token lifetime exceeds the maximum of 30d");
	});

	it("the lifetime is judged per setting, not taken from the cache of another", async () => {
		const token = await signToken({ sub: "u-cache", role: "user" }, SECRET, "2d");
		await verifyToken(token, DEFAULTS, Date.now());
		await expect(verifyToken(token, { ...DEFAULTS, JWT_MAX_LIFETIME: "1d" }, Date.now())).rejects.toThrow(
			"token lifetime exceeds the maximum of 1d",
		);
	});

	it("parses s, m, h, d, w and bare seconds, and nothing else", () => {
		expect(parseDuration("3600")).toBe(3600);
		expect(parseDuration("90s")).toBe(90);
		expect(parseDuration("15m")).toBe(900);
		expect(parseDuration("12h")).toBe(43_200);
		expect(parseDuration(" 30d ")).toBe(2_592_000);
		expect(parseDuration("2w")).toBe(1_209_600);
		for (const bad of ["", "0", "0d", "30 days", "1y", "-1d", "1.5h", "d"]) {
			expect(parseDuration(bad), bad).toBeNull();
		}
	});

	it("a value that is not a duration is logged by name and the default 30d cap holds, never no cap", async () => {
		const log = vi.spyOn(console, "error").mockImplementation(() => {});
		try {
			const broken = { ...DEFAULTS, JWT_MAX_LIFETIME: "forever-and-a-day" };
			const fits = await signToken({ sub: "u-bad-config", role: "user" }, SECRET, "1h");
			await expect(verifyToken(fits, broken, Date.now())).resolves.toMatchObject({ sub: "u-bad-config" });
			const long = await tokenWith({ iat: now(), exp: now() + 31 * 86_400 });
			await expect(verifyToken(long, broken, Date.now())).rejects.toThrow("token lifetime exceeds the maximum of 30d");
			const lines = log.mock.calls.map((args) => String(args[0]));
			expect(lines.filter((line) => line.startsWith("JWT_MAX_LIFETIME "))).toHaveLength(1);
			expect(lines.join("\n")).not.toContain("forever-and-a-day");
		} finally {
			log.mockRestore();
		}
	});
});

describe("JWT_ISSUER and JWT_AUDIENCE", () => {
	const strict: TokenSettings = { ...DEFAULTS, JWT_ISSUER: "https://auth.example.com", JWT_AUDIENCE: "mj-edge" };

	it("when set, a token must carry exactly that iss and aud", async () => {
		const good = await signToken({ sub: "u-iss", role: "user" }, SECRET, "1h", {
			issuer: "https://auth.example.com",
			audience: "mj-edge",
		});
		expect(await verifyToken(good, strict, Date.now())).toEqual({
			sub: "u-iss",
			role: "user",
			issuedAt: expect.any(Number),
		});

		const none = await signToken({ sub: "u-none", role: "user" }, SECRET, "1h");
		await expect(verifyToken(none, strict, Date.now())).rejects.toThrow("token claim invalid: iss");
		const otherIssuer = await signToken({ sub: "u-oi", role: "user" }, SECRET, "1h", {
			issuer: "https://evil.example.com",
			audience: "mj-edge",
		});
		await expect(verifyToken(otherIssuer, strict, Date.now())).rejects.toThrow("token claim invalid: iss");
		const otherAudience = await signToken({ sub: "u-oa", role: "user" }, SECRET, "1h", {
			issuer: "https://auth.example.com",
			audience: "another-service",
		});
		await expect(verifyToken(otherAudience, strict, Date.now())).rejects.toThrow("token claim invalid: aud");
		const noAudience = await signToken({ sub: "u-na", role: "user" }, SECRET, "1h", {
			issuer: "https://auth.example.com",
		});
		await expect(verifyToken(noAudience, strict, Date.now())).rejects.toThrow("token claim invalid: aud");
	});

	it("when empty, iss and aud are not checked", async () => {
		const token = await signToken({ sub: "u-any", role: "user" }, SECRET, "1h", {
			issuer: "anyone",
			audience: "anything",
		});
		expect(await verifyToken(token, DEFAULTS, Date.now())).toEqual({
			sub: "u-any",
			role: "user",
			issuedAt: expect.any(Number),
		});
	});

	it("a token cached under lax settings is checked again under strict ones", async () => {
		const token = await signToken({ sub: "u-lax", role: "user" }, SECRET, "1h");
		await verifyToken(token, DEFAULTS, Date.now());
		await expect(verifyToken(token, strict, Date.now())).rejects.toThrow("token claim invalid: iss");
	});
});
