/** Creating a task for a client: validation that needs the database, the write, the enqueue. */
import type { AuthUser } from "../context";
import type { Db } from "../db/client";
import { findUserTask, InsufficientQuotaError, insertTask } from "../db/tasks";
import { ApiError, badRequest } from "../errors";
import { callbackUrlProblem } from "../hooks/url-policy";
import type { TaskMessage } from "../queue/messages";
import { assertChannelAvailable } from "../upstream/channels";
import { PROMPT_MAX_LENGTH, type SubmitAction } from "./model";
import { priceOf } from "./pricing";

export interface SubmitRequest {
	action: SubmitAction | "SWAP_FACE";
	prompt?: string;
	/** Public id of the task an UPSCALE / VARIATION acts on. */
	parentId?: string;
	index?: number;
	state?: string;
	notifyHook?: string;
	/** Album pictures: the template and, for face swaps, the R2 key of the user's photo. */
	album?: { styleId: number; originKey?: string };
}

/** Actions whose result is a 2x2 grid that UPSCALE / VARIATION can pick from. */
const GRID_ACTIONS = new Set(["IMAGINE", "VARIATION", "REROLL"]);

/**
 * Checks the request against the caller's own tasks, writes the task as NOT_START and
 * queues it. If the enqueue fails the task still exists and the reconciler queues it.
 */
export async function submitTask(
	env: Env,
	db: Db,
	user: AuthUser,
	request: SubmitRequest,
	now = Date.now(),
): Promise<{ publicId: string }> {
	let prompt = request.prompt?.trim() ?? "";
	let description: string;
	let parentId: string | null = null;
	let taskIndex: number | null = null;

	let parentChannelId: number | null = null;

	if (request.action === "IMAGINE") {
		if (!prompt) throw badRequest("prompt is required for IMAGINE");
		if (prompt.length > PROMPT_MAX_LENGTH) throw badRequest(`prompt must be at most ${PROMPT_MAX_LENGTH} characters`);
		description = `/imagine ${prompt}`;
	} else if (request.action === "SWAP_FACE") {
		if (!request.album?.originKey) throw badRequest("a face swap needs the user's photo");
		description = `/swap template ${request.album.styleId}`;
	} else {
		if (!request.parentId) throw badRequest(`taskId is required for ${request.action}`);
		if (request.index === undefined) throw badRequest(`index (1-4) is required for ${request.action}`);
		const parent = await findUserTask(db, user.id, request.parentId);
		if (!parent) throw badRequest(`no task with taskId ${request.parentId}`);
		if (parent.status !== "SUCCESS") {
			throw badRequest(`task ${request.parentId} is not finished (status ${parent.status})`);
		}
		if (!GRID_ACTIONS.has(parent.action)) {
			throw badRequest(`${request.action} needs a grid task (IMAGINE or VARIATION), not ${parent.action}`);
		}
		parentId = parent.publicId;
		parentChannelId = parent.channelId;
		taskIndex = request.index;
		prompt = parent.prompt;
		description = `/${request.action === "UPSCALE" ? "up" : "variation"} ${parent.publicId} ${request.action === "UPSCALE" ? "U" : "V"}${request.index}`;
	}

	const notifyHook = request.notifyHook ?? "";
	if (notifyHook) {
		const problem = callbackUrlProblem(notifyHook, env);
		if (problem) throw badRequest(problem);
	}

	// Refuse now rather than queue a task no channel can take.
	await assertChannelAvailable(db, env, parentChannelId);

	const price = priceOf(env, request.action);
	const publicId = crypto.randomUUID();
	try {
		await insertTask(
			db,
			{
				publicId,
				userId: user.id,
				action: request.action,
				prompt,
				taskIndex,
				parentId,
				clientState: request.state ?? "",
				notifyHook,
				status: "NOT_START",
				progress: "0%",
				description,
				updatedAt: now,
				quota: price,
				styleId: request.album?.styleId ?? null,
				originKey: request.album?.originKey ?? null,
				album: request.album !== undefined,
			},
			now,
		);
	} catch (error) {
		if (error instanceof InsufficientQuotaError) {
			throw new ApiError("INSUFFICIENT_QUOTA", `not enough quota: ${request.action} costs ${price}`);
		}
		throw error;
	}
	try {
		await env.TASK_QUEUE.send({ kind: "submit", taskId: publicId } satisfies TaskMessage);
	} catch (error) {
		console.error("enqueue failed; the reconciler will queue the task", publicId, error);
	}
	return { publicId };
}
