/** How the rest of the gateway reaches a user's live-progress hub (src/durable/user-hub.ts). */
import { logError } from "../log";

/**
 * The hub's calls, declared here on the rules' floor and implemented by the class, so nothing
 * below durable/ imports it for a type. Streams reach it through the stub's fetch.
 */
export interface UserHubCalls {
	/** A task of the user changed in D1: send it to the user's open streams. */
	notify(userId: number, taskId: string): Promise<void>;
	/** Closes every open stream (the user was disabled). */
	closeAll(reason: string): Promise<void>;
	connections(): Promise<{ websockets: number; sse: number }>;
}

export type UserHubStub = DurableObjectStub & UserHubCalls;

/** The user's one hub: every connection and every update of that user's tasks meet there. */
export function userHub(env: Env, userId: number): UserHubStub {
	// Only the stub's plain shape is taken from the binding; its calls are UserHubCalls.
	const stub: DurableObjectStub = env.USER_HUB.get(env.USER_HUB.idFromName(`user:${userId}`));
	return stub as UserHubStub;
}

/**
 * Tells the owner's hub that a task's update is in D1. Never throws: live progress is a courtesy
 * and must not fail or slow the update that caused it. The owner is looked up once when the
 * caller does not know it yet (a task object stored before it kept the owner).
 */
export async function notifyOwner(
	env: Env,
	task: { publicId: string; userId?: number },
	lookup: (publicId: string) => Promise<number | undefined>,
): Promise<void> {
	try {
		task.userId ??= await lookup(task.publicId);
		if (task.userId === undefined) return;
		await userHub(env, task.userId).notify(task.userId, task.publicId);
	} catch (error) {
		logError("live progress: hub not told", task.publicId, error);
	}
}
