import type { D1Migration } from "cloudflare:test";

declare global {
	namespace Cloudflare {
		interface Env {
			TEST_MIGRATIONS: D1Migration[];
			/** The upstream simulator, an auxiliary Worker (vitest.config.ts). */
			SIMULATOR: Fetcher;
			/** The fake Discord, an auxiliary Worker (vitest.config.ts); FAKE_DISCORD_URL is its origin. */
			FAKE_DISCORD: Fetcher;
			FAKE_DISCORD_URL: string;
			/** notifyHook posts the simulator made to hosts other than the gateway (vitest.config.ts). */
			HOOK_SINK: Fetcher;
		}
	}
}
