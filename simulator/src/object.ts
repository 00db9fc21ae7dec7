/**
 * One simulated upstream task per Durable Object (SimTaskObject, addressed by
 * `getByName(taskId)`), and one small index of recent ids (SimIndexObject).
 * Nothing ticks while nobody looks: the status is a pure function of the time elapsed since
 * the task started running (`taskAt`), so a task advances the same whether it is polled,
 * called back or left alone. Alarms exist only to POST progress to a `notifyHook`.
 */
import { DurableObject } from "cloudflare:workers";
import type { TaskStatus, UpstreamButton, UpstreamTask } from "../../src/upstream/protocol";
import { type ButtonSet, buttonsOf } from "./buttons";
import type { SimulatorEnv } from "./env";
import { type ImageSpec, imageDimensions } from "./images";

export type SimAction =
	| "IMAGINE"
	| "UPSCALE"
	| "VARIATION"
	| "REROLL"
	| "PAN"
	| "ZOOM"
	| "CUSTOM_ZOOM"
	| "INPAINT"
	| "DESCRIBE"
	| "BLEND"
	| "SHORTEN"
	| "VIDEO"
	| "EDITS"
	| "RETEXTURE"
	| "SWAP_FACE"
	| "SWAP_VIDEO_FACE";

/** The speed prefix a task was submitted under: /mj-fast/mj → "fast"; plain /mj → "". */
export type SpeedMode = "fast" | "relax" | "turbo" | "";

/** What a finished task shows: a picture, a video (with a cover picture), or only text. */
export type SimResult = { kind: "image"; image: ImageSpec } | { kind: "video"; cover: ImageSpec } | { kind: "text" };

/**
 * The optional request fields a task was submitted with, reported back as `properties.request`
 * so a test (or a developer) can see exactly what reached the upstream.
 */
export interface SimRequest {
	language?: string;
	enableRemix?: boolean;
	strong?: boolean;
	endImage?: boolean;
	loop?: boolean;
	batchSize?: number;
	videoType?: string;
	/** `/insight-face/video-swap`: the size of the video file received. */
	targetBytes?: number;
}

/** What the submit route decides; the object adds the clock, the job hash and the seed. */
export interface NewSimTask {
	id: string;
	action: SimAction;
	/** The prompt as given (for follow-ups: the parent's, unless the request brought one). */
	prompt: string;
	/** The button a follow-up came from, e.g. `MJ::JOB::upsample::2::<hash>`; "" otherwise. */
	customId: string;
	botType: string;
	mode: SpeedMode;
	/** The simulator's origin as the submitter reached it: image and video URLs use it. */
	origin: string;
	state: string | null;
	notifyHook: string | null;
	result: SimResult;
	buttons: ButtonSet;
	/** `properties.finalPrompt` of the finished task. */
	finalPrompt: string;
	/** Milliseconds per step (already multiplied for `--sim-slow`). */
	stepMs: number;
	/** `--sim-fail`: the task fails half-way. */
	fail: boolean;
	/** Vary (Region) and Custom Zoom: the task stays MODAL until `/submit/modal` starts it. */
	awaitsModal: boolean;
	/** A button pressed with enableRemix: the modal's prompt replaces the prompt (rather than adding to it). */
	remix?: boolean;
	/** How many videos a video task makes (its `batchSize`; 1 when not asked). */
	videos?: number;
	request?: SimRequest;
}

export interface SimTaskRecord extends NewSimTask {
	submitTime: number;
	/** When the steps start counting: submit, or the modal submit; null while MODAL. */
	runFrom: number | null;
	/** When `/task/{id}/cancel` stopped it; null otherwise. */
	cancelTime: number | null;
	/** The `<hash>` of this task's buttons (Discord's message hash in real Midjourney). */
	jobHash: string;
	/** What `/task/{id}/image-seed` answers: a decimal number, fixed at submit. */
	seed: string;
	/** `status:progress` last posted to the notifyHook (or reported by the submit reply). */
	lastNotified: string;
}

/**
 * The task object the simulator reports: UpstreamTask with every field concrete, so it
 * keeps its type across Durable Object RPC (`unknown` fields would not).
 */
export interface SimTask {
	id: string;
	action: SimAction;
	customId: string;
	botType: string;
	prompt: string;
	promptEn: string;
	description: string;
	state: string;
	submitTime: number;
	startTime: number | null;
	finishTime: number | null;
	imageUrl: string | null;
	videoUrl: string;
	videoUrls: string[];
	status: TaskStatus;
	progress: string;
	failReason: string;
	buttons: UpstreamButton[];
	/** Reported once the task succeeds with a picture, as trueai-org's servers report them. */
	seed: string;
	width: number | null;
	height: number | null;
	properties: { discordInstanceId: string; finalPrompt: string; mode: SpeedMode; request: SimRequest };
}

