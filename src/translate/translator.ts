/**
 * Translating prompt text into English, behind one interface so the gateway never cares who
 * translates: Workers AI in production (the `AI` binding), a deterministic local fake for the
 * tests and `npm start`, or nobody. TRANSLATOR (config) chooses; without the binding,
 * "workers-ai" means off.
 */
import { config } from "../config";
import { fakeAi } from "./fake-ai";
import { foreignLanguageOf, splitPrompt } from "./prompt-spans";

export interface Translator {
	/** What the task's log and docs/translation.md call it. */
	readonly name: string;
	/** `text` (in `source`, an ISO 639-1 code) in English; throws when it cannot. */
	translate(text: string, source: string): Promise<string>;
}

/** The Workers AI translation model: `{text, source_lang, target_lang}` in, `{translated_text}` out. */
export const TRANSLATION_MODEL = "@cf/meta/m2m100-1.2b";

/** A model call that takes longer is given up: the task goes on untranslated. */
const TRANSLATE_TIMEOUT_MS = 10_000;

/** The part of the AI binding a translator uses (the real binding, or the fake). */
export interface TranslationModel {
	run(
		model: typeof TRANSLATION_MODEL,
		inputs: { text: string; source_lang?: string; target_lang: string },
	): Promise<{ translated_text?: string } | unknown>;
}

export function modelTranslator(ai: TranslationModel, name: string): Translator {
	return {
		name,
		async translate(text, source) {
			let timer: ReturnType<typeof setTimeout> | undefined;
			const timeout = new Promise<never>((_, reject) => {
				timer = setTimeout(
					() => reject(new Error(`no answer in ${TRANSLATE_TIMEOUT_MS / 1000} s`)),
					TRANSLATE_TIMEOUT_MS,
				);
			});
			try {
				const answer = await Promise.race([
					ai.run(TRANSLATION_MODEL, { text, source_lang: source, target_lang: "en" }),
					timeout,
				]);
				const translated = (answer as { translated_text?: unknown } | null)?.translated_text;
				if (typeof translated !== "string" || translated.trim() === "") {
					throw new Error("the model answered no translated_text");
				}
				return translated.trim();
			} finally {
				clearTimeout(timer);
			}
		},
	};
}

/** The translator TRANSLATOR and the bindings give, or null when prompts go as written. */
export function translatorFor(env: Env): Translator | null {
	switch (config(env).translator) {
		case "off":
			return null;
		case "fake":
			return modelTranslator(fakeAi, "fake");
		case "workers-ai": {
			const ai = (env as { AI?: TranslationModel }).AI;
			return ai ? modelTranslator(ai, "workers-ai") : null;
		}
	}
}

export type TranslationOutcome =
	/** Nothing to translate: English (or no text outside parameters, links and weights). */
	| { kind: "english"; prompt: string }
	| { kind: "translated"; prompt: string; source: string }
	/** No translator configured for a prompt that needs one. */
	| { kind: "off"; prompt: string }
	/** The translator failed: the prompt goes as written, and the task says so. */
	| { kind: "failed"; prompt: string; error: string };

/**
 * The prompt in English with every parameter, link and weight exactly as written: each piece of
 * text between them that is in a non-Latin script is translated on its own, keeping the
 * whitespace around it.
 */
export async function translatePrompt(translator: Translator | null, prompt: string): Promise<TranslationOutcome> {
	const spans = splitPrompt(prompt);
	const source = foreignLanguageOf(
		spans
			.filter((span) => span.translate)
			.map((span) => span.text)
			.join(" "),
	);
	if (!source) return { kind: "english", prompt };
	if (!translator) return { kind: "off", prompt };
	try {
		const parts = await Promise.all(
			spans.map(async (span) => {
				const language = span.translate ? foreignLanguageOf(span.text) : undefined;
				if (!language) return span.text;
				const [, lead, core, trail] = /^(\s*)([\s\S]*?)(\s*)$/.exec(span.text) ?? ["", "", span.text, ""];
				return `${lead}${await translator.translate(core, language)}${trail}`;
			}),
		);
		return { kind: "translated", prompt: parts.join(""), source };
	} catch (error) {
		return { kind: "failed", prompt, error: error instanceof Error ? error.message : String(error) };
	}
}
