/**
 * One Durable Object per task. Every status update (submit reply, poll, upstream push,
 * reconciler) goes through `apply`, which the object runs one at a time:
 *  - the transition is decided from the object's own storage before any await, so two
 *    updates racing in can never move the task backwards;
 *  - D1 gets the full snapshot, conditional on the version, so a late write never wins;
 *  - side effects of the end state (R2 copy, client callback) run from the alarm, which
 *    retries them without holding up the caller.
 */
import { DurableObject } from "cloudflare:workers";
import { getDb } from "../db/client";
import { findTask, setTaskImage, setTaskVideoKeys, type TaskProgressFields, writeTaskProgress } from "../db/tasks";
import { type Deps, defaultDeps } from "../deps";
import { copyImageToR2, ImageCopyError, imageKey, videoKey } from "../images/copy";
import { notifyOwner } from "../live/hub";
import { logError } from "../log";
import { UrlRefusedError } from "../net/fetch-public";
import { fetchUpstreamMedia } from "../net/upstream-media";
import { redactUrl } from "../net/url-policy";
import type { HookMessage } from "../queue/messages";
import { isTerminal, parseProgress, parseStringArray, type TaskStatus, type TaskUpdate } from "../tasks/model";
import { decide } from "../tasks/transitions";

interface StoredState {
	publicId: string;
	/** The owner, whose live-progress hub hears of every accepted update (unset in states stored before). */
	userId?: number;
	status: TaskStatus;
	progress: number;
	upstreamId?: string;
	version: number;
	/** The last version known to be in D1. */
	syncedVersion: number;
	/** Everything accepted so far, as D1 columns: rewritten whole so a lost write heals. */
	fields: TaskProgressFields;
	/** A queue consumer holds the right to submit until this time (ms). */
	claimUntil: number;
	effects: { copy: boolean; hook: boolean; attempts: number };
}

export interface ApplyResult {
	applied: boolean;
	status: TaskStatus | null;
	reason?: "terminal" | "stale" | "duplicate" | "unknown-task";
}

const STATE_KEY = "state";
const MAX_COPY_ATTEMPTS = 5;

/** The result videos the upstream reported, in order. */
function videoUrlsOf(state: StoredState): string[] {
	const urls = parseStringArray(state.fields.videoUrls ?? "[]");
	if (urls.length > 0) return urls;
	return state.fields.videoUrl ? [state.fields.videoUrl] : [];
}

/** D1 columns for an accepted update. */
function fieldsFor(update: TaskUpdate, status: TaskStatus, progress: number, now: number): TaskProgressFields {
	const fields: TaskProgressFields = { status, progress: `${progress}%` };
	if (update.upstreamId) fields.upstreamId = update.upstreamId;
	if (update.channelId != null) fields.channelId = update.channelId;
	if (update.imageUrl) fields.upstreamImageUrl = update.imageUrl;
	if (update.promptEn) fields.promptEn = update.promptEn;
	if (update.finalPrompt) fields.finalPrompt = update.finalPrompt;
	if (update.buttons) fields.buttons = JSON.stringify(update.buttons);
	if (update.videoUrl) fields.videoUrl = update.videoUrl;
	if (update.videoUrls) fields.videoUrls = JSON.stringify(update.videoUrls);
	if (update.startTime) fields.startTime = update.startTime;
	if (status === "FAILURE" || status === "CANCEL") {
		fields.failReason = (update.failReason || "task failed").slice(0, 1000);
	}
	if (isTerminal(status)) fields.finishTime = update.finishTime ?? now;
	return fields;
}

export class TaskObject extends DurableObject<Env> {
	#state: StoredState | null = null;
	/** The network this object fetches media with; a Durable Object has no request context to take it from. */
	readonly #deps: Deps = defaultDeps();

