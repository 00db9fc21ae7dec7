/**
 * Banned words managed by admins at /api/admin/banned-words: list, add, remove; whole words and
 * phrases in any case; in force for the very next submit, also when another isolate made the
 * change; each refusal is code 24 with bannedWord and counts a hit; BANNED_WORDS
 * ("forbiddenword" in vitest.config.ts) is the starting list; admins only; bad input refused.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { call, json, tokenFor, uniqueSub } from "../helpers/api";
import { resetDeps, useFetch } from "../helpers/deps";
import { FakeUpstream, jsonResponse, useFakeChannelOnly } from "../helpers/fake-upstream";
import { proxyPost, reply } from "../helpers/proxy";

interface WordView {
	word: string;
	source: string;
	hits: number;
	last_hit_at: number | null;
	created_at: number;
}

let admin: string;
let userToken: string;

beforeAll(async () => {
	await useFakeChannelOnly();
	admin = await tokenFor(uniqueSub("banned-admin"), "admin");
	userToken = await tokenFor(uniqueSub("banned-user"));
	await call("/api/user/self", { token: userToken });
});

beforeEach(() => {
	const upstream = new FakeUpstream();
	upstream.submit = () => jsonResponse({ code: 1, description: "Success", result: crypto.randomUUID() });
	useFetch(upstream.fetch);
});

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

function add(word: unknown, token = admin): Promise<Response> {
	return call("/api/admin/banned-words", {
		method: "POST",
		token,
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ word }),
	});
}

function remove(word: string, token = admin): Promise<Response> {
	return call(`/api/admin/banned-words/${encodeURIComponent(word)}`, { method: "DELETE", token });
}

async function list(): Promise<WordView[]> {
	const response = await call("/api/admin/banned-words", { token: admin });
	expect(response.status).toBe(200);
	return (await json<{ success: boolean; data: WordView[] }>(response)).data;
}

async function hitsOf(word: string): Promise<number | undefined> {
	return (await list()).find((w) => w.word === word)?.hits;
}

function imagine(prompt: string) {
	return proxyPost("/mj/submit/imagine", userToken, { prompt });
}

/** Accepted: code 1, or 22 once the user has USER_CONCURRENCY tasks running. */
async function accepted(response: Response): Promise<boolean> {
	return [1, 22].includes((await reply(response)).code);
}

