/**
 * The one place client callbacks are sent from: a POST of the task in the seed-002 fetch
 * format to its notifyHook. Any answer but 2xx counts as a failure to be retried.
 */
import { getDb } from "../db/client";
import { findTask } from "../db/tasks";
import { publicBase } from "../images/links";
import { toSeed002 } from "../tasks/views/seed002";
import type { Fetch } from "../upstream/fetcher";
import { callbackUrlProblem } from "./url-policy";

export type HookVerdict =
	| { kind: "delivered" }
	| { kind: "retry"; reason: string }
	| { kind: "dropped"; reason: string };

const HOOK_TIMEOUT_MS = 10_000;

export async function deliverTaskHook(env: Env, publicId: string, fetchFn: Fetch): Promise<HookVerdict> {
	const task = await findTask(getDb(env.DB), publicId);
	if (!task?.notifyHook) return { kind: "dropped", reason: "task has no notifyHook" };
	// Checked again at delivery: the policy may be stricter than when the task was created.
	const problem = callbackUrlProblem(task.notifyHook, env);
	if (problem) return { kind: "dropped", reason: problem };
	const body = JSON.stringify(await toSeed002(env, publicBase(env), task));
	try {
		const response = await fetchFn(task.notifyHook, {
			method: "POST",
			headers: { "content-type": "application/json", "user-agent": "mj-edge-callback/1" },
			body,
			// A redirect could lead anywhere, including a private address: never follow one.
			redirect: "manual",
			signal: AbortSignal.timeout(HOOK_TIMEOUT_MS),
		});
		await response.body?.cancel();
		if (response.status >= 200 && response.status < 300) return { kind: "delivered" };
		return { kind: "retry", reason: `receiver answered HTTP ${response.status}` };
	} catch (error) {
		return { kind: "retry", reason: `receiver unreachable: ${error instanceof Error ? error.message : String(error)}` };
	}
}
