/** Every query on the users table. */

import { and, asc, desc, eq, gt, gte, inArray, lt, sql } from "drizzle-orm";
import type { Role } from "../vocabulary";
import type { Db } from "./client";
import { rawRows } from "./rows";
import { type HookEventMode, statsUsers, type UserRow, users } from "./schema";

/**
 * Returns the user's id, creating the user on first use. The role in the row follows the token
 * issued last (`issuedAt`, its `iat`): a later token sets it, an older one leaves it, and of two
 * issued in the same second `user` wins. The outcome does not depend on the order in which
 * isolates see the tokens, and an old admin token cannot take back a demotion. API keys act
 * with at most this role.
 */
export async function upsertUser(...args: Parameters<typeof signInUser>): Promise<number> {
	return (await signInUser(...args)).id;
}

/** upsertUser that also answers, from the same statement, whether the user is disabled. */
export async function signInUser(
	db: Db,
	sub: string,
	role: Role,
	initialQuota: number,
	now: number,
	issuedAt = 0,
): Promise<{ id: number; disabled: boolean }> {
	const latestRole = sql`CASE
		WHEN excluded.role_issued_at > ${users.roleIssuedAt} THEN excluded.role
		WHEN excluded.role_issued_at = ${users.roleIssuedAt} AND excluded.role = 'user' THEN 'user'
		ELSE ${users.role} END`;
	const row = await db
		.insert(users)
		.values({ sub, role, roleIssuedAt: issuedAt, quota: initialQuota, createdAt: now })
		.onConflictDoUpdate({
			target: users.sub,
			set: {
				role: latestRole,
				roleIssuedAt: sql`MAX(${users.roleIssuedAt}, excluded.role_issued_at)`,
			},
		})
		.returning({ id: users.id, disabledAt: users.disabledAt })
		.get();
	return { id: row.id, disabled: row.disabledAt !== null };
}

/**
 * How long an isolate trusts a "not disabled" answer. A disable refuses the user at once in the
 * isolate that made it and within this window in every other; a submit checks the row in its own
 * statement and is refused at once everywhere. Without the window every repeated request of a
 * signed-in user pays one D1 round trip, which is most of the cost of a cached fetch.
 */
export const ENABLED_TRUST_MS = 1000;
const enabledUntil = new Map<number, number>();
const ENABLED_CACHE_LIMIT = 10_000;

/**
 * Whether the user is disabled (false for an unknown id): one read on the primary key, or none
 * when this isolate read "enabled" less than ENABLED_TRUST_MS before `now`. Without `now` it
 * always reads.
 */
export async function isUserDisabled(db: Db, id: number, now?: number): Promise<boolean> {
	const until = enabledUntil.get(id);
	if (now !== undefined && until !== undefined && now < until) return false;
	const [row] = await rawRows(db, `select "disabled_at" from "users" where "users"."id" = ?`, [id]);
	const disabled = row !== undefined && row[0] !== null;
	if (disabled || now === undefined) enabledUntil.delete(id);
	else {
		if (enabledUntil.size >= ENABLED_CACHE_LIMIT) enabledUntil.clear();
		enabledUntil.set(id, now + ENABLED_TRUST_MS);
	}
	return disabled;
}

export async function findUserBySub(db: Db, sub: string): Promise<UserRow | undefined> {
	return db.select().from(users).where(eq(users.sub, sub)).get();
}

export async function findUserById(db: Db, id: number): Promise<UserRow | undefined> {
	return db.select().from(users).where(eq(users.id, id)).get();
}

/** Sets a balance, creating the user (role user) if it has never called the gateway. */
export async function setUserQuota(db: Db, sub: string, quota: number, now: number): Promise<UserRow> {
	return db
		.insert(users)
		.values({ sub, role: "user", quota, createdAt: now })
		.onConflictDoUpdate({ target: users.sub, set: { quota } })
		.returning()
		.get();
}

/** The largest balance: beyond it a JavaScript number no longer holds every integer, and deltas would round away. */
export const MAX_QUOTA = Number.MAX_SAFE_INTEGER;

/**
 * Adds (or with a negative delta takes) quota; undefined if the user is unknown or the balance
 * would leave 0..MAX_QUOTA. Both bounds are in the statement, so racing deltas cannot pass them
 * together. With |delta| ≤ MAX_QUOTA the sum is exact however D1 binds it (as an integer, or as a
 * double, where every sum past MAX_QUOTA still compares greater).
 */
export async function addUserQuota(db: Db, sub: string, delta: number): Promise<UserRow | undefined> {
	return db
		.update(users)
		.set({ quota: sql`${users.quota} + ${delta}` })
		.where(
			and(
				eq(users.sub, sub),
				sql`${users.quota} + ${delta} >= 0`,
				sql`${users.quota} + ${delta} <= ${sql.raw(String(MAX_QUOTA))}`,
			),
		)
		.returning()
		.get();
}

/** What the notifyHook of the user's tasks hears of (users.hook_events); "all" for an unknown user. */
export async function findUserHookEvents(db: Db, id: number): Promise<HookEventMode> {
	const row = await db.select({ hookEvents: users.hookEvents }).from(users).where(eq(users.id, id)).get();
	return row?.hookEvents ?? "all";
}

export async function setUserHookEvents(db: Db, id: number, hookEvents: HookEventMode): Promise<HookEventMode> {
	const row = await db
		.update(users)
		.set({ hookEvents })
		.where(eq(users.id, id))
		.returning({ hookEvents: users.hookEvents })
		.get();
	return row?.hookEvents ?? hookEvents;
}

