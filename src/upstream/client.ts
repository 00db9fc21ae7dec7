/** The midjourney-proxy HTTP client. Takes its fetch so tests and the simulator can drive it. */

import type { TaskMode } from "../db/schema";
import type { Fetch } from "../deps";
import { logWarning } from "../log";
import {
	type HookFields,
	imageSeedReplySchema,
	type SubmitBodies,
	type SubmitPath,
	type SubmitReply,
	submitReplySchema,
	type UpstreamTask,
	upstreamTaskSchema,
} from "./protocol";

/** The path prefix of a speed mode: `/mj-fast/mj` for "fast", `/mj` for the channel's default. */
export function modePrefix(mode: TaskMode): string {
	return mode ? `/mj-${mode}/mj` : "/mj";
}

/** A call that did not produce a protocol answer: network error, timeout, 5xx, garbage. */
function signalTimedOut(error: unknown): boolean {
	return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

export class UpstreamError extends Error {
	readonly retryable: boolean;
	readonly status?: number;
	constructor(message: string, retryable: boolean, status?: number) {
		super(message);
		this.name = "UpstreamError";
		this.retryable = retryable;
		this.status = status;
	}
}

export interface UpstreamChannel {
	baseUrl: string;
	secret: string;
}

export class UpstreamClient {
	readonly #baseUrl: string;
	readonly #secret: string;
	readonly #fetch: Fetch;
	readonly #timeoutMs: number;

	constructor(channel: UpstreamChannel, fetchFn: Fetch, timeoutMs = 15_000) {
		this.#baseUrl = channel.baseUrl.replace(/\/+$/, "");
		this.#secret = channel.secret;
		this.#fetch = fetchFn;
		this.#timeoutMs = timeoutMs;
	}

	/** A submit call, under the speed mode's prefix (`/mj-fast/mj/submit/...`). */
	async submit<P extends SubmitPath>(
		path: P,
		body: SubmitBodies[P] & HookFields,
		mode: TaskMode = "",
	): Promise<SubmitReply> {
		const response = await this.#call("POST", `${modePrefix(mode)}${path}`, body);
		const json = await this.#json(response);
		const parsed = submitReplySchema.safeParse(json);
		if (!parsed.success) throw new UpstreamError(`upstream submit reply is unreadable (HTTP ${response.status})`, true);
		return parsed.data;
	}

	/** A submit whose body is a multipart form (`/insight-face/video-swap`), under the speed mode's prefix. */
	async submitForm(path: "/insight-face/video-swap", form: FormData, mode: TaskMode = ""): Promise<SubmitReply> {
		const response = await this.#call("POST", `${modePrefix(mode)}${path}`, form);
		const json = await this.#json(response);
		const parsed = submitReplySchema.safeParse(json);
		if (!parsed.success) throw new UpstreamError(`upstream submit reply is unreadable (HTTP ${response.status})`, true);
		return parsed.data;
	}

	/** Asks the upstream to stop a task; false when it cannot (unknown, finished, or no such endpoint). */
	async cancel(id: string): Promise<boolean> {
		const response = await this.#call("POST", `/mj/task/${encodeURIComponent(id)}/cancel`, {});
		if (!response.ok) {
			await response.body?.cancel();
			return false;
		}
		const reply = submitReplySchema.safeParse(await this.#json(response).catch(() => null));
		return reply.success && reply.data.code === 1;
	}

	/** The seed of a finished image task, or null when the upstream has none. */
	async imageSeed(id: string): Promise<string | null> {
		const response = await this.#call("GET", `/mj/task/${encodeURIComponent(id)}/image-seed`);
		if (!response.ok) {
			await response.body?.cancel();
			return null;
		}
		const reply = imageSeedReplySchema.safeParse(await this.#json(response));
		if (!reply.success || reply.data.code !== 1 || reply.data.result == null) return null;
		return String(reply.data.result);
	}

	/** The task, or null when the upstream does not know it. */
	async fetchTask(id: string): Promise<UpstreamTask | null> {
		const response = await this.#call("GET", `/mj/task/${encodeURIComponent(id)}/fetch`);
		if (response.status === 404) return null;
		const json = await this.#json(response);
		if (json === null || json === "") return null;
		const parsed = upstreamTaskSchema.safeParse(json);
		if (!parsed.success) throw new UpstreamError("upstream returned an unreadable task", true, response.status);
		return parsed.data;
	}

	/** Tasks by id; ids the upstream does not know are silently missing from the answer. */
	async listByCondition(ids: string[]): Promise<UpstreamTask[]> {
		const response = await this.#call("POST", "/mj/task/list-by-condition", { ids });
		const json = await this.#json(response);
		if (!Array.isArray(json)) throw new UpstreamError("list-by-condition did not return an array", true);
		const tasks: UpstreamTask[] = [];
		for (const item of json) {
			const parsed = upstreamTaskSchema.safeParse(item);
			if (parsed.success) tasks.push(parsed.data);
		}
		return tasks;
	}

	async #call(method: string, path: string, body?: unknown): Promise<Response> {
		let response: Response;
		const form = body instanceof FormData;
		try {
			response = await this.#fetch(`${this.#baseUrl}${path}`, {
				method,
				// A form sets its own content type, with the multipart boundary.
				headers: {
					"mj-api-secret": this.#secret,
					...(form ? {} : { "content-type": "application/json" }),
					accept: "application/json",
				},
				body: body === undefined ? undefined : form ? body : JSON.stringify(body),
				signal: AbortSignal.timeout(this.#timeoutMs),
			});
		} catch (error) {
			// The network's own words (hosts, ports, "connection lost") stay in the log: failReason reaches clients.
			logWarning("upstream call failed", method, path, error);
			throw new UpstreamError(signalTimedOut(error) ? "upstream timed out" : "upstream unreachable", true);
		}
		if (response.status >= 500 || response.status === 429) {
			await response.body?.cancel();
			throw new UpstreamError(`upstream answered HTTP ${response.status}`, true, response.status);
		}
		return response;
	}

	async #json(response: Response): Promise<unknown> {
		const text = await response.text();
		if (text.trim() === "") return null;
		try {
			return JSON.parse(text);
		} catch {
			throw new UpstreamError(
				`upstream answered HTTP ${response.status} with non-JSON`,
				response.status >= 500,
				response.status,
			);
		}
	}
}
