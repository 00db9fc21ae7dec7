/**
 * One Durable Object per task. Every status update (submit reply, poll, upstream push,
 * reconciler) goes through `apply`, which the object runs one at a time:
 *  - the transition is decided from the object's own storage before any await, so two
 *    updates racing in can never move the task backwards;
 *  - D1 gets the full snapshot, conditional on the version, so a late write never wins;
 *  - D1 follows the object: before each D1 write the object arms its alarm (in the same storage
 *    write as the decision), so a write that fails, or never happens because the process died,
 *    is retried from the alarm with backoff until it lands; `sync` lets the reconciler, the
 *    poller and upstream pushes ask for the object's state and repair D1 on the way;
 *  - side effects of the end state (R2 copy, client callback) run from the alarm, after D1 has
 *    the end state, and are retried without holding up the caller;
 *  - a client callback for each change before the end is queued at once, or for progress at
 *    most once per HOOK_PROGRESS_WINDOW_MS through the same alarm.
 */
import { DurableObject } from "cloudflare:workers";
import { getDb } from "../db/client";
import { parseStringArray } from "../db/schema";
import { findTask, setTaskImage, setTaskVideoKeys, type TaskProgressFields, writeTaskProgress } from "../db/tasks";
import { findUserHookEvents } from "../db/users";
import { type Deps, runtimeDeps } from "../deps";
import { copyImageToR2, ImageCopyError, imageKey, videoKey } from "../images/copy";
import { notifyOwner } from "../live/hub";
import { logError } from "../log";
import { UrlRefusedError } from "../net/fetch-public";
import { fetchUpstreamMedia } from "../net/upstream-media";
import { redactUrl } from "../net/url-policy";
import type { HookChange, HookMessage } from "../tasks/messages";
import { isTerminal, parseProgress, type TaskStatus, type TaskUpdate } from "../tasks/model";
import type { ApplyResult, TaskObjectCalls, TaskSnapshot } from "../tasks/task-object-stub";
import { decide, keepsUpstreamId } from "../tasks/transitions";

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
	/**
	 * Which changes before the end the task's notifyHook hears of: "all", or "none" (no hook, or
	 * the end only). Unset in states stored before: those call back at the end only, as then.
	 */
	hookEvents?: "all" | "none";
	/** The last change a callback was queued for, and when: the next progress waits for the window. */
	hookSent?: { seq: number; status: TaskStatus; progress: number; at: number };
	/** The newest change not yet queued, held back by the window; the alarm queues it. */
	hookPending?: HookChange | null;
}

const STATE_KEY = "state";
const MAX_COPY_ATTEMPTS = 5;
/**
 * At most one progress callback per task in this window: a burst of progress is told as its
 * latest. A change of status is told at once (a task has few), and the end is never held back.
 */
export const HOOK_PROGRESS_WINDOW_MS = 2_000;
/** When the alarm armed before a D1 write fires if nothing disarms it: the write's deadline. */
const SYNC_WATCHDOG_MS = 5_000;
/** The longest wait between two retries of a D1 write that keeps failing. */
const MAX_SYNC_RETRY_MS = 60_000;

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
	if (update.description) fields.description = update.description;
	if (update.buttons) fields.buttons = JSON.stringify(update.buttons);
	if (update.videoUrl) fields.videoUrl = update.videoUrl;
	if (update.videoUrls) fields.videoUrls = JSON.stringify(update.videoUrls);
	if (update.startTime) fields.startTime = update.startTime;
	if (update.seed) fields.seed = update.seed;
	if (update.width) fields.width = update.width;
	if (update.height) fields.height = update.height;
	if (status === "FAILURE" || status === "CANCEL") {
		fields.failReason = (update.failReason || "task failed").slice(0, 1000);
	}
	if (isTerminal(status)) fields.finishTime = update.finishTime ?? now;
	return fields;
}

