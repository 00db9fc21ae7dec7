/**
 * Marker words anywhere in a prompt force the paths a real upstream takes only sometimes
 * (follow-ups inherit their parent's prompt, hence its markers):
 * - `--sim-banned`      submit answers code 24 "May contain a banned word"; no task is created.
 * - `--sim-fail`        the task fails half-way: FAILURE, failReason "simulated failure",
 *                       progress left at "50%".
 * - `--sim-queue`       submit answers code 22 "In queue, 1 task ahead"; the task runs normally.
 * - `--sim-size <N>mb`  the result image is about N megabytes (4096 px wide; capped at 200).
 * - `--sim-slow`        every step takes 10x SIMULATOR_STEP_MS, to keep a task in flight.
 */
import { MAX_MEGABYTES } from "./images";

export interface Markers {
	banned: boolean;
	fail: boolean;
	queue: boolean;
	slow: boolean;
	megabytes?: number;
}

/** Reads the `--sim-*` marker words of a prompt. */
export function parseMarkers(prompt: string): Markers {
	const has = (word: string) => new RegExp(`(^|\\s)--sim-${word}(?=\\s|$)`, "i").test(prompt);
	const size = /(?:^|\s)--sim-size\s+(\d+(?:\.\d+)?)\s*mb(?=\s|$)/i.exec(prompt);
	const megabytes = size ? Math.min(Number(size[1]), MAX_MEGABYTES) : undefined;
	return {
		banned: has("banned"),
		fail: has("fail"),
		queue: has("queue"),
		slow: has("slow"),
		...(megabytes && megabytes > 0 ? { megabytes } : {}),
	};
}
