/**
 * A task cancelled while its submit was on the way to a Discord account (simulator/discord/, the
 * fake Discord): the account accepts it after the cancel, so the consumer keeps the account's
 * nonce on the cancelled task and tells the account to forget it, which its object does at once
 * (Midjourney itself cannot be stopped mid-job). The submit is held in the prompt's translation,
 * the one wait before the account is asked; TASK_QUEUE is recorded instead of sent. Below, the
 * same with an account object that fails to answer the cancel (AccountGate).
 */
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { findChannel } from "../../src/db/channels";
import { findUserById } from "../../src/db/users";
import { defaultDeps } from "../../src/deps";
import { handleTaskBatch } from "../../src/queue/task-consumer";
import { accountObject, type DiscordAccountStub } from "../../src/tasks/discord-account-stub";
import { TASK_QUEUE, type TaskMessage, type UpstreamCancelMessage } from "../../src/tasks/messages";
import { taskObject } from "../../src/tasks/task-object-stub";
import { cancelUpstream } from "../../src/tasks/upstream-submit";
import { BASE, call, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";
import { realFetch, resetDeps, useFetch } from "../helpers/deps";
import { connectedAccount, onlyNewChannels } from "../helpers/discord-account";
import { holdSteps } from "../helpers/fake-discord";
import { proxyPost, reply, submitted } from "../helpers/proxy";
import { cancelMessagesOf, deliverTask } from "../helpers/task-queue";

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
/**
 * The account object that fails to answer a cancel (broken, overloaded, being reset): its stub
 * throws, which is `unreachable`, so the consumer queues a `cancel-upstream` message and the queue
 * retries it with backoff until the object answers. The consumer gets DISCORD_ACCOUNT through a
 * gate whose stubs throw on `cancel` a number of times before passing it on (every other call
 * goes straight to the real object); the translation holds the submit as above, and TASK_QUEUE is
 * recorded, so each message is delivered here, by hand. The account's steps are held, so the
 * slow task keeps the slot for as long as the test runs.
 */
class AccountGate {
	/** Cancels still to fail before one reaches the account's object. */
	failCancels = 0;
	/** Every cancel the gateway made, and whether it reached the object. */
	readonly cancels: { id: string; passed: boolean }[] = [];
	readonly sent: { body: TaskMessage; delaySeconds?: number }[] = [];
	translations = 0;
	#release: () => void = () => {};
	readonly #held = new Promise<void>((resolve) => {
		this.#release = resolve;
	});

	release(): void {
		this.#release();
	}

	#failing(stub: DurableObjectStub): DurableObjectStub {
		const cancel = async (id: string) => {
			const passed = this.failCancels === 0;
			this.cancels.push({ id, passed });
			if (!passed) {
				this.failCancels -= 1;
				throw new Error("Durable Object reset because its code was updated.");
			}
			return (stub as DiscordAccountStub).cancel(id);
		};
		return new Proxy(stub, { get: (target, key) => (key === "cancel" ? cancel : Reflect.get(target, key)) });
	}

	readonly env: Env = {
		...env,
		TRANSLATOR: "workers-ai",
		AI: {
			run: async () => {
				this.translations += 1;
				await this.#held;
				return { translated_text: "a cat" };
			},
		},
		DISCORD_ACCOUNT: {
			idFromName: (name: string) => env.DISCORD_ACCOUNT.idFromName(name),
			get: (id: DurableObjectId) => this.#failing(env.DISCORD_ACCOUNT.get(id)),
		},
		TASK_QUEUE: {
			send: async (body: TaskMessage, options?: QueueSendOptions) => {
				this.sent.push({ body, delaySeconds: options?.delaySeconds });
			},
		},
	} as unknown as Env;

	cancelMessages() {
		return cancelMessagesOf(this.sent);
	}
}

/** Delivers one message to the task consumer (through the gate); the queue's verdict on it. */
const deliver = (gate: AccountGate, body: TaskMessage, attempts = 1) =>
	deliverTask(gate.env, defaultDeps(), body, attempts);

