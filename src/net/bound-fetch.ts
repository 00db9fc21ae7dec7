/**
 * Local stand-ins (the upstream simulator, the fake Discord) are other Workers reached through a
 * service binding; a Worker cannot fetch another on the same machine by URL. One rule for both.
 */
import type { Fetch } from "../deps";

/** A fetch that sends requests for `origin` through `binding` (when both are set) and the rest to `base`. */
export function throughBinding(origin: string | null, binding: Fetcher | undefined, base: Fetch): Fetch {
	return async (input, init) => {
		const request = new Request(input, init);
		if (binding && origin !== null && new URL(request.url).origin === origin) return binding.fetch(request);
		return base(request);
	};
}
