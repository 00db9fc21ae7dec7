/**
 * What a Discord account can run today: one rule for the channel choice (a task a Discord account
 * cannot run goes to a relay instead) and for the account object (which refuses it with the same
 * words if it reaches it anyway, as a follow-up on its parent's account does).
 */
import type { TaskRow } from "../db/schema";
import { parseOptions } from "./model";

/** New tasks (no parent) a Discord account starts with a slash command. */
const SLASH_ACTIONS: ReadonlySet<string> = new Set(["IMAGINE", "BLEND", "DESCRIBE", "SHORTEN"]);

/** Task options a relay passes on that the Discord driver cannot honour yet: refused, never ignored. */
const UNSUPPORTED_OPTIONS = ["language", "remix", "strong", "endImage", "loop", "batchSize", "videoType"] as const;

/** Why a Discord account cannot run `task` yet, or null when it can. */
export function discordCannotRun(task: Pick<TaskRow, "action" | "customId" | "parentId" | "options">): string | null {
	const options = parseOptions(task.options);
	const unsupported = UNSUPPORTED_OPTIONS.filter((name) => options[name] !== undefined);
	if (unsupported.length > 0) {
		return `${unsupported.join(", ")} ${unsupported.length === 1 ? "is" : "are"} not supported on a discord channel yet`;
	}
	if (!task.customId && !task.parentId && !SLASH_ACTIONS.has(task.action)) {
		return `action ${task.action} is not supported on a discord channel yet`;
	}
	return null;
}