// Compile-time proof that what the simulator reports is what the upstream client parses.
const _reportsUpstreamTasks = (task: SimTask): UpstreamTask => task;
void _reportsUpstreamTasks;

export interface SimSnapshot {
	task: SimTask;
	record: SimTaskRecord;
}

/** The outcome of `/task/{id}/cancel` on an existing task. */
export type CancelOutcome = "cancelled" | "finished";

/** Steps from start to SUCCESS; one step after start the task is IN_PROGRESS. */
export const SUCCESS_STEP = 4;
/** `--sim-fail` tasks fail at this step, keeping the progress they had ("50%"). */
export const FAIL_STEP = 3;

const FINAL: readonly TaskStatus[] = ["SUCCESS", "FAILURE", "CANCEL"];
const RECORD_KEY = "task";
const NOTIFY_TIMEOUT_MS = 10_000;

/** The task as the upstream reports it at time `now` (epoch ms). */
export function taskAt(record: SimTaskRecord, now: number): SimTask {
	if (record.cancelTime !== null) {
		// Cancel is only accepted while unfinished, so the task at cancelTime was still running.
		const running = runningAt(record, record.cancelTime);
		return {
			...running,
			status: "CANCEL",
			description: "Cancelled",
			failReason: "cancelled",
			finishTime: record.cancelTime,
		};
	}
	return runningAt(record, now);
}

function runningAt(record: SimTaskRecord, now: number): SimTask {
	const { stepMs, submitTime, runFrom } = record;
	const base: SimTask = {
		id: record.id,
		action: record.action,
		customId: record.customId,
		botType: record.botType,
		prompt: record.prompt,
		promptEn: record.prompt,
		description: "Submitted",
		state: record.state ?? "",
		submitTime,
		startTime: null,
		finishTime: null,
		imageUrl: null,
		videoUrl: "",
		videoUrls: [],
		status: "SUBMITTED",
		progress: "0%",
		failReason: "",
		buttons: [],
		seed: "",
		width: null,
		height: null,
		properties: {
			discordInstanceId: "sim",
			finalPrompt: record.finalPrompt,
			mode: record.mode,
			request: record.request ?? {},
		},
	};
	if (runFrom === null) return { ...base, status: "MODAL", description: "Waiting for window confirm" };
	const step = Math.max(0, Math.floor((now - runFrom) / stepMs));
	if (step === 0) return base;
	const started = { ...base, startTime: runFrom + stepMs };
	if (record.fail && step >= FAIL_STEP) {
		return {
			...started,
			status: "FAILURE",
			description: "Failure",
			progress: progressAt(FAIL_STEP - 1),
			failReason: "simulated failure",
			finishTime: runFrom + FAIL_STEP * stepMs,
		};
	}
	if (step >= SUCCESS_STEP) {
		const { result, origin, id } = record;
		const videoUrls =
			result.kind === "video"
				? Array.from({ length: record.videos ?? 1 }, (_, n) => `${origin}/sim/video/${id}${n ? `_${n}` : ""}.mp4`)
				: [];
		const picture = result.kind === "image" ? result.image : result.kind === "video" ? result.cover : null;
		const size = picture ? imageDimensions(picture) : null;
		return {
			...started,
			status: "SUCCESS",
			description: "Success",
			progress: "100%",
			finishTime: runFrom + SUCCESS_STEP * stepMs,
			imageUrl: result.kind === "text" ? null : `${origin}/sim/image/${id}.png`,
			videoUrl: videoUrls[0] ?? "",
			videoUrls,
			buttons: buttonsOf(record.buttons, record.jobHash),
			seed: result.kind === "image" ? record.seed : "",
			width: size?.width ?? null,
			height: size?.height ?? null,
		};
	}
	return { ...started, status: "IN_PROGRESS", description: "In progress", progress: progressAt(step) };
}

/** When the reported task next changes, or null once it is final (or waits for its modal). */
export function nextChangeAt(record: SimTaskRecord, now: number): number | null {
	const task = taskAt(record, now);
	if (FINAL.includes(task.status) || record.runFrom === null) return null;
	const step = Math.max(0, Math.floor((now - record.runFrom) / record.stepMs));
	return record.runFrom + (step + 1) * record.stepMs;
}

export function isFinal(status: TaskStatus): boolean {
	return FINAL.includes(status);
}

function progressAt(step: number): string {
	return `${Math.round((step * 100) / SUCCESS_STEP)}%`;
}

/** A decimal seed derived from the job hash, as Midjourney's are (up to 4294967295). */
function seedOf(jobHash: string): string {
	return String(Number.parseInt(jobHash.replaceAll("-", "").slice(0, 8), 16));
}

