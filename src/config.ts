/**
 * The gateway's settings, read from the Worker's vars (wrangler.toml `[vars]`, `.dev.vars`)
 * and checked against its secrets, in one place. Each var is parsed once per isolate and set of values; a bad value is logged,
 * naming the var, and its default is used, so a typo in a var never takes the API down.
 */
import { z } from "zod";
import type { TaskAction } from "./vocabulary";

/** What each action costs when ACTION_PRICES does not say. */
export const DEFAULT_ACTION_PRICES: Readonly<Record<TaskAction, number>> = {
	IMAGINE: 100,
	UPSCALE: 50,
	VARIATION: 100,
	REROLL: 100,
	PAN: 100,
	ZOOM: 100,
	CUSTOM_ZOOM: 100,
	INPAINT: 100,
	DESCRIBE: 50,
	BLEND: 100,
	SHORTEN: 50,
	VIDEO: 300,
	EDITS: 100,
	RETEXTURE: 100,
	SWAP_FACE: 100,
	SWAP_VIDEO_FACE: 300,
	ACTION: 100,
};

/** Price of an action in neither DEFAULT_ACTION_PRICES nor ACTION_PRICES. */
export const FALLBACK_PRICE = 100;

/** Minutes a task may run when TASK_TIMEOUT_MINUTES does not say. */
const DEFAULT_TASK_TIMEOUT_MINUTES = 30;

/** JWT_MAX_LIFETIME when its value is not a duration: wrangler.toml's, never "no cap" (a typo must not lift the cap). */
export const DEFAULT_JWT_MAX_LIFETIME = "30d";

/** How client tokens are checked beyond their signature (src/auth/token.ts). */
export interface JwtSettings {
	/** JWT_ISSUER: the `iss` a token must carry, or null to accept any. */
	issuer: string | null;
	/** JWT_AUDIENCE: the `aud` a token must carry, or null to accept any. */
	audience: string | null;
	/** JWT_MAX_LIFETIME: the longest `exp - iat` allowed, in seconds and as written; null for no cap (""). */
	maxLifetime: { seconds: number; text: string } | null;
}

/** Browser origins allowed to call the API: any ("*") or exactly these. */
export type CorsOrigins = "*" | readonly string[];

export interface Config {
	/** ENVIRONMENT is "production": user URLs must be public, debug headers are off. */
	production: boolean;
	/** PUBLIC_BASE_URL without trailing slashes: the origin clients reach the gateway at; "" to use the request's. */
	publicBaseUrl: string;
	/** SIMULATOR_URL's origin (the upstream simulator Worker, simulator/), or null when it is off. */
	simulatorOrigin: string | null;
	/** TASK_TIMEOUT_MINUTES (default 30) in milliseconds: how long a task may run before the reconciler fails it. */
	taskTimeoutMs: number;
	/** NEW_USER_QUOTA (default 0): the starting balance of a user seen for the first time. */
	newUserQuota: number;
	/**
	 * Price per action: DEFAULT_ACTION_PRICES overridden by ACTION_PRICES (a JSON object such as
	 * {"IMAGINE": 200}, keys in any case). An action in neither costs FALLBACK_PRICE.
	 */
	actionPrices: Readonly<Record<string, number>>;
	/** CORS_ORIGINS: "*" (default) or a comma-separated list of origins. */
	corsOrigins: CorsOrigins;
	/** D1_STATS is "true" outside production: API responses carry an x-d1-stats header (for `npm run bench`). */
	d1Stats: boolean;
	/** USER_CONCURRENCY (default 3): a user's unfinished tasks beyond which a submit answers "queued" (code 22). */
	userConcurrency: number;
	/** USER_QUEUE_LIMIT (default 100): a user's unfinished tasks at which a submit is refused (code 23). */
	userQueueLimit: number;
	/** BANNED_WORDS: comma-separated, lower-cased words a prompt may not contain (code 24). */
	bannedWords: readonly string[];
	/**
	 * DISCORD_PACE_MS (default 800): the least time between two interactions of one Discord
	 * account; each gap adds up to half of it again at random, as a person clicking would.
	 */
	discordPaceMs: number;
	/**
	 * TRANSLATOR: who translates non-English prompts before they go upstream (src/translate/):
	 * "workers-ai" (default; off when the AI binding is absent), "fake" (tests, `npm start`) or "off".
	 */
	translator: TranslatorKind;
	/**
	 * Why the gateway must not use its secrets, or null: in production, a JWT_SECRET or
	 * SIGNING_SECRET that is unset, shorter than MIN_SECRET_LENGTH or a published development
	 * value ("change-me"). Every request that needs a secret then answers 503 (src/auth/hmac-key.ts).
	 */
	secretsProblem: string | null;
	jwt: JwtSettings;
}

