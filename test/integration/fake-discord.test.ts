/**
 * The fake Discord (simulator/discord/) reached through the FAKE_DISCORD binding exactly as the
 * gateway reaches it: REST auth and answers, the command index and its 50035, the gateway's
 * HELLO / heartbeat / IDENTIFY / RESUME, and each injectable fault.
 */
import { describe, expect, it } from "vitest";
import { fakeState, fault, freshToken, GatewayClient, recordedInteractions, rest } from "../helpers/fake-discord";

const MJ = "936929561302675456";
const NIJI = "1022952195194359889";

interface Command {
	id: string;
	application_id: string;
	version: string;
	name: string;
}

async function commands(token: string): Promise<Command[]> {
	const response = await rest(token, "/api/v9/guilds/1/application-command-index");
	expect(response.status).toBe(200);
	return (await response.json<{ application_commands: Command[] }>()).application_commands;
}

function imagine(command: Command, sessionId: string, prompt = "a red fox") {
	return {
		type: 2,
		application_id: command.application_id,
		guild_id: "1",
		channel_id: "2",
		session_id: sessionId,
		nonce: "1234567890",
		data: {
			id: command.id,
			version: command.version,
			name: "imagine",
			type: 1,
			options: [{ type: 3, name: "prompt", value: prompt }],
			attachments: [],
		},
	};
}

describe("REST", () => {
	it("refuses a missing, bad or revoked token with 401", async () => {
		expect((await rest(null, "/api/v9/users/@me")).status).toBe(401);
		expect((await rest("bad-token", "/api/v9/gateway")).status).toBe(401);
		const token = freshToken();
		expect((await rest(token, "/api/v9/users/@me")).status).toBe(200);
		await fault(token, "revoke");
		const refused = await rest(token, "/api/v9/users/@me");
		expect(refused.status).toBe(401);
		expect(await refused.json()).toMatchObject({ code: 0 });
	});

	it("names the gateway and the user", async () => {
		const token = freshToken();
		expect(await (await rest(token, "/api/v9/gateway")).json()).toEqual({ url: "ws://fake-discord.internal/gateway" });
		const me = await (await rest(token, "/api/v9/users/@me")).json<{ id: string }>();
		expect(me.id).toMatch(/^\d{17,20}$/);
		expect(await (await rest(token, "/api/v9/users/@me")).json()).toEqual(me);
	});

	it("lists every command of both bots", async () => {
		const list = await commands(freshToken());
		for (const app of [MJ, NIJI]) {
			const names = list.filter((c) => c.application_id === app).map((c) => c.name);
			expect(names.sort()).toEqual(
				["blend", "describe", "fast", "imagine", "info", "relax", "settings", "show", "shorten", "turbo"].sort(),
			);
		}
	});

	it("answers a current interaction 204 with no body and records it", async () => {
		const token = freshToken();
		const command = (await commands(token)).find((c) => c.name === "imagine" && c.application_id === MJ);
		if (!command) throw new Error("no imagine");
		const response = await rest(token, "/api/v9/interactions", { body: imagine(command, "s1") });
		expect(response.status).toBe(204);
		expect(await response.text()).toBe("");
		const recorded = await recordedInteractions(token);
		expect(recorded).toHaveLength(1);
		expect(recorded[0]).toMatchObject({ status: 204, body: { type: 2, data: { name: "imagine" } } });
	});

	it("answers 50035 for a stale command version until the index is read again", async () => {
		const token = freshToken();
		const before = (await commands(token)).find((c) => c.name === "imagine" && c.application_id === MJ);
		if (!before) throw new Error("no imagine");
		await fault(token, "stale_command");
		const stale = await rest(token, "/api/v9/interactions", { body: imagine(before, "s1") });
		expect(stale.status).toBe(400);
		expect(await stale.json()).toMatchObject({ code: 50035 });
		const after = (await commands(token)).find((c) => c.name === "imagine" && c.application_id === MJ);
		if (!after) throw new Error("no imagine");
		expect(after.version).not.toBe(before.version);
		expect((await rest(token, "/api/v9/interactions", { body: imagine(after, "s1") })).status).toBe(204);
	});

	it("refuses a malformed interaction with 400 50035", async () => {
		const token = freshToken();
		const response = await rest(token, "/api/v9/interactions", { body: { type: 2 } });
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({ code: 50035 });
	});

	it("answers 429 with retry_after for as many calls as the rate_limit fault says", async () => {
		const token = freshToken();
		const command = (await commands(token)).find((c) => c.name === "imagine" && c.application_id === MJ);
		if (!command) throw new Error("no imagine");
		await fault(token, "rate_limit", { count: 2, retry_after: 0.5 });
		for (let i = 0; i < 2; i++) {
			const limited = await rest(token, "/api/v9/interactions", { body: imagine(command, "s1") });
			expect(limited.status).toBe(429);
			expect(await limited.json()).toMatchObject({ retry_after: 0.5, global: false });
		}
		expect((await rest(token, "/api/v9/interactions", { body: imagine(command, "s1") })).status).toBe(204);
		expect((await recordedInteractions(token)).map((r) => r.status)).toEqual([429, 429, 204]);
	});
});

