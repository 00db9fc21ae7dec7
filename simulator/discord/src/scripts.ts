/**
 * The scripted Midjourney bot. Transport first: it keeps the messages it posted per channel;
 * the job scripts come next.
 */
import type { Account, Accounts } from "./accounts";
import type { Bot, Interaction } from "./rest";
import { discordError } from "./rest";

export class Scripts implements Bot {
	readonly stepMs: number;
	readonly #messages = new Map<string, { id: string }[]>();

	constructor(stepMs: number) {
		this.stepMs = stepMs;
	}

	interaction(_account: Account, _body: Interaction): Response | undefined {
		return undefined;
	}

	reaction(): Response | undefined {
		return undefined;
	}

	messages(_account: Account, channelId: string, limit: number): unknown[] {
		return (this.#messages.get(channelId) ?? []).slice(-limit).reverse();
	}

	submitJob(_accounts: Accounts, _body: unknown): Response {
		return discordError(404, 0, "Unknown iframe");
	}
}
