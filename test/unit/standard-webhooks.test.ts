/** The gateway's Standard Webhooks signatures against the reference `standardwebhooks` package. */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { defaultDeps } from "../../src/deps";
import { eventIdFor, generateWebhookSecret, signatureHeader } from "../../src/hooks/standard-webhooks";

describe("standard webhooks", () => {
	it("signs exactly as the reference implementation, one entry per secret", async () => {
		const [a, b] = [generateWebhookSecret(defaultDeps()), generateWebhookSecret(defaultDeps())];
		const timestamp = 1_700_000_000;
		const body = '{"_id":"t","status":"SUCCESS","prompt":"狗 & \\"quotes\\""}';
		const expectedA = new Webhook(a).sign("msg_x", new Date(timestamp * 1000), body);
		const expectedB = new Webhook(b).sign("msg_x", new Date(timestamp * 1000), body);
		expect(await signatureHeader([a], "msg_x", timestamp, body)).toBe(expectedA);
		expect(await signatureHeader([a, b], "msg_x", timestamp, body)).toBe(`${expectedA} ${expectedB}`);
	});

	it("secrets are whsec_ + base64 of 32 random bytes", () => {
		const secret = generateWebhookSecret(defaultDeps());
		expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
		expect(generateWebhookSecret(defaultDeps())).not.toBe(secret);
	});

	it("an event id depends on the task and its end, nothing else", async () => {
		const id = await eventIdFor("task-1", "SUCCESS");
		expect(id).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
		expect(await eventIdFor("task-1", "SUCCESS")).toBe(id);
		expect(await eventIdFor("task-1", "FAILURE")).not.toBe(id);
		expect(await eventIdFor("task-2", "SUCCESS")).not.toBe(id);
	});
});
