/**
 * What a client may do to a task it already has: cancel it, give a MODAL task its second step,
 * ask for its seed. Every status change goes through the task's Durable Object, so a cancel racing
 * the upstream's own end (or another cancel) is decided once, and refunded once.
 */
import type { AuthUser } from "../context";
import { findChannel } from "../db/channels";
import type { Db } from "../db/client";
import type { TaskRow } from "../db/schema";
import { findUnfinishedTasks, findUserTask, setModalOptions } from "../db/tasks";
import type { Deps } from "../deps";
import { hashFromUrl } from "../discord/midjourney";
import { ApiError, badRequest, notFound } from "../errors";
import { removeInputs, storeInputs } from "../images/inputs";
import type { CheckedImage } from "../images/upload";
import { UpstreamClient } from "../upstream/client";
import { upstreamFetch } from "../upstream/fetcher";
import { actionOfButton } from "./actions";
import { refuseBannedPrompt } from "./banned-words";
import { accountObject } from "./discord-account-stub";
import { isTerminal, PROMPT_MAX_LENGTH, parseOptions, storedButtons } from "./model";
import { enqueueSubmit } from "./submit";
import { taskObject } from "./task-object-stub";
import { stopUpstreamTask } from "./upstream-submit";

async function ownTask(db: Db, user: AuthUser, publicId: string): Promise<TaskRow> {
	const task = await findUserTask(db, user.id, publicId);
	if (!task) throw notFound(`no task with id ${publicId}`);
	return task;
}

export type CancelResult = "cancelled" | "already-cancelled";

/**
 * Ends an unfinished task as CANCEL (refunded with the end, once) and asks its upstream to stop it.
 * A task that already ended otherwise is refused; an already cancelled one answers as cancelled.
 */
export async function cancelTask(
	env: Env,
	db: Db,
	user: AuthUser,
	publicId: string,
	deps: Pick<Deps, "fetch">,
	waitUntil: (promise: Promise<unknown>) => void,
): Promise<CancelResult> {
	const task = await ownTask(db, user, publicId);
	if (isTerminal(task.status)) return finishedAnswer(task.status, publicId);
	const result = await endAsCancelled(env, db, task, "cancelled by the user", deps, waitUntil);
	if (!result.applied) return finishedAnswer(result.status ?? task.status, publicId);
	return "cancelled";
}

/** Ends the task as CANCEL through its object (which refunds it, once) and asks its upstream to stop it. */
async function endAsCancelled(
	env: Env,
	db: Db,
	task: TaskRow,
	reason: string,
	deps: Pick<Deps, "fetch">,
	waitUntil: (promise: Promise<unknown>) => void,
) {
	const result = await taskObject(env, task.publicId).apply(task.publicId, { status: "CANCEL", failReason: reason });
	if (result.applied && task.upstreamId && task.channelId != null) {
		const { upstreamId, channelId } = task;
		waitUntil(
			findChannel(db, channelId).then((channel) =>
				channel ? stopUpstreamTask(env, deps, channel, task.publicId, upstreamId) : undefined,
			),
		);
	}
	return result;
}

/**
 * Tasks one request cancels for a disabled user: each is a call to its object (a subrequest),
 * and a request may make only so many. More are left for the next call (`remaining`).
 */
export const CANCEL_BATCH = 100;

/**
 * Cancels the user's unfinished tasks (up to CANCEL_BATCH), each refunded once by its object; a
 * task that ends on its own meanwhile keeps its end. `remaining` says whether more are unfinished.
 */
export async function cancelUserTasks(
	env: Env,
	db: Db,
	userId: number,
	deps: Pick<Deps, "fetch">,
	waitUntil: (promise: Promise<unknown>) => void,
): Promise<{ cancelled: number; remaining: boolean }> {
	const unfinished = await findUnfinishedTasks(db, userId, CANCEL_BATCH + 1);
	const batch = unfinished.slice(0, CANCEL_BATCH);
	const results = await Promise.all(
		batch.map((task) => endAsCancelled(env, db, task, "cancelled: the user was disabled", deps, waitUntil)),
	);
	return { cancelled: results.filter((r) => r.applied).length, remaining: unfinished.length > CANCEL_BATCH };
}

