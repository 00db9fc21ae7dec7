/**
 * Every call the console makes to the gateway, in one module: the pages never build a URL or
 * read an envelope themselves, so this file alone can later become a typed client generated
 * from /openapi.json. Each surface keeps its own envelope (new-api `{success, message, data}`,
 * midjourney-proxy `{code, description, result}`); both end here as data or an `ApiError`.
 */

const CREDENTIAL_KEY = "mj-edge.credential";

/** The API key or token the console signs in with, kept in localStorage until sign-out. */
export const credential = {
	get: (): string => localStorage.getItem(CREDENTIAL_KEY) ?? "",
	set: (value: string) => localStorage.setItem(CREDENTIAL_KEY, value.trim()),
	clear: () => localStorage.removeItem(CREDENTIAL_KEY),
};

/** Why a call failed, with what a person needs: the HTTP status, the API's reason, a kind to word it by. */
export class ApiError extends Error {
	constructor(
		readonly kind: "network" | "auth" | "forbidden" | "not-found" | "quota" | "rate" | "banned" | "invalid" | "server",
		message: string,
		readonly status = 0,
		readonly retryAfter?: number,
	) {
		super(message);
	}
}

function kindOf(status: number, code?: number): ApiError["kind"] {
	if (code === 24) return "banned";
	if (status === 401) return "auth";
	if (status === 403) return "forbidden";
	if (status === 404 || code === 3) return "not-found";
	if (status === 402) return "quota";
	if (status === 429 || code === 23) return "rate";
	if (status >= 500 || code === 9) return "server";
	return "invalid";
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
	const headers: Record<string, string> = {};
	const key = credential.get();
	if (key) headers.authorization = `Bearer ${key}`;
	if (body !== undefined) headers["content-type"] = "application/json";
	try {
		return await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	} catch {
		throw new ApiError("network", "the gateway cannot be reached");
	}
}

async function readJson(response: Response): Promise<Record<string, unknown>> {
	const text = await response.text();
	try {
		const value: unknown = JSON.parse(text);
		return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
	} catch {
		return { message: text.slice(0, 200) };
	}
}

function failure(response: Response, reason: string, code?: number): ApiError {
	const retry = Number(response.headers.get("retry-after"));
	return new ApiError(
		kindOf(response.status, code),
		reason || response.statusText,
		response.status,
		retry > 0 ? retry : undefined,
	);
}

/** A new-api envelope call (/api/user, /api/admin, /api/mj): its `data`, or an ApiError. */
async function newApi<T>(method: string, path: string, body?: unknown): Promise<T> {
	const response = await send(method, path, body);
	const json = await readJson(response);
	if (!response.ok || json.success === false) throw failure(response, String(json.message ?? ""));
	return json.data as T;
}

/** Like newApi, but null when the endpoint does not exist (a feature this gateway lacks). */
async function optional<T>(method: string, path: string, body?: unknown): Promise<T | null> {
	try {
		return await newApi<T>(method, path, body);
	} catch (error) {
		if (error instanceof ApiError && error.status === 404) return null;
		throw error;
	}
}

// ---- midjourney-proxy tasks ----

export type TaskStatus = "NOT_START" | "SUBMITTED" | "MODAL" | "IN_PROGRESS" | "SUCCESS" | "FAILURE" | "CANCEL";

export interface Button {
	customId: string;
	emoji: string;
	label: string;
}

/** The midjourney-proxy task object (README "The task object"). */
export interface Task {
	id: string;
	action: string;
	customId?: string;
	botType?: string;
	prompt: string;
	promptEn?: string;
	description?: string;
	mode?: string;
	submitTime?: number;
	startTime?: number;
	finishTime?: number;
	imageUrl?: string;
	videoUrl?: string;
	videoUrls?: { url: string }[];
	status: TaskStatus;
	progress: string;
	failReason?: string;
	buttons?: Button[];
	properties?: Record<string, unknown>;
}

export const FINISHED: readonly TaskStatus[] = ["SUCCESS", "FAILURE", "CANCEL"];
export const isFinished = (task: Task) => FINISHED.includes(task.status);

