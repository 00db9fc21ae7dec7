/**
 * Hono's TrieRouter with its answers remembered by method and path. A client calls the same few
 * paths over and over (/api/v1/task/fetch, /api/mj/self, …), and the trie walk over every
 * prefix's routes and catch-alls was 2.5% of a fetch's CPU (bench/README.md, issue 20). A match
 * depends only on the method, the path and the routes, which are all added before the first
 * request, so a remembered answer is the walk's own. Paths that carry ids (/mj/task/<id>/fetch,
 * signed image links) are many: the memo is bounded and starts over when full.
 */
import type { Result, Router } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";

/** Distinct method and path pairs remembered before the memo starts over. */
export const MEMO_LIMIT = 2000;
/** Longer paths are walked every time: the memo stays under MEMO_LIMIT × this many characters. */
export const MEMO_PATH_LIMIT = 256;

export class MemoRouter<T> implements Router<T> {
	readonly name = "MemoRouter";
	readonly #trie = new TrieRouter<T>();
	readonly #memo = new Map<string, Result<T>>();

	add(method: string, path: string, handler: T): void {
		// Routes are only added while the app is built; a late one must not meet a stale answer.
		this.#memo.clear();
		this.#trie.add(method, path, handler);
	}

	match(method: string, path: string): Result<T> {
		if (path.length > MEMO_PATH_LIMIT) return this.#trie.match(method, path);
		const key = `${method} ${path}`;
		const known = this.#memo.get(key);
		if (known) return known;
		const found = this.#trie.match(method, path);
		if (this.#memo.size >= MEMO_LIMIT) this.#memo.clear();
		this.#memo.set(key, found);
		return found;
	}

	/** How many answers are remembered (tests). */
	get size(): number {
		return this.#memo.size;
	}
}
