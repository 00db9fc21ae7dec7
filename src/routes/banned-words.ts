/**
 * Banned words, for admins, in the new-api envelope `{success, message, data}`: list them with
 * their hits, ban a word or phrase, lift a ban. Mounted at /api/admin before the admin group
 * (and its signed-in catch-all), as src/routes/keys.ts explains.
 */
import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import type { BannedWordRow } from "../db/schema";
import { about, answers, jsonBody, on, routeGroup } from "../openapi/define";
import * as body from "../openapi/responses";
import { BANNED_WORD_MAX_LENGTH, banWord, listBanned, unbanWord } from "../tasks/banned-words";
import { epochSeconds } from "../time";
import { ok } from "./envelopes";

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

const listWords = createRoute({
	...about("admin", "admin"),
	method: "get",
	path: "/banned-words",
	summary: "The banned words and phrases, with how often each refused a prompt",
	description: "BANNED_WORDS' words are merged in (source env) the first time the list is read.",
	responses: answers("seed001", "The words, alphabetically.", body.BannedWordList),
});
const banRoute = createRoute({
	...about("admin", "admin"),
	method: "post",
	path: "/banned-words",
	summary: "Ban a word or phrase (whole words, any case); in force for the next prompt",
	description:
		"Stored lower-cased and single-spaced. Checked on prompts at submit and on their English translation. A word already banned answers 409.",
	request: { body: jsonBody(newBannedWordBody) },
	responses: answers("seed001", "The word.", body.BannedWordView, 201),
});
const unbanRoute = createRoute({
	...about("admin", "admin"),
	method: "delete",
	path: "/banned-words/{word}",
	summary: "Lift a ban (URL-encode the word); in force for the next prompt",
	description: "A word not banned answers 404. A BANNED_WORDS word removed here stays removed.",
	request: { params: bannedWordParam },
	responses: answers("seed001", "The word as it was.", body.BannedWordView),
});

export const adminBannedWordRoutes = routeGroup();
on(adminBannedWordRoutes, listWords, async (c) =>
	ok(c, (await listBanned(c.env, c.get("deps").now())).map(bannedWordView)),
);
on(adminBannedWordRoutes, banRoute, async (c) =>
	ok(c, bannedWordView(await banWord(c.env, c.req.valid("json").word, c.get("deps").now())), 201),
);
on(adminBannedWordRoutes, unbanRoute, async (c) =>
	ok(c, bannedWordView(await unbanWord(c.env, c.req.valid("param").word, c.get("deps").now()))),
);
