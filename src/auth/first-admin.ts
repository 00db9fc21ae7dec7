/**
 * The SQL of the first-admin command (`npm run admin:create`, scripts/admin-create.mjs): it
 * runs through `wrangler d1 execute --command`, which takes no bound parameters, so every
 * value is checked here and written as a literal. No imports, so Node runs this file as is.
 *
 * One batch: make the user an admin (creating it with `quota` if it is new, keeping its balance
 * if not), add the key (unless the user is at the live-key limit), then read the key back by
 * its hash, so the command prints a key only once the database holds it.
 */

export const FIRST_ADMIN_KEY_NAME = "admin:create";
const MAX_SUB_LENGTH = 128;

export interface FirstAdminInput {
	sub: string;
	/** The key's first characters (KEY_PREFIX_LENGTH of ./key-format) and its SHA-256, as hex. */
	prefix: string;
	hash: string;
	/** The starting balance if the user is new. */
	quota: number;
	now: number;
	/** MAX_LIVE_KEYS of ./key-format. */
	liveLimit: number;
}

/** Why `sub` cannot name a user, or undefined when it can (the rule a token's `sub` follows). */
export function subProblem(sub: string): string | undefined {
	if (sub.length === 0) return "sub must not be empty";
	if (sub.length > MAX_SUB_LENGTH) return `sub must be at most ${MAX_SUB_LENGTH} characters`;
	// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
	if (/[\u0000-\u001f\u007f]/.test(sub)) return "sub must not contain control characters";
	return undefined;
}

const text = (value: string) => `'${value.replaceAll("'", "''")}'`;

function integer(value: number, name: string): string {
	if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a whole number, 0 or more`);
	return String(value);
}

/** The statements, in order; the command joins them with `; ` for `wrangler d1 execute --command`. */
export function firstAdminStatements(input: FirstAdminInput): string[] {
	const problem = subProblem(input.sub);
	if (problem) throw new Error(problem);
	if (!/^mjk_[A-Za-z0-9_-]{8}$/.test(input.prefix)) throw new Error("prefix is not a key prefix");
	if (!/^[0-9a-f]{64}$/.test(input.hash)) throw new Error("hash is not a hex SHA-256");
	const sub = text(input.sub);
	const now = integer(input.now, "now");
	const quota = integer(input.quota, "quota");
	const limit = integer(input.liveLimit, "liveLimit");
	return [
		`INSERT INTO users (sub, role, quota, created_at) VALUES (${sub}, 'admin', ${quota}, ${now}) ON CONFLICT (sub) DO UPDATE SET role = 'admin'`,
		`INSERT INTO api_keys (user_id, name, prefix, hash, role, created_at) SELECT id, ${text(FIRST_ADMIN_KEY_NAME)}, ${text(input.prefix)}, ${text(input.hash)}, 'admin', ${now} FROM users WHERE sub = ${sub} AND (SELECT count(*) FROM api_keys WHERE api_keys.user_id = users.id AND api_keys.revoked_at IS NULL) < ${limit}`,
		`SELECT count(*) AS stored FROM api_keys WHERE hash = ${text(input.hash)}`,
	];
}
