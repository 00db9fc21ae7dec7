import { describe, expect, it } from "vitest";
import { outgoing, parseLastEventId, sseFrame } from "../../src/live/events";
import { checkTicket, issueTicket, TICKET_TTL_SECONDS } from "../../src/live/ticket";
import type { ProxyTask } from "../../src/tasks/views/proxy";

describe("stream tickets", () => {
	const env = { SIGNING_SECRET: "unit-test-secret" } as Env;
	const now = 1_800_000_000_000;

	it("carry the user, the task and an expiry a minute out, and stop working at it", async () => {
		const { ticket, expiresAt } = await issueTicket(env, { userId: 7, taskId: "t-1" }, now);
		expect(expiresAt).toBe(now / 1000 + TICKET_TTL_SECONDS);
		expect(ticket).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
		expect(await checkTicket(env, ticket, now)).toEqual({
			ok: true,
			claims: { userId: 7, taskId: "t-1", expiresAt },
		});
		expect(await checkTicket(env, ticket, expiresAt * 1000 - 1)).toMatchObject({ ok: true });
		expect(await checkTicket(env, ticket, expiresAt * 1000)).toEqual({ ok: false, reason: "expired" });
		// Under another secret it is a forgery.
		expect(await checkTicket({ SIGNING_SECRET: "other" } as Env, ticket, now)).toEqual({
			ok: false,
			reason: "invalid",
		});
	});

	it("two tickets for the same user at the same moment differ", async () => {
		const a = await issueTicket(env, { userId: 7 }, now);
		const b = await issueTicket(env, { userId: 7 }, now);
		expect(a.ticket).not.toBe(b.ticket);
	});

	it("refuse malformed input without throwing", async () => {
		for (const bad of [undefined, "", ".", "abc", ".sig", "a.b.c", "x".repeat(600), "eyJ1IjoxfQ.AAAA"]) {
			expect(await checkTicket(env, bad, now), String(bad)).toEqual({ ok: false, reason: "invalid" });
		}
	});
});

describe("event framing", () => {
	it("an SSE frame is id, event and one data line of the same JSON a WebSocket gets", () => {
		const task = { id: "t-1", status: "IN_PROGRESS", description: "two\nlines" } as ProxyTask;
		const message = outgoing({ type: "task", seq: 12, task });
		const frame = sseFrame(message);
		expect(frame).toBe(`id: 12\nevent: task\ndata: ${message.json}\n\n`);
		expect(frame.split("\n")).toHaveLength(5);
		expect(JSON.parse(message.json)).toEqual({ type: "task", seq: 12, task });
		expect(sseFrame(outgoing({ type: "snapshot", seq: 0, tasks: [] }))).toMatch(/^id: 0\nevent: snapshot\n/);
	});

	it("Last-Event-ID is a non-negative integer or nothing", () => {
		expect(parseLastEventId("42")).toBe(42);
		expect(parseLastEventId(" 7 ")).toBe(7);
		for (const bad of [undefined, null, "", "-1", "1.5", "abc", "1e3", "9".repeat(20)]) {
			expect(parseLastEventId(bad), String(bad)).toBeUndefined();
		}
	});
});
