/**
 * The prompt a task sends upstream: in English. Runs in the queue consumer, just before the
 * upstream call, so a submit answers without waiting for a model; the task's `promptEn` shows
 * what was sent from the moment it is SUBMITTED. A modal step's prompt (custom zoom, vary region)
 * is translated the same way. The translation is checked for banned words
 * there too: a banned translation fails the task (refunded) with the word in its failReason.
 */
import type { TaskRow } from "../db/schema";
import { logWarning } from "../log";
import { type TranslationOutcome, translatePrompt, translatorFor } from "../translate/translator";
import type { TaskAction } from "../vocabulary";
import { bannedMatcher, recordBannedHit } from "./banned-words";
import { parseOptions } from "./model";

/** Actions whose own prompt goes upstream (a button's task sends no prompt). */
const SENDS_PROMPT: ReadonlySet<TaskAction> = new Set(["IMAGINE", "SHORTEN", "EDITS", "RETEXTURE", "VIDEO"]);

export type PreparedPrompt =
	/**
	 * `description`: the task's description when it changes (a translation that failed says so);
	 * `modalPrompt`: the modal step's prompt to send (custom zoom, vary region), translated.
	 */
	| { kind: "send"; prompt: string; promptEn?: string; description?: string; modalPrompt?: string }
	| { kind: "banned"; word: string; promptEn: string };

/** What a failed translation adds to the task's description, so every surface shows it. */
export const UNTRANSLATED_NOTE = "[prompt not translated: ";

function untranslated(task: TaskRow, outcome: Extract<TranslationOutcome, { kind: "failed" }>): string {
	logWarning("prompt translation failed; sending it as written", task.publicId, outcome.error);
	return `${task.description} ${UNTRANSLATED_NOTE}${outcome.error}]`.slice(0, 1000);
}

/** The modal step's own prompt, translated; the task's prompt (its parent's) is not sent. */
async function prepareModalPrompt(env: Env, task: TaskRow, modalPrompt: string, now: number): Promise<PreparedPrompt> {
	const outcome = await translatePrompt(translatorFor(env), modalPrompt);
	if (outcome.kind === "failed") return { kind: "send", prompt: task.prompt, description: untranslated(task, outcome) };
	if (outcome.kind !== "translated") return { kind: "send", prompt: task.prompt };
	const word = (await bannedMatcher(env, now)).find(outcome.prompt);
	if (word) {
		await recordBannedHit(env, word, now);
		return { kind: "banned", word, promptEn: outcome.prompt };
	}
	return { kind: "send", prompt: task.prompt, modalPrompt: outcome.prompt };
}

export async function preparePrompt(env: Env, task: TaskRow, now: number): Promise<PreparedPrompt> {
	if (task.customId) {
		const modalPrompt = parseOptions(task.options).modalPrompt;
		return modalPrompt ? prepareModalPrompt(env, task, modalPrompt, now) : { kind: "send", prompt: task.prompt };
	}
	if (!task.prompt || !SENDS_PROMPT.has(task.action as TaskAction)) return { kind: "send", prompt: task.prompt };
	const outcome = await translatePrompt(translatorFor(env), task.prompt);
	switch (outcome.kind) {
		case "english":
		case "off":
			return { kind: "send", prompt: task.prompt, promptEn: task.prompt };
		case "failed":
			return { kind: "send", prompt: task.prompt, promptEn: task.prompt, description: untranslated(task, outcome) };
		case "translated": {
			const word = (await bannedMatcher(env, now)).find(outcome.prompt);
			if (word) {
				await recordBannedHit(env, word, now);
				return { kind: "banned", word, promptEn: outcome.prompt };
			}
			return { kind: "send", prompt: outcome.prompt, promptEn: outcome.prompt };
		}
	}
}