/** A row of the admins' user list: the user and what it has spent (0 before its first task). */
export interface UserListRow {
	user: UserRow;
	tasks: number;
	spent: number;
}

/**
 * Where a page of the user list starts: after this id (newest first), after this sub (a search,
 * in sub order), or after this (spent, tasks, id) (the biggest spenders first).
 */
export type UserCursor =
	| { order: "newest"; id: number }
	| { order: "sub"; sub: string }
	| { order: "spend"; spent: number; tasks: number; id: number };

export type UserOrder = UserCursor["order"];

/** Sorts after every string that starts with the prefix it follows (the largest code point). */
const AFTER_PREFIX = "\u{10FFFF}";

/**
 * One page of users, every order served by an index so a page reads about `limit` rows however
 * many users there are: "newest" walks the users primary key backwards; "sub" (a search by sub
 * prefix) walks users_sub_unique; "spend" walks stats_users_spent backwards (its rowid, the
 * user id, breaks ties), listing only users who have submitted a task. One more row than
 * `limit` is read to tell whether a next page exists.
 */
/** The user list's query (exported so a test can read its plan); reads `limit` + 1 rows. */
export function userListQuery(
	db: Db,
	options: { order: UserOrder; prefix?: string; after?: UserCursor; limit: number },
) {
	const { order, prefix, after, limit } = options;
	const spendColumns = {
		tasks: sql<number>`coalesce(${statsUsers.tasks}, 0)`,
		spent: sql<number>`coalesce(${statsUsers.spent}, 0)`,
	};
	if (order === "spend") {
		const from = after?.order === "spend" ? after : undefined;
		return db
			.select({ user: users, tasks: statsUsers.tasks, spent: statsUsers.spent })
			.from(statsUsers)
			.innerJoin(users, eq(users.id, statsUsers.userId))
			.where(
				from
					? sql`(${statsUsers.spent}, ${statsUsers.tasks}, ${statsUsers.userId}) < (${from.spent}, ${from.tasks}, ${from.id})`
					: undefined,
			)
			.orderBy(desc(statsUsers.spent), desc(statsUsers.tasks), desc(statsUsers.userId))
			.limit(limit + 1);
	}
	if (order === "sub") {
		const start = prefix ?? "";
		const from = after?.order === "sub" ? after.sub : undefined;
		return db
			.select({ user: users, ...spendColumns })
			.from(users)
			.leftJoin(statsUsers, eq(statsUsers.userId, users.id))
			.where(
				and(
					from !== undefined && from >= start ? gt(users.sub, from) : gte(users.sub, start),
					lt(users.sub, start + AFTER_PREFIX),
				),
			)
			.orderBy(asc(users.sub))
			.limit(limit + 1);
	}
	const from = after?.order === "newest" ? after.id : undefined;
	return db
		.select({ user: users, ...spendColumns })
		.from(users)
		.leftJoin(statsUsers, eq(statsUsers.userId, users.id))
		.where(from !== undefined ? lt(users.id, from) : undefined)
		.orderBy(desc(users.id))
		.limit(limit + 1);
}

export async function listUsers(
	db: Db,
	options: { order: UserOrder; prefix?: string; after?: UserCursor; limit: number },
): Promise<{ rows: UserListRow[]; next?: UserCursor }> {
	const { order, limit } = options;
	let rows: UserListRow[] = await userListQuery(db, options).all();
	if (rows.length <= limit) return { rows };
	rows = rows.slice(0, limit);
	const last = rows[rows.length - 1];
	const next: UserCursor =
		order === "spend"
			? { order, spent: last.spent, tasks: last.tasks, id: last.user.id }
			: order === "sub"
				? { order, sub: last.user.sub }
				: { order, id: last.user.id };
	return { rows, next };
}

/**
 * Creates a user an admin names, with a role and a starting balance; undefined if the sub is
 * taken. The role counts as set now (`roleIssuedAt`), so only a token issued later changes it.
 */
export async function createUser(
	db: Db,
	user: { sub: string; role: Role; quota: number },
	now: number,
): Promise<UserRow | undefined> {
	return db
		.insert(users)
		.values({ ...user, roleIssuedAt: Math.floor(now / 1000), createdAt: now })
		.onConflictDoNothing({ target: users.sub })
		.returning()
		.get();
}

/**
 * Disables (`at` a time) or enables (`at` null) a user; undefined if there is no such user. A
 * second disable keeps the first one's time.
 */
export async function setUserDisabled(db: Db, sub: string, at: number | null): Promise<UserRow | undefined> {
	const row = await db
		.update(users)
		.set({ disabledAt: at === null ? null : sql`coalesce(${users.disabledAt}, ${at})` })
		.where(eq(users.sub, sub))
		.returning()
		.get();
	// This isolate's own disable takes effect at once here.
	if (row) enabledUntil.delete(row.id);
	return row;
}

/** The subs of these users, by id: one read on the primary key per id. */
export async function subsOf(db: Db, ids: number[]): Promise<Map<number, string>> {
	const unique = [...new Set(ids)];
	if (unique.length === 0) return new Map();
	const rows = await db.select({ id: users.id, sub: users.sub }).from(users).where(inArray(users.id, unique)).all();
	return new Map(rows.map((row) => [row.id, row.sub]));
}
