import type { TaskObject } from "../durable/task-object";

/** The Durable Object that serializes a task's updates. */
export function taskObject(env: Env, publicId: string): DurableObjectStub<TaskObject> {
	return env.TASK_OBJECT.get(env.TASK_OBJECT.idFromName(publicId));
}
