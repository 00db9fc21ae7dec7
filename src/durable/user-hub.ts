/**
 * One Durable Object per user (`user:<id>`): the meeting point of that user's live-progress
 * connections and the updates of that user's tasks.
 *  - Task objects call `notify` after an accepted update is in D1; the hub reads the row, numbers
 *    the event with the user's next `seq`, keeps the last EVENT_LOG_SIZE events in its SQLite
 *    storage (so reconnects resume) and sends it to every open connection.
 *  - WebSockets use the hibernation API: an idle socket costs nothing, and a socket's filter (one
 *    task or all) lives in its attachment so it survives hibernation.
 *  - SSE streams cannot hibernate: they live in memory here, with a heartbeat comment.
 * The task object stays the only place that decides an update; the hub only relays what D1 holds.
 */
import { DurableObject } from "cloudflare:workers";
import { getDb } from "../db/client";
import {
	appendEvent,
	createEventLog,
	eventsAfter,
	getSetting,
	logBounds,
	loggedVersion,
	putSetting,
} from "../db/live-events";
import type { TaskRow } from "../db/schema";
import { listTaskPage } from "../db/task-lists";
import { findTask, findUserTask, listUnfinished } from "../db/tasks";
import { runtimeDeps } from "../deps";
import { publicBase } from "../images/links";
import {
	type ConnectParams,
	type Outgoing,
	outgoing,
	parseConnect,
	SSE_HEARTBEAT,
	sseFrame,
	wantsWebSocket,
} from "../live/events";
import type { UserHubCalls } from "../live/hub";
import { toProxyTask } from "../tasks/views/proxy";

/** Events kept for reconnects; a client further behind gets a fresh snapshot instead. */
export const EVENT_LOG_SIZE = 500;
/** After the last connection closes, updates are still logged this long, for a reconnect to replay. */
export const RESUME_WINDOW_MS = 15 * 60_000;
export const HEARTBEAT_MS = 25_000;
/** What a snapshot holds besides the unfinished tasks. */
export const SNAPSHOT_RECENT = 20;
const SNAPSHOT_UNFINISHED = 100;
/** An SSE reader this many events behind is cut off; it reconnects with Last-Event-ID. */
const SSE_MAX_BACKLOG = 256;

/** Per-socket state, kept through hibernation. */
interface SocketAttachment {
	taskId?: string;
}

interface SseClient {
	writer: WritableStreamDefaultWriter<Uint8Array>;
	taskId?: string;
}

const encoder = new TextEncoder();

