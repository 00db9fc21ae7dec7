/**
 * Talks to the fake Discord (simulator/discord/) through the FAKE_DISCORD binding: REST calls,
 * the test controls, and a gateway client small enough to read in a test.
 */
import { env } from "cloudflare:workers";

export const FAKE = env.FAKE_DISCORD_URL;

export function freshToken(): string {
	return `token-${crypto.randomUUID()}`;
}

export async function rest(
	token: string | null,
	path: string,
	init: { method?: string; body?: unknown } = {},
): Promise<Response> {
	const headers = new Headers({ "content-type": "application/json", "user-agent": "Mozilla/5.0 (test)" });
	if (token !== null) headers.set("authorization", token);
	const method = init.method ?? (init.body === undefined ? "GET" : "POST");
	const body = init.body === undefined ? undefined : JSON.stringify(init.body);
	return env.FAKE_DISCORD.fetch(new Request(`${FAKE}${path}`, { method, headers, body }));
}

export async function fault(token: string, name: string, extra: Record<string, unknown> = {}): Promise<unknown> {
	const response = await env.FAKE_DISCORD.fetch(
		new Request(`${FAKE}/_fake/faults`, { method: "POST", body: JSON.stringify({ token, fault: name, ...extra }) }),
	);
	if (response.status !== 200) throw new Error(`fault ${name}: ${response.status} ${await response.text()}`);
	return response.json();
}

/**
 * Holds the bot's steps for an account (true) or lets them run, the held ones at once (false):
 * a job stays in flight exactly as long as a test needs, where a `--fake-slow` job only
 * probably does, and ends as soon as it is let go.
 */
export async function holdSteps(token: string, hold: boolean): Promise<void> {
	const response = await env.FAKE_DISCORD.fetch(
		new Request(`${FAKE}/_fake/hold`, { method: "POST", body: JSON.stringify({ token, hold }) }),
	);
	if (response.status !== 200) throw new Error(`hold ${hold}: ${response.status} ${await response.text()}`);
	const { held } = await response.json<{ held: boolean }>();
	if (held !== hold) throw new Error(`hold ${hold}: the fake answered held ${held}`);
}

/** Runs the next held step of an account's bot (steps must be held); what it sent. */
export async function stepHeld(token: string): Promise<{ t: string }[]> {
	const response = await env.FAKE_DISCORD.fetch(
		new Request(`${FAKE}/_fake/step`, { method: "POST", body: JSON.stringify({ token }) }),
	);
	if (response.status !== 200) throw new Error(`step: ${response.status} ${await response.text()}`);
	const { ran, dispatched } = await response.json<{ ran: boolean; dispatched: { t: string }[] }>();
	if (!ran) throw new Error("step: nothing was held");
	return dispatched;
}

export async function fakeState(token: string): Promise<Record<string, unknown>> {
	return (await env.FAKE_DISCORD.fetch(`${FAKE}/_fake/state?token=${encodeURIComponent(token)}`)).json();
}

export async function recordedInteractions(
	token: string,
): Promise<{ at: number; status: number; body: Record<string, unknown> }[]> {
	return (await env.FAKE_DISCORD.fetch(`${FAKE}/_fake/interactions?token=${encodeURIComponent(token)}`)).json();
}

/** What was PUT to the fake's upload URLs, by upload_filename. */
export async function fakeUploads(): Promise<Record<string, { size: number; contentType: string }>> {
	return (await env.FAKE_DISCORD.fetch(`${FAKE}/_fake/uploads`)).json();
}

export interface Frame {
	op: number;
	s: number | null;
	t: string | null;
	d: unknown;
}

/** A gateway connection that queues every frame and the close, for tests to await in order. */
export class GatewayClient {
	readonly frames: Frame[] = [];
	closed?: { code: number; reason: string };
	readonly #ws: WebSocket;
	#waiters: (() => void)[] = [];

	private constructor(ws: WebSocket) {
		this.#ws = ws;
		ws.addEventListener("message", (event) => {
			this.frames.push(JSON.parse(event.data as string) as Frame);
			this.#wake();
		});
		ws.addEventListener("close", (event) => {
			this.closed = { code: event.code, reason: event.reason };
			this.#wake();
		});
	}

	static async open(path = "/gateway/?v=9&encoding=json"): Promise<GatewayClient> {
		const response = await env.FAKE_DISCORD.fetch(`${FAKE}${path}`, { headers: { Upgrade: "websocket" } });
		const ws = response.webSocket;
		if (!ws) throw new Error(`no WebSocket: ${response.status}`);
		ws.accept();
		return new GatewayClient(ws);
	}

	send(op: number, d: unknown): void {
		this.#ws.send(JSON.stringify({ op, d }));
	}

	close(code = 1000): void {
		this.#ws.close(code, "test done");
	}

	/** Resolves with the first queued frame (from the start) matching `match`, waiting up to `ms`. */
	async next(match: (frame: Frame) => boolean, ms = 5000, from = 0): Promise<Frame> {
		const deadline = Date.now() + ms;
		for (;;) {
			const found = this.frames.slice(from).find(match);
			if (found) return found;
			if (Date.now() > deadline) throw new Error(`no matching frame in ${ms} ms; got ${JSON.stringify(this.frames)}`);
			await new Promise<void>((resolve) => {
				this.#waiters.push(resolve);
				setTimeout(resolve, 50);
			});
		}
	}

	async dispatch(t: string, ms = 5000, from = 0): Promise<Frame> {
		return this.next((frame) => frame.op === 0 && frame.t === t, ms, from);
	}

