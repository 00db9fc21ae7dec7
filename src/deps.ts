/**
 * What the gateway takes from the outside world: the network, the clock and chance. Handed to
 * every network client as a required parameter (the app puts it on each request's context,
 * the consumers and the cron take it as an argument), so tests drive them all the same way.
 */
export type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export interface Deps {
	/** Every outbound call: upstreams (simulator URLs go through its binding, see upstream/fetcher.ts), downloads, callbacks. */
	fetch: Fetch;
	now: () => number;
	/** Jitter and weighted choices; never secrets. */
	random: () => number;
	/** A random (v4) UUID: task ids, stored file names, stream ticket nonces. */
	uuid: () => string;
	/** `length` bytes from the platform's cryptographic generator: API keys and webhook secrets. */
	randomBytes: (length: number) => Uint8Array<ArrayBuffer>;
}

export function defaultDeps(): Deps {
	return {
		fetch: (input, init) => fetch(input, init),
		now: Date.now,
		random: Math.random,
		uuid: () => crypto.randomUUID(),
		randomBytes: (length) => crypto.getRandomValues(new Uint8Array(length)),
	};
}

let replaced: Deps | undefined;

/**
 * The Deps of everything the runtime starts: each request of the app, the queue consumers, the
 * cron and every Durable Object read them here, so one call swaps them all.
 */
export function runtimeDeps(): Deps {
	return replaced ?? defaultDeps();
}

/** Tests only: every entry the runtime starts (Durable Objects included) uses `deps` until reset with undefined. */
export function replaceRuntimeDeps(deps: Deps | undefined): void {
	replaced = deps;
}
