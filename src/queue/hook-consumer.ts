/** HOOK_QUEUE consumer: delivers client callbacks, retrying with growing delays. */
import { deliverTaskHook } from "../hooks/deliver";
import type { QueueDeps } from "./deps";
import { backoffSeconds, HOOK_QUEUE_MAX_RETRIES, type HookMessage } from "./messages";

export async function handleHookBatch(batch: MessageBatch<HookMessage>, env: Env, deps: QueueDeps): Promise<void> {
	await Promise.all(
		batch.messages.map(async (message) => {
			const verdict = await deliverTaskHook(env, message.body.taskId, deps.fetch).catch((error: unknown) => ({
				kind: "retry" as const,
				reason: String(error),
			}));
			if (verdict.kind !== "retry") {
				if (verdict.kind === "dropped") console.warn("callback dropped", message.body.taskId, verdict.reason);
				message.ack();
				return;
			}
			if (message.attempts > HOOK_QUEUE_MAX_RETRIES) {
				console.error("callback gave up; moving to the dead-letter queue", message.body.taskId, verdict.reason);
			}
			message.retry({ delaySeconds: backoffSeconds(message.attempts) });
		}),
	);
}