/** The secrets a deployment must set (`wrangler secret put`). */
export const SECRETS = ["JWT_SECRET", "SIGNING_SECRET"] as const;
/** Shortest secret production accepts: a random 32 characters is well past guessing. */
export const MIN_SECRET_LENGTH = 32;

export const TRANSLATOR_KINDS = ["workers-ai", "fake", "off"] as const;
export type TranslatorKind = (typeof TRANSLATOR_KINDS)[number];

/** The vars config() reads; anything else in Env is a binding or a secret. */
const VARS = [
	"ENVIRONMENT",
	"PUBLIC_BASE_URL",
	"SIMULATOR_URL",
	"TASK_TIMEOUT_MINUTES",
	"NEW_USER_QUOTA",
	"ACTION_PRICES",
	"CORS_ORIGINS",
	"D1_STATS",
	"USER_CONCURRENCY",
	"USER_QUEUE_LIMIT",
	"BANNED_WORDS",
	"DISCORD_PACE_MS",
	"TRANSLATOR",
	"JWT_ISSUER",
	"JWT_AUDIENCE",
	"JWT_MAX_LIFETIME",
] as const;

export type ConfigVars = Partial<Pick<Env, (typeof VARS)[number] | (typeof SECRETS)[number]>>;

/** What config() is parsed from, secrets included (only ever compared, never logged). */
const KEYED = [...VARS, ...SECRETS] as const;

/** A var's text: unset and blank are the same (use the default). */
const raw = z
	.string()
	.optional()
	.transform((v) => v?.trim() ?? "");

/** A var that falls back to `fallback`, logging why, when its text does not parse. */
function setting<T>(name: string, parse: (text: string, ctx: z.RefinementCtx) => T, fallback: Awaited<T>) {
	return raw.transform(parse).catch((ctx) => {
		console.error(`${name} ${ctx.error.issues[0]?.message ?? "is invalid"}; using the default`);
		return fallback;
	});
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds in a duration such as "30d", "12h", "90m", "3600s" or "3600"; null for anything else. */
export function parseDuration(text: string): number | null {
	const m = /^(\d{1,9})\s*([smhdw]?)$/i.exec(text.trim());
	if (!m || Number(m[1]) === 0) return null;
	return Number(m[1]) * (UNIT_SECONDS[m[2].toLowerCase() || "s"] ?? 1);
}

/**
 * JWT_ISSUER / JWT_AUDIENCE: any printable text, or null when blank. The log names the var and
 * never quotes it (it may be pasted from a private identity provider's settings).
 */
const tokenClaim = (name: string) =>
	setting(
		name,
		(text, ctx) => {
			if (text === "") return null;
			return /^[\x20-\x7e\u00a0-\uffff]{1,512}$/.test(text)
				? text
				: fail(ctx, "must be printable text of at most 512 characters");
		},
		null,
	);

/** Adds the issue and returns z.NEVER, for use as `return fail(ctx, ...)` inside a transform. */
function fail(ctx: z.RefinementCtx, message: string): never {
	ctx.addIssue({ code: "custom", message });
	return z.NEVER;
}

const positiveInteger = (name: string, fallback: number) =>
	setting(
		name,
		(text, ctx) => {
			if (text === "") return fallback;
			return /^\d{1,9}$/.test(text) && Number(text) > 0 ? Number(text) : fail(ctx, "must be a positive integer");
		},
		fallback,
	);

const booleanText = (name: string) =>
	setting(
		name,
		(text, ctx) => {
			if (text === "" || text === "false") return false;
			if (text === "true") return true;
			return fail(ctx, `must be "true" or "false", not ${JSON.stringify(text)}`);
		},
		false,
	);

function parsePrices(text: string, ctx: z.RefinementCtx): Readonly<Record<string, number>> {
	if (text === "") return DEFAULT_ACTION_PRICES;
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		return fail(ctx, "is not JSON");
	}
	if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return fail(ctx, "is not a JSON object");
	const prices: Record<string, number> = { ...DEFAULT_ACTION_PRICES };
	for (const [action, price] of Object.entries(parsed)) {
		if (typeof price !== "number" || !Number.isSafeInteger(price) || price < 0) {
			return fail(ctx, `has a price for ${action} that is not a non-negative integer`);
		}
		prices[action.toUpperCase()] = price;
	}
	return prices;
}

