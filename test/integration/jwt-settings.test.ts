/**
 * JWT_ISSUER, JWT_AUDIENCE and JWT_MAX_LIFETIME are read by config(): a bad value is logged by
 * its name (never its text, which may come from a private identity provider's settings), the
 * default holds, and requests go on authenticating; none answers 500.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { signToken } from "../../src/auth/token";
import { BASE, uniqueSub } from "../helpers/api";

afterEach(() => {
	vi.restoreAllMocks();
});

async function list(target: Env, token: string): Promise<Response> {
	const request = new Request(`${BASE}/api/v1/task/list`, { headers: { authorization: `Bearer ${token}` } });
	return createApp().fetch(request, target, createExecutionContext());
}

/** Each test's own bad text: config() parses (and logs) a set of values once per isolate. */
const unique = () => crypto.randomUUID().slice(0, 8);

describe("bad JWT_* settings", () => {
	it("JWT_MAX_LIFETIME that is not a duration: logged by name, the 30d default caps tokens, no 500", async () => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const bad = `thirty days ${unique()}`;
		const target: Env = { ...env, JWT_MAX_LIFETIME: bad };

		const usual = await signToken({ sub: uniqueSub("jwt-default"), role: "user" }, env.JWT_SECRET);
		const ok = await list(target, usual);
		expect(ok.status).toBe(200);

		const tooLong = await signToken({ sub: uniqueSub("jwt-long"), role: "user" }, env.JWT_SECRET, "31d");
		const refused = await list(target, tooLong);
		expect(refused.status).toBe(401);
		expect(await refused.text()).toContain("token lifetime exceeds the maximum of 30d");

		const lines = errors.mock.calls.map((args) => args.map(String).join(" "));
		expect(
			lines.filter((line) => line.startsWith("JWT_MAX_LIFETIME ") && line.includes("using the default")),
		).toHaveLength(1);
		expect(lines.join("\n")).not.toContain(bad);
	});

	it("JWT_ISSUER and JWT_AUDIENCE with control characters: logged by name, not checked (their default)", async () => {
		const errors = vi.spyOn(console, "error").mockImplementation(() => {});
		const issuer = `https://auth.example.com/${unique()}\u0000`;
		const audience = `mj-edge\n${unique()}`;
		const target: Env = { ...env, JWT_ISSUER: issuer, JWT_AUDIENCE: audience };

		const token = await signToken({ sub: uniqueSub("jwt-iss"), role: "user" }, env.JWT_SECRET, "1h");
		expect((await list(target, token)).status).toBe(200);

		const lines = errors.mock.calls.map((args) => args.map(String).join(" "));
		for (const name of ["JWT_ISSUER", "JWT_AUDIENCE"]) {
			expect(
				lines.filter((line) => line.startsWith(`${name} `)),
				name,
			).toHaveLength(1);
		}
		const logged = lines.join("\n");
		expect(logged).not.toContain(issuer.slice(0, -1));
		expect(logged).not.toContain(audience.split("\n")[1]);
	});

	it("a good JWT_ISSUER still binds tokens to it", async () => {
		const issuer = `https://auth.example.com/${unique()}`;
		const target: Env = { ...env, JWT_ISSUER: issuer };
		const sub = uniqueSub("jwt-good-iss");
		expect((await list(target, await signToken({ sub, role: "user" }, env.JWT_SECRET, "1h", { issuer }))).status).toBe(
			200,
		);
		const other = await signToken({ sub, role: "user" }, env.JWT_SECRET, "1h", { issuer: "https://other.example" });
		expect((await list(target, other)).status).toBe(401);
	});
});
