/**
 * Which updates a task accepts. Pure: the task's Durable Object calls this with its own
 * stored state before any await, so concurrent updates are decided one at a time.
 */
import { isTerminal, parseProgress, type TaskStatus, type TaskUpdate } from "./model";

const RANK: Record<TaskStatus, number> = {
	NOT_START: 0,
	SUBMITTED: 1,
	IN_PROGRESS: 2,
	MODAL: 2,
	SUCCESS: 3,
	FAILURE: 3,
	CANCEL: 3,
};

export interface TaskProgressState {
	status: TaskStatus;
	/** 0..100 */
	progress: number;
	upstreamId?: string;
}

export type Decision =
	| { accept: true; status: TaskStatus; progress: number }
	| { accept: false; reason: "terminal" | "stale" | "duplicate" };

/** Accepts only forward moves: a higher state, or the same running state with more progress. */
export function decide(current: TaskProgressState, update: TaskUpdate): Decision {
	if (isTerminal(current.status)) return { accept: false, reason: "terminal" };
	const from = RANK[current.status];
	const to = RANK[update.status];
	if (to < from) return { accept: false, reason: "stale" };
	const reported = parseProgress(update.progress);
	if (to > from) {
		const progress = update.status === "SUCCESS" ? 100 : Math.max(current.progress, reported ?? current.progress);
		return { accept: true, status: update.status, progress };
	}
	// Same rank: only news counts. A first upstream id is news even without progress.
	if (reported !== undefined && reported > current.progress) {
		return { accept: true, status: update.status, progress: reported };
	}
	if (update.status !== current.status && reported !== undefined && reported >= current.progress) {
		return { accept: true, status: update.status, progress: reported };
	}
	if (update.upstreamId && !current.upstreamId) {
		return { accept: true, status: update.status, progress: current.progress };
	}
	return { accept: false, reason: "duplicate" };
}

/**
 * A task that ended before its upstream accepted it (cancelled while the submit was on its way)
 * still records the upstream task it has there, once: the upstream's copy must be stopped and
 * may be asked about later. Its status and progress stay as they ended.
 */
export function keepsUpstreamId(current: TaskProgressState, update: TaskUpdate): boolean {
	return isTerminal(current.status) && !current.upstreamId && Boolean(update.upstreamId);
}