const varsSchema = z.object({
	ENVIRONMENT: raw,
	PUBLIC_BASE_URL: raw.transform((v) => v.replace(/\/+$/, "")),
	SIMULATOR_URL: setting(
		"SIMULATOR_URL",
		(text, ctx) => {
			if (text === "") return null;
			const url = URL.parse(text);
			return url && (url.protocol === "http:" || url.protocol === "https:")
				? url.origin
				: fail(ctx, "must be an http(s) URL");
		},
		null,
	),
	TASK_TIMEOUT_MINUTES: setting(
		"TASK_TIMEOUT_MINUTES",
		(text, ctx) => {
			if (text === "") return DEFAULT_TASK_TIMEOUT_MINUTES;
			const minutes = Number(text);
			return Number.isFinite(minutes) && minutes > 0 ? minutes : fail(ctx, "must be a positive number of minutes");
		},
		DEFAULT_TASK_TIMEOUT_MINUTES,
	),
	NEW_USER_QUOTA: setting(
		"NEW_USER_QUOTA",
		(text, ctx) => {
			if (text === "") return 0;
			const quota = Number(text);
			return Number.isSafeInteger(quota) && quota >= 0 ? quota : fail(ctx, "must be a non-negative integer");
		},
		0,
	),
	ACTION_PRICES: setting("ACTION_PRICES", parsePrices, DEFAULT_ACTION_PRICES),
	// Unset allows any origin; set to "" it allows none (an explicit lock-down).
	CORS_ORIGINS: z
		.string()
		.optional()
		.transform((v): CorsOrigins => {
			const text = (v ?? "*").trim();
			if (text === "*") return "*";
			return text
				.split(",")
				.map((origin) => origin.trim())
				.filter((origin) => origin !== "");
		}),
	D1_STATS: booleanText("D1_STATS"),
	USER_CONCURRENCY: positiveInteger("USER_CONCURRENCY", 3),
	USER_QUEUE_LIMIT: positiveInteger("USER_QUEUE_LIMIT", 100),
	BANNED_WORDS: raw.transform((text) =>
		text
			.split(",")
			.map((word) => word.trim().toLowerCase())
			.filter((word) => word !== ""),
	),
	DISCORD_PACE_MS: positiveInteger("DISCORD_PACE_MS", 800),
	TRANSLATOR: setting(
		"TRANSLATOR",
		(text, ctx): TranslatorKind => {
			if (text === "") return "workers-ai";
			return (TRANSLATOR_KINDS as readonly string[]).includes(text)
				? (text as TranslatorKind)
				: fail(ctx, `must be one of ${TRANSLATOR_KINDS.join(", ")}`);
		},
		"off",
	),
	JWT_ISSUER: tokenClaim("JWT_ISSUER"),
	JWT_AUDIENCE: tokenClaim("JWT_AUDIENCE"),
	JWT_MAX_LIFETIME: setting(
		"JWT_MAX_LIFETIME",
		(text, ctx) => {
			if (text === "") return null;
			const seconds = parseDuration(text);
			return seconds === null ? fail(ctx, "is not a duration such as 30d, 12h or 3600") : { seconds, text };
		},
		{ seconds: parseDuration(DEFAULT_JWT_MAX_LIFETIME) ?? 0, text: DEFAULT_JWT_MAX_LIFETIME },
	),
});

