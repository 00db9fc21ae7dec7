/**
 * The fake Discord Worker's bindings (simulator/discord/wrangler.toml), written by hand for the
 * same reason as simulator/src/env.ts: the gateway's generated `Env` must not see them.
 */
import type { FakeDiscordHub } from "./hub";

export interface FakeDiscordEnv {
	/** One object (named "discord") holds every fake account: a gateway connection names its token only in IDENTIFY. */
	HUB: DurableObjectNamespace<FakeDiscordHub>;
	/** Milliseconds per Midjourney job step; 700 unless set. */
	FAKE_DISCORD_STEP_MS?: string;
	/** The heartbeat_interval HELLO announces; 41250 unless set. */
	FAKE_DISCORD_HEARTBEAT_MS?: string;
}

/** The origin the fake answers as, in links it hands out (gateway URL, CDN, activity host). */
export const FAKE_ORIGIN = "http://fake-discord.internal";
export const GATEWAY_URL = "ws://fake-discord.internal/gateway";
export const MIDJOURNEY_BOT_ID = "936929561302675456";
export const NIJI_BOT_ID = "1022952195194359889";
/** Tokens the fake always refuses (401 on REST, close 4004 on the gateway). */
export const BAD_TOKEN = "bad-token";

export function numberVar(value: string | undefined, fallback: number): number {
	const parsed = Number(value);
	return value !== undefined && value !== "" && Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}
