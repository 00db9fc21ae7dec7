/** Discord channels on the fake Discord, added through the admin API as an operator would. */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ensureSimulatorChannel } from "../../src/upstream/channels";
import { call, json, tokenFor, uniqueSub, waitFor } from "./api";
import { db } from "./db";
import { FAKE, freshToken } from "./fake-discord";

export const GUILD = "1111111111111111111";
export const CHANNEL = "2222222222222222222";

export async function admin(path: string, init: RequestInit = {}): Promise<Response> {
	return call(`/api/admin/channels${path}`, {
		...init,
		token: await tokenFor(uniqueSub("admin"), "admin"),
		headers: { "content-type": "application/json" },
	});
}

export async function channelView(id: number): Promise<Record<string, unknown>> {
	const list = await json<{ data: Record<string, unknown>[] }>(await admin(""));
	return list.data.find((channel) => channel.id === id) ?? {};
}

/** Every other channel off, so that new tasks can only go to the ones a test adds. */
export async function onlyNewChannels(): Promise<void> {
	await ensureSimulatorChannel(db(), env, Date.now());
	await env.DB.prepare("UPDATE channels SET enabled = 0").run();
}

/** A discord channel on the fake with a token of its own, once its gateway is connected. */
export async function connectedAccount(
	options: { weight?: number; discord?: Record<string, unknown>; token?: string } = {},
): Promise<{ id: number; token: string }> {
	const token = options.token ?? freshToken();
	const response = await admin("", {
		method: "POST",
		body: JSON.stringify({
			name: `acct-${uniqueSub()}`,
			kind: "discord",
			secret: token,
			weight: options.weight ?? 0,
			discord: { guild_id: GUILD, channel_id: CHANNEL, api_base: FAKE, activity_base: FAKE, ...options.discord },
		}),
	});
	expect(response.status).toBe(201);
	const { data } = await json<{ data: { id: number } }>(response);
	await waitFor(async () => (await channelView(data.id)).connection === "connected", 10_000, "connected");
	return { id: data.id, token };
}
