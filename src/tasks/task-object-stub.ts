// The stub's type comes from the binding (Env), so the rules never import durable/, the floor above.
/** The Durable Object that serializes a task's updates. */
export function taskObject(env: Env, publicId: string) {
	return env.TASK_OBJECT.get(env.TASK_OBJECT.idFromName(publicId));
}
