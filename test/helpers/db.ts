/** Direct D1 access for tests: seed rows the API would not let a test create quickly. */
import { env } from "cloudflare:workers";
import { enabledChannelByName } from "../../src/db/channels";
import { getDb } from "../../src/db/client";
import { type NewTaskRow, type TaskRow, tasks } from "../../src/db/schema";
import { findTask } from "../../src/db/tasks";
import { upsertUser } from "../../src/db/users";
import { ensureSimulatorChannel, SIMULATOR_CHANNEL_NAME } from "../../src/upstream/channels";
import { waitFor } from "./api";

export const db = () => getDb(env.DB);

export async function userId(sub: string): Promise<number> {
	return upsertUser(db(), sub, "user", 0, Date.now());
}

let seq = 1_000_000;

/** Inserts a task row as-is (no queue message). */
export async function insertTaskRow(overrides: Partial<NewTaskRow> & { userId: number }): Promise<TaskRow> {
	const now = Date.now();
	seq += 1;
	const row: NewTaskRow = {
		publicId: crypto.randomUUID(),
		userSeq: seq,
		action: "IMAGINE",
		prompt: "a test prompt",
		status: "NOT_START",
		progress: "0%",
		description: "/imagine a test prompt",
		submitTime: now,
		updatedAt: now,
		...overrides,
	};
	await db().insert(tasks).values(row);
	const stored = await findTask(db(), row.publicId);
	if (!stored) throw new Error("row not written");
	return stored;
}

export async function taskRow(publicId: string): Promise<TaskRow> {
	const row = await findTask(db(), publicId);
	if (!row) throw new Error(`no task ${publicId}`);
	return row;
}

/** The task's row once it has ended FAILURE: the cron hands timed-out tasks to the queue, whose consumer ends them. */
export function failedRow(publicId: string, label = "the timed-out task to fail"): Promise<TaskRow> {
	return waitFor(
		async () => {
			const row = await taskRow(publicId);
			return row.status === "FAILURE" ? row : undefined;
		},
		10_000,
		label,
	);
}

/** The built-in simulator's channel, made as `npm start` makes it; its id. */
export async function simulatorChannelId(): Promise<number> {
	await ensureSimulatorChannel(db(), env, Date.now());
	const channel = await enabledChannelByName(db(), SIMULATOR_CHANNEL_NAME);
	if (!channel) throw new Error("no simulator channel");
	return channel.id;
}
