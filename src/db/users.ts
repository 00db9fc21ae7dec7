/** Every query on the users table. */

import { and, eq, sql } from "drizzle-orm";
import type { Role } from "../auth/token";
import type { Db } from "./client";
import { type HookEventMode, type UserRow, users } from "./schema";

/**
 * Returns the user's id, creating the user on first use. The role in the row mirrors the
 * latest token; authorization always reads the verified token itself.
 */
export async function upsertUser(db: Db, sub: string, role: Role, initialQuota: number, now: number): Promise<number> {
	const row = await db
		.insert(users)
		.values({ sub, role, quota: initialQuota, createdAt: now })
		.onConflictDoUpdate({ target: users.sub, set: { role } })
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

/** Adds (or with a negative delta takes) quota; undefined if the user is unknown or it would go below zero. */
export async function addUserQuota(db: Db, sub: string, delta: number): Promise<UserRow | undefined> {
	return db
		.update(users)
		.set({ quota: sql`${users.quota} + ${delta}` })
		.where(and(eq(users.sub, sub), sql`${users.quota} + ${delta} >= 0`))
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
