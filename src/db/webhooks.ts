/** Every query on the webhook_secrets and deliveries tables (client callbacks). */
import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { Db } from "./client";
import {
	type DeliveryOutcome,
	type DeliveryRow,
	deliveries,
	users,
	type WebhookSecretRow,
	webhookSecrets,
} from "./schema";

/** The user's signing secret row, if one was ever made. */
export async function findWebhookSecret(db: Db, userId: number): Promise<WebhookSecretRow | undefined> {
	return db.select().from(webhookSecrets).where(eq(webhookSecrets.userId, userId)).get();
}

/**
 * Stores `secret` as the user's secret unless the user has one, and returns whichever is stored:
 * two first needs at once (a delivery and a GET) end up with the same secret.
 */
export async function insertWebhookSecretIfMissing(
	db: Db,
	userId: number,
	secret: string,
	now: number,
): Promise<WebhookSecretRow> {
	await db.insert(webhookSecrets).values({ userId, secret, createdAt: now }).onConflictDoNothing();
	const row = await findWebhookSecret(db, userId);
	if (!row) throw new Error(`webhook secret of user ${userId} not stored`);
	return row;
}

/**
 * Makes `secret` the user's secret; the one it replaces keeps signing until `previousExpiresAt`.
 * One statement (SET reads the old values), so the replaced secret is never lost.
 */
export async function rotateWebhookSecret(
	db: Db,
	userId: number,
	secret: string,
	now: number,
	previousExpiresAt: number,
): Promise<WebhookSecretRow> {
	const row = await db
		.insert(webhookSecrets)
		.values({ userId, secret, createdAt: now, rotatedAt: now })
		.onConflictDoUpdate({
			target: webhookSecrets.userId,
			set: {
				previousSecret: sql`${webhookSecrets.secret}`,
				previousExpiresAt,
				secret,
				rotatedAt: now,
			},
		})
		.returning()
		.get();
	return row;
}

export type NewDelivery = Omit<DeliveryRow, "id" | "attempt">;

/** Records one attempt; its number is the event's next (counted in the same statement). */
export async function recordDelivery(db: Db, attempt: NewDelivery): Promise<DeliveryRow> {
	const next = sql`(SELECT coalesce(max(${deliveries.attempt}), 0) + 1 FROM ${deliveries} WHERE ${deliveries.eventId} = ${attempt.eventId})`;
	return db
		.insert(deliveries)
		.values({ ...attempt, attempt: next })
		.returning()
		.get();
}

/** True when some attempt of the event reached the receiver. */
export async function eventDelivered(db: Db, eventId: string): Promise<boolean> {
	const row = await db
		.select({ id: deliveries.id })
		.from(deliveries)
		.where(and(eq(deliveries.eventId, eventId), eq(deliveries.outcome, "delivered")))
		.limit(1)
		.get();
	return row !== undefined;
}

/** The event's latest attempt; with `userId`, only if the event is that user's (else undefined). */
export async function findEventAttempt(db: Db, eventId: string, userId?: number): Promise<DeliveryRow | undefined> {
	return db
		.select()
		.from(deliveries)
		.where(and(eq(deliveries.eventId, eventId), userId === undefined ? undefined : eq(deliveries.userId, userId)))
		.orderBy(desc(deliveries.id))
		.limit(1)
		.get();
}

/**
 * Marks the event dead: its latest attempt, if that one failed, gets outcome `dead` and no next
 * try. False when there is nothing to mark (already dead, delivered since, or never attempted),
 * so a repeated dead letter changes nothing.
 */
export async function markEventDead(db: Db, eventId: string): Promise<boolean> {
	const latest = sql`(SELECT max(${deliveries.id}) FROM ${deliveries} WHERE ${deliveries.eventId} = ${eventId})`;
	const row = await db
		.update(deliveries)
		.set({ outcome: "dead", nextTryAt: null })
		.where(and(eq(deliveries.id, latest), eq(deliveries.outcome, "failed")))
		.returning({ id: deliveries.id })
		.get();
	return row !== undefined;
}

export interface DeliveryFilter {
	userId?: number;
	taskId?: string;
	outcome?: DeliveryOutcome;
	/** Only attempts older than this id (the cursor). */
	beforeId?: number;
}

export type DeliveryListing = DeliveryRow & { sub: string };

/**
 * Attempts newest first, `limit` of them. Each filter combination has an index that yields rows
 * in id order (user, user+outcome, task, outcome, or the primary key); a task's attempts are few,
 * so the other filters on top of a task cost nothing.
 */
export async function listDeliveries(db: Db, filter: DeliveryFilter, limit: number): Promise<DeliveryListing[]> {
	const rows = await db
		.select({ delivery: deliveries, sub: users.sub })
		.from(deliveries)
		.innerJoin(users, eq(users.id, deliveries.userId))
		.where(
			and(
				filter.userId === undefined ? undefined : eq(deliveries.userId, filter.userId),
				filter.taskId === undefined ? undefined : eq(deliveries.taskId, filter.taskId),
				filter.outcome === undefined ? undefined : eq(deliveries.outcome, filter.outcome),
				filter.beforeId === undefined ? undefined : lt(deliveries.id, filter.beforeId),
			),
		)
		.orderBy(desc(deliveries.id))
		.limit(limit)
		.all();
	return rows.map(({ delivery, sub }) => ({ ...delivery, sub }));
}
