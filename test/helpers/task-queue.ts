/** TASK_QUEUE messages handed to the task consumer by hand, and what the queue made of each. */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { vi } from "vitest";
import type { Deps } from "../../src/deps";
import { handleTaskBatch, handleTaskDeadLetters } from "../../src/queue/task-consumer";
import { TASK_DLQ, TASK_QUEUE, type TaskMessage, type UpstreamCancelMessage } from "../../src/tasks/messages";

/** A message a recording TASK_QUEUE stand-in was sent, with its delay. */
export interface SentTaskMessage {
	body: TaskMessage;
	delaySeconds?: number;
}

let counter = 0;

/** Delivers one message to the task consumer with `env` and `deps`: the queue's verdict, and each retry's delay. */
export async function deliverTask(env: Env, deps: Deps, body: TaskMessage, attempts = 1) {
	const batch = createMessageBatch<TaskMessage>(TASK_QUEUE, [
		{ id: `by-hand-${++counter}`, timestamp: new Date(), attempts, body },
	]);
	// The queue's result leaves out a retry's delay: read it off the call.
	const retry = vi.spyOn(batch.messages[0], "retry");
	const ctx = createExecutionContext();
	await handleTaskBatch(batch, env, deps);
	const result = await getQueueResult(batch, ctx);
	return { ...result, retryDelays: retry.mock.calls.map(([options]) => options?.delaySeconds) };
}

/** The `cancel-upstream` messages among those sent, in order. */
export function cancelMessagesOf(
	sent: readonly SentTaskMessage[],
): { body: UpstreamCancelMessage; delaySeconds?: number }[] {
	return sent.flatMap((m) =>
		m.body.kind === "cancel-upstream" ? [{ body: m.body, delaySeconds: m.delaySeconds }] : [],
	);
}

/** Hands one message to the dead-letter consumer: its id, the ids acked, and every error logged, as one text. */
export async function deadLetter(env: Env, body: TaskMessage): Promise<{ id: string; acks: string[]; logged: string }> {
	const errors = vi.spyOn(console, "error").mockImplementation(() => {});
	try {
		const id = `dead-${++counter}`;
		const batch = createMessageBatch<TaskMessage>(TASK_DLQ, [{ id, timestamp: new Date(), attempts: 1, body }]);
		const ctx = createExecutionContext();
		await handleTaskDeadLetters(batch, env);
		const { explicitAcks } = await getQueueResult(batch, ctx);
		return { id, acks: explicitAcks, logged: errors.mock.calls.map((args) => args.join(" ")).join("\n") };
	} finally {
		errors.mockRestore();
	}
}
