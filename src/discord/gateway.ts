/**
 * One gateway connection of a user account (shared/DISCORD.md "The gateway"): HELLO, heartbeats
 * with an ACK check, IDENTIFY or RESUME, and every dispatch handed to the owner with its `s`.
 * A connection is used once: whatever ends it (op 7, op 9, a close, a missed ACK) is reported
 * through onEnd, and the owner (the account's Durable Object) decides how to come back.
 */
import type { Fetch } from "../deps";
import { httpUrlOf } from "./fetcher";

export interface GatewaySession {
	sessionId: string;
	seq: number | null;
	resumeUrl: string;
}

/** Why a connection ended, and how to come back. */
export type GatewayEnd =
	/** Come back with RESUME (op 7, a dead connection, a close that allows it). */
	| { kind: "resume"; reason: string }
	/** Come back with a fresh IDENTIFY (op 9 not resumable, a close that forbids resuming). */
	| { kind: "identify"; reason: string }
	/** Do not come back: the token is refused (close 4004) or the account may not connect. */
	| { kind: "fatal"; reason: string };

export interface GatewayHandlers {
	/** Every dispatch (op 0); `seq` is already recorded in the session. */
	dispatch(type: string, data: unknown): void;
	/** READY / RESUMED: the connection carries events. */
	ready(session: GatewaySession, resumed: boolean): void;
	/** The sequence number moved (persist it so a restart can resume). */
	sequence(seq: number): void;
	end(end: GatewayEnd): void;
}

export interface GatewayOptions {
	token: string;
	userAgent: string;
	fetch: Fetch;
	random: () => number;
	now: () => number;
	/** Resume this session instead of identifying. */
	session: GatewaySession | null;
	handlers: GatewayHandlers;
}

/** Close codes after which Discord will not take a RESUME (docs: "Gateway close event codes"). */
const NO_RESUME_CLOSES = new Set([4007, 4009]);
/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSES: Record<number, string> = {
	4004: "Discord refused the token (gateway close 4004: authentication failed)",
	4010: "gateway close 4010: invalid shard",
	4011: "gateway close 4011: sharding required",
	4012: "gateway close 4012: invalid API version",
	4013: "gateway close 4013: invalid intents",
	4014: "gateway close 4014: disallowed intents",
};

interface Frame {
	op: number;
	d?: unknown;
	s?: number | null;
	t?: string | null;
}

/** What a desktop client says about itself when it identifies. */
function identifyPayload(token: string, userAgent: string) {
	return {
		token,
		capabilities: 16381,
		properties: {
			os: "Windows",
			browser: "Chrome",
			device: "",
			system_locale: "en-US",
			browser_user_agent: userAgent,
			browser_version: /Chrome\/([\d.]+)/.exec(userAgent)?.[1] ?? "",
			os_version: "10",
			referrer: "",
			referring_domain: "",
			referrer_current: "",
			referring_domain_current: "",
			release_channel: "stable",
			client_build_number: 350_000,
			client_event_source: null,
		},
		presence: { status: "online", since: 0, activities: [], afk: false },
		compress: false,
		client_state: {
			guild_versions: {},
			highest_last_message_id: "0",
			read_state_version: 0,
			user_guild_settings_version: -1,
			user_settings_version: -1,
			private_channels_version: "0",
			api_code_version: 0,
		},
	};
}

export class GatewayConnection {
	readonly #options: GatewayOptions;
	#socket: WebSocket | null = null;
	#session: GatewaySession | null;
	#seq: number | null;
	#heartbeat: ReturnType<typeof setInterval> | undefined;
	#firstBeat: ReturnType<typeof setTimeout> | undefined;
	#awaitingAck = false;
	#ended = false;
	/** When the last heartbeat ACK (or HELLO) arrived, ms. */
	lastAckAt = 0;
	heartbeatIntervalMs = 0;

	constructor(options: GatewayOptions) {
		this.#options = options;
		this.#session = options.session;
		this.#seq = options.session?.seq ?? null;
	}

	get open(): boolean {
		return this.#socket !== null && !this.#ended;
	}

