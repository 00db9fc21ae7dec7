import type { DiscordAccount } from "../durable/discord-account";

/** The Durable Object that drives the Discord account of a discord channel (one per channel). */
export function accountObject(env: Env, channelId: number): DurableObjectStub<DiscordAccount> {
	return env.DISCORD_ACCOUNT.get(env.DISCORD_ACCOUNT.idFromName(`channel:${channelId}`));
}
