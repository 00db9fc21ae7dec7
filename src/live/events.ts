/**
 * The live-progress wire format, the same on both transports: a WebSocket message is the JSON
 * event; an SSE message is `id: <seq>`, `event: <type>`, `data: <the same JSON>`. `seq` is the
 * user's own monotonically increasing event number, so `Last-Event-ID` (or `last_event_id`) says
 * exactly what a reconnecting client has seen.
 */
import type { ProxyTask } from "../tasks/views/proxy";

/** One accepted update of one task: the task as the midjourney-proxy task object after it. */
export interface TaskEvent {
	type: "task";
	seq: number;
	task: ProxyTask;
}

/**
 * What a new connection starts with: the user's unfinished tasks and most recent ones (or the one
 * task of a per-task stream) as of event `seq`; every later event follows it.
 */
export interface SnapshotEvent {
	type: "snapshot";
	seq: number;
	tasks: ProxyTask[];
}

export type LiveEvent = TaskEvent | SnapshotEvent;

/** An event ready to send, serialized once for every connection (and the log). */
export interface Outgoing {
	type: LiveEvent["type"];
	seq: number;
	json: string;
}

export function outgoing(event: LiveEvent): Outgoing {
	return { type: event.type, seq: event.seq, json: JSON.stringify(event) };
}

/** The SSE framing of an event (its JSON is one line: JSON.stringify never emits a newline). */
export function sseFrame(message: Outgoing): string {
	return `id: ${message.seq}\nevent: ${message.type}\ndata: ${message.json}\n\n`;
}

/** SSE comment lines keep proxies from closing an idle stream; clients ignore them. */
export const SSE_HEARTBEAT = ": heartbeat\n\n";

/** Parses a Last-Event-ID / last_event_id: a non-negative integer, else undefined (start afresh). */
export function parseLastEventId(value: string | null | undefined): number | undefined {
	if (!value || !/^\d{1,15}$/.test(value.trim())) return undefined;
	return Number(value.trim());
}

/** What the stream route tells the user's hub when it hands over a connection. */
export interface ConnectParams {
	userId: number;
	/** Only this task's events (a per-task stream). */
	taskId?: string;
	/** The client has seen every event up to this seq: replay what follows instead of a snapshot. */
	after?: number;
	/** The origin the client connected to, for the links in task objects when PUBLIC_BASE_URL is unset. */
	origin: string;
}

const CONNECT_URL = "https://user-hub.internal/connect";

/** The request the route sends the hub: the client's own upgrade header, the parameters in the query. */
export function connectRequest(client: Request, params: ConnectParams): Request {
	const url = new URL(CONNECT_URL);
	url.searchParams.set("user", String(params.userId));
	url.searchParams.set("origin", params.origin);
	if (params.taskId) url.searchParams.set("task", params.taskId);
	if (params.after !== undefined) url.searchParams.set("after", String(params.after));
	const headers = new Headers();
	const upgrade = client.headers.get("upgrade");
	if (upgrade) headers.set("upgrade", upgrade);
	return new Request(url, { headers });
}

export function parseConnect(request: Request): ConnectParams | null {
	const query = new URL(request.url).searchParams;
	const userId = Number(query.get("user"));
	if (!Number.isSafeInteger(userId)) return null;
	const taskId = query.get("task") ?? undefined;
	const after = parseLastEventId(query.get("after"));
	return {
		userId,
		origin: query.get("origin") ?? "",
		...(taskId ? { taskId } : {}),
		...(after !== undefined ? { after } : {}),
	};
}

/** True when the request asks for a WebSocket. */
export function wantsWebSocket(headers: Headers): boolean {
	return headers.get("upgrade")?.toLowerCase() === "websocket";
}