export type Mode = "fast" | "relax" | "turbo";
export type Bot = "MID_JOURNEY" | "NIJI_JOURNEY";

/** The prefix that picks the speed mode (README "midjourney-proxy API"). */
const mj = (mode?: Mode) => (mode ? `/mj-${mode}/mj` : "/mj");

/** A submit's answer: the task id, and whether it waits for a modal step (code 21). */
export interface Submitted {
	taskId: string;
	code: number;
	description: string;
}

async function submit(path: string, body: unknown, mode?: Mode): Promise<Submitted> {
	const response = await send("POST", `${mj(mode)}${path}`, body);
	const json = await readJson(response);
	const code = Number(json.code);
	const description = String(json.description ?? json.message ?? "");
	if (!response.ok || ![1, 21, 22].includes(code)) {
		const banned = (json.properties as { bannedWord?: string } | undefined)?.bannedWord;
		throw failure(response, banned ? `${description}: ${banned}` : description, code);
	}
	return { taskId: String(json.result), code, description };
}

export interface CreateOptions {
	mode?: Mode;
	botType?: Bot;
}

export const tasks = {
	imagine: (prompt: string, images: string[], o: CreateOptions) =>
		submit("/submit/imagine", { prompt, botType: o.botType, base64Array: images.length ? images : undefined }, o.mode),
	describe: (image: string, o: CreateOptions) =>
		submit("/submit/describe", { base64: image, botType: o.botType }, o.mode),
	blend: (images: string[], dimensions: "PORTRAIT" | "SQUARE" | "LANDSCAPE", o: CreateOptions) =>
		submit("/submit/blend", { base64Array: images, dimensions, botType: o.botType }, o.mode),
	shorten: (prompt: string, o: CreateOptions) => submit("/submit/shorten", { prompt, botType: o.botType }, o.mode),
	video: (prompt: string, image: string, motion: "low" | "high", o: CreateOptions) =>
		submit("/submit/video", { prompt, image, motion }, o.mode),
	/** Presses a button of a finished task; code 21 means a modal step follows (vary region, custom zoom). */
	action: (taskId: string, customId: string) => submit("/submit/action", { taskId, customId }),
	/** The second step of a MODAL task: a prompt, and for vary region the mask (white = repaint). */
	modal: (taskId: string, prompt: string, maskBase64?: string) =>
		submit("/submit/modal", { taskId, prompt, maskBase64 }),

	async fetch(id: string): Promise<Task> {
		const response = await send("GET", `/mj/task/${encodeURIComponent(id)}/fetch`);
		const json = await readJson(response);
		if (!response.ok || !json.id) throw failure(response, String(json.description ?? "no such task"), 3);
		return json as unknown as Task;
	},

	async byIds(ids: string[]): Promise<Task[]> {
		const response = await send("POST", "/mj/task/list-by-condition", { ids });
		const json: unknown = await response.json().catch(() => null);
		if (!response.ok || !Array.isArray(json)) throw failure(response, "could not refresh tasks");
		return json as Task[];
	},

	/** One page of the caller's tasks, newest first; `next` continues it (null: the last page). */
	async page(cursor: string | null, limit = 20): Promise<{ items: Task[]; next: string | null }> {
		const query = new URLSearchParams({ limit: String(limit) });
		if (cursor) query.set("cursor", cursor);
		const response = await send("GET", `/mj/task/list?${query}`);
		const json: unknown = await response.json().catch(() => null);
		if (!response.ok || !Array.isArray(json)) throw failure(response, "could not list tasks");
		return { items: json as Task[], next: response.headers.get("x-next-cursor") };
	},

	async cancel(id: string): Promise<void> {
		const response = await send("POST", `/mj/task/${encodeURIComponent(id)}/cancel`);
		const json = await readJson(response);
		if (!response.ok || Number(json.code) !== 1)
			throw failure(response, String(json.description ?? ""), Number(json.code));
	},
};

// ---- live updates ----

/**
 * Follows the caller's tasks: the SSE stream (`POST /api/user/stream-ticket`, then
 * `GET /api/user/stream?ticket=…`) where the gateway has it; otherwise, or when it breaks,
 * polls the unfinished ones every `pollMs`. Returns a function that stops following.
 */
