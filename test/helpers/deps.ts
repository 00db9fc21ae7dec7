/**
 * The one way a test changes the network the gateway sees. Every entry the runtime starts (each
 * request, the queue consumers, the cron, every Durable Object) reads runtimeDeps() from
 * src/deps.ts, so one replacement reaches them all; no test patches globalThis.fetch
 * (test/unit/no-global-patches.test.ts fails when one does).
 */
import { type Deps, defaultDeps, type Fetch, replaceRuntimeDeps } from "../../src/deps";

/** The real network, for a stub to pass on what it does not answer. */
export const realFetch: Fetch = defaultDeps().fetch;

/** Every outbound request of the gateway goes to `fetch` until resetDeps(). */
export function useFetch(fetch: Fetch): void {
	useDeps({ fetch });
}

/** The runtime's Deps with `overrides`, until resetDeps(). */
export function useDeps(overrides: Partial<Deps>): void {
	replaceRuntimeDeps({ ...defaultDeps(), ...overrides });
}

/** Back to the real network, clock and chance: in the afterEach (or afterAll) of whoever called useFetch. */
export function resetDeps(): void {
	replaceRuntimeDeps(undefined);
}