	/** Takes the right to submit this task upstream; false if it is taken or no longer needed. */
	async claimSubmit(publicId: string, leaseMs: number): Promise<boolean> {
		const state = await this.#load(publicId);
		const now = Date.now();
		if (state?.status !== "NOT_START" || state.claimUntil > now) return false;
		state.claimUntil = now + leaseMs;
		await this.#save(state);
		return true;
	}

	/** Gives the claim back so that a retried message may submit. */
	async releaseSubmit(publicId: string): Promise<void> {
		const state = await this.#load(publicId);
		if (!state) return;
		state.claimUntil = 0;
		await this.#save(state);
	}

	async apply(publicId: string, update: TaskUpdate): Promise<ApplyResult> {
		const state = await this.#load(publicId);
		if (!state) return { applied: false, status: null, reason: "unknown-task" };
		const decision = decide(state, update);
		if (!decision.accept) {
			// A duplicate is still a chance to repair a D1 write that failed earlier.
			if (state.syncedVersion < state.version) await this.#flush(state);
			return { applied: false, status: state.status, reason: decision.reason };
		}
		const now = Date.now();
		state.status = decision.status;
		state.progress = decision.progress;
		if (update.upstreamId) state.upstreamId = update.upstreamId;
		state.version += 1;
		state.fields = { ...state.fields, ...fieldsFor(update, decision.status, decision.progress, now) };
		if (isTerminal(decision.status)) {
			state.effects = {
				copy:
					decision.status === "SUCCESS" && (Boolean(state.fields.upstreamImageUrl) || videoUrlsOf(state).length > 0),
				hook: true,
				attempts: 0,
			};
		}
		await this.#save(state);
		// Everything above ran before the first await on the network: the decision is final.
		await this.#flush(state);
		this.#announce(state);
		if (isTerminal(decision.status)) await this.ctx.storage.setAlarm(Date.now());
		return { applied: true, status: decision.status };
	}

	/** Runs the end state's side effects: copy the image to R2, then queue the client callback. */
	override async alarm(): Promise<void> {
		const state = this.#state ?? (await this.ctx.storage.get<StoredState>(STATE_KEY)) ?? null;
		if (!state) return;
		this.#state = state;
		if (state.syncedVersion < state.version) await this.#flush(state);
		if (state.effects.copy) {
			const done = await this.#copyImage(state);
			if (!done) return;
		}
		if (state.effects.hook) {
			const row = await findTask(getDb(this.env.DB), state.publicId);
			if (row?.notifyHook) await this.env.HOOK_QUEUE.send({ taskId: state.publicId } satisfies HookMessage);
			state.effects.hook = false;
			await this.#save(state);
		}
	}

	/**
	 * A MODAL task whose client sent the second step (`/submit/modal`) goes back to NOT_START, to be
	 * submitted. False when the task is not (or no longer) waiting for it.
	 */
	async resumeModal(publicId: string): Promise<boolean> {
		const state = await this.#load(publicId);
		if (state?.status !== "MODAL" || state.upstreamId) return false;
		state.status = "NOT_START";
		state.progress = 0;
		state.version += 1;
		state.fields = { ...state.fields, status: "NOT_START", progress: "0%" };
		await this.#save(state);
		await this.#flush(state);
		this.#announce(state);
		return true;
	}

	/**
	 * A task a Discord account accepted but never sent (it waited there) goes back to NOT_START when
	 * that account is taken out, so that another channel runs it. Only from SUBMITTED with the
	 * upstream id the account gave it: a task any further along belongs to that account.
	 */
	async returnToQueue(publicId: string, upstreamId: string): Promise<boolean> {
		const state = await this.#load(publicId);
		if (state?.status !== "SUBMITTED" || state.upstreamId !== upstreamId) return false;
		state.status = "NOT_START";
		state.progress = 0;
		state.upstreamId = undefined;
		state.claimUntil = 0;
		state.version += 1;
		state.fields = { ...state.fields, status: "NOT_START", progress: "0%" };
		await this.#save(state);
		await this.#flush(state);
		this.#announce(state);
		return true;
	}

