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

export async function fakeState(token: string): Promise<Record<string, unknown>> {
	return (await env.FAKE_DISCORD.fetch(`${FAKE}/_fake/state?token=${encodeURIComponent(token)}`)).json();
}

export async function recordedInteractions(
	token: string,
): Promise<{ status: number; body: Record<string, unknown> }[]> {
	return (await env.FAKE_DISCORD.fetch(`${FAKE}/_fake/interactions?token=${encodeURIComponent(token)}`)).json();
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
