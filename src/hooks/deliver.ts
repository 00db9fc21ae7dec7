/**
 * The one place client callbacks are sent from: a POST of the task in the seed-002 fetch
 * format to its notifyHook, signed per Standard Webhooks with the owner's secret. Every
 * attempt is recorded in the delivery log. Any answer but 2xx counts as a failure to be retried.
 */
import { getDb } from "../db/client";
import { findTask } from "../db/tasks";
import { eventDelivered, markEventDead, type NewDelivery, recordDelivery } from "../db/webhooks";
import { publicBase } from "../images/links";
import { logWarning } from "../log";
import type { HookMessage } from "../queue/messages";
import { toSeed002 } from "../tasks/views/seed002";
import type { Fetch } from "../upstream/fetcher";
import { ensureWebhookSecret, signingSecrets } from "./secrets";
import { eventIdFor, signatureHeader } from "./standard-webhooks";
import { callbackUrlProblem } from "./url-policy";

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
	timeoutMs: number;
	/** When the queue tries again should this attempt fail; null after the last attempt. */
	nextTryAt: number | null;
}

/** The event a message is about: its id, the task, the receiver. Undefined when there is nothing to send. */
async function eventOf(env: Env, job: HookMessage) {
	const task = await findTask(getDb(env.DB), job.taskId);
	if (!task?.notifyHook) return undefined;
	return { task, eventId: job.eventId ?? (await eventIdFor(task.publicId, task.status)) };
}

export async function deliverTaskHook(env: Env, job: HookMessage, attempt: HookAttempt): Promise<HookVerdict> {
	const db = getDb(env.DB);
	const event = await eventOf(env, job);
	if (!event) return { kind: "dropped", reason: "task has no notifyHook" };
	const { task, eventId } = event;
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
	};
	// Checked again at delivery: the policy may be stricter than when the task was created.
	const problem = callbackUrlProblem(task.notifyHook, env);
	if (problem) {
		await recordDelivery(db, { ...entry, error: `refused: ${problem}`, outcome: "dead", nextTryAt: null });
		return { kind: "dropped", reason: problem };
	}
	const body = JSON.stringify(await toSeed002(env, publicBase(env), task));
	const secret = await ensureWebhookSecret(db, task.userId, started);
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