	/** True when the copy is finished or abandoned; false when a retry is scheduled. */
	async #copyImage(state: StoredState): Promise<boolean> {
		const url = state.fields.upstreamImageUrl;
		let current = url;
		try {
			const db = getDb(this.env.DB);
			// Upstream-handed URLs pass the URL policy; the task's channel origin is trusted.
			const channelId = state.fields.channelId ?? (await findTask(db, state.publicId))?.channelId;
			const fetchMedia = (mediaUrl: string, field: string) => {
				current = mediaUrl;
				return fetchUpstreamMedia(this.env, mediaUrl, {
					channelId,
					field,
					signal: AbortSignal.timeout(120_000),
					fetch: this.#deps.fetch,
				});
			};
			if (url) {
				const response = await fetchMedia(url, "imageUrl");
				const copied = await copyImageToR2(this.env.IMAGES, imageKey(state.publicId), response);
				await setTaskImage(db, state.publicId, copied.key, copied.contentType);
			}
			const videos = videoUrlsOf(state);
			if (videos.length > 0) {
				const keys: string[] = [];
				for (const [n, videoUrl] of videos.entries()) {
					const response = await fetchMedia(videoUrl, "videoUrl");
					keys.push((await copyImageToR2(this.env.IMAGES, videoKey(state.publicId, n), response)).key);
				}
				await setTaskVideoKeys(db, state.publicId, keys);
			}
		} catch (error) {
			state.effects.attempts += 1;
			if (error instanceof UrlRefusedError) {
				// Never retried: the policy will refuse it again. The query may hold the upstream's secrets.
				logError("image copy refused", state.publicId, error.message, current ? redactUrl(current) : "");
				state.effects.copy = false;
				await this.#save(state);
				return true;
			}
			const retryable = !(error instanceof ImageCopyError) || error.retryable;
			if (retryable && state.effects.attempts < MAX_COPY_ATTEMPTS) {
				await this.#save(state);
				await this.ctx.storage.setAlarm(Date.now() + 2 ** state.effects.attempts * 1000);
				return false;
			}
			// The task keeps the upstream's URL; the client is still told it finished.
			logError("image copy abandoned", state.publicId, error);
		}
		state.effects.copy = false;
		await this.#save(state);
		return true;
	}

	/** Live progress (src/live/hub.ts): in the background, so a slow or failing hub never holds up an update. */
	#announce(state: StoredState): void {
		this.ctx.waitUntil(
			notifyOwner(this.env, state, async (publicId) => (await findTask(getDb(this.env.DB), publicId))?.userId),
		);
	}

	async #flush(state: StoredState): Promise<void> {
		const version = state.version;
		await writeTaskProgress(getDb(this.env.DB), state.publicId, version, state.fields, Date.now());
		if (state.syncedVersion < version) {
			state.syncedVersion = version;
			await this.#save(state);
		}
	}

	async #load(publicId: string): Promise<StoredState | null> {
		if (this.#state) return this.#state;
		const stored = await this.ctx.storage.get<StoredState>(STATE_KEY);
		if (stored) {
			this.#state = stored;
			return stored;
		}
		// First contact: seed from D1 with every other call held back, so none decides on a
		// state that is about to be replaced.
		await this.ctx.blockConcurrencyWhile(async () => {
			if (this.#state) return;
			const row = await findTask(getDb(this.env.DB), publicId);
			if (!row) return;
			const state: StoredState = {
				publicId,
				userId: row.userId,
				status: row.status,
				progress: parseProgress(row.progress) ?? 0,
				upstreamId: row.upstreamId ?? undefined,
				version: row.version,
				syncedVersion: row.version,
				fields: {},
				claimUntil: 0,
				effects: { copy: false, hook: false, attempts: 0 },
			};
			await this.ctx.storage.put(STATE_KEY, state);
			this.#state = state;
		});
		return this.#state;
	}

	async #save(state: StoredState): Promise<void> {
		this.#state = state;
		await this.ctx.storage.put(STATE_KEY, state);
	}
}
