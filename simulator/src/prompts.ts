/** The text results: what DESCRIBE reads in a picture and what SHORTEN makes of a prompt. */
import { prng } from "./images";

const SUBJECTS = [
	"a lone lighthouse",
	"a fox in the snow",
	"an old harbour town",
	"a glass greenhouse",
	"a desert caravan",
];
const STYLES = ["watercolor", "oil painting", "35mm photograph", "isometric illustration", "ink sketch"];
const MOODS = ["at golden hour", "under a stormy sky", "in soft morning light", "at night with neon", "in thick fog"];
const DIGITS = ["1️⃣", "2️⃣", "3️⃣", "4️⃣"];

/** Four prompts for a picture, numbered as Midjourney numbers them; the same input gives the same four. */
export function describePrompts(seed: string): string {
	const random = prng(seed);
	const pick = (words: string[]) => words[Math.floor(random() * words.length)] ?? "";
	return DIGITS.map((digit) => `${digit} ${pick(SUBJECTS)}, ${pick(STYLES)}, ${pick(MOODS)} --ar 1:1`).join("\n\n");
}

/**
 * Five ever shorter versions of a prompt joined by blank lines, parameters (`--ar 2:3`,
 * markers) kept at the end of each, as /shorten keeps them.
 */
export function shortenPrompt(prompt: string): string {
	const tokens = prompt.trim().split(/\s+/);
	const firstParam = tokens.findIndex((token) => token.startsWith("--"));
	const words = firstParam === -1 ? tokens : tokens.slice(0, firstParam);
	const params = firstParam === -1 ? "" : tokens.slice(firstParam).join(" ");
	const versions: string[] = [];
	for (let k = 1; k <= 5; k++) {
		const keep = Math.max(1, Math.ceil(words.length * (1 - k * 0.15)));
		versions.push(`${words.slice(0, keep).join(" ")} ${params}`.trim());
	}
	return versions.join("\n\n");
}
