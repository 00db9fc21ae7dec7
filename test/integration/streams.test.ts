/**
 * Live progress: every accepted update of a task reaches the owner's open streams (SSE and
 * WebSocket, through the user's hub) within a second, reconnects resume where they left off, a
 * stream carries its user's tasks only, and only a fresh ticket opens one.
 */
import { env } from "cloudflare:workers";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { sign } from "../../src/auth/signing";
import type { LiveEvent, SnapshotEvent, TaskEvent } from "../../src/live/events";
import { userHub } from "../../src/live/hub";
import { issueTicket } from "../../src/live/ticket";
import type { TaskUpdate } from "../../src/tasks/model";
import { taskObject } from "../../src/tasks/task-object-stub";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, taskRow, userId } from "../helpers/db";
import { proxyPost, submitted } from "../helpers/proxy";

/** A received event, and when it arrived. */
interface Received {
	event: LiveEvent;
	/** SSE `id:` / `event:` lines; undefined for WebSocket messages. */
	id?: string;
	type?: string;
	at: number;
}

/** The events of one open stream, in order, with a way to wait for the next one that matches. */
class EventLog {
	readonly received: Received[] = [];
	#waiters: (() => void)[] = [];
	closed = false;

	push(item: Received): void {
		this.received.push(item);
		for (const wake of this.#waiters.splice(0)) wake();
	}

	end(): void {
		this.closed = true;
		for (const wake of this.#waiters.splice(0)) wake();
	}

	/** The first event (from index `from`) matching `match`, waiting for it up to `timeoutMs`. */
	async until(match: (event: LiveEvent) => boolean, timeoutMs = 5000, from = 0): Promise<Received> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const found = this.received.slice(from).find((item) => match(item.event));
			if (found) return found;
			if (this.closed) throw new Error("stream closed before the event came");
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`no matching event in ${timeoutMs} ms: ${JSON.stringify(this.events())}`);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.#waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}

	events(): LiveEvent[] {
		return this.received.map((item) => item.event);
	}

	/** The task events, as `taskId:status:progress`. */
	taskEvents(): TaskEvent[] {
		return this.events().filter((event): event is TaskEvent => event.type === "task");
	}
}

interface Stream {
	log: EventLog;
	close(): Promise<void>;
}

/** Reads an SSE response body into an EventLog, frame by frame. */
function readSse(response: Response): Stream {
	const log = new EventLog();
	const body = response.body;
	if (!body) throw new Error("no body");
	const reader = body.pipeThrough(new TextDecoderStream()).getReader();
	let buffer = "";
	const pump = (async () => {
		try {
			for (;;) {
				const { value, done } = await reader.read();
				if (done) break;
				buffer += value;
				for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
					const frame = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					const fields = new Map<string, string>();
					for (const line of frame.split("\n")) {
						if (line.startsWith(":") || !line.includes(":")) continue;
						const colon = line.indexOf(":");
						fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
					}
					const data = fields.get("data");
					if (data === undefined) continue;
					log.push({ event: JSON.parse(data), id: fields.get("id"), type: fields.get("event"), at: Date.now() });
				}
			}
		} catch {
			// Cancelled by close().
		}
		log.end();
	})();
	return {
		log,
		async close() {
			await reader.cancel().catch(() => {});
			await pump;
		},
	};
}

async function ticketFor(token: string, taskId?: string): Promise<string> {
	const response = await call("/api/user/stream-ticket", {
		method: "POST",
		token,
		...(taskId ? { body: JSON.stringify({ task_id: taskId }), headers: { "content-type": "application/json" } } : {}),
	});
	const body = await json<{ success: boolean; message: string; data: { ticket: string; expires_at: number } }>(
		response,
	);
	expect(response.status, JSON.stringify(body)).toBe(200);
	expect(body.success).toBe(true);
	const now = Math.floor(Date.now() / 1000);
	expect(body.data.expires_at).toBeGreaterThan(now + 50);
	expect(body.data.expires_at).toBeLessThanOrEqual(now + 61);
	return body.data.ticket;
}

async function openSse(path: string, headers: Record<string, string> = {}): Promise<Stream> {
	const response = await call(path, { headers: { accept: "text/event-stream", ...headers } });
	expect(response.status, response.status === 200 ? "" : await response.text()).toBe(200);
	expect(response.headers.get("content-type")).toContain("text/event-stream");
	return readSse(response);
}