const quotaOf = async (id: number) => (await findUserById(db(), id))?.quota;

describe("a Discord account object that fails to answer the cancel", () => {
	afterEach(resetDeps);

	it("is unreachable: retried with backoff until the object answers, the task ended once", async () => {
		// The account of the test above is off too: the slow task must take this one's slot.
		await onlyNewChannels();
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 1 } });
		await holdSteps(account.token, true);
		try {
			const sub = uniqueSub("dcancel-fail");
			const token = await tokenFor(sub);
			await call("/api/user/self", { token });
			await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "holds the slot" }));
			await waitFor(
				async () => (await accountObject(env, account.id).status()).running === 1,
				10_000,
				"the slot taken",
			);
			const owner = await userId(sub);
			const hook = `http://client.test/${sub}`;
			const task = await insertTaskRow({ userId: owner, prompt: "一只猫", quota: 100, notifyHook: hook });
			const hooks: Record<string, unknown>[] = [];
			useFetch(async (input, init) => {
				const request = new Request(input, init);
				if (request.url !== hook) return realFetch(request);
				hooks.push(await request.json());
				return new Response("ok");
			});
			const before = await quotaOf(owner);

			const gate = new AccountGate();
			// The try at once and the first delivery of its message fail.
			gate.failCancels = 2;
			const consumed = deliver(gate, { kind: "submit", taskId: task.publicId });
			await waitFor(async () => gate.translations === 1, 10_000, "the submit to reach the translation");
			expect((await reply(await proxyPost(`/mj/task/${task.publicId}/cancel`, token, {}))).code).toBe(1);
			gate.release();
			const submit = await consumed;
			expect(submit.explicitAcks).toHaveLength(1);
			expect(submit.retryMessages).toEqual([]);

			const row = await taskRow(task.publicId);
			expect(row).toMatchObject({ status: "CANCEL", channelId: account.id, refunded: true });
			const upstreamId = row.upstreamId as string;
			expect(upstreamId).toMatch(/^\d{17,20}$/);
			expect(await quotaOf(owner)).toBe((before as number) + 100);
			// The account's nonce was asked for, and the object never heard of the cancel: the task still waits there.
			expect(gate.cancels).toEqual([{ id: upstreamId, passed: false }]);
			expect((await accountObject(env, account.id).status()).waiting).toBe(1);
			const [queued, ...more] = gate.cancelMessages();
			expect(more).toEqual([]);
			expect(queued).toEqual({
				body: { kind: "cancel-upstream", taskId: task.publicId, upstreamId, channelId: account.id },
				delaySeconds: 15,
			});
			// Nothing polls a task on a Discord account.
			expect(gate.sent).toHaveLength(1);
			// The end's one callback.
			await waitFor(async () => hooks.length === 1, 10_000, "the cancel's callback");
			expect(hooks[0]).toMatchObject({ _id: task.publicId, status: "CANCEL" });

			const failed = await deliver(gate, queued.body, 1);
			expect(failed.explicitAcks).toEqual([]);
			expect(failed.retryMessages).toHaveLength(1);
			expect(failed.retryDelays).toEqual([30]);
			expect((await accountObject(env, account.id).status()).waiting).toBe(1);

			const done = await deliver(gate, queued.body, 2);
			expect(done.explicitAcks).toHaveLength(1);
			expect(done.retryMessages).toEqual([]);
			expect(gate.cancels).toEqual([
				{ id: upstreamId, passed: false },
				{ id: upstreamId, passed: false },
				{ id: upstreamId, passed: true },
			]);
			// The object forgot the task; the slow one still runs.
			const state = await accountObject(env, account.id).status();
			expect(state.waiting).toBe(0);
			expect(state.running).toBe(1);
			// The retries queued nothing more, and left the ended task as it was: refunded once, no second callback.
			expect(gate.cancelMessages()).toHaveLength(1);
			expect(await taskRow(task.publicId)).toMatchObject({ status: "CANCEL", upstreamId, refunded: true });
			expect(await taskObject(env, task.publicId).sync(task.publicId)).toMatchObject({ status: "CANCEL", upstreamId });
			expect(await quotaOf(owner)).toBe((before as number) + 100);
			// A second callback would come through HOOK_QUEUE, whose batch window is a second.
			await new Promise((resolve) => setTimeout(resolve, 1_500));
			expect(hooks).toHaveLength(1);

			// Delivered again (the queue delivers at least once), the object no longer knows it: refused, done.
			const again = await deliver(gate, queued.body, 3);
			expect(again.explicitAcks).toHaveLength(1);
			expect(again.retryMessages).toEqual([]);
			expect(gate.cancels.at(-1)).toEqual({ id: upstreamId, passed: true });
		} finally {
			await holdSteps(account.token, false);
		}
	});

	it("a running task the user cancels: the failed cancel is queued, and its retry reaches the object", async () => {
		await onlyNewChannels();
		const account = await connectedAccount({ weight: 1, discord: { concurrency: 1 } });
		await holdSteps(account.token, true);
		try {
			const sub = uniqueSub("dcancel-running");
			const token = await tokenFor(sub);
			await call("/api/user/self", { token });
			const task = await insertTaskRow({ userId: await userId(sub), prompt: "a running cat" });
			const gate = new AccountGate();
			const submit = await deliver(gate, { kind: "submit", taskId: task.publicId });
			expect(submit.explicitAcks).toHaveLength(1);
			const upstreamId = (await taskRow(task.publicId)).upstreamId as string;
			expect(upstreamId).toMatch(/^\d{17,20}$/);
			await waitFor(
				async () => (await accountObject(env, account.id).status()).running === 1,
				10_000,
				"the task running",
			);

			gate.failCancels = 1;
			const ctx = createExecutionContext();
			const response = await createApp().fetch(
				new Request(`${BASE}/mj/task/${task.publicId}/cancel`, {
					method: "POST",
					headers: { "mj-api-secret": token, "content-type": "application/json" },
					body: "{}",
				}),
				gate.env,
				ctx,
			);
			expect((await reply(response)).code).toBe(1);
			await waitOnExecutionContext(ctx);
			expect(gate.cancels).toEqual([{ id: upstreamId, passed: false }]);
			expect((await accountObject(env, account.id).status()).running).toBe(1);
			const [queued, ...more] = gate.cancelMessages();
			expect(more).toEqual([]);
			expect(queued).toEqual({
				body: { kind: "cancel-upstream", taskId: task.publicId, upstreamId, channelId: account.id },
				delaySeconds: 15,
			});

			const done = await deliver(gate, queued.body, 1);
			expect(done.explicitAcks).toHaveLength(1);
			expect(done.retryMessages).toEqual([]);
			expect((await accountObject(env, account.id).status()).running).toBe(0);
			expect(await taskRow(task.publicId)).toMatchObject({ status: "CANCEL", upstreamId, refunded: true });
		} finally {
			await holdSteps(account.token, false);
		}
	});

	it("a cancel the account refuses (it does not know the nonce) is acked, not retried", async () => {
		const account = await connectedAccount();
		const channel = await findChannel(db(), account.id);
		if (!channel) throw new Error("no channel");
		const gate = new AccountGate();
		const unknown = "1234567890123456789";
		expect(await cancelUpstream(gate.env, defaultDeps(), channel, unknown)).toBe("refused");
		const body: UpstreamCancelMessage = {
			kind: "cancel-upstream",
			taskId: crypto.randomUUID(),
			upstreamId: unknown,
			channelId: account.id,
		};
		const result = await deliver(gate, body, 1);
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toEqual([]);
		expect(gate.cancels).toEqual([
			{ id: unknown, passed: true },
			{ id: unknown, passed: true },
		]);
		expect(gate.sent).toEqual([]);
		// The same message while the object fails is another matter: retried.
		gate.failCancels = 1;
		expect(await cancelUpstream(gate.env, defaultDeps(), channel, unknown)).toBe("unreachable");
	});
});
