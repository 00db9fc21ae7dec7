/**
 * Chance reaches the gateway only through Deps (src/deps.ts), like the clock and the network:
 * with the runtime's deps replaced, task ids, API keys and webhook secrets come from the
 * injected generators. The layer check (scripts/check-layers.mjs) fails on a direct call.
 */
import { afterEach, describe, expect, it } from "vitest";
import { base64, base64url } from "../../src/encoding";
import { call, json, tokenFor, uniqueSub } from "../helpers/api";
import { resetDeps, useDeps } from "../helpers/deps";

afterEach(() => resetDeps());

/** UUIDs that say they are ours: a run number (so rows of earlier runs never collide) and a count. */
function countingUuids(): { uuid: () => string; made: string[] } {
	const run = Math.floor(Math.random() * 0xffff)
		.toString(16)
		.padStart(4, "0");
	const made: string[] = [];
	const uuid = () => {
		const id = `00000000-${run}-4000-8000-${String(made.length + 1).padStart(12, "0")}`;
		made.push(id);
		return id;
	};
	return { uuid, made };
}

/** Bytes that say they are ours: each a fresh fill of one seed value. */
function seededBytes(seed: number): { randomBytes: (length: number) => Uint8Array<ArrayBuffer>; asked: number[] } {
	const asked: number[] = [];
	return {
		asked,
		randomBytes: (length) => {
			asked.push(length);
			return new Uint8Array(length).fill(seed);
		},
	};
}

describe("randomness through Deps", () => {
	it("a submitted task's id is the injected uuid", async () => {
		const { uuid, made } = countingUuids();
		useDeps({ uuid });
		const token = await tokenFor(uniqueSub("deps-uuid"));
		const response = await call("/api/v1/trigger/submit?action=IMAGINE&prompt=a%20fox", { token });
		const body = await json<{ code: number; result: string }>(response);
		expect(body.code).toBe(1);
		expect(made).toContain(body.result);
	});

	it("a new API key and a webhook secret are made of the injected bytes", async () => {
		const seed = 1 + Math.floor(Math.random() * 250);
		const { randomBytes, asked } = seededBytes(seed);
		useDeps({ randomBytes });
		const token = await tokenFor(uniqueSub("deps-bytes"));

		const created = await call("/api/user/keys", {
			method: "POST",
			token,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ name: "deps" }),
		});
		expect(created.status).toBe(201);
		const { data } = await json<{ data: { key: string } }>(created);
		expect(data.key).toBe(`mjk_${base64url(new Uint8Array(32).fill(seed))}`);

		const secret = await call("/api/user/webhook-secret", { token });
		expect(secret.status).toBe(200);
		expect(JSON.stringify(await secret.json())).toContain(`whsec_${base64(new Uint8Array(32).fill(seed))}`);
		expect(asked).toEqual([32, 32]);
	});
});
