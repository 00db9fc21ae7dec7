/** Every query on the users table. */
import type { Role } from "../auth/token";
import type { Db } from "./client";
import { users } from "./schema";

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