export class TaskObject extends DurableObject<Env> implements TaskObjectCalls {
	#state: StoredState | null = null;
	/** The network this object fetches media with; a Durable Object has no request context to take it from. */
	/** Read at each use, so a test that replaces the runtime's Deps reaches an object already built. */
	get #deps(): Deps {
		return runtimeDeps();
	}
	/**
	 * The D1 write of an accepted update. An instance field, so it is out of reach of RPC (which
	 * only calls the class's methods); the tests replace it through runInDurableObject to cut the
	 * write after the object's decision.
	 */
	writeProgress: typeof writeTaskProgress = writeTaskProgress;
	/** D1 writes failed in a row, for the alarm's backoff; in memory only (a restart retries sooner). */
	#syncFailures = 0;

	/** Takes the right to submit this task upstream; false if it is taken or no longer needed. */
	async claimSubmit(publicId: string, leaseMs: number): Promise<boolean> {
		const state = await this.#load(publicId);
		const now = this.#deps.now();
		if (state?.status !== "NOT_START" || state.claimUntil > now) {
			// D1 said NOT_START to the consumer asking, but the object has moved on: D1 is behind.
			if (state && state.syncedVersion < state.version) await this.#sync(state);
			return false;
		}
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
			if (update.upstreamId && keepsUpstreamId(state, update)) {
				// Still refused (the task stays as it ended); the caller stops the upstream task.
				await this.#keepUpstreamId(state, update.upstreamId, update.channelId);
				return { applied: false, status: state.status, reason: decision.reason };
			}
			// A duplicate is still a chance to repair a D1 write that failed earlier.
			if (state.syncedVersion < state.version) await this.#sync(state);
			return { applied: false, status: state.status, reason: decision.reason };
		}
		const now = this.#deps.now();
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
		if (isTerminal(decision.status)) {
			// The end's own callback tells it all; a held-back progress would now be stale news.
			state.hookPending = null;
		}
		await this.#saveArmed(state);
		// Everything above ran before the first await on the network: the decision is final, and
		// it stands even if D1 does not take it now (the armed alarm retries the write).
		const synced = await this.#sync(state);
		this.#announce(state);
		if (isTerminal(decision.status)) await this.ctx.storage.setAlarm(this.#deps.now());
		else {
			if (synced) await this.#disarm(state);
			// After the disarm: a held-back progress callback sets the alarm it needs.
			await this.#tellChange(state, now);
		}
		return { applied: true, status: decision.status };
	}

	/**
	 * Records on an ended task the upstream task it turned out to have: a new version, written to
	 * D1 like any other (the armed alarm retries a failed write), announced to no one (nothing a
	 * client sees changed). The end's own effects, if still pending, keep their turn.
	 */
	async #keepUpstreamId(state: StoredState, upstreamId: string, channelId: number | undefined): Promise<void> {
		state.upstreamId = upstreamId;
		state.version += 1;
		state.fields = { ...state.fields, upstreamId, ...(channelId == null ? {} : { channelId }) };
		await this.#saveArmed(state);
		const synced = await this.#sync(state);
		if (state.effects.copy || state.effects.hook) await this.ctx.storage.setAlarm(this.#deps.now());
		else if (synced) await this.#disarm(state);
	}

	/**
	 * The object's view of the task, after one more try at writing it to D1 if D1 is behind.
	 * Null when the object has never decided anything for it (D1 is then all there is).
	 */
	async sync(publicId: string): Promise<TaskSnapshot | null> {
		const state = this.#state ?? (await this.ctx.storage.get<StoredState>(STATE_KEY)) ?? null;
		if (state?.publicId !== publicId) return null;
		this.#state = state;
		const synced = state.syncedVersion >= state.version || (await this.#sync(state));
		return {
			status: state.status,
			upstreamId: state.upstreamId ?? null,
			channelId: state.fields.channelId ?? null,
			version: state.version,
			synced,
		};
	}

	/**
	 * Writes D1 if it is behind (retried with backoff while it fails), then runs the end state's
	 * side effects: copy the image to R2, then queue the client callback. A running task has none.
	 */
	override async alarm(): Promise<void> {
		const state = this.#state ?? (await this.ctx.storage.get<StoredState>(STATE_KEY)) ?? null;
		if (!state) return;
		this.#state = state;
		if (state.syncedVersion < state.version && !(await this.#sync(state))) {
			// The effects wait for D1: the callback reads the task from there.
			const delay = Math.min(MAX_SYNC_RETRY_MS, 1000 * 2 ** this.#syncFailures);
			await this.ctx.storage.setAlarm(this.#deps.now() + delay);
			return;
		}
		if (state.hookPending && !isTerminal(state.status)) await this.#tellPending(state);
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
		await this.#backToQueue(state);
		return true;
	}

	/** The task waits to be submitted again: a new version in NOT_START, written, announced, told. */
	async #backToQueue(state: StoredState): Promise<void> {
		state.status = "NOT_START";
		state.progress = 0;
		state.version += 1;
		state.fields = { ...state.fields, status: "NOT_START", progress: "0%" };
		await this.#saveArmed(state);
		if (await this.#sync(state)) await this.#disarm(state);
		this.#announce(state);
		await this.#tellChange(state, this.#deps.now());
	}

	/**
	 * A change before the end, for a notifyHook that hears of every change: a new status is queued
	 * at once, more progress once per window (the latest wins, queued by the alarm). Runs after
	 * the D1 write, so the delivery reads a row at least as new as the change.
	 */
	async #tellChange(state: StoredState, now: number): Promise<void> {
		if (state.hookEvents !== "all") return;
		const last = state.hookSent;
		if (last && last.status === state.status && last.progress === state.progress) return;
		const change: HookChange = { seq: state.version, status: state.status, progress: state.progress, at: now };
		const due = (last?.at ?? 0) + HOOK_PROGRESS_WINDOW_MS;
		if (state.syncedVersion < state.version) {
			// D1 does not have this change yet (the delivery reads the task there): the armed alarm
			// writes D1 first, then queues it.
			state.hookPending = change;
			await this.#save(state);
			return;
		}
		if (last && last.status === state.status && now < due) {
			state.hookPending = change;
			await this.#save(state);
			const alarm = await this.ctx.storage.getAlarm();
			if (alarm === null || alarm > due) await this.ctx.storage.setAlarm(due);
			return;
		}
		await this.#queueChange(state, change, now);
	}

	/** The alarm's part: queues the held-back change once its window has passed. */
	async #tellPending(state: StoredState): Promise<void> {
		const pending = state.hookPending;
		if (!pending) return;
		const now = this.#deps.now();
		const due = (state.hookSent?.at ?? 0) + HOOK_PROGRESS_WINDOW_MS;
		if (now < due) {
			await this.ctx.storage.setAlarm(due);
			return;
		}
		await this.#queueChange(state, pending, now);
	}

	/**
	 * Records the change as told before the first await, so a change that comes in meanwhile
	 * compares against it and nothing older is queued after something newer; a failed send
	 * leaves the change pending for the alarm to try again, unless a newer one took its place.
	 */
	async #queueChange(state: StoredState, change: HookChange, now: number): Promise<void> {
		state.hookSent = { seq: change.seq, status: change.status, progress: change.progress, at: now };
		if (state.hookPending && state.hookPending.seq <= change.seq) state.hookPending = null;
		try {
			await this.#save(state);
			await this.env.HOOK_QUEUE.send({ taskId: state.publicId, change } satisfies HookMessage);
		} catch (error) {
			logError("progress callback not queued; the alarm tries again", state.publicId, error);
			// Something newer was told or is waiting meanwhile: this change is stale news now.
			if (isTerminal(state.status) || state.hookSent.seq !== change.seq || state.hookPending) return;
			state.hookPending = change;
			await this.#save(state);
			await this.ctx.storage.setAlarm(now + HOOK_PROGRESS_WINDOW_MS);
		}
	}

	/**
	 * A task a Discord account accepted but never sent (it waited there) goes back to NOT_START when
	 * that account is taken out, so that another channel runs it. Only from SUBMITTED with the
	 * upstream id the account gave it: a task any further along belongs to that account.
	 */
	async returnToQueue(publicId: string, upstreamId: string): Promise<boolean> {
		const state = await this.#load(publicId);
		if (state?.status !== "SUBMITTED" || state.upstreamId !== upstreamId) return false;
		state.upstreamId = undefined;
		state.claimUntil = 0;
		await this.#backToQueue(state);
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
				await this.ctx.storage.setAlarm(this.#deps.now() + 2 ** state.effects.attempts * 1000);
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

	/** Writes the state to D1; false (logged) when the write failed, which the armed alarm retries. */
	async #sync(state: StoredState): Promise<boolean> {
		const version = state.version;
		try {
			await this.writeProgress(getDb(this.env.DB), state.publicId, version, state.fields, this.#deps.now());
		} catch (error) {
			this.#syncFailures += 1;
			logError("task D1 write failed; the object's alarm retries it", state.publicId, error);
			return false;
		}
		this.#syncFailures = 0;
		if (state.syncedVersion < version) {
			state.syncedVersion = version;
			await this.#save(state);
		}
		return true;
	}

	/**
	 * Saves a decision D1 does not have yet together with an alarm (one storage write: no await
	 * between them), so a process that dies before or during the D1 write still gets it retried.
	 */
	async #saveArmed(state: StoredState): Promise<void> {
		this.#state = state;
		const saved = this.ctx.storage.put(STATE_KEY, state);
		const armed = this.ctx.storage.setAlarm(this.#deps.now() + SYNC_WATCHDOG_MS);
		await Promise.all([saved, armed]);
	}

	/** Drops the alarm armed for a D1 write once nothing is left for it: D1 current, no end-state effects. */
	async #disarm(state: StoredState): Promise<void> {
		if (state.syncedVersion < state.version || state.effects.copy || state.effects.hook || state.hookPending) return;
		await this.ctx.storage.deleteAlarm();
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
			const db = getDb(this.env.DB);
			const row = await findTask(db, publicId);
			if (!row) return;
			// Decided once per task, here, so no progress update ever asks D1 about the hook.
			const hookEvents = row.notifyHook ? row.hookEvents || (await findUserHookEvents(db, row.userId)) : "final";
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
				hookEvents: hookEvents === "all" ? "all" : "none",
				hookPending: null,
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
