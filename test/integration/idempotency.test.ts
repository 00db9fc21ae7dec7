/**
 * Idempotency-Key on every submit (seed 002, the midjourney-proxy surface, album create): a repeat
 * answers the first answer and creates and charges nothing more, sequentially and concurrently;
 * another request with the same key is refused; keys are per user.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IDEMPOTENCY_WINDOW_MS } from "../../src/routes/idempotency";
import { call, json, tokenFor, uniqueSub } from "../helpers/api";
import { userId } from "../helpers/db";

async function user() {
	const sub = uniqueSub("idem");
	const token = await tokenFor(sub);
	await call("/api/user/self", { token });
	return { sub, token, id: await userId(sub) };
}

async function state(owner: number) {
	const tasks = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?")
		.bind(owner)
		.first<{ n: number }>();
	const quota = await env.DB.prepare("SELECT quota FROM users WHERE id = ?").bind(owner).first<{ quota: number }>();
	return { tasks: tasks?.n ?? 0, quota: quota?.quota ?? Number.NaN };
}

function seed002Submit(token: string, key: string, prompt = "an idempotent fox") {
	return call("/api/v1/trigger/submit", {
		method: "POST",
		token,
		headers: { "content-type": "application/json", "idempotency-key": key },
		body: JSON.stringify({ action: "IMAGINE", prompt }),
	});
}

function proxySubmit(token: string, key: string, prompt = "an idempotent owl") {
	return call("/mj/submit/imagine", {
		method: "POST",
		headers: { "mj-api-secret": token, "content-type": "application/json", "idempotency-key": key },
		body: JSON.stringify({ prompt }),
	});
}

describe("Idempotency-Key", () => {
	it("seed 002: a sequential repeat answers the first answer; one task, one charge", async () => {
		const { token, id } = await user();
		const before = await state(id);
		const first = await seed002Submit(token, "key-1");
		const firstBody = await json<{ result: string }>(first);
		expect(first.status).toBe(200);
		const again = await seed002Submit(token, "key-1");
		expect(again.status).toBe(200);
		expect(again.headers.get("idempotent-replayed")).toBe("true");
		expect(await json(again)).toEqual(firstBody);
		const after = await state(id);
		expect(after.tasks).toBe(before.tasks + 1);
		expect(after.quota).toBe(before.quota - 100);
	});

	it("proxy: concurrent repeats make one task and one charge, and all answer the same id", async () => {
		const { token, id } = await user();
		const before = await state(id);
		const answers = await Promise.all([1, 2, 3, 4].map(() => proxySubmit(token, "burst-1")));
		const bodies = await Promise.all(answers.map((r) => json<{ code: number; result: string }>(r)));
		expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
		expect(new Set(bodies.map((b) => b.result)).size).toBe(1);
		expect(bodies[0].code).toBe(1);
		const after = await state(id);
		expect(after.tasks).toBe(before.tasks + 1);
		expect(after.quota).toBe(before.quota - 100);
	});

	it("the same key with a different request is refused with 422 in the surface's envelope, creating nothing", async () => {
		const { token, id } = await user();
		expect((await seed002Submit(token, "k-change", "first prompt")).status).toBe(200);
		const before = await state(id);
		const other = await seed002Submit(token, "k-change", "another prompt");
		expect(other.status).toBe(422);
		expect(await json(other)).toMatchObject({ code: 0, description: expect.stringMatching(/different request/) });
		expect((await proxySubmit(token, "k-proxy")).status).toBe(200);
		const proxyOther = await proxySubmit(token, "k-proxy", "something else");
		expect(proxyOther.status).toBe(422);
		expect((await json<{ code: number }>(proxyOther)).code).toBe(4);
		expect((await state(id)).tasks).toBe(before.tasks + 1);
	});

	it("keys are per user: another user's same key runs afresh", async () => {
		const a = await user();
		const b = await user();
		const first = await json<{ result: string }>(await seed002Submit(a.token, "shared-key"));
		const second = await json<{ result: string }>(await seed002Submit(b.token, "shared-key"));
		expect(second.result).not.toBe(first.result);
		expect((await state(b.id)).tasks).toBe(1);
	});

	it("a refused request keeps nothing: fixing it and retrying with the same key runs", async () => {
		const { token, id } = await user();
		const refused = await call("/mj/submit/imagine", {
			method: "POST",
			headers: { "mj-api-secret": token, "content-type": "application/json", "idempotency-key": "fix-me" },
			body: JSON.stringify({ prompt: "" }),
		});
		expect(refused.status).toBe(400);
		// The fixed request is a different body: were the refusal kept, this would be a 422.
		expect((await proxySubmit(token, "fix-me")).status).toBe(200);
		expect((await state(id)).tasks).toBe(1);
	});

	it("album create is idempotent too", async () => {
		const { token, id } = await user();
		const now = Date.now();
		const template = await env.DB.prepare(
			"INSERT INTO templates (kind, title, prompt, is_audit, created_at, updated_at) VALUES ('prompt', 't', 'a cat', 1, ?, ?) RETURNING id",
		)
			.bind(now, now)
			.first<{ id: number }>();
		const create = () =>
			call("/userAlbum/create", {
				method: "POST",
				token,
				headers: { "content-type": "application/json", "idempotency-key": "album-1" },
				body: JSON.stringify({ styleId: template?.id }),
			});
		const [one, two] = await Promise.all([create(), create()]);
		expect([one.status, two.status]).toEqual([200, 200]);
		expect((await json<{ data: { promptId: string } }>(one)).data.promptId).toBe(
			(await json<{ data: { promptId: string } }>(two)).data.promptId,
		);
		expect((await state(id)).tasks).toBe(1);
	});

	it("a key older than 24 hours is free again; malformed keys are refused", async () => {
		const { token, id } = await user();
		expect((await seed002Submit(token, "old-key")).status).toBe(200);
		await env.DB.prepare("UPDATE idempotency_keys SET created_at = created_at - ? WHERE user_id = ?")
			.bind(IDEMPOTENCY_WINDOW_MS + 1000, id)
			.run();
		const fresh = await seed002Submit(token, "old-key", "a new request after a day");
		expect(fresh.status).toBe(200);
		expect(fresh.headers.get("idempotent-replayed")).toBeNull();
		expect((await state(id)).tasks).toBe(2);
		const bad = await call("/mj/submit/imagine", {
			method: "POST",
			headers: { "mj-api-secret": token, "content-type": "application/json", "idempotency-key": "has space" },
			body: JSON.stringify({ prompt: "x" }),
		});
		expect(bad.status).toBe(400);
		expect((await state(id)).tasks).toBe(2);
	});
});
