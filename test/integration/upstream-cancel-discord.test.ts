/**
 * A task cancelled while its submit was on the way to a Discord account (simulator/discord/, the
 * fake Discord): the account accepts it after the cancel, so the consumer keeps the account's
 * nonce on the cancelled task and tells the account to forget it, which its object does at once
 * (Midjourney itself cannot be stopped mid-job). The submit is held in the prompt's translation,
 * the one wait before the account is asked; TASK_QUEUE is recorded instead of sent.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { defaultDeps } from "../../src/deps";
import { handleTaskBatch } from "../../src/queue/task-consumer";
import { accountObject } from "../../src/tasks/discord-account-stub";
import { TASK_QUEUE, type TaskMessage } from "../../src/tasks/messages";
import { call, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, taskRow, userId } from "../helpers/db";
import { connectedAccount, onlyNewChannels } from "../helpers/discord-account";
import { proxyPost, reply, submitted } from "../helpers/proxy";

beforeAll(onlyNewChannels);

describe("cancelled while the submit was on the way to a Discord account", () => {
	it("keeps the account's nonce on the cancelled task, and the account forgets the task", async () => {
		// One slot, taken by a slow task: the cancelled one would wait on the account (it drops an
		// ended task only when it comes to start it), so only the cancel takes it off.
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 1 } });
		const sub = uniqueSub("dcancel");
		const token = await tokenFor(sub);
		await call("/api/user/self", { token });
		await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "holds the slot --fake-slow" }));
		await waitFor(async () => (await accountObject(env, account.id).status()).running === 1, 10_000, "the slot taken");
		const task = await insertTaskRow({ userId: await userId(sub), prompt: "一只猫" });

		let asked = 0;
		let release!: () => void;
		const held = new Promise<void>((resolve) => {
			release = resolve;
		});
		const sent: TaskMessage[] = [];
		const gated = {
			...env,
			TRANSLATOR: "workers-ai",
			AI: {
				run: async () => {
					asked += 1;
					await held;
					return { translated_text: "a cat" };
				},
			},
			TASK_QUEUE: {
				send: async (body: TaskMessage) => {
					sent.push(body);
				},
			},
		} as unknown as Env;

		const batch = createMessageBatch<TaskMessage>(TASK_QUEUE, [
			{ id: "discord-cancel", timestamp: new Date(), attempts: 1, body: { kind: "submit", taskId: task.publicId } },
		]);
		const ctx = createExecutionContext();
		const consumed = handleTaskBatch(batch, gated, defaultDeps());
		await waitFor(async () => asked === 1, 10_000, "the submit to reach the translation");
		expect((await reply(await proxyPost(`/mj/task/${task.publicId}/cancel`, token, {}))).code).toBe(1);
		release();
		await consumed;
		expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["discord-cancel"]);

		const row = await taskRow(task.publicId);
		expect(row.status).toBe("CANCEL");
		expect(row.channelId).toBe(account.id);
		expect(row.upstreamId).toMatch(/^\d{17,20}$/);
		// The account answered at once: nothing to retry, nothing to poll.
		expect(sent).toEqual([]);
		const state = await accountObject(env, account.id).status();
		expect(state.waiting).toBe(0);
		expect(state.running).toBe(1);
		// Asked again (a retried message would), it no longer knows the task: done, not retried.
		const again = createMessageBatch<TaskMessage>(TASK_QUEUE, [
			{
				id: "discord-cancel-again",
				timestamp: new Date(),
				attempts: 1,
				body: {
					kind: "cancel-upstream",
					taskId: task.publicId,
					upstreamId: row.upstreamId as string,
					channelId: account.id,
				},
			},
		]);
		const ctx2 = createExecutionContext();
		await handleTaskBatch(again, gated, defaultDeps());
		const result = await getQueueResult(again, ctx2);
		expect(result.explicitAcks).toEqual(["discord-cancel-again"]);
		expect(result.retryMessages).toEqual([]);
	});
});
