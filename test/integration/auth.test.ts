/**
 * Tokens the gateway accepts: an HS256 token with `exp` and `sub` (role user or admin), sent
 * as `Authorization: Bearer` or `mj-api-secret`, names one user who is created on first use.
 * What is refused, on every surface, is in auth-matrix.test.ts.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, json, tokenFor, uniqueSub } from "../helpers/api";
import { fetchTask, taskRowCount, UUID } from "../helpers/surface";

async function userRow(sub: string) {
	return env.DB.prepare("SELECT role FROM users WHERE sub = ?").bind(sub).first<{ role: string }>();
}

describe("accepted tokens", () => {
	it("mj-api-secret works like Authorization: Bearer, for the same user", async () => {
		const sub = uniqueSub();
		const token = await tokenFor(sub);
		const submitted = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=a%20secret%20cat", {
			headers: { "mj-api-secret": token },
		});
		expect(submitted.status).toBe(200);
		const { result } = await json<{ result: string }>(submitted);
		expect(result).toMatch(UUID);
		// Bearer sees the task submitted with mj-api-secret, and the other way round.
		expect(await fetchTask(token, result)).toMatchObject({ _id: result, prompt: "a secret cat" });
		const viaSecret = await call(`/api/v1/task/fetch?_id=${result}`, { headers: { "mj-api-secret": token } });
		expect(viaSecret.status).toBe(200);
		expect(await json(viaSecret)).toMatchObject({ _id: result });
		const list = await call("/api/v1/task/list", { method: "POST", headers: { "mj-api-secret": token } });
		expect((await json<{ _id: string }[]>(list)).map((t) => t._id)).toEqual([result]);
	});

	it("the Bearer scheme is case-insensitive", async () => {
		const token = await tokenFor(uniqueSub());
		const response = await call("/api/v1/task/list", { headers: { authorization: `bearer ${token}` } });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual([]);
	});

	it("creates the user on first use, so a new sub can submit right away", async () => {
		const sub = uniqueSub("newcomer");
		expect(await userRow(sub)).toBeNull();
		const token = await tokenFor(sub);
		const response = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=a%20first%20task", { token });
		expect(response.status).toBe(200);
		expect(await json(response)).toMatchObject({ code: 1 });
		expect(await userRow(sub)).toEqual({ role: "user" });
		expect(await taskRowCount(sub)).toBe(1);
	});

	it("an admin token may use the seed-002 endpoints too", async () => {
		const sub = uniqueSub("admin");
		const response = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=an%20admin%20task", {
			token: await tokenFor(sub, "admin"),
		});
		expect(response.status).toBe(200);
		expect(await userRow(sub)).toEqual({ role: "admin" });
	});
});
