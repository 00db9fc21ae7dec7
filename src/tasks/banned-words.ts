/**
 * Banned words: whole words and phrases a prompt (and its English translation) may not contain,
 * in any case. The list lives in D1 (admins manage it; BANNED_WORDS seeds it). Each isolate keeps
 * a matcher built from it and, before every check, reads the list's version from the primary
 * database (one primary-key read): a change made anywhere applies to the very next prompt.
 */
import { config } from "../config";
import {
	addBannedWord,
	bannedWordsVersion,
	countBannedHit,
	countBannedWords,
	listBannedWords,
	readBannedWords,
	removeBannedWord,
	seedBannedWords,
} from "../db/banned-words";
import { getDb } from "../db/client";
import type { BannedWordRow } from "../db/schema";
import { ApiError, badRequest, notFound } from "../errors";
import { logError } from "../log";

/** Longest word or phrase an admin may ban, in characters. */
export const BANNED_WORD_MAX_LENGTH = 100;
/** Most words in force at once: every prompt is checked against all of them. */
export const BANNED_WORDS_LIMIT = 1000;

/** Scripts written without spaces between words: a banned word in them matches anywhere. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u;

/** Lower-cased words: letters, digits, `_`, and `-` or `'` inside a word ("sci-fi", "don't"). */
function tokens(text: string): string[] {
	return text
		.normalize("NFKC")
		.toLowerCase()
		.split(/[^\p{L}\p{N}\p{M}_'-]+/u)
		.map((token) => token.replace(/^['-]+|['-]+$/g, ""))
		.filter((token) => token !== "");
}

/**
 * The form a banned word is stored and compared in: its words lower-cased, one space apart
 * ("Red  Fox" → "red fox"); "" when it has no word at all.
 */
export function normalizeBannedWord(text: string): string {
	if (UNSPACED.test(text)) return text.normalize("NFKC").toLowerCase().trim().replace(/\s+/g, " ");
	return tokens(text).join(" ");
}

export class BannedMatcher {
	readonly #single: Set<string>;
	readonly #phrases: string[];
	readonly #unspaced: string[];
	/** No word at all: every submit checks its prompt, and splitting it into words costs. */
	readonly #empty: boolean;

	constructor(words: readonly string[]) {
		const sorted = [...words].sort();
		this.#single = new Set(sorted.filter((word) => !UNSPACED.test(word) && !word.includes(" ")));
		this.#phrases = sorted.filter((word) => !UNSPACED.test(word) && word.includes(" "));
		this.#unspaced = sorted.filter((word) => UNSPACED.test(word));
		this.#empty = this.#single.size === 0 && this.#phrases.length === 0 && this.#unspaced.length === 0;
	}

	/** The first banned word `text` contains, or undefined. */
	find(text: string): string | undefined {
		if (this.#empty) return undefined;
		const words = tokens(text);
		const single = words.find((word) => this.#single.has(word));
		if (single) return single;
		const spaced = ` ${words.join(" ")} `;
		const phrase = this.#phrases.find((p) => spaced.includes(` ${p} `));
		if (phrase) return phrase;
		if (this.#unspaced.length === 0) return undefined;
		const flat = text.normalize("NFKC").toLowerCase().replace(/\s+/g, " ");
		return this.#unspaced.find((word) => flat.includes(word));
	}
}

interface Cached {
	version: number;
	matcher: BannedMatcher;
}

/** Per isolate and database binding: the matcher of the version last read. */
const cache = new WeakMap<D1Database, Cached>();
/** BANNED_WORDS lists already merged into the table by this isolate. */
const seeded = new WeakMap<D1Database, string>();

/** Merges BANNED_WORDS into the table once per isolate (and again after a failed try). */
export async function seedFromEnv(env: Env, now: number): Promise<void> {
	const words = [
		...new Set(
			config(env)
				.bannedWords.map(normalizeBannedWord)
				.filter((word) => word !== ""),
		),
	];
	const key = words.join("\n");
	if (seeded.get(env.DB) === key) return;
	try {
		await seedBannedWords(getDb(env.DB), words, now);
		seeded.set(env.DB, key);
	} catch (error) {
		logError("seeding BANNED_WORDS failed; will try again", error);
	}
}

/**
 * The current matcher. Reads the primary database, not a request's session: a replica a moment
 * behind could miss a word an admin has just added.
 */
export async function bannedMatcher(env: Env, now: number): Promise<BannedMatcher> {
	await seedFromEnv(env, now);
	const db = getDb(env.DB);
	const known = cache.get(env.DB);
	if (known && known.version === (await bannedWordsVersion(db))) return known.matcher;
	const { version, words } = await readBannedWords(db);
	const fresh = { version, matcher: new BannedMatcher(words) };
	cache.set(env.DB, fresh);
	return fresh.matcher;
}

/** Counts a refusal for `word`; a failed count never changes the answer. */
export async function recordBannedHit(env: Env, word: string, now: number): Promise<void> {
	try {
		await countBannedHit(getDb(env.DB), word, now);
	} catch (error) {
		logError("counting a banned word's hit failed", word, error);
	}
}

/** Code 24 for a prompt containing `word`, as midjourney-proxy answers it. */
export function bannedPromptError(word: string, promptEn: string): ApiError {
	return new ApiError("BANNED_PROMPT", `banned prompt: ${word}`, { properties: { promptEn, bannedWord: word } });
}

/** Refuses (code 24, hit counted) a prompt containing a banned word. */
export async function refuseBannedPrompt(
	env: Env,
	prompt: string,
	now: number,
	matcher?: BannedMatcher,
): Promise<void> {
	if (!prompt) return;
	const word = (matcher ?? (await bannedMatcher(env, now))).find(prompt);
	if (!word) return;
	await recordBannedHit(env, word, now);
	throw bannedPromptError(word, prompt);
}

/** A banned word as an admin wrote it, in its stored form; refuses what cannot be one. */
function checkedWord(text: string): string {
	const word = normalizeBannedWord(text);
	if (!word) throw badRequest("word must contain a letter or a digit");
	if (word.length > BANNED_WORD_MAX_LENGTH) {
		throw badRequest(`word must be at most ${BANNED_WORD_MAX_LENGTH} characters`);
	}
	return word;
}

/**
 * The words in force with their hits (BANNED_WORDS' merged in first). Read from the primary, like
 * the checks, so an admin sees a change the moment it is made.
 */
export async function listBanned(env: Env, now: number): Promise<BannedWordRow[]> {
	await seedFromEnv(env, now);
	return listBannedWords(getDb(env.DB));
}

/** Bans a word or phrase: in force for the next prompt in every isolate. */
export async function banWord(env: Env, text: string, now: number): Promise<BannedWordRow> {
	const word = checkedWord(text);
	await seedFromEnv(env, now);
	const db = getDb(env.DB);
	if ((await countBannedWords(db)) >= BANNED_WORDS_LIMIT) {
		throw badRequest(`at most ${BANNED_WORDS_LIMIT} words may be banned; remove one first`);
	}
	const added = await addBannedWord(db, word, now);
	if (!added) throw new ApiError("CONFLICT", `${word} is already banned`);
	return added;
}

/** Lifts a ban (BANNED_WORDS' words too: a removed word stays removed). */
export async function unbanWord(env: Env, text: string, now: number): Promise<BannedWordRow> {
	const word = checkedWord(text);
	await seedFromEnv(env, now);
	const removed = await removeBannedWord(getDb(env.DB), word, now);
	if (!removed) throw notFound(`${word} is not banned`);
	return removed;
}
