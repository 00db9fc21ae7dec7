/**
 * A Midjourney prompt split into what a translator may touch and what it must not: parameters
 * (`--ar 16:9`, `--no red`, everything from the first `--name` on), links (http(s) URLs and
 * `<…>`), and `::` weights stay byte for byte; only the text between them is translated.
 */

export interface Span {
	text: string;
	/** False for a protected span: sent exactly as written. */
	translate: boolean;
}

/**
 * Protected spans, leftmost first. Parameters run to the end of the prompt: Midjourney reads them
 * only there, and a parameter's value (`--no 红花`) belongs to it, not to the text.
 */
const PROTECTED = /(?<=^|\s)--[a-z][\w-]*[\s\S]*$|https?:\/\/\S+|<[^<>\s][^<>]*>|::-?(?:\d+(?:\.\d+)?|\.\d+)?/giu;

export function splitPrompt(prompt: string): Span[] {
	const spans: Span[] = [];
	let at = 0;
	for (const match of prompt.matchAll(PROTECTED)) {
		if (match[0] === "") continue;
		if (match.index > at) spans.push({ text: prompt.slice(at, match.index), translate: true });
		spans.push({ text: match[0], translate: false });
		at = match.index + match[0].length;
	}
	if (at < prompt.length) spans.push({ text: prompt.slice(at), translate: true });
	return spans;
}

/** Scripts that are certainly not English, with the language m2m100 is told the text is in. */
const SCRIPTS: readonly [RegExp, string][] = [
	// Kana first: Japanese text mixes kana with Han characters.
	[/[\p{Script=Hiragana}\p{Script=Katakana}]/u, "ja"],
	[/\p{Script=Hangul}/u, "ko"],
	[/\p{Script=Han}/u, "zh"],
	[/\p{Script=Cyrillic}/u, "ru"],
	[/\p{Script=Arabic}/u, "ar"],
	[/\p{Script=Hebrew}/u, "he"],
	[/\p{Script=Thai}/u, "th"],
	[/\p{Script=Devanagari}/u, "hi"],
	[/\p{Script=Greek}/u, "el"],
];

/**
 * The language of text written in a script English never uses, or undefined: a cheap test that
 * never calls a model for an English prompt. Latin-script languages (French, Spanish…) are not
 * recognised and go upstream as written (Midjourney reads many of them).
 */
export function foreignLanguageOf(text: string): string | undefined {
	for (const [script, language] of SCRIPTS) if (script.test(text)) return language;
	return undefined;
}
