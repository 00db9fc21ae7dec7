/** The Worker entry: HTTP, both queues, the cron reconciler, and the Durable Object classes. */
import { createApp } from "./app";
import { config } from "./config";
import { reconcile } from "./cron/reconcile";
import { getDb } from "./db/client";
import { purgeIdempotencyKeys } from "./db/idempotency";
import { instrumentD1, newD1Stats } from "./db/instrument";
import { runtimeDeps } from "./deps";
import { logError } from "./log";
import { handleHookBatch, handleHookDeadLetters } from "./queue/hook-consumer";
import { handleTaskBatch, handleTaskDeadLetters } from "./queue/task-consumer";
import { IDEMPOTENCY_WINDOW_MS } from "./routes/idempotency";
import { HOOK_DLQ, HOOK_QUEUE, type HookMessage, TASK_DLQ, TASK_QUEUE, type TaskMessage } from "./tasks/messages";

export { DiscordAccount } from "./durable/discord-account";
export { TaskObject } from "./durable/task-object";
export { UserHub } from "./durable/user-hub";

const app = createApp();

export default {
	fetch: app.fetch,

	async queue(batch, env) {
		switch (batch.queue) {
			case TASK_QUEUE:
				return handleTaskBatch(batch as MessageBatch<TaskMessage>, env, runtimeDeps());
			case TASK_DLQ:
				return handleTaskDeadLetters(batch as MessageBatch<TaskMessage>, env);
			case HOOK_QUEUE:
				return handleHookBatch(batch as MessageBatch<HookMessage>, env, runtimeDeps());
			case HOOK_DLQ:
				return handleHookDeadLetters(batch as MessageBatch<HookMessage>, env);
			default:
				logError("message from an unknown queue", batch.queue);
				batch.retryAll();
		}
	},

	async scheduled(_controller, env, ctx) {
		// D1_STATS (benchmarks only): each part's D1 statements and rows read, logged when the run ends.
		const stats = config(env).d1Stats ? { reconcile: newD1Stats(), purge: newD1Stats() } : null;
		const work = Promise.all([
			reconcile(stats ? { ...env, DB: instrumentD1(env.DB, stats.reconcile) } : env, runtimeDeps()).then((report) =>
				console.log("reconcile", JSON.stringify(report)),
			),
			// Idempotency answers are kept for 24 hours; a bounded clean-up each minute keeps the table small.
			purgeIdempotencyKeys(
				getDb(stats ? instrumentD1(env.DB, stats.purge) : env.DB),
				runtimeDeps().now() - IDEMPOTENCY_WINDOW_MS,
				1000,
			),
		]);
		ctx.waitUntil(stats ? work.finally(() => console.log("cron d1", JSON.stringify(stats))) : work);
	},
} satisfies ExportedHandler<Env, TaskMessage | HookMessage>;
