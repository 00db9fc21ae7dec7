/** Every query on the api_keys table. */
import { and, desc, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Role } from "../vocabulary";
import type { Db } from "./client";
import { type ApiKeyRow, apiKeys, users } from "./schema";

/** What lists show of a key: never its hash. */
export type ApiKeyListing = Pick<ApiKeyRow, "id" | "name" | "prefix" | "role" | "createdAt" | "lastUsedAt">;

const listing = {
	id: apiKeys.id,
	name: apiKeys.name,
	prefix: apiKeys.prefix,
	role: apiKeys.role,
	createdAt: apiKeys.createdAt,
	lastUsedAt: apiKeys.lastUsedAt,
};

export type NewApiKey = Pick<ApiKeyRow, "userId" | "name" | "prefix" | "hash" | "role" | "createdAt">;

/**
 * Writes a key unless the user already has `liveLimit` live keys; undefined then. The check
 * and the insert are one statement: at the limit the `user_id` subquery yields NULL and the
 * NOT NULL constraint refuses the row, so concurrent creates cannot pass the limit.
 */
export async function insertApiKey(db: Db, key: NewApiKey, liveLimit: number): Promise<ApiKeyListing | undefined> {
	const liveCount = sql`(SELECT count(*) FROM ${apiKeys} WHERE ${apiKeys.userId} = ${key.userId} AND ${apiKeys.revokedAt} IS NULL)`;
	try {
		return await db
			.insert(apiKeys)
			.values({ ...key, userId: sql`(SELECT ${key.userId} WHERE ${liveCount} < ${liveLimit})` })
			.returning(listing)
			.get();
	} catch (error) {
		if (violates(error, "NOT NULL constraint failed: api_keys.user_id")) return undefined;
		throw error;
	}
}

/** Drizzle wraps D1's error (its message names the query, not the cause): look down the chain. */
function violates(error: unknown, constraint: string): boolean {
	for (let e = error; e instanceof Error; e = e.cause) if (e.message.includes(constraint)) return true;
	return false;
}

export interface LiveKey {
	id: number;
	userId: number;
	sub: string;
	keyRole: Role;
	userRole: Role;
	lastUsedAt: number | null;
	/** When the key's user was disabled; null while enabled. */
	userDisabledAt: number | null;
}

/** The live key with this hash and its user, in one read (the hash index, then the users primary key). */
export async function findLiveKeyByHash(db: Db, hash: string): Promise<LiveKey | undefined> {
	return db
		.select({
			id: apiKeys.id,
			userId: apiKeys.userId,
			sub: users.sub,
			keyRole: apiKeys.role,
			userRole: users.role,
			lastUsedAt: apiKeys.lastUsedAt,
			userDisabledAt: users.disabledAt,
		})
		.from(apiKeys)
		.innerJoin(users, eq(users.id, apiKeys.userId))
		.where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)))
		.get();
}

/** Records a use, unless one was recorded less than `minIntervalMs` ago (then it writes nothing). */
export async function touchApiKey(db: Db, id: number, now: number, minIntervalMs: number): Promise<void> {
	await db
		.update(apiKeys)
		.set({ lastUsedAt: now })
		.where(and(eq(apiKeys.id, id), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, now - minIntervalMs))));
}

/** A user's live keys, newest first (bounded by the live-key limit). */
export async function listLiveKeys(db: Db, userId: number): Promise<ApiKeyListing[]> {
	return db
		.select(listing)
		.from(apiKeys)
		.where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt)))
		.orderBy(desc(apiKeys.id))
		.all();
}

/**
 * Revokes a live key; with `userId`, only if it is that user's. False when there is no such
 * live key, so another user's key answers exactly as an unknown one.
 */
export async function revokeApiKey(db: Db, id: number, now: number, userId?: number): Promise<boolean> {
	const row = await db
		.update(apiKeys)
		.set({ revokedAt: now })
		.where(
			and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt), userId === undefined ? undefined : eq(apiKeys.userId, userId)),
		)
		.returning({ id: apiKeys.id })
		.get();
	return row !== undefined;
}