	async waitClosed(ms = 5000): Promise<{ code: number; reason: string }> {
		const deadline = Date.now() + ms;
		while (!this.closed) {
			if (Date.now() > deadline) throw new Error("the socket did not close");
			await new Promise<void>((resolve) => {
				this.#waiters.push(resolve);
				setTimeout(resolve, 50);
			});
		}
		return this.closed;
	}

	/** Opens, reads HELLO, identifies and waits for READY. */
	static async identified(token: string): Promise<{ client: GatewayClient; ready: Frame }> {
		const client = await GatewayClient.open();
		await client.next((frame) => frame.op === 10);
		client.send(2, { token, capabilities: 16381, properties: { os: "Linux", browser: "Chrome" }, compress: false });
		return { client, ready: await client.dispatch("READY") };
	}

	#wake(): void {
		const waiters = this.#waiters;
		this.#waiters = [];
		for (const wake of waiters) wake();
	}
}

interface CommandEntry {
	id: string;
	application_id: string;
	version: string;
	name: string;
}

/** A Discord message as the fake sends it, loosely typed for tests. */
export type FakeMessage = Record<string, unknown> & {
	id: string;
	channel_id: string;
	content: string;
	nonce?: string;
	components: { components: { custom_id?: string; url?: string }[] }[];
	interaction_metadata?: { id: string; name?: string };
};

export const GUILD = "1100000000000000001";
export const CHANNEL = "1100000000000000002";
export const MJ_BOT = "936929561302675456";
export const NIJI_BOT = "1022952195194359889";

let nonceCounter = 0;
function nonce(): string {
	nonceCounter += 1;
	return `${Date.now()}${String(nonceCounter).padStart(6, "0")}`;
}

/** An identified account on the fake, sending interactions as a Midjourney client does. */
export class FakeAccount {
	readonly token: string;
	readonly client: GatewayClient;
	readonly sessionId: string;
	readonly #commands: CommandEntry[];

	private constructor(token: string, client: GatewayClient, sessionId: string, commands: CommandEntry[]) {
		this.token = token;
		this.client = client;
		this.sessionId = sessionId;
		this.#commands = commands;
	}

	static async connect(token = freshToken()): Promise<FakeAccount> {
		const { client, ready } = await GatewayClient.identified(token);
		const index = await (await rest(token, `/api/v9/guilds/${GUILD}/application-command-index`)).json<{
			application_commands: CommandEntry[];
		}>();
		return new FakeAccount(token, client, (ready.d as { session_id: string }).session_id, index.application_commands);
	}

	/** Sends a slash command; answers the status and the nonce it used. */
	async command(
		name: string,
		options: { type: number; name: string; value: unknown }[] = [],
		extra: { app?: string; attachments?: unknown[]; channelId?: string } = {},
	): Promise<{ status: number; nonce: string }> {
		const app = extra.app ?? MJ_BOT;
		const command = this.#commands.find((c) => c.name === name && c.application_id === app);
		if (!command) throw new Error(`no command ${name}`);
		const sent = nonce();
		const response = await rest(this.token, "/api/v9/interactions", {
			body: {
				type: 2,
				application_id: app,
				guild_id: GUILD,
				channel_id: extra.channelId ?? CHANNEL,
				session_id: this.sessionId,
				nonce: sent,
				data: {
					id: command.id,
					version: command.version,
					name,
					type: 1,
					options,
					attachments: extra.attachments ?? [],
				},
			},
		});
		return { status: response.status, nonce: sent };
	}

	async imagine(prompt: string, app = MJ_BOT): Promise<string> {
		const { status, nonce: sent } = await this.command("imagine", [{ type: 3, name: "prompt", value: prompt }], {
			app,
		});
		if (status !== 204) throw new Error(`imagine answered ${status}`);
		return sent;
	}

	/** Presses a button of a bot message. */
	async press(message: FakeMessage, customId: string): Promise<{ status: number; nonce: string; body: string }> {
		const sent = nonce();
		const response = await rest(this.token, "/api/v9/interactions", {
			body: {
				type: 3,
				guild_id: GUILD,
				channel_id: message.channel_id,
				message_flags: 0,
				message_id: message.id,
				application_id: (message.author as { id: string }).id,
				session_id: this.sessionId,
				nonce: sent,
				data: { component_type: 2, custom_id: customId },
			},
		});
		return { status: response.status, nonce: sent, body: await response.text() };
	}

	/** Submits a modal the fake opened (INTERACTION_MODAL_CREATE `modal`). */
	async submitModal(
		modal: {
			id: string;
			custom_id: string;
			components: { components: { custom_id: string }[] }[];
			application?: { id: string };
		},
		value: string,
	): Promise<{ status: number; nonce: string }> {
		const sent = nonce();
		const field = modal.components[0]?.components[0]?.custom_id ?? "";
		const response = await rest(this.token, "/api/v9/interactions", {
			body: {
				type: 5,
				application_id: modal.application?.id ?? MJ_BOT,
				guild_id: GUILD,
				channel_id: CHANNEL,
				session_id: this.sessionId,
				nonce: sent,
				data: {
					id: modal.id,
					custom_id: modal.custom_id,
					components: [{ type: 1, components: [{ type: 4, custom_id: field, value }] }],
				},
			},
		});
		return { status: response.status, nonce: sent };
	}

	/** Dispatches of type `t` so far, in order. */
	dispatches(t: string, from = 0): Frame[] {
		return this.client.frames.slice(from).filter((f) => f.op === 0 && f.t === t);
	}

	/** Waits for a dispatch of type `t` whose data matches. */
	async waitFor(t: string, match: (d: FakeMessage) => boolean, ms = 8000): Promise<FakeMessage> {
		const frame = await this.client.next((f) => f.op === 0 && f.t === t && match(f.d as FakeMessage), ms);
		return frame.d as FakeMessage;
	}

	close(): void {
		this.client.close();
	}
}
