// The stub's type comes from the binding (Env), so the rules never import durable/, the floor above.
/** The Durable Object that drives the Discord account of a discord channel (one per channel). */
export function accountObject(env: Env, channelId: number) {
	return env.DISCORD_ACCOUNT.get(env.DISCORD_ACCOUNT.idFromName(`channel:${channelId}`));
}
