/**
 * Rate limits (wrangler.toml [[ratelimits]]): submits per user (60 a minute), failed sign-ins per
 * address (20 in 10 s). Over a limit: 429 with Retry-After in the surface's envelope; then recovery.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";

/**
 * Runs `burst` until one run starts and ends in the same window of the limiter: the local limiter
 * counts in windows aligned to the wall clock, so a burst that straddles a boundary starts a
 * new count half-way (a slow machine makes that likely). Each run must use a fresh key.
 */
async function inOneWindow<T>(periodSeconds: number, burst: () => Promise<T>): Promise<T> {
	const windowOf = () => Math.floor(Date.now() / (periodSeconds * 1000));
	for (let attempt = 1; ; attempt++) {
		const started = windowOf();
		const result = await burst();
		if (windowOf() === started || attempt === 3) return result;
	}
}

function badFrom(address: string): Promise<Response> {
	return call("/api/mj/self", { headers: { authorization: "Bearer not-a-token", "cf-connecting-ip": address } });
}

describe("rate limits", () => {
	it("a user's 61st submit in a minute answers 429 with Retry-After, in each surface's envelope; other users go on", async () => {
		const { sub, token, answers, limited } = await inOneWindow(60, async () => {
			const sub = uniqueSub("flood");
			const token = await tokenFor(sub);
			// Nothing in this test needs to run upstream: keep the queue small by making every task wait.
			const answers: number[] = [];
			for (let i = 0; i < 60; i++) {
				const response = await call(
					`/api/v1/trigger/submit?action=IMAGINE&prompt=${encodeURIComponent(`flood ${i} --sim-slow`)}`,
					{ token },
				);
				answers.push(response.status);
				await response.body?.cancel();
			}
			const limited = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=one%20more", { token });
			return { sub, token, answers, limited };
		});
		expect(answers.every((s) => s === 200)).toBe(true);
		expect(limited.status).toBe(429);
		expect(limited.headers.get("retry-after")).toBe("60");
		expect(await json(limited)).toEqual({ code: 0, description: "too many submits: slow down and retry later" });
		const proxy = await call("/mj/submit/imagine", {
			method: "POST",
			headers: { "mj-api-secret": token, "content-type": "application/json" },
			body: JSON.stringify({ prompt: "one more" }),
		});
		expect(proxy.status).toBe(429);
		expect((await json<{ code: number }>(proxy)).code).toBe(23);
		const count = await env.DB.prepare(
			"SELECT count(*) AS n FROM tasks t JOIN users u ON u.id = t.user_id WHERE u.sub = ?",
		)
			.bind(sub)
			.first<{ n: number }>();
		expect(count?.n).toBe(60);
		const other = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=someone%20else", {
			token: await tokenFor(uniqueSub("calm")),
		});
		expect(other.status).toBe(200);
	});

	it("failed sign-ins from one address answer 429 past the limit, then recover; other addresses are not affected", async () => {
		let tries = 0;
		const { address, statuses, limited } = await inOneWindow(10, async () => {
			tries++;
			const address = `203.0.113.${70 + tries}`;
			const statuses: number[] = [];
			for (let i = 0; i < 20; i++) statuses.push((await badFrom(address)).status);
			return { address, statuses, limited: await badFrom(address) };
		});
		const bad = () => badFrom(address);
		expect(statuses.every((s) => s === 401)).toBe(true);
		expect(limited.status).toBe(429);
		expect(limited.headers.get("retry-after")).toBe("10");
		expect(await json(limited)).toMatchObject({
			success: false,
			message: expect.stringMatching(/too many failed sign-ins/),
		});
		// A valid token from the same address still works: only failures are limited.
		const token = await tokenFor(uniqueSub("good"));
		expect((await call("/api/mj/self", { token, headers: { "cf-connecting-ip": address } })).status).toBe(200);
		expect(
			(await call("/api/mj/self", { headers: { authorization: "Bearer x", "cf-connecting-ip": "203.0.113.99" } }))
				.status,
		).toBe(401);
		// The window is 10 s: the address recovers by itself.
		await waitFor(async () => (await bad()).status === 401, 25_000, "the address to recover");
	}, 40_000);
});
