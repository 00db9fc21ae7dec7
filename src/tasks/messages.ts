/** Message shapes and retry settings of the two queues: what the rules hand on for later (task work, callbacks). */
import type { TaskStatus } from "../vocabulary";

/**
 * TASK_QUEUE: submit a task upstream, poll it, stop it there, or end tasks that ran past the
 * timeout. The cron only finds timed-out tasks and hands them over in few `timeout` messages (at
 * most TIMEOUT_IDS_PER_MESSAGE each, all with the same failReason); consumers fail them through
 * their objects, where a task that has ended meanwhile refuses the FAILURE.
 */
export type TaskMessage =
	| { kind: "submit"; taskId: string }
	| { kind: "poll"; taskId: string; n: number }
	| UpstreamCancelMessage
	| { kind: "timeout"; failReason: string; taskIds: string[] };

/**
 * The gateway ended a task (cancelled it) whose upstream task may still run, billed upstream, and
 * the upstream could not be told at once: try again. Carries the upstream task itself, so it does
 * not depend on D1 having it yet.
 */
export interface UpstreamCancelMessage {
	kind: "cancel-upstream";
	taskId: string;
	upstreamId: string;
	channelId: number;
}

/**
 * Task ids per `timeout` message. A consumer invocation takes up to max_batch_size (10) messages,
 * so it calls at most 10 x this many objects: sized for the < 10 ms CPU per invocation target
 * (bench/growth.mjs measures it), far under the 128 KB a message may hold (36-character ids).
 */
export const TIMEOUT_IDS_PER_MESSAGE = 10;

/**
 * One change of a task as its callback reports it. `seq` is the task's version when the change
 * was accepted: it only grows, so a receiver tells an older event arriving late from a newer one.
 */
export interface HookChange {
	seq: number;
	status: TaskStatus;
	/** 0..100 */
	progress: number;
	/** When the gateway accepted the change (epoch ms). */
	at: number;
}

/**
 * HOOK_QUEUE: deliver the client's callback for a change of a task. The task's end queues
 * `{taskId}` (the change is the task's row); a change before the end carries `change`. A redeliver
 * request adds the event id and `manual`, which lets it past the "already delivered" check that
 * makes duplicate messages send nothing.
 */
export interface HookMessage {
	taskId: string;
	/** The `webhook-id`; derived from the task (and the change) when absent. */
	eventId?: string;
	manual?: boolean;
	/** A change before the task's end; absent for the end itself. */
	change?: HookChange;
}

export const TASK_QUEUE = "mj-edge-tasks";
export const TASK_DLQ = "mj-edge-tasks-dlq";
export const HOOK_QUEUE = "mj-edge-hooks";
export const HOOK_DLQ = "mj-edge-hooks-dlq";

/** Same as max_retries of mj-edge-tasks in wrangler.toml: the last delivery is attempt 6. */
export const TASK_QUEUE_MAX_RETRIES = 5;
/** Same as max_retries of mj-edge-hooks in wrangler.toml. */
export const HOOK_QUEUE_MAX_RETRIES = 8;

/** 2, 4, 8 ... seconds, capped at five minutes. */
export function backoffSeconds(attempts: number): number {
	return Math.min(300, 2 ** Math.max(1, attempts));
}

/**
 * The wait after the n-th failed try of an upstream cancel: 15 s, 30 s, 1, 2, 4, 8 minutes. With
 * the try made at once and the queue's retries, the upstream is asked 7 times over about 16
 * minutes (an upstream that is down usually comes back within that), then the dead-letter
 * consumer logs it.
 */
export function cancelRetrySeconds(failedTries: number): number {
	return Math.min(480, 15 * 2 ** Math.max(0, failedTries - 1));
}

const POLL_DELAYS = [1, 2, 2, 3, 3, 5, 5, 8, 10, 15, 20, 30];

/** Poll n waits a little longer than poll n-1: quick for fast tasks, cheap for slow ones. */
export function pollDelaySeconds(n: number): number {
	return POLL_DELAYS[Math.min(n, POLL_DELAYS.length - 1)];
}
