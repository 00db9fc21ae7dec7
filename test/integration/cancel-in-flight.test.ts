/**
 * A task cancelled while its submit is on its way upstream: the upstream accepts it after the
 * gateway has already ended it, so the consumer must tell the upstream to cancel it too.
 * The submit is held in flight by the fake upstream (injected as the consumer's fetch) until the
 * test lets it answer.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type Deps, defaultDeps } from "../../src/deps";
import { handleTaskBatch } from "../../src/queue/task-consumer";
import { TASK_QUEUE, type TaskMessage } from "../../src/tasks/messages";
import { taskObject } from "../../src/tasks/task-object-stub";
import { call, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, taskRow, userId } from "../helpers/db";
import { FakeUpstream, jsonResponse, useFakeChannelOnly } from "../helpers/fake-upstream";
import { proxyPost, reply } from "../helpers/proxy";

let channelId: number;

beforeAll(async () => {
	channelId = await useFakeChannelOnly();
});

async function user(): Promise<{ token: string; id: number }> {
	const sub = uniqueSub("inflight");
	const token = await tokenFor(sub);
	await call("/api/user/self", { token });
	return { token, id: await userId(sub) };
}

/** A fake upstream whose submit answers only when `release` is called. */
function heldUpstream(upstreamId: string): { upstream: FakeUpstream; release: () => void } {
	const upstream = new FakeUpstream();
	let release!: () => void;
	const held = new Promise<void>((resolve) => {
		release = resolve;
	});
	upstream.submit = async () => {
		await held;
		return jsonResponse({ code: 1, description: "Success", result: upstreamId });
	};
	return { upstream, release };
}

let counter = 0;
/** Runs the consumer on one submit message; resolves when the consumer is done with it. */
async function consumeSubmit(publicId: string, upstream: FakeUpstream) {
	const batch = createMessageBatch<TaskMessage>(TASK_QUEUE, [
		{ id: `inflight-${++counter}`, timestamp: new Date(), attempts: 1, body: { kind: "submit", taskId: publicId } },
	]);
	const deps: Deps = { ...defaultDeps(), fetch: upstream.fetch, random: () => 0 };
	const ctx = createExecutionContext();
	await handleTaskBatch(batch, env, deps);
	return getQueueResult(batch, ctx);
}

const cancelCalls = (upstream: FakeUpstream, upstreamId: string) =>
	upstream.calls.filter((c) => c.method === "POST" && c.path === `/mj/task/${upstreamId}/cancel`);

describe("cancel while the submit is in flight", () => {
	it("the upstream, which accepts the task after the cancel, is told to cancel it", async () => {
		const { token, id } = await user();
		const task = await insertTaskRow({ userId: id, status: "NOT_START" });
		const upstreamId = `up-inflight-${crypto.randomUUID()}`;
		const { upstream, release } = heldUpstream(upstreamId);

		const consumed = consumeSubmit(task.publicId, upstream);
		await waitFor(async () => upstream.submitCalls().length === 1, 10_000, "the submit to reach the upstream");
		// The submit is in flight: the gateway has no upstream id yet, so only the consumer can cancel it there.
		expect((await taskRow(task.publicId)).upstreamId).toBeNull();
		expect((await reply(await proxyPost(`/mj/task/${task.publicId}/cancel`, token, {}))).code).toBe(1);
		expect(cancelCalls(upstream, upstreamId)).toHaveLength(0);

		release();
		const result = await consumed;
		expect(result.explicitAcks).toHaveLength(1);
		expect(result.retryMessages).toHaveLength(0);
		const [cancel] = cancelCalls(upstream, upstreamId);
		expect(cancel, "the upstream's cancel").toBeDefined();
		expect(cancel.secret).toBe("fake-secret");
		expect((await taskRow(task.publicId)).status).toBe("CANCEL");
	});

	it("without a cancel the same held submit runs on, and nothing is cancelled upstream", async () => {
		const { id } = await user();
		const task = await insertTaskRow({ userId: id, status: "NOT_START" });
		const upstreamId = `up-inflight-${crypto.randomUUID()}`;
		const { upstream, release } = heldUpstream(upstreamId);

		const consumed = consumeSubmit(task.publicId, upstream);
		await waitFor(async () => upstream.submitCalls().length === 1, 10_000, "the submit to reach the upstream");
		release();
		expect((await consumed).explicitAcks).toHaveLength(1);
		expect(cancelCalls(upstream, upstreamId)).toHaveLength(0);
		const row = await taskRow(task.publicId);
		expect(row.status).toBe("SUBMITTED");
		expect(row.upstreamId).toBe(upstreamId);
		expect(row.channelId).toBe(channelId);
		// End it, so the poll the consumer queued finds nothing left to ask the (unreachable) fake.
		await taskObject(env, task.publicId).apply(task.publicId, { status: "FAILURE", failReason: "test over" });
	});
});
