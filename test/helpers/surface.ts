/** Helpers for the seed-002 surface tests: submitting, fetching, waiting, reading D1. */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Seed002Task } from "../../src/tasks/views/seed002";
import { BASE, call, json, waitFor } from "./api";
import { realFetch, useFetch } from "./deps";

export type { Seed002Task };

/** The seventeen fields of a task in the seed's fetch / list answer, in the seed's order. */
export const SEED002_KEYS = [
	"_id",
	"index",
	"action",
	"prompt",
	"promptEn",
	"taskId",
	"uri",
	"hash",
	"content",
	"progress",
	"description",
	"submitTime",
	"finishTime",
	"state",
	"notifyHook",
	"imageUrl",
	"status",
] as const;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Where the gateway's signed image links point. */
export const IMAGE_PREFIX = `${BASE}/mj/image/`;

/** GET /api/v1/trigger/submit with the params in the query string. */
export function submitGet(token: string, params: Record<string, string>): Promise<Response> {
	return call(`/api/v1/trigger/submit?${new URLSearchParams(params)}`, { token });
}

/** Submits and returns the new task's `_id`, asserting the seed's success answer. */
export async function submitOk(token: string, params: Record<string, string>): Promise<string> {
	const response = await submitGet(token, params);
	const body = await json<{ code: number; description: string; result: string }>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	expect(body.code, body.description).toBe(1);
	return body.result;
}

export function imagine(token: string, prompt: string, extra: Record<string, string> = {}): Promise<string> {
	return submitOk(token, { action: "IMAGINE", prompt, ...extra });
}

export async function fetchTask(token: string, id: string): Promise<Seed002Task> {
	const response = await call(`/api/v1/task/fetch?_id=${encodeURIComponent(id)}`, { token });
	const body = await json<Seed002Task>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	return body;
}

/** Final from a client's view: FAILURE, or SUCCESS with the gateway's own image link. */
export function isSettled(task: Seed002Task): boolean {
	return task.status === "FAILURE" || (task.status === "SUCCESS" && task.imageUrl.startsWith(IMAGE_PREFIX));
}

export function waitForSettled(token: string, id: string, timeoutMs = 15_000): Promise<Seed002Task> {
	return waitFor(
		async () => {
			const task = await fetchTask(token, id);
			if (!isSettled(task)) return undefined;
			// The link exists from the moment of success; settled also means the R2 copy is made.
			if (task.status === "SUCCESS" && !(await env.IMAGES.head(`images/${id}`))) return undefined;
			return task;
		},
		timeoutMs,
		`task ${id} to settle`,
	);
}

/** Imagines and waits for SUCCESS with the image copied. */
export async function finishedImagine(token: string, prompt: string, extra: Record<string, string> = {}) {
	const task = await waitForSettled(token, await imagine(token, prompt, extra));
	expect(task.status).toBe("SUCCESS");
	return task;
}

/** How many task rows D1 holds for the user with this token `sub`. */
export async function taskRowCount(sub: string): Promise<number> {
	const row = await env.DB.prepare(
		"SELECT count(*) AS n FROM tasks WHERE user_id = (SELECT id FROM users WHERE sub = ?)",
	)
		.bind(sub)
		.first<{ n: number }>();
	return row?.n ?? 0;
}

export interface SeenRequest {
	url: string;
	method: string;
	body: string;
}

/**
 * Client callbacks go to the network; answer the ones for these hosts in-process (204) so
 * tests never reach out. Other URLs pass through. Returns the requests seen (bodies are read
 * at once: they belong to the Durable Object or queue consumer that sent them).
 */
export function stubHookHosts(hosts: string[]): SeenRequest[] {
	const seen: SeenRequest[] = [];
	useFetch(async (input, init) => {
		const request = new Request(input, init);
		if (hosts.includes(new URL(request.url).hostname)) {
			seen.push({ url: request.url, method: request.method, body: await request.text() });
			return new Response(null, { status: 204 });
		}
		return realFetch(input, init);
	});
	return seen;
}
