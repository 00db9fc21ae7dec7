/**
 * The app routes with a TrieRouter (src/app.ts): Hono's default SmartRouter would first build a
 * RegExpRouter on each isolate's first request, which this route set makes it refuse (3-17 ms
 * wasted per isolate: bench/README.md, "The router").
 */
import { RegExpRouter } from "hono/router/reg-exp-router";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";

describe("the app's router", () => {
	it("is the trie, chosen up front", () => {
		expect(createApp().router.name).toBe("TrieRouter");
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
