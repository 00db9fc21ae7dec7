/** What the reconciler does with a task it finds unfinished. Pure: the cron orchestrates. */
import type { TaskRow } from "../db/schema";

/** A NOT_START task this old has probably lost its queue message. */
export const REQUEUE_AFTER_MS = 30_000;
/** A submitted task may be missing from list-by-condition this long before it counts as vanished. */
export const VANISH_GRACE_MS = 120_000;

/** How the failReason of an abandoned modal step begins (the console words it in the user's language). */
export const MODAL_ABANDONED = "the modal step (mask or prompt) was not sent";

export type ReconcilePlan =
	| { kind: "fail"; reason: string }
	| { kind: "requeue" }
	| { kind: "poll" }
	| { kind: "wait" };

/** Past TASK_TIMEOUT_MINUTES a task is failed by the reconciler, and nobody polls it any more. */
export function isPastTimeout(task: Pick<TaskRow, "submitTime">, now: number, timeoutMs: number): boolean {
	return now - task.submitTime > timeoutMs;
}

/**
 * The failReason of a task past the timeout. `modal`: a MODAL task the client never gave its
 * second step (a closed vary-region or zoom dialog): the user is told why it ended, and the
 * FAILURE refunds the charge like any other.
 */
export function timeoutReason(modal: boolean, timeoutMs: number): string {
	const minutes = Math.round(timeoutMs / 60_000);
	return modal
		? `${MODAL_ABANDONED} within ${minutes} minutes; the charge is refunded`
		: `timed out after ${minutes} minutes`;
}

export function planFor(
	task: Pick<TaskRow, "status" | "submitTime" | "upstreamId" | "channelId">,
	now: number,
	timeoutMs: number,
): ReconcilePlan {
	const age = now - task.submitTime;
	if (isPastTimeout(task, now, timeoutMs)) {
		return { kind: "fail", reason: timeoutReason(task.status === "MODAL" && !task.upstreamId, timeoutMs) };
	}
	if (task.status === "NOT_START") return age > REQUEUE_AFTER_MS ? { kind: "requeue" } : { kind: "wait" };
	if (task.upstreamId && task.channelId != null) return { kind: "poll" };
	return { kind: "wait" };
}

/** A task the upstream left out of its answer. */
export function planForMissing(task: Pick<TaskRow, "submitTime">, now: number): ReconcilePlan {
	return now - task.submitTime > VANISH_GRACE_MS
		? { kind: "fail", reason: "the upstream no longer knows this task" }
		: { kind: "wait" };
}
