import type { Fetch } from "../upstream/fetcher";

/** What the consumers take from the outside world, so tests can replace it. */
export interface QueueDeps {
	/** Used for upstream calls (simulator URLs go through its binding, see upstream/fetcher.ts) and callbacks. */
	fetch: Fetch;
	now: () => number;
	random: () => number;
}

export function defaultDeps(): QueueDeps {
	return { fetch: (input, init) => fetch(input, init), now: Date.now, random: Math.random };
}
