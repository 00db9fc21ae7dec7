/** The task model shared by every surface: states, actions, limits. */
import type { TaskStatus, UpstreamButton } from "../upstream/protocol";

export type { TaskStatus };

export const TERMINAL_STATUSES: ReadonlySet<TaskStatus> = new Set(["SUCCESS", "FAILURE", "CANCEL"]);

export function isTerminal(status: string): boolean {
	return TERMINAL_STATUSES.has(status as TaskStatus);
}

/** Actions the seed-002 surface accepts. */
export const SUBMIT_ACTIONS = ["IMAGINE", "UPSCALE", "VARIATION"] as const;
export type SubmitAction = (typeof SUBMIT_ACTIONS)[number];

/** Longest prompt accepted, in characters (documented in the README). */
export const PROMPT_MAX_LENGTH = 4000;
/** Longest `state` string accepted. */
export const CLIENT_STATE_MAX_LENGTH = 1024;
/** Longest notifyHook URL accepted. */
export const NOTIFY_HOOK_MAX_LENGTH = 2048;

/** An update to a task, from the upstream (submit reply, poll, push callback) or the reconciler. */
export interface TaskUpdate {
	status: TaskStatus;
	progress?: string;
	upstreamId?: string;
	channelId?: number;
	failReason?: string;
	imageUrl?: string;
	promptEn?: string;
	finalPrompt?: string;
	buttons?: UpstreamButton[];
	videoUrl?: string;
	videoUrls?: string[];
	startTime?: number;
	finishTime?: number;
}

/** Parses "45%" to 45; anything unparsable is undefined. */
export function parseProgress(progress: string | undefined | null): number | undefined {
	if (!progress) return undefined;
	const match = /^(\d{1,3})(?:\.\d+)?%?$/.exec(progress.trim());
	if (!match) return undefined;
	return Math.min(100, Number(match[1]));
}

/** How long a task may run before the reconciler fails it (TASK_TIMEOUT_MINUTES, default 30). */
export function taskTimeoutMs(env: Pick<Env, "TASK_TIMEOUT_MINUTES">): number {
	const minutes = Number(env.TASK_TIMEOUT_MINUTES);
	return (Number.isFinite(minutes) && minutes > 0 ? minutes : 30) * 60_000;
}
