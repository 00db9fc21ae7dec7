/** Helpers for the midjourney-proxy surface tests: submits, replies, task objects. */
import { expect } from "vitest";
import type { ProxyTask } from "../../src/tasks/views/proxy";
import { call, json } from "./api";

export type { ProxyTask };

export interface Reply {
	code: number;
	description: string;
	result?: unknown;
	properties?: Record<string, unknown>;
}

/**
 * The keys of the task object, as shared/UPSTREAM.md lists them, plus what trueai-org's servers
 * show (`mode`, `parentId`, `instanceId`, `seed`, `width`, `height`).
 */
export const PROXY_TASK_KEYS = [
	"id",
	"action",
	"customId",
	"botType",
	"prompt",
	"promptEn",
	"description",
	"state",
	"mode",
	"parentId",
	"instanceId",
	"seed",
	"width",
	"height",
	"submitTime",
	"startTime",
	"finishTime",
	"imageUrl",
	"imageUrls",
	"videoUrl",
	"videoUrls",
	"status",
	"progress",
	"failReason",
	"buttons",
	"properties",
].sort();

/** POST a JSON body to the proxy surface with the secret in `mj-api-secret`, as its clients send it. */
export function proxyPost(path: string, secret: string, body: unknown): Promise<Response> {
	return call(path, {
		method: "POST",
		headers: { "mj-api-secret": secret, "content-type": "application/json" },
		body: JSON.stringify(body),
	});
}

export function proxyGet(path: string, secret: string): Promise<Response> {
	return call(path, { headers: { "mj-api-secret": secret } });
}

/** A submit's reply, asserting its HTTP status. */
export async function reply(response: Response, status = 200): Promise<Reply> {
	const body = await json<Reply>(response);
	expect(response.status, JSON.stringify(body)).toBe(status);
	return body;
}

/** Submits and returns the new task's id, asserting code 1 (or the given accepted code). */
export async function submitted(response: Response, code = 1): Promise<string> {
	const body = await reply(response);
	expect(body.code, body.description).toBe(code);
	expect(typeof body.result).toBe("string");
	return body.result as string;
}

export async function proxyTask(secret: string, id: string, prefix = "/mj"): Promise<ProxyTask> {
	const response = await proxyGet(`${prefix}/task/${id}/fetch`, secret);
	const body = await json<ProxyTask>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	return body;
}

/** A picture as the protocol carries it inline. */
export function dataUrl(bytes: Uint8Array, type = "image/png"): string {
	let binary = "";
	for (const b of bytes) binary += String.fromCharCode(b);
	return `data:${type};base64,${btoa(binary)}`;
}
