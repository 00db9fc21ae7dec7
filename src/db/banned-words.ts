/**
 * The banned words' queries. Every change to the list bumps the counters row 'banned_words' in
 * the same batch, so a reader that sees the counter unchanged knows its copy of the list is current.
 */
import { and, asc, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Db } from "./client";
import { rawRows } from "./rows";
import { type BannedWordRow, bannedWords, counters } from "./schema";

const VERSION_COUNTER = "banned_words";

/**
 * A random step rather than +1: two databases (the tests' per-file storage, a restored backup)
 * then practically never share a version while holding different lists.
 */
const STEP = sql`1 + abs(random() % 1000000)`;

function bumpVersion(db: Db) {
	return db
		.insert(counters)
		.values({ name: VERSION_COUNTER, value: STEP })
		.onConflictDoUpdate({ target: counters.name, set: { value: sql`${counters.value} + ${STEP}` } });
}

function versionQuery(db: Db) {
	return db.select({ value: counters.value }).from(counters).where(eq(counters.name, VERSION_COUNTER));
}

/** versionQuery's text, sent by hand: every submit reads it, and drizzle built it again each time. */
const VERSION_SQL = `select "value" from "counters" where "counters"."name" = ?`;

/** The list's version: 0 before its first change. One primary-key read. */
export async function bannedWordsVersion(db: Db): Promise<number> {
	const [row] = await rawRows(db, VERSION_SQL, [VERSION_COUNTER]);
	return (row?.[0] as number | undefined) ?? 0;
}

/** The version and the words in force, read together. */
export async function readBannedWords(db: Db): Promise<{ version: number; words: string[] }> {
	const [version, rows] = await db.batch([
		versionQuery(db),
		db.select({ word: bannedWords.word }).from(bannedWords).where(isNull(bannedWords.removedAt)),
	]);
	return { version: version[0]?.value ?? 0, words: rows.map((row) => row.word) };
}

/** The words in force with their hits, alphabetically (the admin's list). */
export async function listBannedWords(db: Db): Promise<BannedWordRow[]> {
	return db.select().from(bannedWords).where(isNull(bannedWords.removedAt)).orderBy(asc(bannedWords.word)).all();
}

export async function countBannedWords(db: Db): Promise<number> {
	const row = await db
		.select({ n: sql<number>`count(*)` })
		.from(bannedWords)
		.where(isNull(bannedWords.removedAt))
		.get();
	return row?.n ?? 0;
}

/**
 * Bans `word` (already normalised); a removed word comes back with its hits. Undefined when it
 * is banned already.
 */
export async function addBannedWord(db: Db, word: string, now: number): Promise<BannedWordRow | undefined> {
	const [added] = await db.batch([
		db
			.insert(bannedWords)
			.values({ word, source: "admin", createdAt: now })
			.onConflictDoUpdate({
				target: bannedWords.word,
				set: { removedAt: null, source: "admin", createdAt: now },
				setWhere: isNotNull(bannedWords.removedAt),
			})
			.returning(),
		bumpVersion(db),
	]);
	return added[0];
}

/** Lifts the ban on `word`; undefined when it was not banned. */
export async function removeBannedWord(db: Db, word: string, now: number): Promise<BannedWordRow | undefined> {
	const [removed] = await db.batch([
		db
			.update(bannedWords)
			.set({ removedAt: now })
			.where(and(eq(bannedWords.word, word), isNull(bannedWords.removedAt)))
			.returning(),
		bumpVersion(db),
	]);
	return removed[0];
}

/**
 * Adds BANNED_WORDS' words never seen before (a word an admin removed stays removed) and bumps
 * the version only when one was new. Safe to run any number of times.
 */
export async function seedBannedWords(db: Db, words: readonly string[], now: number): Promise<number> {
	let added = 0;
	// D1 binds at most 100 parameters per statement; a row takes three.
	for (let i = 0; i < words.length; i += 30) {
		const inserted = await db
			.insert(bannedWords)
			.values(words.slice(i, i + 30).map((word) => ({ word, source: "env" as const, createdAt: now })))
			.onConflictDoNothing({ target: bannedWords.word })
			.returning({ id: bannedWords.id });
		added += inserted.length;
	}
	if (added > 0) await bumpVersion(db);
	return added;
}

/** One more refusal for `word`. */
export async function countBannedHit(db: Db, word: string, now: number): Promise<void> {
	await db
		.update(bannedWords)
		.set({ hits: sql`${bannedWords.hits} + 1`, lastHitAt: now })
		.where(eq(bannedWords.word, word));
}
