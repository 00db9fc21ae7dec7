/**
 * Outbound fetch for upstream calls. The upstream simulator is a Worker of its own
 * (simulator/, never bundled here): when SIMULATOR_URL names its origin, requests to that
 * origin go through the `SIMULATOR` service binding if one exists (local dev via `npm start`,
 * and tests: a binding that is deliberately absent from wrangler.toml, so a deploy never
 * depends on that Worker) and over the network otherwise (a simulator deployed at a URL).
 * Either way the gateway talks to it with the same upstream client as to a real upstream.
 */

import { config } from "../config";
import type { Fetch } from "../deps";
import { throughBinding } from "../net/bound-fetch";

/** The `mj-api-secret` the simulator accepts (simulator/src/env.ts holds the same value). */
export const SIMULATOR_SECRET = "mj-edge-simulator";

/** Bindings that exist only where the simulator runs next to the gateway (never in wrangler.toml). */
interface DevBindings {
	SIMULATOR?: Fetcher;
}

/** The simulator's origin from SIMULATOR_URL, or null when the simulator is off ("" or not a URL). */
export function simulatorOrigin(env: Env): string | null {
	return config(env).simulatorOrigin;
}

/** A fetch that sends simulator URLs through the SIMULATOR binding (when bound) and the rest to `base`. */
export function upstreamFetch(env: Env, base: Fetch): Fetch {
	return throughBinding(simulatorOrigin(env), (env as Env & DevBindings).SIMULATOR, base);
}
