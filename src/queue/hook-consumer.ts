/** HOOK_QUEUE consumer: delivers client callbacks, retrying with growing delays. */

import type { Deps } from "../deps";
import { deliverTaskHook } from "../hooks/deliver";
import { logError, logWarning } from "../log";
import { backoffSeconds, HOOK_QUEUE_MAX_RETRIES, type HookMessage } from "./messages";

export async function handleHookBatch(batch: MessageBatch<HookMessage>, env: Env, deps: Deps): Promise<void> {
	await Promise.all(
		batch.messages.map(async (message) => {
			const verdict = await deliverTaskHook(env, message.body.taskId, deps.fetch).catch((error: unknown) => ({
				kind: "retry" as const,
				reason: String(error),
			}));
			if (verdict.kind !== "retry") {
				if (verdict.kind === "dropped") logWarning("callback dropped", message.body.taskId, verdict.reason);
				message.ack();
				return;
			}
			if (message.attempts > HOOK_QUEUE_MAX_RETRIES) {
				logError("callback gave up; moving to the dead-letter queue", message.body.taskId, verdict.reason);
			}
			message.retry({ delaySeconds: backoffSeconds(message.attempts) });
		}),
	);
}