export function follow(
	onTask: (task: Task) => void,
	unfinished: () => string[],
	onMode: (mode: "stream" | "poll") => void,
	pollMs = 1000,
): () => void {
	let stopped = false;
	let source: EventSource | null = null;
	let timer: ReturnType<typeof setTimeout> | undefined;

	const poll = async () => {
		if (stopped) return;
		const ids = unfinished();
		if (ids.length) {
			try {
				for (const task of await tasks.byIds(ids)) onTask(task);
			} catch {
				// A failed refresh is retried on the next tick.
			}
		}
		if (!stopped) timer = setTimeout(poll, pollMs);
	};
	const startPolling = () => {
		if (stopped || timer !== undefined) return;
		onMode("poll");
		void poll();
	};

	let lastSeq: number | undefined;
	let failures = 0;
	let retry: ReturnType<typeof setTimeout> | undefined;

	const deliver = (data: string) => {
		try {
			const event = JSON.parse(data) as { seq?: number; task?: Task; tasks?: Task[] };
			if (typeof event.seq === "number") lastSeq = Math.max(lastSeq ?? 0, event.seq);
			if (event.task) onTask(event.task);
			for (const task of event.tasks ?? []) onTask(task);
		} catch {
			// Not an event of ours.
		}
	};

	const connect = async () => {
		let ticket: string | null = null;
		try {
			const data = await optional<{ ticket?: string }>("POST", "/api/user/stream-ticket", {});
			ticket = data?.ticket ?? null;
		} catch {
			ticket = null;
		}
		if (stopped) return;
		// No stream on this gateway (404), or no ticket: polling still shows every change.
		if (!ticket || typeof EventSource === "undefined") return startPolling();
		const query = new URLSearchParams({ ticket });
		// After a break, the stream replays what followed the last event seen instead of a snapshot.
		if (lastSeq !== undefined) query.set("last_event_id", String(lastSeq));
		const current = new EventSource(`/api/user/stream?${query}`);
		source = current;
		current.onopen = () => {
			failures = 0;
			onMode("stream");
		};
		for (const name of ["task", "snapshot"]) current.addEventListener(name, (message) => deliver(message.data));
		current.onerror = () => {
			// Reconnect ourselves rather than let the browser reuse the ticket (it may have expired):
			// a new ticket and the last seq seen; after a few failures in a row, polling.
			current.close();
			source = null;
			failures += 1;
			if (failures >= STREAM_ATTEMPTS) startPolling();
			else retry = setTimeout(connect, 1000 * failures);
		};
	};
	void connect();

	return () => {
		stopped = true;
		source?.close();
		clearTimeout(timer);
		clearTimeout(retry);
	};
}

/** Connections to the stream tried in a row before the console settles for polling. */
const STREAM_ATTEMPTS = 3;

// ---- account ----

export interface Self {
	sub: string;
	role: "user" | "admin";
	quota: number;
	task_count: number;
	created_at: number;
}

export interface ApiKey {
	id: number;
	name: string;
	prefix: string;
	role: string;
	created_at: number;
	last_used_at: number | null;
	/** Only in the answer to its creation. */
	key?: string;
}

/** One callback delivery of the delivery log; fields as the gateway names them, camel or snake. */
export interface Delivery {
	eventId: string;
	taskId?: string;
	url?: string;
	outcome: string;
	status?: number;
	/** Which attempt of the event this row is (the log keeps one row per attempt). */
	attempt?: number;
	at?: number;
	error?: string;
}

function toDelivery(row: Record<string, unknown>): Delivery {
	const pick = (...names: string[]) =>
		names.map((name) => row[name]).find((value) => value !== undefined && value !== null);
	const number = (value: unknown) => (value === undefined ? undefined : Number(value));
	return {
		eventId: String(pick("eventId", "event_id", "id") ?? ""),
		taskId: pick("taskId", "task_id") as string | undefined,
		url: pick("url", "notifyHook", "notify_hook") as string | undefined,
		outcome: String(pick("outcome", "state", "result") ?? (row.ok === true ? "delivered" : "")),
		status: number(pick("http_status", "httpStatus", "status")),
		attempt: number(pick("attempt", "attempts")),
		at: number(pick("at", "time", "created_at", "createdAt", "last_attempt_at")),
		error: pick("error", "last_error", "lastError") as string | undefined,
	};
}

