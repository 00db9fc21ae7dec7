/**
 * The app routes with a TrieRouter that remembers its answers (src/routes/memo-router.ts): Hono's
 * default SmartRouter would first build a RegExpRouter on each isolate's first request, which this
 * route set makes it refuse (3-17 ms wasted per isolate: bench/README.md, "The router").
 */
import { RegExpRouter } from "hono/router/reg-exp-router";
import { TrieRouter } from "hono/router/trie-router";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { MEMO_LIMIT, MEMO_PATH_LIMIT, MemoRouter } from "../../src/routes/memo-router";

/** The handlers and params a router answers, comparable across routers. */
const answer = (router: { match: (method: string, path: string) => unknown }, method: string, path: string) => {
	const [handlers] = router.match(method, path) as [[string, Record<string, string> | number[]][]];
	return handlers.map(([handler, params]) => [handler, params]);
};

describe("the app's router", () => {
	it("is the remembering trie, chosen up front", () => {
		expect(createApp().router.name).toBe("MemoRouter");
	});

	it("answers as the trie does, the first time and from memory", () => {
		const routes: [string, string, string][] = [
			["ALL", "*", "everything"],
			["GET", "/mj/task/:id/fetch", "fetch"],
			["GET", "/mj/task/list", "list"],
			["POST", "/mj/submit/imagine", "imagine"],
			["ALL", "/mj/*", "signed-in"],
		];
		const memo = new MemoRouter<string>();
		const trie = new TrieRouter<string>();
		for (const [method, path, handler] of routes) {
			memo.add(method, path, handler);
			trie.add(method, path, handler);
		}
		const asked: [string, string][] = [
			["GET", "/mj/task/abc/fetch"],
			["GET", "/mj/task/def/fetch"],
			["GET", "/mj/task/list"],
			["POST", "/mj/task/list"],
			["POST", "/mj/submit/imagine"],
			["GET", "/nowhere"],
		];
		for (const [method, path] of asked) {
			const expected = answer(trie, method, path);
			expect(answer(memo, method, path), `${method} ${path}`).toEqual(expected);
			expect(answer(memo, method, path), `${method} ${path} again`).toEqual(expected);
		}
		// Each id its own params, not the first one's.
		expect(answer(memo, "GET", "/mj/task/def/fetch")[1][1]).toEqual({ id: "def" });
		expect(memo.size).toBe(asked.length);
	});

	it("stays bounded: starts over when full, and walks long paths without remembering them", () => {
		const memo = new MemoRouter<string>();
		memo.add("GET", "/mj/task/:id/fetch", "fetch");
		for (let i = 0; i < MEMO_LIMIT; i++) memo.match("GET", `/mj/task/${i}/fetch`);
		expect(memo.size).toBe(MEMO_LIMIT);
		expect(answer(memo, "GET", "/mj/task/one-more/fetch")).toEqual([["fetch", { id: "one-more" }]]);
		expect(memo.size).toBe(1);
		const long = "x".repeat(MEMO_PATH_LIMIT);
		expect(answer(memo, "GET", `/mj/task/${long}/fetch`)).toEqual([["fetch", { id: long }]]);
		expect(memo.size).toBe(1);
	});

	it("forgets what it answered when a route is added", () => {
		const memo = new MemoRouter<string>();
		memo.add("GET", "/a/:id", "first");
		expect(answer(memo, "GET", "/a/1")).toEqual([["first", { id: "1" }]]);
		memo.add("GET", "/a/1", "second");
		expect(answer(memo, "GET", "/a/1")).toEqual([
			["first", { id: "1" }],
			["second", {}],
		]);
	});

	it("is chosen because RegExpRouter refuses the route set (so it must be revisited if that changes)", () => {
		const regexp = new RegExpRouter<unknown>();
		const refused: string[] = [];
		for (const route of createApp().routes) {
			try {
				regexp.add(route.method, route.path, route.handler);
			} catch {
				refused.push(`${route.method} ${route.path}`);
			}
		}
		// The proxy's /task/:id/{fetch,image-seed,cancel} beside /task/list, /task/queue, /task/list-by-condition.
		expect(refused).toContain("GET /mj/task/:id/fetch");
	});
});
