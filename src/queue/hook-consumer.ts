/** HOOK_QUEUE consumer: delivers client callbacks, retrying with growing delays; and its dead-letter queue. */

import type { Deps } from "../deps";
import { deliverTaskHook, HOOK_TIMEOUT_MS, recordDeadLetter } from "../hooks/deliver";
import { logError, logWarning } from "../log";
import { backoffSeconds, HOOK_QUEUE_MAX_RETRIES, type HookMessage } from "../tasks/messages";

export interface HookSettings {
	/** How long a receiver may take to answer (tests shorten it). */
	timeoutMs?: number;
}

export async function handleHookBatch(
	batch: MessageBatch<HookMessage>,
	env: Env,
	deps: Deps,
	settings: HookSettings = {},
): Promise<void> {
	const timeoutMs = settings.timeoutMs ?? HOOK_TIMEOUT_MS;
	await Promise.all(
		batch.messages.map(async (message) => {
			// Past max_retries the queue moves a retried message to the dead-letter queue instead.
			const last = message.attempts > HOOK_QUEUE_MAX_RETRIES;
			const delaySeconds = backoffSeconds(message.attempts);
			const verdict = await deliverTaskHook(env, message.body, {
				fetch: deps.fetch,
				now: deps.now,
				randomBytes: deps.randomBytes,
				timeoutMs,
				nextTryAt: last ? null : deps.now() + delaySeconds * 1000,
			}).catch((error: unknown) => ({ kind: "retry" as const, reason: String(error) }));
			if (verdict.kind !== "retry") {
				if (verdict.kind === "dropped") logWarning("callback dropped", message.body.taskId, verdict.reason);
				message.ack();
				return;
			}
			if (last) {
				logError("callback gave up; moving to the dead-letter queue", message.body.taskId, verdict.reason);
			}
			message.retry({ delaySeconds });
		}),
	);
}

/** mj-edge-hooks-dlq consumer: marks each event dead in the delivery log. */
export async function handleHookDeadLetters(batch: MessageBatch<HookMessage>, env: Env): Promise<void> {
	await Promise.all(
		batch.messages.map(async (message) => {
			try {
				await recordDeadLetter(env, message.body);
				message.ack();
			} catch (error) {
				logError("could not mark a dead callback", message.body.taskId, error);
				message.retry();
			}
		}),
	);
}