export class SimTaskObject extends DurableObject<SimulatorEnv> {
	/** Stores the task; false if this id is already taken (the caller picks another id). */
	async create(input: NewSimTask): Promise<boolean> {
		if (this.#load()) return false;
		const now = Date.now();
		const jobHash = crypto.randomUUID();
		const record: SimTaskRecord = {
			...input,
			submitTime: now,
			runFrom: input.awaitsModal ? null : now,
			cancelTime: null,
			jobHash,
			seed: seedOf(jobHash),
			// The submit reply already told the caller SUBMITTED (or MODAL): the first callback is the first change.
			lastNotified: input.awaitsModal ? "MODAL:0%" : "SUBMITTED:0%",
		};
		this.#save(record);
		await this.#schedule(record, now);
		return true;
	}

	/** The task as `GET /mj/task/:id/fetch` reports it, or null for an unknown id. */
	view(): SimTask | null {
		const record = this.#load();
		return record ? taskAt(record, Date.now()) : null;
	}

	/** The task together with what the simulator knows but does not report (its image, its step). */
	snapshot(): SimSnapshot | null {
		const record = this.#load();
		return record ? { task: taskAt(record, Date.now()), record } : null;
	}

	/** Starts a MODAL task (its second input arrived); false if it is not waiting for one. */
	async confirmModal(prompt: string | null): Promise<boolean> {
		const record = this.#load();
		if (!record || record.runFrom !== null || record.cancelTime !== null) return false;
		const now = Date.now();
		const version = record.botType === "NIJI_JOURNEY" ? "--niji 6" : "--v 6";
		const started: SimTaskRecord = {
			...record,
			runFrom: now,
			// A remix runs the new prompt; custom zoom and vary region add theirs to the old one.
			...(prompt && record.remix ? { prompt, finalPrompt: `${prompt} ${version}` } : {}),
			...(prompt && !record.remix ? { finalPrompt: `${record.prompt} ${prompt}`.trim() } : {}),
		};
		this.#save(started);
		await this.#schedule(started, now);
		return true;
	}

	/** Cancels an unfinished task; null for an unknown id. */
	async cancel(): Promise<CancelOutcome | null> {
		const record = this.#load();
		if (!record) return null;
		const now = Date.now();
		if (isFinal(taskAt(record, now).status)) return "finished";
		const cancelled = { ...record, cancelTime: now };
		this.#save(cancelled);
		if (cancelled.notifyHook) await this.ctx.storage.setAlarm(now);
		return "cancelled";
	}

	override async alarm(): Promise<void> {
		const record = this.#load();
		if (!record?.notifyHook) return;
		const now = Date.now();
		const task = taskAt(record, now);
		const key = `${task.status}:${task.progress}`;
		// An alarm may run early or late (eviction): post only what actually changed.
		if (key !== record.lastNotified) {
			await this.#deliver(record.notifyHook, task);
			this.#save({ ...record, lastNotified: key });
		}
		const next = nextChangeAt(record, now);
		if (next !== null) await this.ctx.storage.setAlarm(next);
	}

	async #schedule(record: SimTaskRecord, now: number): Promise<void> {
		const next = record.notifyHook ? nextChangeAt(record, now) : null;
		if (next !== null) await this.ctx.storage.setAlarm(next);
	}

	/** One attempt: a lost callback is not retried, because the gateway also polls. */
	async #deliver(url: string, task: SimTask): Promise<void> {
		try {
			const request = new Request(url, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify(task),
				signal: AbortSignal.timeout(NOTIFY_TIMEOUT_MS),
			});
			const { GATEWAY, GATEWAY_URL } = this.env;
			const viaBinding = GATEWAY && GATEWAY_URL && new URL(url).origin === new URL(GATEWAY_URL).origin;
			const response = await (viaBinding ? GATEWAY.fetch(request) : fetch(request));
			await response.body?.cancel();
			if (!response.ok) console.warn(`simulator notifyHook ${url} answered HTTP ${response.status}`);
		} catch (error) {
			console.warn(`simulator notifyHook ${url} failed: ${error instanceof Error ? error.message : String(error)}`);
		}
	}

	#load(): SimTaskRecord | undefined {
		return this.ctx.storage.kv.get<SimTaskRecord>(RECORD_KEY);
	}

	#save(record: SimTaskRecord): void {
		this.ctx.storage.kv.put(RECORD_KEY, record);
	}
}

/** How many ids the index keeps: /task/list and /task/queue look no further back. */
export const RECENT_LIMIT = 200;
const RECENT_KEY = "recent";

/** The latest task ids, newest first; one instance, named "recent". */
export class SimIndexObject extends DurableObject<SimulatorEnv> {
	add(id: string): void {
		const ids = this.recent();
		this.ctx.storage.kv.put(RECENT_KEY, [id, ...ids.filter((known) => known !== id)].slice(0, RECENT_LIMIT));
	}

	recent(): string[] {
		return this.ctx.storage.kv.get<string[]>(RECENT_KEY) ?? [];
	}
}
