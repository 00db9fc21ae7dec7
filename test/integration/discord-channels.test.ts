/**
 * Discord channels through the admin API: the kind and its settings, validation in the admin
 * envelope, the token write-only, what GET shows, and channel choice skipping a full account.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { findChannel } from "../../src/db/channels";
import { channels } from "../../src/db/schema";
import { pickChannel } from "../../src/upstream/channels";
import { json, uniqueSub } from "../helpers/api";
import { db } from "../helpers/db";
import { admin, CHANNEL, GUILD } from "../helpers/discord-account";

const TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.user-token-never-shown-0123456789";
const post = (body: unknown) => admin("", { method: "POST", body: JSON.stringify(body) });
const patch = (id: number, body: unknown) => admin(`/${id}`, { method: "PATCH", body: JSON.stringify(body) });

function discordBody(overrides: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
	return {
		name: `acct-${uniqueSub()}`,
		kind: "discord",
		secret: TOKEN,
		// Disabled: these tests are about the API, not the connection (discord-gateway.test.ts).
		enabled: false,
		discord: { guild_id: GUILD, channel_id: CHANNEL, ...settings },
		...overrides,
	};
}

describe("adding a discord channel", () => {
	it("takes kind discord with defaults for every optional setting, and never shows the token", async () => {
		const response = await post(discordBody());
		expect(response.status).toBe(201);
		const text = await response.text();
		expect(text).not.toContain("user-token-never-shown");
		const { data } = JSON.parse(text);
		expect(data).toMatchObject({
			kind: "discord",
			base_url: "https://discord.com",
			has_secret: true,
			enabled: false,
			connection: "disabled",
			running: 0,
			waiting: 0,
			mode: "fast",
			last_error: "",
			last_heard_at: null,
			discord: {
				guild_id: GUILD,
				channel_id: CHANNEL,
				concurrency: 3,
				queue_size: 10,
				api_base: "https://discord.com",
				activity_base: "https://936929561302675456.discordsays.com",
				user_agent: expect.stringMatching(/^Mozilla\/5\.0/),
			},
		});
		const row = await findChannel(db(), data.id);
		expect(row?.secret).toBe(TOKEN);
		const list = await (await admin("")).text();
		expect(list).not.toContain("user-token-never-shown");
		expect(JSON.parse(list).data.find((c: { id: number }) => c.id === data.id)).toMatchObject({ kind: "discord" });
	});

	it("keeps today's relay bodies working: kind defaults to midjourney-proxy", async () => {
		const response = await post({ name: `relay-${uniqueSub()}`, base_url: "https://mj.example.com", enabled: false });
		expect(response.status).toBe(201);
		const { data } = await json<{ data: Record<string, unknown> }>(response);
		expect(data.kind).toBe("midjourney-proxy");
		expect(data).not.toHaveProperty("discord");
		expect(data).not.toHaveProperty("connection");
	});

	it.each([
		["no settings", discordBody({ discord: undefined }), /^discord: required/],
		["no token", discordBody({ secret: "" }), /^secret: a discord channel needs the account's user token/],
		["a base_url", discordBody({ base_url: "https://x.example" }), /^base_url: not used by a discord channel/],
		["a bad guild id", discordBody({}, { guild_id: "guild" }), /discord\.guild_id must be a Discord id/],
		["no channel id", discordBody({}, { channel_id: undefined }), /discord\.channel_id/],
		["concurrency 0", discordBody({}, { concurrency: 0 }), /concurrency/],
		["an unknown mode", discordBody({}, { mode: "slow" }), /discord\.mode must be one of fast, relax, turbo/],
		[
			"an api_base that is no URL",
			discordBody({}, { api_base: "discord" }),
			/discord\.api_base must be an http\(s\) URL/,
		],
		["an unknown setting", discordBody({}, { shard: 1 }), /shard/],
		["an unknown kind", discordBody({ kind: "slack" }), /kind must be one of midjourney-proxy, discord/],
		[
			"discord settings on a relay",
			{ name: "x", base_url: "https://x.example", discord: { guild_id: GUILD, channel_id: CHANNEL } },
			/^discord: only for kind discord/,
		],
		["a relay without base_url", { name: "x" }, /^base_url: required/],
	])("refuses %s with a 400 in the admin envelope", async (_, body, message) => {
		const response = await post(body);
		expect(response.status).toBe(400);
		const answer = await json<{ success: boolean; message: string }>(response);
		expect(answer.success).toBe(false);
		expect(answer.message).toMatch(message);
	});
});

describe("changing a discord channel", () => {
	it("merges setting changes, keeps the token unless given, and refuses what does not fit the kind", async () => {
		const { data } = await json<{ data: { id: number } }>(await post(discordBody()));
		const changed = await patch(data.id, { weight: 4, discord: { concurrency: 5, mode: "relax" } });
		expect(changed.status).toBe(200);
		expect((await json<{ data: unknown }>(changed)).data).toMatchObject({
			weight: 4,
			mode: "relax",
			discord: { guild_id: GUILD, channel_id: CHANNEL, concurrency: 5, queue_size: 10, mode: "relax" },
		});
		expect((await findChannel(db(), data.id))?.secret).toBe(TOKEN);
		// "" clears the mode; other settings stay.
		const cleared = await json<{ data: { discord: Record<string, unknown> } }>(
			await patch(data.id, { discord: { mode: "" } }),
		);
		expect(cleared.data.discord).toMatchObject({ concurrency: 5, queue_size: 10 });
		expect(cleared.data.discord.mode).toBeUndefined();
		for (const [body, message] of [
			[{ base_url: "https://x.example" }, /^base_url: not used by a discord channel/],
			[{ secret: " " }, /^secret: a discord channel needs/],
			[{ discord: { queue_size: -1 } }, /queue_size/],
			[{ discord: { guild_id: "12" } }, /guild_id/],
			[{ discord: { mode: "slow" } }, /mode must be one of fast, relax, turbo, or "" to clear it/],
		] as const) {
			const refused = await patch(data.id, body);
			expect(refused.status, JSON.stringify(body)).toBe(400);
			expect((await json<{ message: string }>(refused)).message).toMatch(message);
		}
		const relay = await json<{ data: { id: number } }>(
			await post({ name: `relay-${uniqueSub()}`, base_url: "https://mj.example.com", enabled: false }),
		);
		const wrongKind = await patch(relay.data.id, { discord: { concurrency: 2 } });
		expect(wrongKind.status).toBe(400);
		expect((await json<{ message: string }>(wrongKind)).message).toBe("discord: only for kind discord");
	});
});

describe("choosing a channel", () => {
	it("skips a discord account that reported itself full, and takes it again once it has room", async () => {
		await env.DB.prepare("UPDATE channels SET enabled = 0").run();
		const now = Date.now();
		const settings = JSON.stringify({
			guild_id: GUILD,
			channel_id: CHANNEL,
			concurrency: 1,
			queue_size: 1,
			user_agent: "ua",
			api_base: "https://discord.com",
			activity_base: "https://936929561302675456.discordsays.com",
		});
		const full = JSON.stringify({ connection: "connected", running: 1, waiting: 1, lastError: "", lastHeardAt: now });
		const account = await db()
			.insert(channels)
			.values({
				name: `full-${uniqueSub()}`,
				kind: "discord",
				baseUrl: "https://discord.com",
				secret: TOKEN,
				discord: settings,
				discordState: full,
				weight: 100,
				enabled: true,
				createdAt: now,
				updatedAt: now,
			})
			.returning()
			.get();
		const relay = await db()
			.insert(channels)
			.values({ name: `r-${uniqueSub()}`, baseUrl: "https://r.example", weight: 1, createdAt: now, updatedAt: now })
			.returning()
			.get();
		// With weight 100 against 1, random 0 picks the account whenever it is a candidate.
		expect((await pickChannel(db(), env, { random: () => 0, now: Date.now() })).id).toBe(relay.id);
		await env.DB.prepare("UPDATE channels SET discord_state = ? WHERE id = ?")
			.bind(
				JSON.stringify({ connection: "connected", running: 1, waiting: 0, lastError: "", lastHeardAt: now }),
				account.id,
			)
			.run();
		expect((await pickChannel(db(), env, { random: () => 0, now: Date.now() })).id).toBe(account.id);
	});
});
