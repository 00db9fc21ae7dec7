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

const ZH: Record<string, string> = {
	"a lone lighthouse": "一座孤独的灯塔",
	"a fox in the snow": "雪中的狐狸",
	"an old harbour town": "古老的港口小镇",
	"a glass greenhouse": "玻璃温室",
	"a desert caravan": "沙漠商队",
	watercolor: "水彩",
	"oil painting": "油画",
	"35mm photograph": "35毫米照片",
	"isometric illustration": "等距插画",
	"ink sketch": "水墨素描",
	"at golden hour": "黄金时刻",
	"under a stormy sky": "暴风雨的天空下",
	"in soft morning light": "柔和的晨光中",
	"at night with neon": "霓虹灯下的夜晚",
	"in thick fog": "浓雾中",
};

/**
 * Four prompts for a picture, numbered as Midjourney numbers them; the same input gives the same
 * four. `language` zh (or zh_cn) writes them in Chinese, parameters kept, as trueai-org's `language` asks.
 */
export function describePrompts(seed: string, language?: string): string {
	const random = prng(seed);
	const chinese = language?.startsWith("zh") ?? false;
	const pick = (words: string[]) => {
		const word = words[Math.floor(random() * words.length)] ?? "";
		return chinese ? (ZH[word] ?? word) : word;
	};
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