export class UserHub extends DurableObject<Env> implements UserHubCalls {
	#sse = new Set<SseClient>();
	#heartbeat: ReturnType<typeof setInterval> | undefined;
	#lastSeq: number | undefined;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		createEventLog(ctx.storage.sql);
		// Keep-alive pings are answered without waking a hibernated hub.
		ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
	}

	/** A task of this user has an accepted update in D1: log it and send it to every listener. */
	async notify(userId: number, taskId: string): Promise<void> {
		if (!this.#listening()) return;
		const row = await findTask(getDb(this.env.DB), taskId);
		if (!row || row.userId !== userId) return;
		if (row.version <= loggedVersion(this.ctx.storage.sql, taskId)) return;
		const task = await toProxyTask(this.env, this.#base(), row);
		// Two notifications may have read the same row while the other awaited: log it once.
		if (row.version <= loggedVersion(this.ctx.storage.sql, taskId)) return;
		const seq = this.#nextSeq();
		const message = outgoing({ type: "task", seq, task });
		appendEvent(this.ctx.storage.sql, { seq, taskId, version: row.version, body: message.json }, EVENT_LOG_SIZE);
		this.#send(message, taskId);
	}

	/**
	 * Ends every open connection (the user was disabled): WebSockets close with 1008 (policy),
	 * SSE streams are cut. A client that reconnects meets the stream route's refusal.
	 */
	async closeAll(reason: string): Promise<void> {
		for (const ws of this.ctx.getWebSockets()) {
			try {
				ws.close(1008, reason);
			} catch {
				// Already closed.
			}
		}
		for (const sse of [...this.#sse]) this.#dropSse(sse, true);
	}

	/** Open connections, by transport (for tests and diagnostics). */
	async connections(): Promise<{ websockets: number; sse: number }> {
		return { websockets: this.ctx.getWebSockets().length, sse: this.#sse.size };
	}

	/** A connection the stream route handed over (src/routes/streams.ts): a WebSocket or an SSE stream. */
	override async fetch(request: Request): Promise<Response> {
		const params = parseConnect(request);
		if (!params) return new Response("bad connect request", { status: 400 });
		this.#setMeta("origin", params.origin);
		const opening = await this.#opening(params);
		// From here to the return nothing awaits: no event can slip between the opening and the live ones.
		this.#setMeta("resume_until", String(runtimeDeps().now() + RESUME_WINDOW_MS));
		if (wantsWebSocket(request.headers)) {
			const { 0: client, 1: server } = new WebSocketPair();
			this.ctx.acceptWebSocket(server);
			server.serializeAttachment({ ...(params.taskId ? { taskId: params.taskId } : {}) } satisfies SocketAttachment);
			for (const message of opening) server.send(message.json);
			return new Response(null, { status: 101, webSocket: client });
		}
		const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
		const sse: SseClient = { writer: writable.getWriter(), ...(params.taskId ? { taskId: params.taskId } : {}) };
		this.#sse.add(sse);
		sse.writer.closed.catch(() => this.#dropSse(sse));
		this.#write(sse, "retry: 2000\n\n");
		for (const message of opening) this.#write(sse, sseFrame(message));
		this.#startHeartbeat();
		return new Response(readable, {
			headers: {
				"content-type": "text/event-stream; charset=utf-8",
				"cache-control": "no-cache, no-transform",
				"x-accel-buffering": "no",
			},
		});
	}

	/** Clients may only listen: anything but the auto-answered "ping" is ignored. */
	override async webSocketMessage(): Promise<void> {}

	override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
		this.#setMeta("resume_until", String(runtimeDeps().now() + RESUME_WINDOW_MS));
		try {
			ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
		} catch {
			// Already closed.
		}
	}

	override async webSocketError(): Promise<void> {
		this.#setMeta("resume_until", String(runtimeDeps().now() + RESUME_WINDOW_MS));
	}

	/**
	 * What a connection gets first: the events after `after` when the log still holds all of them,
	 * else a snapshot as of the current seq followed by whatever arrived while it was read.
	 */
	async #opening(params: ConnectParams): Promise<Outgoing[]> {
		const last = this.#currentSeq();
		if (params.after !== undefined && this.#canResume(params.after, last)) {
			return this.#eventsAfter(params.after, params.taskId);
		}
		const rows = await this.#snapshotRows(params);
		const base = this.#base();
		const tasks = await Promise.all(rows.map((row) => toProxyTask(this.env, base, row)));
		return [outgoing({ type: "snapshot", seq: last, tasks }), ...this.#eventsAfter(last, params.taskId)];
	}

	async #snapshotRows({ userId, taskId }: ConnectParams): Promise<TaskRow[]> {
		const db = getDb(this.env.DB);
		if (taskId) {
			const row = await findUserTask(db, userId, taskId);
			return row ? [row] : [];
		}
		const [unfinished, recent] = await Promise.all([
			listUnfinished(db, userId, SNAPSHOT_UNFINISHED),
			listTaskPage(db, { userId }, { limit: SNAPSHOT_RECENT }),
		]);
		const byId = new Map<string, TaskRow>();
		for (const row of [...unfinished, ...recent.rows]) byId.set(row.publicId, row);
		return [...byId.values()].sort((a, b) => b.submitTime - a.submitTime || b.id - a.id);
	}

	/** The log holds every event after `after`: none was pruned since, and `after` is not from the future. */
	#canResume(after: number, last: number): boolean {
		if (after > last) return false;
		if (after === last) return true;
		const { oldest } = logBounds(this.ctx.storage.sql);
		return oldest !== null && after >= oldest - 1;
	}

	#eventsAfter(after: number, taskId?: string): Outgoing[] {
		return eventsAfter(this.ctx.storage.sql, after, taskId).map((event) => ({
			type: "task",
			seq: event.seq,
			json: event.body,
		}));
	}

	#send(message: Outgoing, taskId: string): void {
		for (const ws of this.ctx.getWebSockets()) {
			const attachment = (ws.deserializeAttachment() ?? {}) as SocketAttachment;
			if (attachment.taskId && attachment.taskId !== taskId) continue;
			try {
				ws.send(message.json);
			} catch {
				// A socket closing right now: its close handler tidies up.
			}
		}
		if (this.#sse.size === 0) return;
		const frame = sseFrame(message);
		for (const sse of this.#sse) if (!sse.taskId || sse.taskId === taskId) this.#write(sse, frame);
	}

	#write(sse: SseClient, text: string): void {
		const backlog = sse.writer.desiredSize;
		if (backlog !== null && backlog < -SSE_MAX_BACKLOG) {
			this.#dropSse(sse);
			return;
		}
		sse.writer.write(encoder.encode(text)).catch(() => this.#dropSse(sse));
	}

	/** `end`: the stream ends cleanly (the hub chose to close it), rather than being cut off. */
	#dropSse(sse: SseClient, end = false): void {
		if (!this.#sse.delete(sse)) return;
		(end ? sse.writer.close() : sse.writer.abort("stream closed")).catch(() => {});
		this.#setMeta("resume_until", String(runtimeDeps().now() + RESUME_WINDOW_MS));
		if (this.#sse.size === 0 && this.#heartbeat !== undefined) {
			clearInterval(this.#heartbeat);
			this.#heartbeat = undefined;
		}
	}

	#startHeartbeat(): void {
		if (this.#heartbeat !== undefined) return;
		this.#heartbeat = setInterval(() => {
			for (const sse of this.#sse) this.#write(sse, SSE_HEARTBEAT);
		}, HEARTBEAT_MS);
	}

	/** Someone is connected, or was recently enough to come back and resume. */
	#listening(): boolean {
		if (this.#sse.size > 0 || this.ctx.getWebSockets().length > 0) return true;
		return Number(this.#getMeta("resume_until") ?? 0) > runtimeDeps().now();
	}

	#currentSeq(): number {
		this.#lastSeq ??= logBounds(this.ctx.storage.sql).newest ?? 0;
		return this.#lastSeq;
	}

	#nextSeq(): number {
		const seq = this.#currentSeq() + 1;
		this.#lastSeq = seq;
		return seq;
	}

	#base(): string {
		return publicBase(this.env, this.#getMeta("origin"));
	}

	#getMeta(key: string): string | undefined {
		return getSetting(this.ctx.storage.sql, key);
	}

	#setMeta(key: string, value: string): void {
		putSetting(this.ctx.storage.sql, key, value);
	}
}
