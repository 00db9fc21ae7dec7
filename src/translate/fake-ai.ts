/**
 * A stand-in for the Workers AI translation model, used only when TRANSLATOR is "fake" (the
 * tests, `npm start`): deterministic, offline, and able to fail on demand. It knows a few
 * Chinese words; anything else is left as it is. Text containing 翻译失败 ("translation fails")
 * makes it throw, as a model that is down would.
 */
import type { TranslationModel } from "./translator";

export const FAKE_FAILURE_MARKER = "翻译失败";

/** Longest first, so 一只猫 wins over 猫. */
const WORDS: readonly [string, string][] = (
	[
		["一只猫", "a cat"],
		["一只狗", "a dog"],
		["猫", "cat"],
		["狗", "dog"],
		["红色的", "red"],
		["红色", "red"],
		["花园", "garden"],
		["在", "in"],
		["的", ""],
		["和", "and"],
		["日落", "sunset"],
		["城市", "city"],
		["走私品", "contraband"],
		["水彩画", "watercolor painting"],
	] as [string, string][]
).sort((a, b) => b[0].length - a[0].length);

function translate(text: string): string {
	const out: string[] = [];
	let rest = text;
	while (rest) {
		const known = WORDS.find(([word]) => rest.startsWith(word));
		if (known) {
			out.push(known[1]);
			rest = rest.slice(known[0].length);
			continue;
		}
		const last = out.length - 1;
		const char = rest[0];
		// Unknown characters stay, joined to the unknown ones next to them.
		if (last >= 0 && out[last].endsWith("\u0000")) out[last] = `${out[last].slice(0, -1)}${char}\u0000`;
		else out.push(`${char}\u0000`);
		rest = rest.slice(1);
	}
	return out
		.map((part) => part.replace("\u0000", ""))
		.join(" ")
		.replace(/\s+/g, " ")
		.replace(/\s+([,.!?;:])/g, "$1")
		.trim();
}

export const fakeAi: TranslationModel = {
	async run(_model, inputs) {
		if (inputs.text.includes(FAKE_FAILURE_MARKER)) throw new Error("fake translator: failure requested");
		return { translated_text: translate(inputs.text) };
	},
};
