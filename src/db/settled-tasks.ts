/**
 * Finished task rows, kept in the isolate. A task that has ended and whose copies are made is
 * never written again (src/db/tasks.ts: the Durable Object's writes stop at the terminal status,
 * the alarm's image and video keys come last, a refund is in the terminal write's batch), so
 * its row is the same for every later read, whichever D1 replica or bookmark answers it. Polling
 * clients fetch a finished task again and again; a hit answers without a D1 round trip.
 *
 * Only rows with nothing left to write are kept (`isSettled`), and a hit is still checked against
 * the caller: another user's task answers exactly like an unknown id, as the D1 read does.
 */
import type { Db } from "./client";
import { parseStringArray, type TaskRow } from "./schema";
import { findUserTask, findUserTasks } from "./tasks";

/** Bounded by entries and by the characters they hold, so a burst of long prompts cannot grow the isolate. */
const ENTRY_LIMIT = 2_000;
const CHAR_LIMIT = 4_000_000;
/** A row bigger than this (a very long prompt and many buttons) is read from D1 each time. */
const ROW_CHAR_LIMIT = 32_000;

const rows = new Map<string, { row: Readonly<TaskRow>; chars: number }>();
let chars = 0;

/**
 * True when nothing will write the row again: it ended, its refund (FAILURE, CANCEL) is
 * recorded, and a success has its image and every video copied into R2.
 */
export function isSettled(row: TaskRow): boolean {
	if (row.status === "FAILURE" || row.status === "CANCEL") return row.refunded;
	if (row.status !== "SUCCESS") return false;
	if (row.upstreamImageUrl && !row.imageKey) return false;
	const videos = Math.max(parseStringArray(row.videoUrls).length, row.videoUrl ? 1 : 0);
	return parseStringArray(row.videoKeys).length >= videos;
}

function sizeOf(row: TaskRow): number {
	let total = 0;
	for (const value of Object.values(row)) if (typeof value === "string") total += value.length;
	return total;
}

function remember(row: TaskRow): void {
	if (!isSettled(row) || rows.has(row.publicId)) return;
	const size = sizeOf(row);
	if (size > ROW_CHAR_LIMIT) return;
	rows.set(row.publicId, { row: Object.freeze({ ...row }), chars: size });
	chars += size;
	// Map order is insertion order and a hit re-inserts: the first key is the least recently used.
	while (rows.size > ENTRY_LIMIT || chars > CHAR_LIMIT) {
		const oldest = rows.keys().next().value;
		if (oldest === undefined) break;
		forget(oldest);
	}
}

function forget(publicId: string): void {
	const entry = rows.get(publicId);
	if (!entry) return;
	rows.delete(publicId);
	chars -= entry.chars;
}

/** A settled row from the cache: `undefined` when not cached, `null` when cached but someone else's. */
function cached(userId: number, publicId: string): Readonly<TaskRow> | null | undefined {
	const entry = rows.get(publicId);
	if (!entry) return undefined;
	rows.delete(publicId);
	rows.set(publicId, entry);
	return entry.row.userId === userId ? entry.row : null;
}

/**
 * The user's task as `findUserTask` reads it, answered from the isolate when the task is settled.
 * `openDb` opens the request's D1 session only when D1 must be read (request-db.ts).
 * For reads that only show a task (fetch, a follow-up's parent); what must see a task change
 * (cancel, the modal step, streams) reads D1.
 */
export async function findSettledOrLiveTask(
	openDb: () => Db,
	userId: number,
	publicId: string,
): Promise<Readonly<TaskRow> | undefined> {
	const hit = cached(userId, publicId);
	if (hit !== undefined) return hit ?? undefined;
	const row = await findUserTask(openDb(), userId, publicId);
	if (row) remember(row);
	return row;
}

/** `findUserTasks` with settled rows from the isolate; one D1 read for the rest, none when all are settled. */
export async function findSettledOrLiveTasks(
	openDb: () => Db,
	userId: number,
	publicIds: readonly string[],
): Promise<Readonly<TaskRow>[]> {
	const found: Readonly<TaskRow>[] = [];
	const missing: string[] = [];
	for (const publicId of publicIds) {
		const hit = cached(userId, publicId);
		if (hit) found.push(hit);
		else if (hit === undefined) missing.push(publicId);
	}
	const read = missing.length > 0 ? await findUserTasks(openDb(), userId, missing) : [];
	for (const row of read) remember(row);
	return [...found, ...read];
}

/** For tests: how many rows this isolate holds, and a way to start empty. */
export const settledTaskCache = {
	size: () => rows.size,
	has: (publicId: string) => rows.has(publicId),
	clear: () => {
		rows.clear();
		chars = 0;
	},
};
