/**
 * One simulated upstream task per Durable Object (addressed by `idFromName(taskId)`).
 * Nothing ticks while nobody looks: the status is a pure function of the time elapsed since
 * submit (`taskAt`), so a task advances the same whether it is polled, called back or
 * left alone. Alarms exist only to POST progress to a `notifyHook`.
 */
import { DurableObject } from "cloudflare:workers";
import { gatewayAwareFetch } from "../../gateway-fetch";
import type { TaskStatus, UpstreamButton, UpstreamTask } from "../protocol";
import { SIMULATOR_ORIGIN } from "./constants";
import type { ImageSpec } from "./images";

export type SimAction = "IMAGINE" | "UPSCALE" | "VARIATION" | "REROLL" | "SWAP_FACE";

/** What the submit route decides; the object adds the clock and the job hash. */
export interface NewSimTask {
	id: string;
	action: SimAction;
	/** The prompt as given (for changes: the parent's). */
	prompt: string;
	/** The button a change task came from, e.g. `MJ::JOB::upsample::2::<hash>`; "" otherwise. */
	customId: string;
	state: string | null;
	notifyHook: string | null;
	image: ImageSpec;
	/** Milliseconds per step (already multiplied for `--sim-slow`). */
	stepMs: number;
	/** `--sim-fail`: the task fails half-way. */
	fail: boolean;
}

export interface SimTaskRecord extends NewSimTask {
	submitTime: number;
	/** The `<hash>` of this task's buttons (Discord's message hash in real Midjourney). */
	jobHash: string;
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
	properties: { discordInstanceId: string; finalPrompt: string };
}

// Compile-time proof that what the simulator reports is what the upstream client parses.
const _reportsUpstreamTasks = (task: SimTask): UpstreamTask => task;
void _reportsUpstreamTasks;

export interface SimSnapshot {
	task: SimTask;
	record: SimTaskRecord;
}

/** Steps from submit to SUCCESS; one step after submit the task is IN_PROGRESS. */
export const SUCCESS_STEP = 4;
/** `--sim-fail` tasks fail at this step, keeping the progress they had ("50%"). */
export const FAIL_STEP = 3;

const RECORD_KEY = "task";
const NOTIFY_TIMEOUT_MS = 10_000;

/** The task as the upstream reports it at time `now` (epoch ms). */
export function taskAt(record: SimTaskRecord, now: number): SimTask {
	const { stepMs, submitTime } = record;
	const step = Math.max(0, Math.floor((now - submitTime) / stepMs));
	const grid = record.image.kind === "grid";
	const base: SimTask = {
		id: record.id,
		action: record.action,
		customId: record.customId,
		botType: record.action === "SWAP_FACE" ? "INSIGHT_FACE" : "MID_JOURNEY",
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
		properties: {
			discordInstanceId: "sim",
			finalPrompt: record.action === "SWAP_FACE" ? "" : `${record.prompt} --v 6`,
		},
	};
	if (step === 0) return base;
	const started = { ...base, startTime: submitTime + stepMs };
	if (record.fail && step >= FAIL_STEP) {
		return {
			...started,
			status: "FAILURE",
			description: "Failure",
			progress: progressAt(FAIL_STEP - 1),
			failReason: "simulated failure",
			finishTime: submitTime + FAIL_STEP * stepMs,
		};
	}
	if (step >= SUCCESS_STEP) {
		return {
			...started,
			status: "SUCCESS",
			description: "Success",
			progress: "100%",
			finishTime: submitTime + SUCCESS_STEP * stepMs,
			imageUrl: `${SIMULATOR_ORIGIN}/sim/image/${record.id}.png`,
			buttons: grid ? gridButtons(record.jobHash) : [],
		};
	}
	return { ...started, status: "IN_PROGRESS", description: "In progress", progress: progressAt(step) };
}

/** When the reported task next changes, or null once it is final. */
export function nextChangeAt(record: SimTaskRecord, now: number): number | null {
	const task = taskAt(record, now);
	if (task.status === "SUCCESS" || task.status === "FAILURE") return null;
	const step = Math.max(0, Math.floor((now - record.submitTime) / record.stepMs));
	return record.submitTime + (step + 1) * record.stepMs;
}

function progressAt(step: number): string {
	return `${Math.round((step * 100) / SUCCESS_STEP)}%`;
}

function gridButtons(hash: string): UpstreamButton[] {
	const button = (customId: string, label: string, emoji = ""): UpstreamButton => ({
		customId,
		emoji,
		label,
		type: 2,
		style: 2,
	});
	return [
		...[1, 2, 3, 4].map((n) => button(`MJ::JOB::upsample::${n}::${hash}`, `U${n}`)),
		button(`MJ::JOB::reroll::0::${hash}::SOLO`, "", "🔄"),
		...[1, 2, 3, 4].map((n) => button(`MJ::JOB::variation::${n}::${hash}`, `V${n}`)),
	];
}

export class SimulatorObject extends DurableObject<Env> {
	/** Stores the task; false if this id is already taken (the caller picks another id). */
	async create(input: NewSimTask): Promise<boolean> {
		if (this.#load()) return false;
		const record: SimTaskRecord = {
			...input,
			submitTime: Date.now(),
			jobHash: crypto.randomUUID(),
			// The submit reply already told the caller SUBMITTED: the first callback is the first change.
			lastNotified: "SUBMITTED:0%",
		};
		this.ctx.storage.kv.put(RECORD_KEY, record);
		if (record.notifyHook) await this.ctx.storage.setAlarm(record.submitTime + record.stepMs);
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

	override async alarm(): Promise<void> {
		const record = this.#load();
		if (!record?.notifyHook) return;
		const now = Date.now();
		const task = taskAt(record, now);
		const key = `${task.status}:${task.progress}`;
		// An alarm may run early (tests) or late (eviction): post only what actually changed.
		if (key !== record.lastNotified) {
			await this.#deliver(record.notifyHook, task);
			this.ctx.storage.kv.put(RECORD_KEY, { ...record, lastNotified: key });
		}
		const next = nextChangeAt(record, now);
		if (next !== null) await this.ctx.storage.setAlarm(next);
	}

	/** One attempt: a lost callback is not retried because the gateway also polls. */
	async #deliver(url: string, task: SimTask): Promise<void> {
		try {
			const response = await gatewayAwareFetch(this.env)(url, {
				method: "POST",
				headers: { "content-type": "application/json" },
				body: JSON.stringify(task),
				signal: AbortSignal.timeout(NOTIFY_TIMEOUT_MS),
			});
			await response.body?.cancel();
			if (!response.ok) console.warn(`simulator notifyHook ${url} answered HTTP ${response.status}`);
		} catch (error) {
			console.warn(`simulator notifyHook ${url} failed: ${error instanceof Error ? error.message : String(error)}`);
		}
	}

	#load(): SimTaskRecord | undefined {
		return this.ctx.storage.kv.get<SimTaskRecord>(RECORD_KEY);
	}
}