async function openWebSocket(path: string): Promise<Stream> {
	const response = await call(path, { headers: { upgrade: "websocket" } });
	const ws = response.webSocket;
	expect(response.status).toBe(101);
	if (!ws) throw new Error("no WebSocket in the answer");
	const log = new EventLog();
	ws.addEventListener("message", (message) => {
		log.push({ event: JSON.parse(String(message.data)), at: Date.now() });
	});
	ws.addEventListener("close", () => log.end());
	ws.accept();
	return {
		log,
		async close() {
			ws.close(1000, "done");
		},
	};
}

/** A user with a token and their id: the same user in D1 as the token names. */
async function newUser(prefix = "live"): Promise<{ token: string; id: number }> {
	const sub = uniqueSub(prefix);
	const id = await userId(sub);
	return { token: await tokenFor(sub), id };
}

/** Applies an update through the task's Durable Object; returns when apply() returned. */
async function apply(taskId: string, update: TaskUpdate): Promise<number> {
	const result = await taskObject(env, taskId).apply(taskId, update);
	expect(result.applied, JSON.stringify(result)).toBe(true);
	return Date.now();
}

const isTask = (taskId: string, status?: string, progress?: string) => (event: LiveEvent) =>
	event.type === "task" &&
	event.task.id === taskId &&
	(status === undefined || event.task.status === status) &&
	(progress === undefined || event.task.progress === progress);

const snapshotOf = async (log: EventLog): Promise<SnapshotEvent> =>
	(await log.until((event) => event.type === "snapshot")).event as SnapshotEvent;

