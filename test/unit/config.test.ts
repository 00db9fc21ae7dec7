import { afterEach, describe, expect, it, vi } from "vitest";
import { config, DEFAULT_ACTION_PRICES } from "../../src/config";

afterEach(() => vi.restoreAllMocks());

describe("config", () => {
	it("reads every var", () => {
		const settings = config({
			ENVIRONMENT: "development",
			PUBLIC_BASE_URL: "https://mj.example.com//",
			SIMULATOR_URL: "http://mj-simulator.internal/ignored/path",
			TASK_TIMEOUT_MINUTES: "1.5",
			NEW_USER_QUOTA: "1000",
			ACTION_PRICES: '{"imagine": 7, "DESCRIBE": 0}',
			CORS_ORIGINS: " https://a.example.com , https://b.example.com ",
			D1_STATS: "true",
			USER_CONCURRENCY: "5",
			USER_QUEUE_LIMIT: "50",
			BANNED_WORDS: " Nude , gore,, ",
			DISCORD_PACE_MS: "250",
			TRANSLATOR: "fake",
			JWT_ISSUER: " https://auth.example.com ",
			JWT_AUDIENCE: "mj-edge",
			JWT_MAX_LIFETIME: "12h",
		});
		expect(settings).toEqual({
			production: false,
			publicBaseUrl: "https://mj.example.com",
			simulatorOrigin: "http://mj-simulator.internal",
			taskTimeoutMs: 90_000,
			newUserQuota: 1000,
			actionPrices: { ...DEFAULT_ACTION_PRICES, IMAGINE: 7, DESCRIBE: 0 },
			corsOrigins: ["https://a.example.com", "https://b.example.com"],
			d1Stats: true,
			userConcurrency: 5,
			userQueueLimit: 50,
			bannedWords: ["nude", "gore"],
			discordPaceMs: 250,
			translator: "fake",
			secretsProblem: null,
			jwt: {
				issuer: "https://auth.example.com",
				audience: "mj-edge",
				maxLifetime: { seconds: 43_200, text: "12h" },
			},
		});
	});

	it("gives the defaults for unset and blank vars, and no debug header in production", () => {
		const expected = {
			production: false,
			publicBaseUrl: "",
			simulatorOrigin: null,
			taskTimeoutMs: 30 * 60_000,
			newUserQuota: 0,
			actionPrices: DEFAULT_ACTION_PRICES,
			corsOrigins: "*",
			d1Stats: false,
			userConcurrency: 3,
			userQueueLimit: 100,
			bannedWords: [],
			discordPaceMs: 800,
			translator: "workers-ai",
			secretsProblem: null,
			// Blank JWT_MAX_LIFETIME is no cap (wrangler.toml sets 30d); only a bad value falls back to 30d.
			jwt: { issuer: null, audience: null, maxLifetime: null },
		};
		expect(config({})).toEqual(expected);
		expect(config({ TASK_TIMEOUT_MINUTES: " ", NEW_USER_QUOTA: "", ACTION_PRICES: "" })).toEqual(expected);
		expect(config({ ENVIRONMENT: "production", D1_STATS: "true" })).toMatchObject({ production: true, d1Stats: false });
		// Set but empty, CORS_ORIGINS lets no browser origin in.
		expect(config({ CORS_ORIGINS: "" }).corsOrigins).toEqual([]);
	});

	it("finds production's published, short or unset secrets, and logs the reason once per set of values", () => {
		const log = vi.spyOn(console, "error").mockImplementation(() => {});
		const published = { JWT_SECRET: "unit-jwt-secret-change-me-0123456789abcdef", SIGNING_SECRET: "s".repeat(32) };
		// Outside production the same values are fine: local runs and tests use what they like.
		expect(config({ ENVIRONMENT: "development", ...published }).secretsProblem).toBeNull();
		const problem = config({ ENVIRONMENT: "production", ...published }).secretsProblem;
		expect(problem).toBe('JWT_SECRET is a published development value (it contains "change-me")');
		// A fresh env object with the same values (a new request) is not parsed, nor logged, again.
		expect(config({ ENVIRONMENT: "production", ...published }).secretsProblem).toBe(problem);
		expect(log.mock.calls.filter(([line]) => String(line).includes(problem ?? "?"))).toHaveLength(1);

		expect(
			config({ ENVIRONMENT: "production", JWT_SECRET: "j".repeat(31), SIGNING_SECRET: "s".repeat(32) }),
		).toMatchObject({ secretsProblem: "JWT_SECRET is shorter than 32 characters" });
		expect(config({ ENVIRONMENT: "production", JWT_SECRET: "j".repeat(32) }).secretsProblem).toBe(
			"SIGNING_SECRET is not set",
		);
		expect(
			config({ ENVIRONMENT: "production", JWT_SECRET: "j".repeat(32), SIGNING_SECRET: "s".repeat(32) }).secretsProblem,
		).toBeNull();
	});

	it("logs a bad value, naming the var, and keeps that var's default", () => {
		const log = vi.spyOn(console, "error").mockImplementation(() => {});
		const settings = config({
			TASK_TIMEOUT_MINUTES: "-5",
			NEW_USER_QUOTA: "1e3x",
			ACTION_PRICES: '{"IMAGINE": -1, "UPSCALE": 1}',
			SIMULATOR_URL: "ftp://nope",
			TRANSLATOR: "google",
			JWT_MAX_LIFETIME: "1y",
			JWT_AUDIENCE: "a\u0007b",
		});
		expect(settings).toMatchObject({
			translator: "off",
			taskTimeoutMs: 30 * 60_000,
			newUserQuota: 0,
			actionPrices: DEFAULT_ACTION_PRICES,
			simulatorOrigin: null,
			jwt: { audience: null, maxLifetime: { seconds: 30 * 86_400, text: "30d" } },
		});
		const logged = log.mock.calls.map((args) => String(args[0]));
		for (const name of [
			"TASK_TIMEOUT_MINUTES",
			"NEW_USER_QUOTA",
			"ACTION_PRICES",
			"SIMULATOR_URL",
			"TRANSLATOR",
			"JWT_MAX_LIFETIME",
			"JWT_AUDIENCE",
		]) {
			expect(
				logged.some((line) => line.startsWith(`${name} `)),
				name,
			).toBe(true);
		}
		for (const bad of ["not json", "[1]", "null", '{"IMAGINE": 1.5}']) {
			expect(config({ ACTION_PRICES: bad }).actionPrices, bad).toEqual(DEFAULT_ACTION_PRICES);
		}
	});

	it("parses a set of values once", () => {
		const log = vi.spyOn(console, "error").mockImplementation(() => {});
		const vars = { NEW_USER_QUOTA: "-1", CORS_ORIGINS: "https://once.example.com" };
		const first = config(vars);
		expect(config({ ...vars })).toBe(first);
		expect(log).toHaveBeenCalledTimes(1);
		expect(config({ ...vars, NEW_USER_QUOTA: "2" })).not.toBe(first);
	});
});
