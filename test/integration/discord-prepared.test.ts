/**
 * What the gateway prepares before a task reaches a Discord account: the prompt it translated
 * (not the client's) is what the account sends, and a midjourney-proxy field the account cannot
 * honour yet ends the task with a reason and a refund, never a silent no-op.
 */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { png } from "../helpers/album";
import { call } from "../helpers/api";
import { taskRow } from "../helpers/db";
import { connectedAccount, ended, newUser, onlyNewChannels } from "../helpers/discord-account";
import { recordedInteractions } from "../helpers/fake-discord";
import { dataUrl, proxyPost, submitted } from "../helpers/proxy";

const user = () => newUser("discord-prepared");

/** The prompt option of every /imagine the account sent. */
async function imaginePrompts(token: string): Promise<string[]> {
	const sent = await recordedInteractions(token);
	return sent.flatMap(({ body }) => {
		const data = body.data as { name?: string; options?: { name: string; value: unknown }[] } | undefined;
		if (data?.name !== "imagine") return [];
		return (data.options ?? []).filter((o) => o.name === "prompt").map((o) => String(o.value));
	});
}

beforeEach(onlyNewChannels);

describe("a Discord account sends what the gateway prepared", () => {
	it("a Chinese prompt goes to Discord translated, parameters unchanged, and promptEn shows it", async () => {
		const account = await connectedAccount({ weight: 1 });
		const token = await user();
		const id = await submitted(
			await proxyPost("/mj/submit/imagine", token, { prompt: "一只猫在花园 --ar 16:9 --v 6" }),
		);
		const task = await ended(token, id);
		expect(task.status, task.failReason).toBe("SUCCESS");
		const prompts = await imaginePrompts(account.token);
		expect(prompts).toHaveLength(1);
		expect(prompts[0]).toContain("a cat in garden --ar 16:9 --v 6");
		expect(prompts[0]).not.toMatch(/[猫花园]/);
		expect(task.prompt).toBe("一只猫在花园 --ar 16:9 --v 6");
		expect(task.promptEn).toBe("a cat in garden --ar 16:9 --v 6");
	}, 60_000);

	it("a describe `language` no channel can honour fails the task with the reason, refunded", async () => {
		const account = await connectedAccount({ weight: 1 });
		const token = await user();
		const before = (await (await call("/api/user/self", { token })).json()) as { data: { quota: number } };
		const id = await submitted(
			await proxyPost("/mj/submit/describe", token, { base64: dataUrl(await png(8, 8, 3)), language: "zh" }),
		);
		const task = await ended(token, id);
		expect(task.status).toBe("FAILURE");
		expect(task.failReason).toBe(
			"language is not supported on a discord channel yet, and no relay channel is available",
		);
		expect((await taskRow(id)).refunded).toBe(true);
		const after = (await (await call("/api/user/self", { token })).json()) as { data: { quota: number } };
		expect(after.data.quota).toBe(before.data.quota);
		// Nothing reached Discord for it.
		const sent = await recordedInteractions(account.token);
		expect(sent.filter(({ body }) => (body.data as { name?: string } | undefined)?.name === "describe")).toEqual([]);
	}, 60_000);

	it("a task no Discord account can run goes to a relay, whatever the weights", async () => {
		const account = await connectedAccount({ weight: 100 });
		await env.DB.prepare("UPDATE channels SET enabled = 1 WHERE name = 'simulator'").run();
		const token = await user();
		const id = await submitted(
			await proxyPost("/mj/submit/edits", token, { prompt: "paint it blue", image: dataUrl(await png(8, 8, 4)) }),
		);
		const task = await ended(token, id);
		expect(task.status, task.failReason).toBe("SUCCESS");
		const simulator = await env.DB.prepare("SELECT id FROM channels WHERE name = 'simulator'").first<{ id: number }>();
		expect((await taskRow(id)).channelId).toBe(simulator?.id);
		expect(await recordedInteractions(account.token)).toEqual([]);
	}, 60_000);
});
