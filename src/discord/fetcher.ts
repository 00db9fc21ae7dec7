/**
 * Outbound fetch for a Discord account: REST, the gateway's WebSocket upgrade, the CDN and the
 * activity host. The fake Discord (simulator/discord/, a Worker of its own, never bundled here) is
 * reached through the FAKE_DISCORD service binding when FAKE_DISCORD_URL names its origin (local
 * dev and tests: a binding absent from wrangler.toml); every other URL goes to the network.
 */
import type { Fetch } from "../deps";
import { throughBinding } from "../net/bound-fetch";

/** Bindings that exist only where the fake Discord runs next to the gateway (never in wrangler.toml). */
interface DevBindings {
	FAKE_DISCORD?: Fetcher;
	FAKE_DISCORD_URL?: string;
}

/** The fake Discord's origin, or null when it is off ("" or not a URL). */
export function fakeDiscordOrigin(env: Env): string | null {
	const url = (env as Env & DevBindings).FAKE_DISCORD_URL;
	if (!url) return null;
	try {
		return new URL(url).origin;
	} catch {
		return null;
	}
}

/** The gateway hands out ws(s):// URLs; a Worker opens a WebSocket by fetching the http(s) twin with Upgrade. */
export function httpUrlOf(url: string): string {
	return url.replace(/^ws(s?):\/\//i, "http$1://");
}

/** A fetch that sends the fake Discord's URLs through its binding (when bound) and the rest to `base`. */
export function discordFetch(env: Env, base: Fetch): Fetch {
	return throughBinding(fakeDiscordOrigin(env), (env as Env & DevBindings).FAKE_DISCORD, base);
}
