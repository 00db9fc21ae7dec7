/** Every query on the users table. */

import { and, eq, sql } from "drizzle-orm";
import type { Role } from "../auth/token";
import type { Db } from "./client";
import { type HookEventMode, type UserRow, users } from "./schema";

/**
 * Returns the user's id, creating the user on first use. The role in the row follows the token
 * issued last (`issuedAt`, its `iat`): a later token sets it, an older one leaves it, and of two
 * issued in the same second `user` wins. The outcome does not depend on the order in which
 * isolates see the tokens, and an old admin token cannot take back a demotion. API keys act
 * with at most this role.
 */
export async function upsertUser(
	db: Db,
	sub: string,
	role: Role,
	initialQuota: number,
	now: number,
	issuedAt = 0,
): Promise<number> {
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
		.returning({ id: users.id })
		.get();
	return row.id;
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