describe("managing the list", () => {
	it("starts from BANNED_WORDS, added once however often it is read", async () => {
		const first = await list();
		expect(first.filter((w) => w.word === "forbiddenword")).toEqual([
			expect.objectContaining({ word: "forbiddenword", source: "env" }),
		]);
		expect((await list()).filter((w) => w.word === "forbiddenword")).toHaveLength(1);
	});

	it("an added phrase is refused at the next submit, in any case and spacing, and counts hits", async () => {
		const created = await add("  Red   FOX ");
		expect(created.status).toBe(201);
		expect(await json(created)).toMatchObject({
			success: true,
			data: { word: "red fox", source: "admin", hits: 0, last_hit_at: null },
		});

		const refused = await reply(await imagine("a RED  fox in snow --v 6"), 400);
		expect(refused).toMatchObject({
			code: 24,
			description: "banned prompt: red fox",
			properties: { bannedWord: "red fox", promptEn: "a RED  fox in snow --v 6" },
		});
		await reply(await imagine("a Red fox again"), 400);
		// Not a whole-word match: accepted.
		expect(await accepted(await imagine("a red foxglove"))).toBe(true);
		expect(await hitsOf("red fox")).toBe(2);

		const removed = await remove("red fox");
		expect(removed.status).toBe(200);
		expect(await json(removed)).toMatchObject({ success: true, data: { word: "red fox" } });
		expect(await accepted(await imagine("a red fox at last"))).toBe(true);
		expect((await list()).some((w) => w.word === "red fox")).toBe(false);

		// Banned again, it keeps its hits.
		expect((await add("red fox")).status).toBe(201);
		expect(await hitsOf("red fox")).toBe(2);
		await remove("red fox");
	});

	it("a BANNED_WORDS word removed by an admin stays removed, and can be banned again", async () => {
		await reply(await imagine("a forbiddenword cat"), 400);
		expect((await remove("FORBIDDENWORD")).status).toBe(200);
		try {
			expect(await accepted(await imagine("a forbiddenword cat"))).toBe(true);
			expect((await list()).some((w) => w.word === "forbiddenword")).toBe(false);
		} finally {
			expect((await add("forbiddenword")).status).toBe(201);
		}
		await reply(await imagine("a forbiddenword cat"), 400);
	});

	it("a change made elsewhere (another isolate) applies to the very next submit", async () => {
		// Warm this isolate's list, then change it behind its back, as another isolate's admin call would.
		expect(await accepted(await imagine("a quiet harbour"))).toBe(true);
		const now = Date.now();
		await env.DB.batch([
			env.DB.prepare("INSERT INTO banned_words (word, source, created_at) VALUES ('harbour', 'admin', ?)").bind(now),
			env.DB.prepare("UPDATE counters SET value = value + 7 WHERE name = 'banned_words'"),
		]);
		expect(await reply(await imagine("a quiet harbour"), 400)).toMatchObject({
			code: 24,
			properties: { bannedWord: "harbour" },
		});
		await env.DB.batch([
			env.DB.prepare("UPDATE banned_words SET removed_at = ? WHERE word = 'harbour'").bind(now),
			env.DB.prepare("UPDATE counters SET value = value + 7 WHERE name = 'banned_words'"),
		]);
		expect(await accepted(await imagine("a quiet harbour"))).toBe(true);
	});

	it("checks seed 002's submit too, in its envelope", async () => {
		expect((await add("lava")).status).toBe(201);
		const v1 = await call("/api/v1/trigger/submit", {
			method: "POST",
			token: userToken,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ action: "IMAGINE", prompt: "Lava flows" }),
		});
		expect(v1.status).toBe(400);
		expect(await json(v1)).toEqual({ code: 0, description: "banned prompt: lava" });
		expect(await hitsOf("lava")).toBe(1);
		await remove("lava");
	});
});

describe("refusals", () => {
	it("admins only: a user token gets 403 in the admin envelope, no token 401", async () => {
		for (const response of [await call("/api/admin/banned-words", { token: userToken }), await add("x", userToken)]) {
			expect(response.status).toBe(403);
			expect(await json(response)).toEqual({ success: false, message: expect.any(String) });
		}
		expect((await remove("forbiddenword", userToken)).status).toBe(403);
		expect((await call("/api/admin/banned-words")).status).toBe(401);
		expect((await list()).some((w) => w.word === "x")).toBe(false);
	});

	it.each([
		[{}, 400, /word/],
		[{ word: "" }, 400, /word/],
		[{ word: 7 }, 400, /word/],
		[{ word: " !! -- " }, 400, /letter or a digit/],
		[{ word: "x".repeat(101) }, 400, /at most 100/],
		[{ word: "ok", extra: 1 }, 400, /extra|unrecognized/i],
	])("refuses %j clearly", async (body, status, message) => {
		const response = await call("/api/admin/banned-words", {
			method: "POST",
			token: admin,
			headers: { "content-type": "application/json" },
			body: JSON.stringify(body),
		});
		expect(response.status).toBe(status);
		const answer = await json<{ success: boolean; message: string }>(response);
		expect(answer.success).toBe(false);
		expect(answer.message).toMatch(message);
	});

	it("a word banned already is a conflict; lifting a ban that is not there is not found", async () => {
		expect((await add("forbiddenword")).status).toBe(409);
		const missing = await remove("never banned");
		expect(missing.status).toBe(404);
		expect(await json(missing)).toEqual({ success: false, message: "never banned is not banned" });
		const body = await call("/api/admin/banned-words", {
			method: "POST",
			token: admin,
			headers: { "content-type": "text/plain" },
			body: "word=x",
		});
		expect(body.status).toBe(400);
	});
});
