/**
 * A programmable midjourney-proxy upstream at http://upstream.test, used as the `fetch` of
 * the code under test. Any other host is refused: tests never reach the network.
 */
import { env } from "cloudflare:workers";
import { channels } from "../../src/db/schema";
import { ensureSimulatorChannel } from "../../src/upstream/channels";
import { db } from "./db";

export const FAKE_ORIGIN = "http://upstream.test";

export interface RecordedCall {
	method: string;
	path: string;
	body: unknown;
	secret: string | null;
}

type Handler = (call: RecordedCall) => Response | Promise<Response>;

export function jsonResponse(body: unknown, status = 200): Response {
	return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export class FakeUpstream {
	readonly origin: string;
	readonly calls: RecordedCall[] = [];

	constructor(origin = FAKE_ORIGIN) {
		this.origin = origin;
	}

	/** Answers /mj/submit/*; replace per test. */
	submit: Handler = () => jsonResponse({ code: 1, description: "Success", result: `${Date.now()}` });
	/** Answers POST /mj/task/{id}/cancel; replace per test. */
	cancel: Handler = () => jsonResponse({ code: 1, description: "Success" });
	/** Answers GET /mj/task/{id}/fetch and list-by-condition entries; undefined = unknown. */
	readonly tasks = new Map<string, Record<string, unknown>>();
	/** When set, answers GET /mj/task/{id}/fetch instead of `tasks` (an upstream that is down). */
	taskFetch: Handler | undefined;
	/** Other URLs (client callbacks, images) answered by the test. */
	other: (request: Request) => Response | Promise<Response> = (request) => {
		throw new TypeError(`network disabled in tests: ${request.url}`);
	};

	readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
		const request = new Request(input, init);
		const url = new URL(request.url);
		if (url.origin !== this.origin) return this.other(request);
		const text = request.method === "GET" ? "" : await request.text();
		const call: RecordedCall = {
			method: request.method,
			path: url.pathname,
			body: text ? JSON.parse(text) : undefined,
			secret: request.headers.get("mj-api-secret"),
		};
		this.calls.push(call);
		// Speed-mode prefixes (/mj-fast/mj/...) reach the same endpoints; `call.path` keeps the prefix.
		const path = url.pathname.replace(/^\/mj-(?:fast|relax|turbo)\/mj\//, "/mj/");
		if (path.startsWith("/mj/submit/") || path === "/mj/insight-face/swap") return this.submit(call);
		if (/^\/mj\/task\/[^/]+\/cancel$/.test(path)) return this.cancel(call);
		const seedMatch = /^\/mj\/task\/([^/]+)\/image-seed$/.exec(path);
		if (seedMatch) return jsonResponse({ code: 1, description: "Success", result: `seed-of-${seedMatch[1]}` });
		const fetchMatch = /^\/mj\/task\/([^/]+)\/fetch$/.exec(url.pathname);
		if (fetchMatch) {
			if (this.taskFetch) return this.taskFetch(call);
			const task = this.tasks.get(decodeURIComponent(fetchMatch[1]));
			return task ? jsonResponse(task) : new Response("null", { status: 404 });
		}
		if (url.pathname === "/mj/task/list-by-condition") {
			const ids = (call.body as { ids: string[] }).ids;
			return jsonResponse(ids.flatMap((id) => (this.tasks.has(id) ? [this.tasks.get(id)] : [])));
		}
		if (url.pathname.startsWith("/img/")) {
			// A PNG's first bytes (signature, IHDR chunk): the gateway judges a result by them.
			const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 1, 2, 3, 4]);
			return new Response(png, { headers: { "content-type": "image/png", "content-length": String(png.length) } });
		}
		return new Response("not found", { status: 404 });
	};

	submitCalls(): RecordedCall[] {
		return this.calls.filter((c) => /\/mj\/(?:submit\/|insight-face\/)/.test(c.path));
	}
}

/**
 * Makes the fake the only enabled channel of this test file's database (each test file
 * has its own storage) and returns its id.
 */
export async function useFakeChannelOnly(): Promise<number> {
	const now = Date.now();
	await ensureSimulatorChannel(db(), env, Date.now());
	await env.DB.prepare("UPDATE channels SET enabled = 0").run();
	const row = await db()
		.insert(channels)
		.values({
			name: `fake-${now}`,
			baseUrl: FAKE_ORIGIN,
			secret: "fake-secret",
			weight: 1,
			enabled: true,
			createdAt: now,
			updatedAt: now,
		})
		.returning({ id: channels.id })
		.get();
	return row.id;
}