	/** Opens the socket at `url` (the discovered gateway, or the session's resume URL). */
	async connect(url: string): Promise<void> {
		const target = `${httpUrlOf(url).replace(/\/+$/, "")}/?v=9&encoding=json`;
		const response = await this.#options.fetch(target, {
			headers: { Upgrade: "websocket", "user-agent": this.#options.userAgent },
		});
		const socket = response.webSocket;
		if (!socket) {
			await response.body?.cancel();
			throw new Error(`the gateway answered HTTP ${response.status} without a WebSocket`);
		}
		socket.accept();
		this.#socket = socket;
		socket.addEventListener("message", (event) => this.#onMessage(event.data));
		socket.addEventListener("close", (event) => this.#onClose(event.code, event.reason));
		socket.addEventListener("error", () => this.#finish({ kind: "resume", reason: "gateway socket error" }));
	}

	/** Ends the connection from our side, without reporting it (disable, shutdown). */
	close(code = 1000, reason = "closing"): void {
		this.#ended = true;
		this.#stopHeartbeat();
		try {
			this.#socket?.close(code, reason);
		} catch {
			// Already closed.
		}
		this.#socket = null;
	}

	/** The watchdog's check: a heartbeat unanswered for two intervals means a dead connection. */
	checkAlive(now: number): boolean {
		if (!this.open) return false;
		if (
			this.heartbeatIntervalMs > 0 &&
			this.lastAckAt > 0 &&
			now - this.lastAckAt > 2 * this.heartbeatIntervalMs + 5000
		) {
			this.#finish({ kind: "resume", reason: "no heartbeat ACK (dead connection)" });
			return false;
		}
		return true;
	}

	#send(frame: Frame): void {
		try {
			this.#socket?.send(JSON.stringify(frame));
		} catch {
			this.#finish({ kind: "resume", reason: "gateway send failed" });
		}
	}

	#beat(): void {
		if (this.#awaitingAck) {
			// The last beat was never acknowledged: Discord's documented sign of a zombie connection.
			this.#finish({ kind: "resume", reason: "no heartbeat ACK (dead connection)" });
			return;
		}
		this.#awaitingAck = true;
		this.#send({ op: 1, d: this.#seq });
	}

	#stopHeartbeat(): void {
		clearTimeout(this.#firstBeat);
		clearInterval(this.#heartbeat);
		this.#firstBeat = undefined;
		this.#heartbeat = undefined;
	}

	#onMessage(data: unknown): void {
		if (this.#ended || typeof data !== "string") return;
		let frame: Frame;
		try {
			frame = JSON.parse(data) as Frame;
		} catch {
			return;
		}
		switch (frame.op) {
			case 10: {
				const interval = Number((frame.d as { heartbeat_interval?: number } | undefined)?.heartbeat_interval);
				this.heartbeatIntervalMs = Number.isFinite(interval) && interval > 0 ? interval : 41_250;
				this.lastAckAt = this.#options.now();
				this.#stopHeartbeat();
				// The first beat after a random fraction of the interval, as Discord asks.
				this.#firstBeat = setTimeout(() => {
					this.#beat();
					this.#heartbeat = setInterval(() => this.#beat(), this.heartbeatIntervalMs);
				}, this.heartbeatIntervalMs * this.#options.random());
				const { token, userAgent } = this.#options;
				if (this.#session && this.#seq !== null) {
					this.#send({ op: 6, d: { token, session_id: this.#session.sessionId, seq: this.#seq } });
				} else {
					this.#send({ op: 2, d: identifyPayload(token, userAgent) });
				}
				return;
			}
			case 11:
				this.#awaitingAck = false;
				this.lastAckAt = this.#options.now();
				return;
			case 1:
				this.#awaitingAck = false;
				this.#beat();
				return;
			case 7:
				this.#finish({ kind: "resume", reason: "Discord asked to reconnect (op 7)" });
				return;
			case 9:
				this.#finish(
					frame.d === true
						? { kind: "resume", reason: "invalid session, resumable (op 9)" }
						: { kind: "identify", reason: "invalid session (op 9)" },
				);
				return;
			case 0:
				this.#onDispatch(frame);
				return;
		}
	}

	#onDispatch(frame: Frame): void {
		if (typeof frame.s === "number") {
			this.#seq = frame.s;
			this.#options.handlers.sequence(frame.s);
		}
		const type = frame.t ?? "";
		if (type === "READY") {
			const d = frame.d as { session_id?: string; resume_gateway_url?: string };
			if (d?.session_id) {
				this.#session = { sessionId: d.session_id, seq: this.#seq, resumeUrl: d.resume_gateway_url ?? "" };
				this.#options.handlers.ready(this.#session, false);
			}
		} else if (type === "RESUMED" && this.#session) {
			this.#options.handlers.ready({ ...this.#session, seq: this.#seq }, true);
		}
		this.#options.handlers.dispatch(type, frame.d);
	}

	#onClose(code: number, reason: string): void {
		if (this.#ended) return;
		const fatal = FATAL_CLOSES[code];
		if (fatal) {
			this.#finish({ kind: "fatal", reason: fatal });
			return;
		}
		const why = `gateway closed (${code}${reason ? ` ${reason}` : ""})`;
		this.#finish(NO_RESUME_CLOSES.has(code) ? { kind: "identify", reason: why } : { kind: "resume", reason: why });
	}

	#finish(end: GatewayEnd): void {
		if (this.#ended) return;
		this.close(4000, end.reason.slice(0, 100));
		this.#options.handlers.end(end);
	}
}