function finishedAnswer(status: string, publicId: string): CancelResult {
	if (status === "CANCEL") return "already-cancelled";
	throw new ApiError("CONFLICT", `task ${publicId} has already finished (${status}) and cannot be cancelled`);
}

export interface ModalStep {
	prompt?: string;
	mask?: CheckedImage;
}

/**
 * The second step of CUSTOM_ZOOM (a prompt such as "--zoom 1.8"), INPAINT (a mask, and
 * optionally a prompt) and a button pressed in remix mode (the new prompt): records it and sends
 * the task on its way.
 */
export async function submitModal(
	env: Env,
	db: Db,
	user: AuthUser,
	publicId: string,
	step: ModalStep,
	now: number,
): Promise<void> {
	const task = await findUserTask(db, user.id, publicId);
	if (!task) throw new ApiError("UNKNOWN_TASK", `no task with taskId ${publicId}`);
	if (task.status !== "MODAL")
		throw badRequest(`task ${publicId} is not waiting for a modal step (status ${task.status})`);
	const remix = parseOptions(task.options).remix === true;
	const needs = actionOfButton(task.customId).modal ?? (remix ? "prompt" : undefined);
	const prompt = step.prompt?.trim() ?? "";
	if (prompt.length > PROMPT_MAX_LENGTH) throw badRequest(`prompt must be at most ${PROMPT_MAX_LENGTH} characters`);
	if (needs === "prompt" && !prompt) {
		throw badRequest(
			remix
				? `prompt is required: the new prompt of the remixed ${task.action}`
				: `prompt is required for ${task.action} (e.g. "--zoom 1.8")`,
		);
	}
	if (needs === "mask" && !step.mask) throw badRequest(`maskBase64 is required for ${task.action}`);
	await refuseBannedPrompt(env, prompt, now);
	const [maskKey] = step.mask ? await storeInputs(env.IMAGES, `${publicId}/mask`, [step.mask]) : [];
	const options = {
		...parseOptions(task.options),
		...(prompt ? { modalPrompt: prompt } : {}),
		...(maskKey ? { maskKey } : {}),
	};
	const recorded = await setModalOptions(
		db,
		publicId,
		JSON.stringify(options),
		remix && !actionOfButton(task.customId).modal ? prompt : undefined,
	);
	if (!recorded || !(await taskObject(env, publicId).resumeModal(publicId))) {
		if (maskKey) await removeInputs(env.IMAGES, [maskKey]);
		throw badRequest(`task ${publicId} is no longer waiting for a modal step`);
	}
	await enqueueSubmit(env, publicId);
}

/** The upstream's seed of a finished image task. */
export async function imageSeed(
	env: Env,
	db: Db,
	user: AuthUser,
	publicId: string,
	deps: Pick<Deps, "fetch">,
): Promise<string> {
	const task = await ownTask(db, user, publicId);
	if (task.status !== "SUCCESS" || !task.upstreamId || task.channelId == null) {
		throw badRequest(`task ${publicId} has no seed (status ${task.status})`);
	}
	const channel = await findChannel(db, task.channelId);
	if (!channel) throw badRequest(`the channel of task ${publicId} is gone`);
	if (channel.kind === "discord") {
		const hash = hashFromUrl(task.upstreamImageUrl) ?? jobHashOfButtons(task.buttons);
		const seed = hash
			? await accountObject(env, channel.id)
					.seed(channel.id, task.upstreamId, hash, task.botType)
					.catch(() => null)
			: null;
		if (seed === null) throw badRequest(`the Discord account gave no seed for task ${publicId}`);
		return seed;
	}
	const seed = await new UpstreamClient(channel, upstreamFetch(env, deps.fetch))
		.imageSeed(task.upstreamId)
		.catch(() => null);
	if (seed === null) throw badRequest(`the upstream has no seed for task ${publicId}`);
	return seed;
}

/** The job hash in a task's buttons (`MJ::JOB::upsample::1::<hash>`), when its picture's URL shows none. */
function jobHashOfButtons(buttons: string): string | undefined {
	for (const button of storedButtons(buttons)) {
		const hash = /::([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:::|$)/i.exec(button.customId)?.[1];
		if (hash) return hash;
	}
	return undefined;
}
