/**
 * Banned words, for admins, in the new-api envelope `{success, message, data}`: list them with
 * their hits, ban a word or phrase, lift a ban. Mounted at /api/admin before the admin group
 * (middleware per route, as src/routes/keys.ts explains).
 */
import { Hono } from "hono";
import { z } from "zod";
import { authenticate } from "../auth/middleware";
import type { AppEnv } from "../context";
import { requestDb } from "../db/request-db";
import type { BannedWordRow } from "../db/schema";
import { BANNED_WORD_MAX_LENGTH, banWord, listBanned, unbanWord } from "../tasks/banned-words";
import { epochSeconds } from "../time";
import { ok } from "./envelopes";
import { validate } from "./validate";

function bannedWordView(row: BannedWordRow) {
	return {
		word: row.word,
		source: row.source,
		hits: row.hits,
		last_hit_at: row.lastHitAt === null ? null : epochSeconds(row.lastHitAt),
		created_at: epochSeconds(row.createdAt),
	};
}

// Room for spacing the stored form drops ("Red   Fox" is "red fox"); the stored limit is checked after.
const wordText = z
	.string()
	.min(1)
	.max(BANNED_WORD_MAX_LENGTH * 2);
export const newBannedWordBody = z.object({ word: wordText }).strict();
export const bannedWordParam = z.object({ word: wordText });

const admin = () => [requestDb(), authenticate({ role: "admin" })] as const;

export const adminBannedWordRoutes = new Hono<AppEnv>()
	.get("/banned-words", ...admin(), async (c) =>
		ok(c, (await listBanned(c.env, c.get("deps").now())).map(bannedWordView)),
	)
	.post("/banned-words", ...admin(), validate("json", newBannedWordBody), async (c) =>
		ok(c, bannedWordView(await banWord(c.env, c.req.valid("json").word, c.get("deps").now())), 201),
	)
	.delete("/banned-words/:word", ...admin(), validate("param", bannedWordParam), async (c) =>
		ok(c, bannedWordView(await unbanWord(c.env, c.req.valid("param").word, c.get("deps").now()))),
	);
