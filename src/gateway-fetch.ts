/**
 * A fetch that reaches this gateway in-process when the URL is the gateway's own
 * (PUBLIC_BASE_URL), and the network otherwise. The built-in simulator posts its
 * notifyHook through it, so push callbacks work in tests and under any local port.
 */
import { createApp } from "./app";
import type { Fetch } from "./upstream/fetcher";

let app: ReturnType<typeof createApp> | undefined;

export function gatewayAwareFetch(env: Env, base: Fetch = (input, init) => fetch(input, init)): Fetch {
	return async (input, init) => {
		const request = new Request(input, init);
		const own = env.PUBLIC_BASE_URL ? new URL(env.PUBLIC_BASE_URL).origin : null;
		if (own && new URL(request.url).origin === own) {
			app ??= createApp();
			return app.fetch(request, env);
		}
		return base(request);
	};
}
