/**
 * The fake Discord Worker's entry (`mj-edge-fake-discord`): one origin that plays Discord's
 * REST API, the gateway WebSocket, the CDN and the Midjourney activity host, with a scripted
 * Midjourney bot, for local development and tests (simulator/discord/README.md). Never part of
 * the gateway's bundle.
 */
import { isCdnPath, serveCdn } from "./cdn";
import type { FakeDiscordEnv } from "./env";

export { FakeDiscordHub } from "./hub";

export default {
	fetch(request, env) {
		const { pathname } = new URL(request.url);
		if (isCdnPath(pathname)) return serveCdn(request);
		return env.HUB.get(env.HUB.idFromName("discord")).fetch(request);
	},
} satisfies ExportedHandler<FakeDiscordEnv>;
