/**
 * The gateway WebSocket, as DISCORD.md "The gateway" describes the real one: HELLO on connect,
 * ACK per heartbeat, IDENTIFY → READY with a new session, RESUME → the missed dispatches then
 * RESUMED, op 9 for a session it does not know, close 4004 for a refused token. Faults act on
 * the live connection when posted, or on the next one if none is up.
 */
import { type Account, type Accounts, type Connection, dispatch, type Fault, send } from "./accounts";
import { GATEWAY_URL } from "./env";

/** Faults that act on a gateway connection rather than on an interaction. */
export const GATEWAY_FAULTS: readonly Fault[] = ["op7", "op9", "close4004", "close4000", "no_ack"];

interface Frame {
	op?: unknown;
	d?: unknown;
}

/** Accepts an upgrade request and starts the protocol on the new socket. */
export function acceptGateway(accounts: Accounts, heartbeatMs: number): Response {
	const pair = new WebSocketPair();
	const [client, server] = Object.values(pair) as [WebSocket, WebSocket];
	server.accept();
	const connection: Connection = { ws: server, silent: false };
	send(connection, { op: 10, s: null, t: null, d: { heartbeat_interval: heartbeatMs, _trace: ["fake-discord"] } });
	server.addEventListener("message", (event) => {
		let frame: Frame;
		try {
			frame = JSON.parse(typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data));
		} catch {
			server.close(4002, "Error while decoding payload.");
			return;
		}
		onFrame(accounts, connection, frame);
	});
	server.addEventListener("close", () => detach(accounts, connection));
	return new Response(null, { status: 101, webSocket: client });
}

function onFrame(accounts: Accounts, connection: Connection, frame: Frame): void {
	const d = (frame.d ?? {}) as Record<string, unknown>;
	switch (frame.op) {
		case 1: {
			const account = connection.token ? accounts.get(connection.token) : undefined;
			if (account) account.stats.heartbeats += 1;
			if (connection.silent) return;
			if (account) account.stats.acks += 1;
			send(connection, { op: 11, s: null, t: null, d: null });
			return;
		}
		case 2:
			identify(accounts, connection, d);
			return;
		case 6:
			resume(accounts, connection, d);
			return;
		default:
			// Presence (3), voice (4), guild requests (8, 14 …): nothing a Midjourney client needs.
			return;
	}
}

function identify(accounts: Accounts, connection: Connection, d: Record<string, unknown>): void {
	if (connection.token) {
		connection.ws.close(4005, "Already authenticated.");
		return;
	}
	const account = accounts.authorized(typeof d.token === "string" ? d.token : undefined);
	if (!account) {
		connection.ws.close(4004, "Authentication failed.");
		return;
	}
	account.stats.identifies += 1;
	account.session = { id: crypto.randomUUID().replaceAll("-", ""), seq: 0, log: [] };
	attach(account, connection);
	dispatch(account, "READY", {
		v: 9,
		user: { id: account.userId, username: `fake-${account.userId.slice(-4)}`, discriminator: "0", bot: false },
		session_id: account.session.id,
		resume_gateway_url: GATEWAY_URL,
		session_type: "normal",
		guilds: [],
	});
	applyPendingGatewayFaults(account);
}

function resume(accounts: Accounts, connection: Connection, d: Record<string, unknown>): void {
	const account = accounts.authorized(typeof d.token === "string" ? d.token : undefined);
	if (!account) {
		connection.ws.close(4004, "Authentication failed.");
		return;
	}
	const session = account.session;
	if (!session || session.id !== d.session_id) {
		send(connection, { op: 9, s: null, t: null, d: false });
		return;
	}
	account.stats.resumes += 1;
	attach(account, connection);
	const after = typeof d.seq === "number" ? d.seq : 0;
	for (const event of session.log) if (event.s > after) send(connection, event);
	dispatch(account, "RESUMED", { _trace: ["fake-discord"] });
	applyPendingGatewayFaults(account);
}

/** Makes `connection` the account's one live connection; an older one is closed. */
function attach(account: Account, connection: Connection): void {
	connection.token = account.token;
	account.stats.connections += 1;
	const old = account.connection;
	account.connection = connection;
	if (old && old !== connection) {
		old.token = undefined;
		try {
			old.ws.close(1000, "Replaced by a newer connection.");
		} catch {
			// Already closed.
		}
	}
}

function detach(accounts: Accounts, connection: Connection): void {
	if (!connection.token) return;
	const account = accounts.get(connection.token);
	if (account.connection === connection) account.connection = undefined;
}

/** Acts on a gateway fault now if the account is connected; true when it did. */
export function applyGatewayFault(account: Account, fault: Fault): boolean {
	const connection = account.connection;
	if (!connection) return false;
	switch (fault) {
		case "op7":
			send(connection, { op: 7, s: null, t: null, d: null });
			return true;
		case "op9":
			account.session = undefined;
			send(connection, { op: 9, s: null, t: null, d: false });
			return true;
		case "close4004":
			closeConnection(account, 4004, "Authentication failed.");
			return true;
		case "close4000":
			// Discord's "Unknown error": the session survives, a RESUME picks it up.
			closeConnection(account, 4000, "Unknown error.");
			return true;
		case "no_ack":
			connection.silent = true;
			return true;
		default:
			return false;
	}
}

/** Closes the account's live connection with `code`, keeping the session for a RESUME. */
export function closeConnection(account: Account, code: number, reason: string): void {
	const connection = account.connection;
	if (!connection) return;
	account.connection = undefined;
	connection.token = undefined;
	try {
		connection.ws.close(code, reason);
	} catch {
		// Already closed.
	}
}

function applyPendingGatewayFaults(account: Account): void {
	for (const fault of GATEWAY_FAULTS) {
		if (!account.faults.has(fault)) continue;
		account.faults.delete(fault);
		applyGatewayFault(account, fault);
	}
}
