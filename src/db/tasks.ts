/** Every query on the tasks table. */
import { and, asc, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Db } from "./client";
import { type NewTaskRow, type TaskRow, tasks, users } from "./schema";

/** Raised when a charge would take the balance below zero; the batch is rolled back. */
export class InsufficientQuotaError extends Error {}

/**
 * Writes a new task and its charge in one D1 batch (one transaction). The user's counter
 * hands out `user_seq`; when the charge takes the balance below zero the subquery yields
 * NULL, the NOT NULL constraint fails and the whole batch, charge included, rolls back.
 */
export async function insertTask(db: Db, row: Omit<NewTaskRow, "userSeq">): Promise<void> {
	const price = row.quota ?? 0;
	try {
		await db.batch([
			db
				.update(users)
				.set({ taskCount: sql`${users.taskCount} + 1`, quota: sql`${users.quota} - ${price}` })
				.where(eq(users.id, row.userId)),
			db.insert(tasks).values({
				...row,
				userSeq: sql`(SELECT task_count FROM users WHERE id = ${row.userId} AND quota >= 0)`,
			}),
		]);
	} catch (error) {
		if (String(error).includes("NOT NULL constraint failed: tasks.user_seq")) {
			throw new InsufficientQuotaError("insufficient quota");
		}
		throw error;
	}
}

export async function findTask(db: Db, publicId: string): Promise<TaskRow | undefined> {
	return db.select().from(tasks).where(eq(tasks.publicId, publicId)).get();
}

/** A user's task; another user's task answers exactly like an unknown id. */
export async function findUserTask(db: Db, userId: number, publicId: string): Promise<TaskRow | undefined> {
	return db
		.select()
		.from(tasks)
		.where(and(eq(tasks.publicId, publicId), eq(tasks.userId, userId)))
		.get();
}

export interface TaskCursor {
	submitTime: number;
	id: number;
}

/** Newest first, served by tasks_user_time; `before` continues after the last row seen. */
export async function listUserTasks(db: Db, userId: number, limit: number, before?: TaskCursor): Promise<TaskRow[]> {
	const where = before
		? and(eq(tasks.userId, userId), sql`(${tasks.submitTime}, ${tasks.id}) < (${before.submitTime}, ${before.id})`)
		: eq(tasks.userId, userId);
	return db.select().from(tasks).where(where).orderBy(desc(tasks.submitTime), desc(tasks.id)).limit(limit).all();
}

/** Fields the task's Durable Object writes when it accepts an update. */
export type TaskProgressFields = Partial<
	Pick<
		TaskRow,
		| "status"
		| "progress"
		| "description"
		| "failReason"
		| "upstreamId"
		| "channelId"
		| "upstreamImageUrl"
		| "promptEn"
		| "finalPrompt"
		| "buttons"
		| "videoUrl"
		| "videoUrls"
		| "startTime"
		| "finishTime"
	>
>;

/** Conditional on the version, so an older write arriving late never overwrites a newer one. */
export async function writeTaskProgress(
	db: Db,
	publicId: string,
	version: number,
	fields: TaskProgressFields,
	now: number,
): Promise<boolean> {
	const result = await db
		.update(tasks)
		.set({ ...fields, version, updatedAt: now })
		.where(and(eq(tasks.publicId, publicId), lt(tasks.version, version)));
	return result.meta.changes > 0;
}

export async function setTaskImage(db: Db, publicId: string, key: string, contentType: string): Promise<void> {
	await db.update(tasks).set({ imageKey: key, imageType: contentType }).where(eq(tasks.publicId, publicId));
}

export const IN_FLIGHT_STATUSES = ["SUBMITTED", "IN_PROGRESS", "MODAL"] as const;

/** Oldest in-flight tasks first (tasks_status_time). */
export async function listInFlightTasks(db: Db, limit: number): Promise<TaskRow[]> {
	return db
		.select()
		.from(tasks)
		.where(inArray(tasks.status, [...IN_FLIGHT_STATUSES]))
		.orderBy(asc(tasks.submitTime))
		.limit(limit)
		.all();
}

/** NOT_START tasks submitted before `before` (their queue message may be lost). */
export async function listStaleNotStarted(db: Db, before: number, limit: number): Promise<TaskRow[]> {
	return db
		.select()
		.from(tasks)
		.where(and(eq(tasks.status, "NOT_START"), lt(tasks.submitTime, before)))
		.orderBy(asc(tasks.submitTime))
		.limit(limit)
		.all();
}
