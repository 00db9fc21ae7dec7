/**
 * How the rules reach a task's Durable Object (src/durable/task-object.ts). The object's calls
 * are declared here, on the rules' floor, and the class implements them, so nothing below
 * durable/ imports it (or the generated Env's view of it) for a type.
 */
import type { TaskStatus, TaskUpdate } from "./model";

/** What the object knows of a task: the decision D1 follows. */
export interface TaskSnapshot {
	status: TaskStatus;
	upstreamId: string | null;
	channelId: number | null;
	version: number;
	/** Whether D1 has this version (false: a write is still failing; the alarm keeps retrying it). */
	synced: boolean;
}

export interface ApplyResult {
	applied: boolean;
	status: TaskStatus | null;
	reason?: "terminal" | "stale" | "duplicate" | "unknown-task";
}

/** The object's calls, each answered from its own stored state before any await (see the class). */
export interface TaskObjectCalls {
	/** Takes the right to submit this task upstream; false if it is taken or no longer needed. */
	claimSubmit(publicId: string, leaseMs: number): Promise<boolean>;
	releaseSubmit(publicId: string): Promise<void>;
	apply(publicId: string, update: TaskUpdate): Promise<ApplyResult>;
	sync(publicId: string): Promise<TaskSnapshot | null>;
	resumeModal(publicId: string): Promise<boolean>;
	/** A task a Discord account accepted but never sent goes back to NOT_START. */
	returnToQueue(publicId: string, upstreamId: string): Promise<boolean>;
}

export type TaskObjectStub = DurableObjectStub & TaskObjectCalls;

/** The Durable Object that serializes a task's updates. */
export function taskObject(env: Env, publicId: string): TaskObjectStub {
	// Only the stub's plain shape is taken from the binding; its calls are TaskObjectCalls.
	const stub: DurableObjectStub = env.TASK_OBJECT.get(env.TASK_OBJECT.idFromName(publicId));
	return stub as TaskObjectStub;
}
