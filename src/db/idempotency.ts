/** Every query on the idempotency_keys table. */
import { and, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Db } from "./client";
import { idempotencyKeys } from "./schema";

export type IdempotencyRecord = typeof idempotencyKeys.$inferSelect;

/** Claims the key for this request; the existing record when someone holds it already. */
export async function claimIdempotencyKey(
	db: Db,
	record: Pick<IdempotencyRecord, "userId" | "key" | "fingerprint" | "createdAt">,
): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord | undefined }> {
	const inserted = await db
		.insert(idempotencyKeys)
		.values(record)
		.onConflictDoNothing()
		.returning({ key: idempotencyKeys.key })
		.get();
	if (inserted) return { claimed: true };
	return { claimed: false, existing: await findIdempotencyKey(db, record.userId, record.key) };
}

export async function findIdempotencyKey(db: Db, userId: number, key: string): Promise<IdempotencyRecord | undefined> {
	return db
		.select()
		.from(idempotencyKeys)
		.where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
		.get();
}

/** Keeps the answer of the request that holds the key. */
export async function completeIdempotencyKey(
	db: Db,
	userId: number,
	key: string,
	response: { status: number; body: string; type: string },
): Promise<void> {
	await db
		.update(idempotencyKeys)
		.set({ responseStatus: response.status, responseBody: response.body, responseType: response.type })
		.where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)));
}

/** Gives the key back (the request was refused or failed): a retry with it runs afresh. */
export async function releaseIdempotencyKey(db: Db, userId: number, key: string, createdAt: number): Promise<void> {
	await db
		.delete(idempotencyKeys)
		.where(
			and(
				eq(idempotencyKeys.userId, userId),
				eq(idempotencyKeys.key, key),
				eq(idempotencyKeys.createdAt, createdAt),
				isNull(idempotencyKeys.responseStatus),
			),
		);
}

/** Drops a record older than the window, so its key can be claimed again. */
export async function dropExpiredIdempotencyKey(db: Db, userId: number, key: string, before: number): Promise<void> {
	await db
		.delete(idempotencyKeys)
		.where(
			and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key), lt(idempotencyKeys.createdAt, before)),
		);
}

/** Deletes up to `limit` records older than `before` (the cron's clean-up); returns how many. */
export async function purgeIdempotencyKeys(db: Db, before: number, limit: number): Promise<number> {
	const old = db
		.select({ rowid: sql`rowid` })
		.from(idempotencyKeys)
		.where(lt(idempotencyKeys.createdAt, before))
		.limit(limit);
	const result = await db.delete(idempotencyKeys).where(inArray(sql`rowid`, old));
	return result.meta.changes;
}