describe("CDN", () => {
	it("sends a picture with its Content-Length, as Discord's does, so the gateway streams its copy into R2", async () => {
		const url = "/attachments/2/1234/fox_grid_0.png?ex=1&hm=2";
		const got = await rest(null, url);
		expect(got.status).toBe(200);
		expect(got.headers.get("content-type")).toBe("image/png");
		const length = Number(got.headers.get("content-length"));
		const bytes = new Uint8Array(await got.arrayBuffer());
		expect(bytes.byteLength).toBeGreaterThan(1000);
		expect(length).toBe(bytes.byteLength);
		// The PNG signature, and the same picture each time the same name is asked for.
		expect([...bytes.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
		expect(new Uint8Array(await (await rest(null, url)).arrayBuffer())).toEqual(bytes);
		const head = await rest(null, url, { method: "HEAD" });
		expect(head.headers.get("content-length")).toBe(String(length));
		expect((await head.arrayBuffer()).byteLength).toBe(0);
	});
});

describe("gateway", () => {
	it("says HELLO, acknowledges heartbeats, and answers IDENTIFY with READY", async () => {
		const token = freshToken();
		const client = await GatewayClient.open();
		const hello = await client.next((f) => f.op === 10);
		expect(hello.d).toMatchObject({ heartbeat_interval: 1000 });
		client.send(1, null);
		await client.next((f) => f.op === 11);
		client.send(2, { token, properties: { os: "Linux" }, compress: false });
		const ready = await client.dispatch("READY");
		expect(ready.s).toBe(1);
		expect(ready.d).toMatchObject({ resume_gateway_url: "ws://fake-discord.internal/gateway" });
		expect((ready.d as { session_id: string }).session_id).toMatch(/^[0-9a-f]{32}$/);
		client.send(1, 1);
		await client.next((f) => f.op === 11, 5000, client.frames.indexOf(ready));
		const state = await fakeState(token);
		expect(state).toMatchObject({ connected: true, identifies: 1, heartbeats: 1, acks: 1, seq: 1 });
		client.close();
	});

	it("closes with 4004 on IDENTIFY with a refused token", async () => {
		const client = await GatewayClient.open();
		client.send(2, { token: "bad-token" });
		expect((await client.waitClosed()).code).toBe(4004);
	});

	it("replays the dispatches after the client's seq on RESUME, then RESUMED", async () => {
		const token = freshToken();
		const { client, ready } = await GatewayClient.identified(token);
		const sessionId = (ready.d as { session_id: string }).session_id;
		client.close();
		const again = await GatewayClient.open();
		again.send(6, { token, session_id: sessionId, seq: 0 });
		const resumed = await again.dispatch("RESUMED");
		expect(again.frames.filter((f) => f.op === 0).map((f) => [f.t, f.s])).toEqual([
			["READY", 1],
			["RESUMED", 2],
		]);
		expect(resumed.s).toBe(2);
		expect(await fakeState(token)).toMatchObject({ resumes: 1, identifies: 1 });
		// Nothing is replayed that the client already had.
		again.close();
		const third = await GatewayClient.open();
		third.send(6, { token, session_id: sessionId, seq: 2 });
		await third.dispatch("RESUMED");
		expect(third.frames.filter((f) => f.op === 0).map((f) => f.s)).toEqual([3]);
		third.close();
	});

	it("answers RESUME of an unknown session with op 9", async () => {
		const token = freshToken();
		const client = await GatewayClient.open();
		client.send(6, { token, session_id: "nope", seq: 3 });
		expect((await client.next((f) => f.op === 9)).d).toBe(false);
		client.close();
	});

	it("sends op 7 on the live connection for the op7 fault", async () => {
		const token = freshToken();
		const { client } = await GatewayClient.identified(token);
		expect(await fault(token, "op7")).toMatchObject({ applied: "now" });
		await client.next((f) => f.op === 7);
		client.close();
	});

	it("invalidates the session for the op9 fault, so RESUME fails and IDENTIFY works", async () => {
		const token = freshToken();
		const { client, ready } = await GatewayClient.identified(token);
		await fault(token, "op9");
		await client.next((f) => f.op === 9);
		client.close();
		const again = await GatewayClient.open();
		again.send(6, { token, session_id: (ready.d as { session_id: string }).session_id, seq: 1 });
		await again.next((f) => f.op === 9);
		again.send(2, { token });
		await again.dispatch("READY");
		again.close();
	});

	it("closes the live connection with 4004 for the close4004 and revoke faults", async () => {
		const token = freshToken();
		const { client } = await GatewayClient.identified(token);
		await fault(token, "close4004");
		expect((await client.waitClosed()).code).toBe(4004);
		const { client: second } = await GatewayClient.identified(token);
		await fault(token, "revoke");
		expect((await second.waitClosed()).code).toBe(4004);
		const third = await GatewayClient.open();
		third.send(2, { token });
		expect((await third.waitClosed()).code).toBe(4004);
	});

	it("closes with 4000 for the close4000 fault, and the session resumes", async () => {
		const token = freshToken();
		const { client, ready } = await GatewayClient.identified(token);
		await fault(token, "close4000");
		expect((await client.waitClosed()).code).toBe(4000);
		const again = await GatewayClient.open();
		again.send(6, { token, session_id: (ready.d as { session_id: string }).session_id, seq: 1 });
		await again.dispatch("RESUMED");
		again.close();
	});

	it("stops acknowledging heartbeats on a dead connection (no_ack), and a RESUME elsewhere works", async () => {
		const token = freshToken();
		const { client, ready } = await GatewayClient.identified(token);
		await fault(token, "no_ack");
		const mark = client.frames.length;
		client.send(1, 1);
		await new Promise((resolve) => setTimeout(resolve, 300));
		expect(client.frames.slice(mark).some((f) => f.op === 11)).toBe(false);
		expect(await fakeState(token)).toMatchObject({ silent: true, heartbeats: 1, acks: 0 });
		const again = await GatewayClient.open();
		again.send(6, { token, session_id: (ready.d as { session_id: string }).session_id, seq: 1 });
		await again.dispatch("RESUMED");
		again.send(1, 2);
		await again.next((f) => f.op === 11);
		expect((await client.waitClosed()).code).toBe(1000);
		again.close();
	});

	it("arms a gateway fault for the next connection when none is up", async () => {
		const token = freshToken();
		expect(await fault(token, "op7")).toMatchObject({ applied: "armed" });
		const { client } = await GatewayClient.identified(token);
		await client.next((f) => f.op === 7);
		client.close();
	});
});