export const account = {
	self: () => newApi<Self>("GET", "/api/user/self"),
	keys: () => newApi<ApiKey[]>("GET", "/api/user/keys"),
	createKey: (name: string) => newApi<ApiKey>("POST", "/api/user/keys", { name }),
	revokeKey: (id: number) => newApi<{ id: number }>("DELETE", `/api/user/keys/${id}`),
	/** The signing secret of the caller's callbacks; null where the gateway has none. */
	webhookSecret: async () => secretOf(await optional<unknown>("GET", "/api/user/webhook-secret")),
	rotateWebhookSecret: async () => secretOf(await newApi<unknown>("POST", "/api/user/webhook-secret/rotate", {})),
	/** The delivery log (of one task); null where the gateway has none. */
	async deliveries(taskId?: string): Promise<Delivery[] | null> {
		const query = taskId ? `?${new URLSearchParams({ task_id: taskId, limit: "100" })}` : "";
		const data = await optional<unknown>("GET", `/api/user/deliveries${query}`);
		if (data === null) return null;
		const rows = Array.isArray(data) ? data : ((data as { items?: unknown[] }).items ?? []);
		const all = (rows as Record<string, unknown>[]).map(toDelivery);
		return taskId ? all.filter((row) => !row.taskId || row.taskId === taskId) : all;
	},
	redeliver: (eventId: string) =>
		newApi<unknown>("POST", `/api/user/deliveries/${encodeURIComponent(eventId)}/redeliver`, {}),
};

function secretOf(data: unknown): string | null {
	if (data === null || data === undefined) return null;
	if (typeof data === "string") return data;
	const record = data as Record<string, unknown>;
	return String(record.secret ?? record.webhook_secret ?? record.webhookSecret ?? "");
}

// ---- admin ----

export interface Channel {
	id: number;
	name: string;
	base_url: string;
	weight: number;
	enabled: boolean;
	disabled_reason: string | null;
	failure_count: number;
	has_secret: boolean;
	last_error?: string | null;
	updated_at?: number;
}

export type ChannelChanges = Partial<{
	name: string;
	base_url: string;
	secret: string;
	weight: number;
	enabled: boolean;
}>;

/** An item of the seed-001 admin list (README "GET /api/mj/"). */
export interface AdminTask {
	mj_id: string;
	action: string;
	prompt: string;
	status: TaskStatus;
	progress: string;
	image_url: string;
	submit_time: number;
	finish_time: number;
	fail_reason: string;
	quota: number;
	user_id?: number | string;
	channel_id?: number | null;
}

export interface AdminTaskFilter {
	mj_id?: string;
	channel_id?: string;
	start_timestamp?: number;
	end_timestamp?: number;
}

export const admin = {
	channels: () => newApi<Channel[]>("GET", "/api/admin/channels"),
	createChannel: (channel: ChannelChanges & { name: string; base_url: string }) =>
		newApi<Channel>("POST", "/api/admin/channels", channel),
	updateChannel: (id: number, changes: ChannelChanges) =>
		newApi<Channel>("PATCH", `/api/admin/channels/${id}`, changes),
	user: (sub: string) => newApi<Self>("GET", `/api/admin/users/${encodeURIComponent(sub)}`),
	/** `{quota}` sets the balance, `{delta}` adjusts it. */
	setQuota: (sub: string, change: { quota: number } | { delta: number }) =>
		newApi<Self>("PUT", `/api/admin/users/${encodeURIComponent(sub)}/quota`, change),
	async tasks(filter: AdminTaskFilter, cursor: string | null) {
		const query = new URLSearchParams({ page_size: "20" });
		for (const [name, value] of Object.entries(filter))
			if (value !== undefined && value !== "") query.set(name, String(value));
		if (cursor) query.set("cursor", cursor);
		return newApi<{ items: AdminTask[]; total: number; next_cursor: string | null }>("GET", `/api/mj/?${query}`);
	},
};
