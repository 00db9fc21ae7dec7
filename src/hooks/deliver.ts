/**
 * The one place client callbacks are sent from: a POST of the task in the seed-002 fetch
 * format to its notifyHook, for each change of the task (or only its end), signed per Standard
 * Webhooks with the owner's secret. Every attempt is recorded in the delivery log. Any answer but
 * 2xx counts as a failure to be retried.
 */
import { z } from "zod";
import { getDb } from "../db/client";
import { parseJsonColumn, type TaskRow } from "../db/schema";
import { findTask } from "../db/tasks";
import { eventDelivered, markEventDead, type NewDelivery, recordDelivery } from "../db/webhooks";
import type { Deps, Fetch } from "../deps";
import { publicBase } from "../images/links";
import { logWarning } from "../log";
import { callbackUrlProblem } from "../net/url-policy";
import type { HookChange, HookMessage } from "../tasks/messages";
import { isTerminal, parseProgress } from "../tasks/model";
import { type Seed002Task, toSeed002 } from "../tasks/views/seed002";
import { TASK_STATUSES } from "../vocabulary";
import { ensureWebhookSecret, signingSecrets } from "./secrets";
import { changeEventIdFor, eventIdFor, signatureHeader } from "./standard-webhooks";

export type HookVerdict =
	| { kind: "delivered" }
	/** The event was delivered before: a duplicate message sends nothing. */
	| { kind: "duplicate" }
	| { kind: "retry"; reason: string }
	| { kind: "dropped"; reason: string };

/**
 * A receiver that answers later than this gets the event again on the next attempt, with the
 * same webhook-id: receivers dedupe on it.
 */
export const HOOK_TIMEOUT_MS = 10_000;

export interface HookAttempt {
	fetch: Fetch;
	now: () => number;
	randomBytes: Deps["randomBytes"];
	timeoutMs: number;
	/** When the queue tries again should this attempt fail; null after the last attempt. */
	nextTryAt: number | null;
}

const storedChangeSchema = z.object({
	seq: z.number().int().nonnegative(),
	status: z.enum(TASK_STATUSES),
	progress: z.number().min(0).max(100),
	at: z.number(),
});

/** The change a delivery log row recorded (its `event` column); undefined for rows without one. */
export function storedChange(json: string | null): HookChange | undefined {
	return parseJsonColumn(json, storedChangeSchema);
}

/** The change a task's row shows: the end, for a message that names no change. */
function changeOfRow(task: TaskRow): HookChange {
	return {
		seq: task.version,
		status: task.status,
		progress: task.status === "SUCCESS" ? 100 : (parseProgress(task.progress) ?? 0),
		at: task.finishTime ?? task.updatedAt,
	};
}

/** The event a message is about: its id, the task, the change, the receiver. Undefined when there is nothing to send. */
async function eventOf(env: Env, job: HookMessage) {
	const task = await findTask(getDb(env.DB), job.taskId);
	if (!task?.notifyHook) return undefined;
	const change = job.change ?? changeOfRow(task);
	// The end keeps the id it always had (one per task end); a change before it has one per version.
	const final = isTerminal(change.status);
	const eventId =
		job.eventId ??
		(final ? await eventIdFor(task.publicId, change.status) : await changeEventIdFor(task.publicId, change.seq));
	return { task, eventId, change, final };
}

/**
 * The body: the task in the fetch format. The end is the task as it is now (its image the
 * gateway's copy); a change before it shows the status and progress of that change, whatever
 * the task has reached since, so a late event reads as the older news it is.
 */
async function bodyOf(env: Env, task: TaskRow, change: HookChange, final: boolean): Promise<Seed002Task> {
	const view = await toSeed002(env, publicBase(env), task);
	if (final) return view;
	return { ...view, status: change.status, progress: `${change.progress}%`, finishTime: null };
}

export async function deliverTaskHook(env: Env, job: HookMessage, attempt: HookAttempt): Promise<HookVerdict> {
	const db = getDb(env.DB);
	const event = await eventOf(env, job);
	if (!event) return { kind: "dropped", reason: "task has no notifyHook" };
	const { task, eventId, change, final } = event;
	if (!job.manual && (await eventDelivered(db, eventId))) return { kind: "duplicate" };
	const started = attempt.now();
	const entry: NewDelivery = {
		eventId,
		taskId: task.publicId,
		userId: task.userId,
		url: task.notifyHook,
		manual: job.manual === true,
		httpStatus: null,
		error: "",
		durationMs: 0,
		outcome: "failed",
		nextTryAt: attempt.nextTryAt,
		createdAt: started,
		event: JSON.stringify(change),
	};
	// Checked again at delivery: the policy may be stricter than when the task was created.
	const problem = callbackUrlProblem(task.notifyHook, env);
	if (problem) {
		await recordDelivery(db, { ...entry, error: `refused: ${problem}`, outcome: "dead", nextTryAt: null });
		return { kind: "dropped", reason: problem };
	}
	const body = JSON.stringify(await bodyOf(env, task, change, final));
	const secret = await ensureWebhookSecret(db, task.userId, started, attempt);
	const timestamp = Math.floor(started / 1000);
	const signal = AbortSignal.timeout(attempt.timeoutMs);
	try {
		const response = await attempt.fetch(task.notifyHook, {
			method: "POST",
			headers: {
				"content-type": "application/json",
				"user-agent": "mj-edge-callback/1",
				"webhook-id": eventId,
				"webhook-timestamp": String(timestamp),
				"webhook-signature": await signatureHeader(signingSecrets(secret, started), eventId, timestamp, body),
				// Order within the task: a higher sequence is newer news (see docs/callbacks.md).
				"mj-edge-sequence": String(change.seq),
				"mj-edge-event-time": String(change.at),
			},
			body,
			// A redirect could lead anywhere, including a private address: never follow one.
			redirect: "manual",
			signal,
		});
		await response.body?.cancel();
		const ok = response.status >= 200 && response.status < 300;
		await recordDelivery(db, {
			...entry,
			httpStatus: response.status,
			error: ok ? "" : `HTTP ${response.status}`,
			durationMs: attempt.now() - started,
			outcome: ok ? "delivered" : "failed",
			nextTryAt: ok ? null : attempt.nextTryAt,
		});
		return ok ? { kind: "delivered" } : { kind: "retry", reason: `receiver answered HTTP ${response.status}` };
	} catch (error) {
		// The log says what happened in the user's terms; the cause (which may name internal
		// network detail) goes to the Worker's log only.
		const reason = signal.aborted ? "timed out" : "connection failed";
		logWarning("callback attempt failed", eventId, reason, error);
		await recordDelivery(db, { ...entry, error: reason, durationMs: attempt.now() - started });
		return { kind: "retry", reason: `receiver ${reason}` };
	}
}

/** A message that left the queue for its dead-letter queue: the event is dead. Safe to repeat. */
export async function recordDeadLetter(env: Env, job: HookMessage): Promise<boolean> {
	const eventId = job.eventId ?? (await eventOf(env, job))?.eventId;
	return eventId ? markEventDead(getDb(env.DB), eventId) : false;
}
