/**
 * Outbound fetch for upstream calls. Requests to the simulator's origin are answered by the
 * built-in simulator in-process (when SIMULATOR_ENABLED is "true"); everything else goes to
 * the network. The same upstream client code therefore drives real upstreams and the simulator.
 */
import { simulatorApp } from "./simulator/app";
import { SIMULATOR_ORIGIN } from "./simulator/constants";

export { SIMULATOR_ORIGIN, SIMULATOR_SECRET } from "./simulator/constants";

export type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export function simulatorEnabled(env: Env): boolean {
	return env.SIMULATOR_ENABLED === "true";
}

/** A fetch that routes simulator URLs to the simulator and the rest to `base`. */
export function upstreamFetch(env: Env, base: Fetch = (i, init) => fetch(i, init)): Fetch {
	return async (input, init) => {
		const request = new Request(input, init);
		if (simulatorEnabled(env) && new URL(request.url).origin === SIMULATOR_ORIGIN) {
			return simulatorApp.fetch(request, env);
		}
		return base(request);
	};
}