/**
 * The published or guessable secrets production refuses: .dev.vars.example and older checkouts
 * shipped "…change-me…" values, and a Deploy button form can be submitted with them unchanged.
 */
function secretsProblem(env: ConfigVars, production: boolean): string | null {
	if (!production) return null;
	const problems = SECRETS.flatMap((name) => {
		const value = env[name] ?? "";
		if (value === "") return [`${name} is not set`];
		if (value.includes("change-me")) return [`${name} is a published development value (it contains "change-me")`];
		if (value.length < MIN_SECRET_LENGTH) return [`${name} is shorter than ${MIN_SECRET_LENGTH} characters`];
		return [];
	});
	return problems.length > 0 ? problems.join("; ") : null;
}

function parseConfig(env: ConfigVars): Config {
	const vars = varsSchema.parse(env);
	const production = vars.ENVIRONMENT === "production";
	const problem = secretsProblem(env, production);
	if (problem) {
		console.error(
			`the gateway's secrets are not configured: ${problem}. Requests that need them answer 503 until they are set (wrangler secret put JWT_SECRET / SIGNING_SECRET, a random value of ${MIN_SECRET_LENGTH} characters or more).`,
		);
	}
	return {
		production,
		publicBaseUrl: vars.PUBLIC_BASE_URL,
		simulatorOrigin: vars.SIMULATOR_URL,
		taskTimeoutMs: vars.TASK_TIMEOUT_MINUTES * 60_000,
		newUserQuota: vars.NEW_USER_QUOTA,
		actionPrices: vars.ACTION_PRICES,
		corsOrigins: vars.CORS_ORIGINS,
		d1Stats: vars.D1_STATS && !production,
		userConcurrency: vars.USER_CONCURRENCY,
		userQueueLimit: vars.USER_QUEUE_LIMIT,
		bannedWords: vars.BANNED_WORDS,
		discordPaceMs: vars.DISCORD_PACE_MS,
		translator: vars.TRANSLATOR,
		secretsProblem: problem,
		jwt: { issuer: vars.JWT_ISSUER, audience: vars.JWT_AUDIENCE, maxLifetime: vars.JWT_MAX_LIFETIME },
	};
}

/**
 * By the vars' raw values, not the env object: tests hand the app copies of env with one var
 * changed, and a deployment has one set of values, so this holds one or a few entries.
 */
const parsed = new Map<string, Config>();
const PARSED_LIMIT = 32;
/**
 * The same env object answers without building the key: config() is asked several times a
 * request, and the runtime hands an isolate's requests the same env. Vars never change in a
 * running isolate (a new deploy or secret starts new isolates).
 */
const byEnv = new WeakMap<ConfigVars, Config>();

/** The settings in `env`'s vars, parsed on first use of these values in this isolate. */
export function config(env: ConfigVars): Config {
	const same = byEnv.get(env);
	if (same) return same;
	const key = KEYED.map((name) => env[name] ?? "\u0001").join("\u0000");
	let known = parsed.get(key);
	if (!known) {
		known = parseConfig(env);
		if (parsed.size >= PARSED_LIMIT) parsed.clear();
		parsed.set(key, known);
	}
	byEnv.set(env, known);
	return known;
}
