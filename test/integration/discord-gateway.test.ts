/**
 * A discord channel's account object against the fake Discord (simulator/discord/): IDENTIFY,
 * heartbeats, RESUME after op 7 / a dead connection / a restart of the object, IDENTIFY after
 * op 9, disabling on close 4004, and the admin's enable / disable.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { findChannel } from "../../src/db/channels";
import { accountObject } from "../../src/tasks/discord-account-stub";
import { json, uniqueSub, waitFor } from "../helpers/api";
import { db } from "../helpers/db";
import {
	admin,
	CHANNEL,
	channelView,
	connectedAccount,
	disabledChannel,
	GUILD,
	gatewaySeen,
	gatewayUntil,
	resumed,
} from "../helpers/discord-account";
import { FAKE, fault } from "../helpers/fake-discord";

const state = gatewaySeen;

describe("the gateway connection", () => {
	it("identifies once, beats with ACKs, and the admin sees it connected and heard from", async () => {
		const { id, token } = await connectedAccount();
		const first = await state(token);
		expect(first).toMatchObject({ connected: true, identifies: 1, resumes: 0 });
		// The fake's heartbeat_interval in tests is 1 s.
		const beating = await gatewayUntil(token, (now) => now.heartbeats >= 2 && now.acks >= 2, 8000, "heartbeats");
		expect(beating.identifies).toBe(1);
		const shown = await channelView(id);
		expect(shown).toMatchObject({ connection: "connected", last_error: "" });
		expect(shown.last_heard_at).toEqual(expect.any(Number));
	});

	it("after op 7 resumes the same session instead of identifying again", async () => {
		const { token } = await connectedAccount();
		const before = await state(token);
		await fault(token, "op7");
		const after = await gatewayUntil(token, resumed, 8000, "resume after op 7");
		expect(after.identifies).toBe(1);
		expect(after.session_id).toBe(before.session_id);
	});

	it("notices a dead connection (no heartbeat ACK) and resumes on a new one", async () => {
		const { token } = await connectedAccount();
		await fault(token, "no_ack");
		const after = await gatewayUntil(token, resumed, 10_000, "resume after a dead connection");
		expect(after.identifies).toBe(1);
		expect(after.connections).toBeGreaterThanOrEqual(2);
	});

	it("identifies again after op 9 (the session is gone)", async () => {
		const { id, token } = await connectedAccount();
		const before = await state(token);
		await fault(token, "op9");
		const after = await gatewayUntil(
			token,
			(now) => now.identifies >= 2 && now.connected,
			10_000,
			"identify after op 9",
		);
		expect(after.session_id).not.toBe(before.session_id);
		await waitFor(async () => (await channelView(id)).connection === "connected", 5000, "connected again");
	});

	it("disables the channel on close 4004, with the reason, and does not reconnect", async () => {
		const { id, token } = await connectedAccount();
		await fault(token, "close4004");
		const channel = await disabledChannel(id);
		expect(channel.disabledReason).toMatch(/4004/);
		const shown = await channelView(id);
		expect(shown).toMatchObject({ connection: "disabled", enabled: false });
		expect(String(shown.last_error)).toMatch(/4004/);
		await new Promise((resolve) => setTimeout(resolve, 1500));
		expect((await state(token)).connections).toBe(1);
	});

	it("resumes after a close that allows it; five lost connections within five minutes take the account out", async () => {
		const { id, token } = await connectedAccount();
		await fault(token, "close4000");
		await gatewayUntil(token, resumed, 8000, "resume after close 4000");
		for (let n = 2; n <= 5; n++) {
			await waitFor(async () => (await state(token)).connected, 8000, "connected");
			await fault(token, "close4000");
			await waitFor(
				async () => (await state(token)).connections >= n + 1 || !(await findChannel(db(), id))?.enabled,
				8000,
				`loss ${n}`,
			);
		}
		const channel = await disabledChannel(id);
		expect(channel.disabledReason).toMatch(/^5 lost connections within 5 minutes; last: gateway closed \(4000/);
	});

	it("comes back by itself after the object restarts: the watchdog resumes the stored session", async () => {
		const { id, token } = await connectedAccount();
		const before = await state(token);
		// An eviction or a deploy: the instance and its socket are gone, storage stays.
		await runInDurableObject(accountObject(env, id), (_, state) => state.abort("restart")).catch(() => undefined);
		// A stub that saw its object abort stays broken: a fresh one reaches the new instance.
		const stub = accountObject(env, id);
		expect(await runDurableObjectAlarm(stub)).toBe(true);
		const after = await gatewayUntil(token, resumed, 10_000, "resume after a restart");
		expect(after.identifies).toBe(1);
		expect(after.session_id).toBe(before.session_id);
		expect((await stub.status()).connection).toBe("connected");
	});
});

describe("the admin's switch", () => {
	it("disabling closes the connection; enabling opens a new one", async () => {
		const { id, token } = await connectedAccount();
		const off = await admin(`/${id}`, { method: "PATCH", body: JSON.stringify({ enabled: false }) });
		expect((await json<{ data: unknown }>(off)).data).toMatchObject({ enabled: false, connection: "disabled" });
		await waitFor(async () => !(await state(token)).connected, 5000, "closed");
		const on = await admin(`/${id}`, { method: "PATCH", body: JSON.stringify({ enabled: true }) });
		expect(on.status).toBe(200);
		await waitFor(async () => (await state(token)).connected, 5000, "open again");
		await waitFor(async () => (await channelView(id)).connection === "connected", 5000, "shown connected");
	});

	it("a refused token disables the channel with Discord's answer", async () => {
		const response = await admin("", {
			method: "POST",
			body: JSON.stringify({
				name: `bad-${uniqueSub()}`,
				kind: "discord",
				secret: "bad-token",
				weight: 0,
				discord: {
					guild_id: GUILD,
					channel_id: CHANNEL,
					api_base: FAKE,
					activity_base: FAKE,
				},
			}),
		});
		const { data } = await json<{ data: { id: number } }>(response);
		const row = await disabledChannel(data.id, 5000);
		expect(row.disabledReason).toMatch(/refused the token \(HTTP 401/);
	});
});
