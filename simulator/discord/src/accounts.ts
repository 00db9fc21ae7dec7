/**
 * Per-token state of the fake: the gateway session (with its log of dispatches, for RESUME),
 * the live connection, injected faults, what the client sent, and counters tests read back.
 */
import { BAD_TOKEN } from "./env";

export const FAULTS = [
	"op7",
	"op9",
	"close4004",
	"close4000",
	"no_ack",
	"rate_limit",
	"stale_command",
	"revoke",
	"captcha",
	"credits_exhausted",
	"blocked",
	"pending_mod",
	"plan_cancelled",
	"subscription_required",
	"delete_next",
	"drop_interaction_metadata",
] as const;
export type Fault = (typeof FAULTS)[number];

/** A gateway dispatch as sent on the wire (op 0). */
export interface Dispatch {
	op: 0;
	s: number;
	t: string;
	d: unknown;
}

/** One accepted gateway WebSocket. */
export interface Connection {
	ws: WebSocket;
	/** Set by IDENTIFY or RESUME. */
	token?: string;
	/** A dead connection (fault no_ack): no ACKs, no dispatches, until the client gives up on it. */
	silent: boolean;
}

export interface Session {
	id: string;
	seq: number;
	/** Every dispatch of the session, replayed after RESUME from the client's seq on. */
	log: Dispatch[];
}

/** What the client sent to `POST /api/v9/interactions`, in order, with the fake's answer. */
export interface RecordedInteraction {
	at: number;
	status: number;
	body: unknown;
}

export interface Account {
	token: string;
	userId: string;
	revoked: boolean;
	session?: Session;
	connection?: Connection;
	/** Faults waiting to act: counted ones are used up by interactions, gateway ones by a connection. */
	faults: Map<Fault, number>;
	/** Added to every command version; stale_command bumps it so cached versions answer 50035. */
	commandEpoch: number;
	/** Seconds a rate_limit fault's 429 asks the client to wait. */
	retryAfter: number;
	interactions: RecordedInteraction[];
	/** Midjourney's settings for this account: /fast, /relax, /turbo and the settings buttons change them. */
	mode: "fast" | "relax" | "turbo";
	remix: boolean;
	fastHoursLeft: number;
	/**
	 * The bot's pending steps while they are held (`POST /_fake/hold`): each runs only when
	 * `POST /_fake/step` asks, oldest first, so a benchmark can send one dispatch at a time.
	 * Undefined: steps run on their own timers.
	 */
	held?: (() => void)[];
	stats: {
		connections: number;
		identifies: number;
		resumes: number;
		heartbeats: number;
		acks: number;
		dm_opens: number;
	};
}

const LOG_LIMIT = 1000;
const DISCORD_EPOCH = 1420070400000n;
let counter = 0n;

/** A Discord snowflake for `now`: milliseconds since 2015 shifted 22 bits, plus a counter. */
export function snowflake(now = Date.now()): string {
	counter = (counter + 1n) & 0x3fffffn;
	return (((BigInt(now) - DISCORD_EPOCH) << 22n) | counter).toString();
}

/** A stable user id for a token, so /users/@me and mentions agree across restarts. */
export function userIdOf(token: string): string {
	let hash = 0n;
	for (const ch of token) hash = (hash * 131n + BigInt(ch.codePointAt(0) ?? 0)) % 10n ** 17n;
	return (10n ** 17n + hash).toString();
}

export class Accounts {
	readonly #byToken = new Map<string, Account>();

	get(token: string): Account {
		let account = this.#byToken.get(token);
		if (!account) {
			account = {
				token,
				userId: userIdOf(token),
				revoked: false,
				faults: new Map(),
				commandEpoch: 0,
				retryAfter: 0.2,
				interactions: [],
				mode: "fast",
				remix: false,
				fastHoursLeft: 13.91,
				stats: { connections: 0, identifies: 0, resumes: 0, heartbeats: 0, acks: 0, dm_opens: 0 },
			};
			this.#byToken.set(token, account);
		}
		return account;
	}

	/** The account a token may act as, or undefined for a refused token. */
	authorized(token: string | null | undefined): Account | undefined {
		if (!token || token === BAD_TOKEN) return undefined;
		const account = this.get(token);
		return account.revoked ? undefined : account;
	}
}

/**
 * Runs the account's oldest held step and returns what it dispatched (type, seq, and for a
 * message its id, content and attachment count), or null when no step waits.
 */
export function stepHeld(
	account: Account,
): { t: string; s: number; id?: string; content?: string; attachments?: number }[] | null {
	const next = account.held?.shift();
	if (!next) return null;
	const before = account.session?.seq ?? 0;
	next();
	const session = account.session;
	if (!session) return [];
	return session.log
		.filter((event) => event.s > before)
		.map((event) => {
			const d = (event.d ?? {}) as { id?: unknown; content?: unknown; attachments?: unknown };
			return {
				t: event.t,
				s: event.s,
				...(typeof d.id === "string" ? { id: d.id } : {}),
				...(typeof d.content === "string" ? { content: d.content } : {}),
				...(Array.isArray(d.attachments) ? { attachments: d.attachments.length } : {}),
			};
		});
}

/** Uses one count of a fault; true when it was armed. */
export function takeFault(account: Account, fault: Fault): boolean {
	const left = account.faults.get(fault) ?? 0;
	if (left <= 0) return false;
	if (left === 1) account.faults.delete(fault);
	else account.faults.set(fault, left - 1);
	return true;
}

/** Appends a dispatch to the session's log and sends it on a live, non-silent connection. */
export function dispatch(account: Account, t: string, d: unknown): void {
	const session = account.session;
	if (!session) return;
	session.seq += 1;
	// A copy: the bot edits its messages in place, and a replay must show each as it was sent.
	const event: Dispatch = { op: 0, s: session.seq, t, d: structuredClone(d) };
	session.log.push(event);
	if (session.log.length > LOG_LIMIT) session.log.splice(0, session.log.length - LOG_LIMIT);
	send(account.connection, event);
}

export function send(connection: Connection | undefined, payload: unknown): void {
	if (!connection || connection.silent) return;
	try {
		connection.ws.send(JSON.stringify(payload));
	} catch {
		// The socket closed under us; the log keeps the event for a RESUME.
	}
}
