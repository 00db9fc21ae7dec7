/**
 * Matching Midjourney's messages to tasks on a Discord account, in the cases that leave other
 * gateways' tasks stuck: identical prompts at the same moment, final messages without
 * interaction metadata, prompts Midjourney rewrote, a remix modal, output filters, deleted
 * messages. Each task ends with its own picture; none stays open once its final message came.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { taskRow } from "../helpers/db";
import { channelView, connectedAccount, ended, newUser, onlyNewChannels, succeeded } from "../helpers/discord-account";
import { fault } from "../helpers/fake-discord";
import { proxyPost, reply } from "../helpers/proxy";

const user = () => newUser("discord-matching");

async function submit(token: string, path: string, body: unknown): Promise<string> {
	const answer = await reply(await proxyPost(path, token, body));
	expect([1, 22], answer.description).toContain(answer.code);
	return answer.result as string;
}

beforeEach(onlyNewChannels);

describe("matching on a Discord account", () => {
	it("identical prompts at the same moment, final messages without interaction metadata: each its own picture", async () => {
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 4 } });
		await fault(account.token, "drop_interaction_metadata", { count: 3 });
		const token = await user();
		const ids = await Promise.all([1, 2, 3].map(() => submit(token, "/mj/submit/imagine", { prompt: "twin cats" })));
		const tasks = await Promise.all(ids.map((id) => succeeded(token, id)));
		const pictures = await Promise.all(tasks.map(async (t) => (await taskRow(t.id)).upstreamImageUrl));
		expect(new Set(pictures).size).toBe(3);
		const messages = await Promise.all(tasks.map(async (t) => (await taskRow(t.id)).upstreamId));
		expect(new Set(messages).size).toBe(3);
		expect(await channelView(account.id)).toMatchObject({ running: 0, waiting: 0 });
	}, 60_000);

	it("a prompt Midjourney rewrote (links as s.mj.run, default parameters) still ends its task", async () => {
		const account = await connectedAccount({ weight: 1 });
		const token = await user();
		const id = await submit(token, "/mj/submit/imagine", {
			prompt: "https://example.com/a.png a harbour --fake-rewrite --fake-params --fake-no-metadata",
		});
		const task = await succeeded(token, id);
		expect((await taskRow(task.id)).finalPrompt).toMatch(/s\.mj\.run/);
		expect(await channelView(account.id)).toMatchObject({ running: 0 });
	});

	it("remix on: a variation's remix modal is answered with the prompt and the task ends", async () => {
		await connectedAccount({ weight: 1 });
		const token = await user();
		const grid = await succeeded(token, await submit(token, "/mj/submit/imagine", { prompt: "a mill --fake-remix" }));
		const v1 = grid.buttons.find((b) => b.label === "V1");
		const varied = await succeeded(
			token,
			await submit(token, "/mj/submit/action", { taskId: grid.id, customId: v1?.customId }),
		);
		expect(varied.action).toBe("VARIATION");
		expect((await taskRow(varied.id)).upstreamImageUrl).not.toBe((await taskRow(grid.id)).upstreamImageUrl);
	});

	it("output filters after progress: FAILURE with Midjourney's words, refunded", async () => {
		const account = await connectedAccount({ weight: 1 });
		const token = await user();
		const id = await submit(token, "/mj/submit/imagine", { prompt: "a statue --fake-filtered" });
		const task = await ended(token, id);
		expect(task.status).toBe("FAILURE");
		expect(task.failReason).toMatch(/output filters/);
		expect((await taskRow(id)).refunded).toBe(true);
		expect(await channelView(account.id)).toMatchObject({ running: 0 });
	});

	it("'Failed…' and other red embeds end their tasks with Midjourney's words", async () => {
		await connectedAccount({ weight: 1, discord: { concurrency: 5 } });
		const token = await user();
		const cases = [
			["--fake-invalid", /Invalid parameter/],
			["--fake-invalid-link", /Invalid link/],
			["--fake-queue-full", /Queue full/],
			["--fake-failed", /^Failed/],
		] as const;
		const ids = await Promise.all(
			cases.map(([marker]) => submit(token, "/mj/submit/imagine", { prompt: `x ${marker}` })),
		);
		for (const [n, id] of ids.entries()) {
			const task = await ended(token, id);
			expect(task.status).toBe("FAILURE");
			expect(task.failReason).toMatch(cases[n][1]);
		}
	}, 60_000);
});