describe("live progress", () => {
	it("an update reaches an SSE client within a second of the task object accepting it", async () => {
		const user = await newUser();
		const task = await insertTaskRow({ userId: user.id });
		const stream = await openSse(`/api/user/stream?ticket=${await ticketFor(user.token)}`);
		try {
			const snapshot = await snapshotOf(stream.log);
			expect(stream.log.received[0].type).toBe("snapshot");
			expect(stream.log.received[0].id).toBe(String(snapshot.seq));

			const accepted = await apply(task.publicId, { status: "SUBMITTED", upstreamId: "up-sse" });
			const arrived = await stream.log.until(isTask(task.publicId, "SUBMITTED"), 1000);
			expect(arrived.at - accepted).toBeLessThan(1000);
			expect(arrived.type).toBe("task");
			const event = arrived.event as TaskEvent;
			expect(arrived.id).toBe(String(event.seq));
			expect(event.seq).toBeGreaterThan(snapshot.seq);

			const progressed = await apply(task.publicId, { status: "IN_PROGRESS", progress: "40%" });
			const next = await stream.log.until(isTask(task.publicId, "IN_PROGRESS", "40%"), 1000);
			expect(next.at - progressed).toBeLessThan(1000);
			expect((next.event as TaskEvent).seq).toBe(event.seq + 1);
		} finally {
			await stream.close();
		}
	});

	it("an update reaches a WebSocket client within a second, with the image and buttons on success", async () => {
		const user = await newUser();
		const task = await insertTaskRow({ userId: user.id, status: "IN_PROGRESS", progress: "50%" });
		const stream = await openWebSocket(`/api/user/stream?ticket=${await ticketFor(user.token)}`);
		try {
			const snapshot = await snapshotOf(stream.log);
			expect(snapshot.tasks.map((t) => t.id)).toEqual([task.publicId]);

			const buttons = [{ customId: "MJ::JOB::upsample::1::x", emoji: "", label: "U1", type: 2, style: 2 }];
			const accepted = await apply(task.publicId, {
				status: "SUCCESS",
				progress: "100%",
				imageUrl: "http://mj-simulator.internal/no-such-image.png",
				buttons,
			});
			const arrived = await stream.log.until(isTask(task.publicId, "SUCCESS"), 1000);
			expect(arrived.at - accepted).toBeLessThan(1000);
			const done = (arrived.event as TaskEvent).task;
			expect(done.imageUrl).toMatch(new RegExp(`^http://gateway\\.test/mj/image/${task.publicId}\\?sig=`));
			expect(done.buttons).toEqual(buttons);
			expect(done.progress).toBe("100%");
		} finally {
			await stream.close();
		}
	});

	it("a failure reaches the stream with its reason", async () => {
		const user = await newUser();
		const task = await insertTaskRow({ userId: user.id, status: "SUBMITTED" });
		const stream = await openWebSocket(`/api/user/stream?ticket=${await ticketFor(user.token)}`);
		try {
			await snapshotOf(stream.log);
			await apply(task.publicId, { status: "FAILURE", failReason: "banned by upstream" });
			const failed = (await stream.log.until(isTask(task.publicId, "FAILURE"), 1000)).event as TaskEvent;
			expect(failed.task.failReason).toBe("banned by upstream");
		} finally {
			await stream.close();
		}
	});

	it("updates racing in arrive once each, never backwards, ending in the task's final state", async () => {
		const user = await newUser();
		const task = await insertTaskRow({ userId: user.id });
		const marker = await insertTaskRow({ userId: user.id });
		const stream = await openWebSocket(`/api/user/stream?ticket=${await ticketFor(user.token)}`);
		try {
			await snapshotOf(stream.log);
			const object = taskObject(env, task.publicId);
			const updates: TaskUpdate[] = [
				{ status: "SUBMITTED" },
				{ status: "IN_PROGRESS", progress: "20%" },
				{ status: "IN_PROGRESS", progress: "60%" },
				{ status: "IN_PROGRESS", progress: "40%" },
				{ status: "SUCCESS", progress: "100%" },
				{ status: "IN_PROGRESS", progress: "90%" },
			];
			await Promise.all(updates.map((update) => object.apply(task.publicId, update)));
			const final = (await taskRow(task.publicId)).status;
			await stream.log.until(isTask(task.publicId, final));
			// An update of another task, sent after all of them: a late duplicate would be in by its arrival.
			await apply(marker.publicId, { status: "SUBMITTED" });
			await stream.log.until(isTask(marker.publicId));
			const events = stream.log.taskEvents().filter((e) => e.task.id === task.publicId);
			const progress = events.map((e) => Number.parseInt(e.task.progress, 10));
			expect([...progress].sort((a, b) => a - b)).toEqual(progress);
			expect(new Set(events.map((e) => e.seq)).size).toBe(events.length);
			expect(events.at(-1)?.task.status).toBe(final);
		} finally {
			await stream.close();
		}
	});

	it("the hub relays what D1 holds: a version once, and never another user's task", async () => {
		const user = await newUser();
		const stranger = await newUser();
		const task = await insertTaskRow({ userId: user.id });
		const theirs = await insertTaskRow({ userId: stranger.id });
		const marker = await insertTaskRow({ userId: user.id });
		const stream = await openSse(`/api/user/stream?ticket=${await ticketFor(user.token)}`);
		try {
			await snapshotOf(stream.log);
			await apply(task.publicId, { status: "SUBMITTED" });
			await stream.log.until(isTask(task.publicId, "SUBMITTED"));
			const hub = userHub(env, user.id);
			// Repeats of a notification (or one that read the row late) bring no new version.
			await Promise.all([hub.notify(user.id, task.publicId), hub.notify(user.id, task.publicId)]);
			// A notification naming someone else's task is dropped, whoever sends it.
			await hub.notify(user.id, theirs.publicId);
			await apply(theirs.publicId, { status: "SUBMITTED" });
			await apply(marker.publicId, { status: "SUBMITTED" });
			await stream.log.until(isTask(marker.publicId));
			expect(stream.log.taskEvents().map((e) => e.task.id)).toEqual([task.publicId, marker.publicId]);
		} finally {
			await stream.close();
		}
	});

	it("a reconnect with Last-Event-ID gets every update it missed, once, and no snapshot", async () => {
		const user = await newUser();
		const task = await insertTaskRow({ userId: user.id });
		const ticket = await ticketFor(user.token);
		const first = await openSse(`/api/user/stream?ticket=${ticket}`);
		await snapshotOf(first.log);
		await apply(task.publicId, { status: "SUBMITTED" });
		const seen = (await first.log.until(isTask(task.publicId, "SUBMITTED"))).event as TaskEvent;
		await first.close();

		// Missed while disconnected.
		await apply(task.publicId, { status: "IN_PROGRESS", progress: "10%" });
		await apply(task.publicId, { status: "IN_PROGRESS", progress: "70%" });

		const second = await openSse(`/api/user/stream?ticket=${ticket}`, { "last-event-id": String(seen.seq) });
		try {
			await second.log.until(isTask(task.publicId, "IN_PROGRESS", "70%"));
			await apply(task.publicId, { status: "SUCCESS", progress: "100%" });
			await second.log.until(isTask(task.publicId, "SUCCESS"));
			const events = second.log.events();
			expect(events.map((e) => e.type)).toEqual(["task", "task", "task"]);
			expect(second.log.taskEvents().map((e) => e.task.progress)).toEqual(["10%", "70%", "100%"]);
			expect(second.log.taskEvents().map((e) => e.seq)).toEqual([seen.seq + 1, seen.seq + 2, seen.seq + 3]);
		} finally {
			await second.close();
		}

		// A WebSocket resumes the same way, with ?last_event_id=.
		const ws = await openWebSocket(`/api/user/stream?ticket=${ticket}&last_event_id=${seen.seq + 1}`);
		try {
			await ws.log.until(isTask(task.publicId, "SUCCESS"));
			expect(ws.log.taskEvents().map((e) => e.seq)).toEqual([seen.seq + 2, seen.seq + 3]);
			expect(ws.log.events().some((e) => e.type === "snapshot")).toBe(false);
		} finally {
			await ws.close();
		}
	});

	it("a reconnect from an id the hub does not know gets a fresh snapshot instead", async () => {
		const user = await newUser();
		const task = await insertTaskRow({ userId: user.id, status: "SUBMITTED" });
		const stream = await openSse(`/api/user/stream?ticket=${await ticketFor(user.token)}`, {
			"last-event-id": "999999",
		});
		try {
			const snapshot = await snapshotOf(stream.log);
			expect(snapshot.tasks.map((t) => t.id)).toEqual([task.publicId]);
		} finally {
			await stream.close();
		}
	});

	it("each user's stream carries that user's tasks only", async () => {
		const alice = await newUser("alice");
		const bob = await newUser("bob");
		const aliceTask = await insertTaskRow({ userId: alice.id });
		const bobTask = await insertTaskRow({ userId: bob.id });
		const aliceStream = await openSse(`/api/user/stream?ticket=${await ticketFor(alice.token)}`);
		const bobStream = await openWebSocket(`/api/user/stream?ticket=${await ticketFor(bob.token)}`);
		try {
			const [aliceSnapshot, bobSnapshot] = await Promise.all([snapshotOf(aliceStream.log), snapshotOf(bobStream.log)]);
			expect(aliceSnapshot.tasks.map((t) => t.id)).toEqual([aliceTask.publicId]);
			expect(bobSnapshot.tasks.map((t) => t.id)).toEqual([bobTask.publicId]);

			await apply(aliceTask.publicId, { status: "SUBMITTED" });
			await apply(bobTask.publicId, { status: "SUBMITTED" });
			await apply(bobTask.publicId, { status: "IN_PROGRESS", progress: "20%" });
			await apply(aliceTask.publicId, { status: "IN_PROGRESS", progress: "30%" });
			await aliceStream.log.until(isTask(aliceTask.publicId, "IN_PROGRESS"));
			await bobStream.log.until(isTask(bobTask.publicId, "IN_PROGRESS"));

			expect(aliceStream.log.taskEvents().map((e) => `${e.task.id}:${e.task.status}`)).toEqual([
				`${aliceTask.publicId}:SUBMITTED`,
				`${aliceTask.publicId}:IN_PROGRESS`,
			]);
			expect(bobStream.log.taskEvents().map((e) => `${e.task.id}:${e.task.status}`)).toEqual([
				`${bobTask.publicId}:SUBMITTED`,
				`${bobTask.publicId}:IN_PROGRESS`,
			]);
			// Each user's sequence is their own.
			expect(aliceStream.log.taskEvents().map((e) => e.seq)).toEqual([1, 2]);
			expect(bobStream.log.taskEvents().map((e) => e.seq)).toEqual([1, 2]);
		} finally {
			await aliceStream.close();
			await bobStream.close();
		}
	});

	it("the snapshot holds the user's unfinished tasks and most recent ones, newest first", async () => {
		const user = await newUser();
		const other = await newUser();
		const now = Date.now();
		const oldUnfinished = await insertTaskRow({ userId: user.id, status: "IN_PROGRESS", submitTime: now - 86_400_000 });
		const finished = [];
		for (let n = 0; n < 22; n += 1) {
			finished.push(
				await insertTaskRow({ userId: user.id, status: "SUCCESS", progress: "100%", submitTime: now - 60_000 + n }),
			);
		}
		const newest = await insertTaskRow({ userId: user.id, status: "NOT_START", submitTime: now });
		await insertTaskRow({ userId: other.id, status: "IN_PROGRESS" });

		const stream = await openSse(`/api/user/stream?ticket=${await ticketFor(user.token)}`);
		try {
			const snapshot = await snapshotOf(stream.log);
			const ids = snapshot.tasks.map((t) => t.id);
			// The 20 most recent (the newest and 19 finished), then the old unfinished one.
			expect(ids).toEqual([
				newest.publicId,
				...finished
					.slice(3)
					.reverse()
					.map((t) => t.publicId),
				oldUnfinished.publicId,
			]);
			expect(snapshot.tasks[0].status).toBe("NOT_START");
			expect(snapshot.tasks.at(-1)?.status).toBe("IN_PROGRESS");
			expect(Object.keys(snapshot.tasks[0])).toContain("buttons");
		} finally {
			await stream.close();
		}
	});

	it("a per-task stream carries that task's events only", async () => {
		const user = await newUser();
		const watched = await insertTaskRow({ userId: user.id });
		const other = await insertTaskRow({ userId: user.id });
		const ticket = await ticketFor(user.token, watched.publicId);
		const sse = await openSse(`/api/user/tasks/${watched.publicId}/stream?ticket=${ticket}`);
		const ws = await openWebSocket(`/api/user/tasks/${watched.publicId}/stream?ticket=${ticket}`);
		try {
			for (const stream of [sse, ws]) {
				expect((await snapshotOf(stream.log)).tasks.map((t) => t.id)).toEqual([watched.publicId]);
			}
			await apply(other.publicId, { status: "SUBMITTED" });
			await apply(watched.publicId, { status: "SUBMITTED" });
			await apply(other.publicId, { status: "IN_PROGRESS" });
			await apply(watched.publicId, { status: "IN_PROGRESS", progress: "5%" });
			for (const stream of [sse, ws]) {
				await stream.log.until(isTask(watched.publicId, "IN_PROGRESS"));
				expect(stream.log.taskEvents().map((e) => `${e.task.id}:${e.task.status}`)).toEqual([
					`${watched.publicId}:SUBMITTED`,
					`${watched.publicId}:IN_PROGRESS`,
				]);
			}
		} finally {
			await sse.close();
			await ws.close();
		}
	});

	it("a per-task stream of another user's task is not found, and its ticket cannot be had", async () => {
		const user = await newUser();
		const stranger = await newUser();
		const theirs = await insertTaskRow({ userId: stranger.id });
		const refused = await call("/api/user/stream-ticket", {
			method: "POST",
			token: user.token,
			body: JSON.stringify({ task_id: theirs.publicId }),
			headers: { "content-type": "application/json" },
		});
		expect(refused.status).toBe(404);
		expect(await json(refused)).toEqual({ success: false, message: "no such task" });

		const { ticket } = await issueTicket(env, { userId: user.id, taskId: theirs.publicId }, Date.now());
		const response = await call(`/api/user/tasks/${theirs.publicId}/stream?ticket=${ticket}`, {
			headers: { accept: "text/event-stream" },
		});
		expect(response.status).toBe(404);
		expect(await json(response)).toEqual({ success: false, message: "no such task" });
	});

	it("a full run through the simulator: SUBMITTED, IN_PROGRESS and SUCCESS arrive without polling", async () => {
		// Created by its first request, so it has NEW_USER_QUOTA to spend.
		const user = { token: await tokenFor(uniqueSub("sim")) };
		await call("/api/user/self", { token: user.token });
		const stream = await openWebSocket(`/api/user/stream?ticket=${await ticketFor(user.token)}`);
		try {
			await snapshotOf(stream.log);
			const id = await submitted(await proxyPost("/mj/submit/imagine", user.token, { prompt: "a live cat" }));
			await stream.log.until(isTask(id, "SUCCESS"), 25_000);
			const statuses = stream.log
				.taskEvents()
				.filter((e) => e.task.id === id)
				.map((e) => e.task.status);
			expect(statuses[0]).toBe("SUBMITTED");
			expect(statuses).toContain("IN_PROGRESS");
			expect(statuses.at(-1)).toBe("SUCCESS");
			// Forward only, in order.
			const order = ["NOT_START", "SUBMITTED", "IN_PROGRESS", "SUCCESS"];
			const ranks = statuses.map((s) => order.indexOf(s));
			expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
			const seqs = stream.log.taskEvents().map((e) => e.seq);
			expect(new Set(seqs).size).toBe(seqs.length);
			const success = stream.log.taskEvents().at(-1)?.task;
			expect(success?.imageUrl).toContain(`/mj/image/${id}?sig=`);
			expect(success?.buttons.length).toBeGreaterThan(0);
		} finally {
			await stream.close();
		}
	});
});

