/**
 * How the rules reach a Discord account's Durable Object (src/durable/discord-account.ts). Its
 * calls are declared here, on the rules' floor, and the class implements them, so nothing below
 * durable/ imports it (or the generated Env's view of it) for a type.
 */
import type { DiscordState } from "../discord/settings";

export type AccountSubmit =
	| { kind: "accepted"; upstreamId: string }
	/** The account runs `concurrency` tasks and `queue_size` wait: try another channel. */
	| { kind: "full" }
	/** The account cannot take tasks (disabled, no settings): try another channel. */
	| { kind: "down"; reason: string };

/** What the gateway prepared for a task before handing it over (src/tasks/prompt-translation.ts). */
export interface PreparedInput {
	prompt?: string;
	modalPrompt?: string;
}

export interface DiscordAccountCalls {
	/** The channel row changed (created, enabled, disabled, settings): connect or close to match it. */
	refresh(channelId: number): Promise<DiscordState>;
	/** Takes a task for this account (waiting until a slot frees), or says why it cannot. */
	submit(channelId: number, taskId: string, prepared?: PreparedInput): Promise<AccountSubmit>;
	/** The gateway no longer wants the task, named by its public id or its nonce: forget it. */
	cancel(id: string): Promise<boolean>;
	/** The seed of a finished job, or null when Discord refused or no answer came in time. */
	seed(channelId: number, messageId: string, hash: string, botType: string): Promise<string | null>;
	/** What the admin list shows, straight from the object (tests, diagnostics). */
	status(): Promise<DiscordState & { session: boolean; running: number; waiting: number }>;
}

export type DiscordAccountStub = DurableObjectStub & DiscordAccountCalls;

/** The Durable Object that drives the Discord account of a discord channel (one per channel). */
export function accountObject(env: Env, channelId: number): DiscordAccountStub {
	// Only the stub's plain shape is taken from the binding; its calls are DiscordAccountCalls.
	const stub: DurableObjectStub = env.DISCORD_ACCOUNT.get(env.DISCORD_ACCOUNT.idFromName(`channel:${channelId}`));
	return stub as DiscordAccountStub;
}
