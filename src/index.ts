/** The Worker entry: HTTP, both queues, the cron reconciler, and the Durable Object classes. */
import { createApp } from "./app";
import { reconcile } from "./cron/reconcile";
import { defaultDeps } from "./queue/deps";
import { handleHookBatch, handleHookDeadLetters } from "./queue/hook-consumer";
import { HOOK_DLQ, HOOK_QUEUE, type HookMessage, TASK_DLQ, TASK_QUEUE, type TaskMessage } from "./queue/messages";
import { handleTaskBatch, handleTaskDeadLetters } from "./queue/task-consumer";

export { TaskObject } from "./durable/task-object";
export { SimulatorObject } from "./upstream/simulator/object";

const app = createApp();

export default {
	fetch: app.fetch,

	async queue(batch, env) {
		switch (batch.queue) {
			case TASK_QUEUE:
				return handleTaskBatch(batch as MessageBatch<TaskMessage>, env, defaultDeps());
			case TASK_DLQ:
				return handleTaskDeadLetters(batch as MessageBatch<TaskMessage>, env);
			case HOOK_QUEUE:
				return handleHookBatch(batch as MessageBatch<HookMessage>, env, defaultDeps());
			case HOOK_DLQ:
				return handleHookDeadLetters(batch as MessageBatch<HookMessage>, env);
			default:
				console.error("message from an unknown queue", batch.queue);
				batch.retryAll();
		}
	},

	async scheduled(_controller, env, ctx) {
		ctx.waitUntil(reconcile(env, defaultDeps()).then((report) => console.log("reconcile", JSON.stringify(report))));
	},
} satisfies ExportedHandler<Env, TaskMessage | HookMessage>;