describe("stream tickets", () => {
	/** The new-api error envelope with HTTP 401. */
	async function expectUnauthorized(response: Response, says: RegExp): Promise<void> {
		const body = await json<{ success: boolean; message: string }>(response);
		expect(response.status, JSON.stringify(body)).toBe(401);
		expect(Object.keys(body).sort()).toEqual(["message", "success"]);
		expect(body.success).toBe(false);
		expect(body.message).toMatch(says);
	}

	const sse = (path: string) => call(path, { headers: { accept: "text/event-stream" } });
	const ws = (path: string) => call(path, { headers: { upgrade: "websocket" } });

	it("a ticket takes a token or an API key in a header, never nothing", async () => {
		await expectUnauthorized(await call("/api/user/stream-ticket", { method: "POST" }), /token/);
		const user = await newUser();
		const key = await call("/api/user/keys", {
			method: "POST",
			token: user.token,
			body: JSON.stringify({ name: "live" }),
			headers: { "content-type": "application/json" },
		});
		const apiKey = (await json<{ data: { key: string } }>(key)).data.key;
		const ticket = await ticketFor(apiKey);
		const stream = await openSse(`/api/user/stream?ticket=${ticket}`);
		await snapshotOf(stream.log);
		await stream.close();
	});

	it("an expired ticket is refused on both transports", async () => {
		const user = await newUser();
		const { ticket } = await issueTicket(env, { userId: user.id }, Date.now() - 61_000);
		await expectUnauthorized(await sse(`/api/user/stream?ticket=${ticket}`), /expired/);
		await expectUnauthorized(await ws(`/api/user/stream?ticket=${ticket}`), /expired/);
	});

	it("a forged ticket is refused: another user's id, a made-up signature, a bare payload", async () => {
		const victim = await newUser();
		const attacker = await newUser();
		const { ticket } = await issueTicket(env, { userId: attacker.id }, Date.now());
		const [payload, signature] = ticket.split(".");
		const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
		const forged = base64url.encode(new TextEncoder().encode(JSON.stringify({ ...claims, u: victim.id })));
		for (const bad of [
			`${forged}.${signature}`,
			`${payload}.${signature.slice(0, -2)}AA`,
			payload,
			// Signed with the right key but for another purpose (an image link's signature).
			`${forged}.${await sign(env, "image", forged)}`,
		]) {
			await expectUnauthorized(await sse(`/api/user/stream?ticket=${encodeURIComponent(bad)}`), /invalid/);
		}
	});

	it("a token or API key in the URL opens nothing", async () => {
		const user = await newUser();
		await expectUnauthorized(await sse(`/api/user/stream?ticket=${user.token}`), /invalid/);
		await expectUnauthorized(await sse(`/api/user/stream?token=${user.token}`), /invalid/);
		await expectUnauthorized(await ws(`/api/user/stream?access_token=${user.token}`), /never accepted in a URL/);
		// Not even in a header: the stream routes take tickets only.
		await expectUnauthorized(await call("/api/user/stream", { token: user.token }), /ticket/);
	});

	it("a per-task ticket opens that task's stream only", async () => {
		const user = await newUser();
		const task = await insertTaskRow({ userId: user.id });
		const other = await insertTaskRow({ userId: user.id });
		const ticket = await ticketFor(user.token, task.publicId);
		await expectUnauthorized(await sse(`/api/user/stream?ticket=${ticket}`), /another stream/);
		await expectUnauthorized(await sse(`/api/user/tasks/${other.publicId}/stream?ticket=${ticket}`), /another stream/);
		const general = await ticketFor(user.token);
		await expectUnauthorized(await sse(`/api/user/tasks/${task.publicId}/stream?ticket=${general}`), /another stream/);
	});

	it("a closed stream leaves the hub, and a hub nobody listens to logs nothing", async () => {
		const user = await newUser();
		const task = await insertTaskRow({ userId: user.id });
		// Never connected: the update is not logged, so the first event later is seq 1.
		await apply(task.publicId, { status: "SUBMITTED" });
		const hub = userHub(env, user.id);
		const stream = await openSse(`/api/user/stream?ticket=${await ticketFor(user.token)}`);
		expect((await snapshotOf(stream.log)).seq).toBe(0);
		expect(await hub.connections()).toEqual({ websockets: 0, sse: 1 });
		await stream.close();
		// The hub notices on its next write (the heartbeat or an update).
		await apply(task.publicId, { status: "IN_PROGRESS" });
		await waitFor(async () => (await hub.connections()).sse === 0, 5000, "the SSE stream to leave");
	});
});
