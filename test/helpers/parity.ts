/** Helpers for the tests of the newest servers' endpoints and fields: finished tasks and what reached the simulator. */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { SIMULATOR_SECRET } from "../../src/upstream/fetcher";
import { png } from "./album";
import { call, json, tokenFor, uniqueSub, waitFor } from "./api";
import { taskRow } from "./db";
import { dataUrl, type ProxyTask, proxyPost, proxyTask, reply } from "./proxy";

export const TIMEOUT = 25_000;

export async function newUser(prefix = "parity"): Promise<string> {
	const token = await tokenFor(uniqueSub(prefix));
	await call("/api/user/self", { token });
	return token;
}

/** The task once it ended (any end). */
export async function ended(token: string, id: string, prefix = "/mj"): Promise<ProxyTask> {
	return waitFor(
		async () => {
			const task = await proxyTask(token, id, prefix);
			return ["SUCCESS", "FAILURE", "CANCEL"].includes(task.status) ? task : undefined;
		},
		TIMEOUT,
		`task ${id} to end`,
	);
}

export async function succeeded(token: string, id: string, prefix = "/mj"): Promise<ProxyTask> {
	const task = await ended(token, id, prefix);
	expect(task.status, `${task.action} ${id}: ${task.failReason}`).toBe("SUCCESS");
	return task;
}

/** An accepted submit's task id: code 1, or 22 when the user already has tasks running. */
export async function accepted(response: Response, codes: number[] = [1, 22]): Promise<string> {
	const answer = await reply(response);
	expect(codes, answer.description).toContain(answer.code);
	expect(typeof answer.result).toBe("string");
	return answer.result as string;
}

/** The task as the simulator (the upstream) holds it, by the gateway task's upstream id. */
export async function upstreamTask(
	publicId: string,
): Promise<Record<string, unknown> & { properties: Record<string, unknown> }> {
	const { upstreamId } = await taskRow(publicId);
	expect(upstreamId, `task ${publicId} never reached the upstream`).toBeTruthy();
	const response = await env.SIMULATOR.fetch(`${env.SIMULATOR_URL}/mj/task/${upstreamId}/fetch`, {
		headers: { "mj-api-secret": SIMULATOR_SECRET },
	});
	expect(response.status).toBe(200);
	return json(response);
}

/** What the simulator says the request carried (its `properties.request`). */
export async function upstreamRequest(publicId: string): Promise<Record<string, unknown>> {
	return (await upstreamTask(publicId)).properties.request as Record<string, unknown>;
}

export async function picture(seed = 1): Promise<string> {
	return dataUrl(await png(8, 8, seed));
}

/** A finished IMAGINE (a grid with U/V buttons). */
export async function finishedGrid(token: string, prompt = "a parity grid"): Promise<ProxyTask> {
	return succeeded(token, await accepted(await proxyPost("/mj/submit/imagine", token, { prompt })));
}

export function buttonOf(task: ProxyTask, prefix: string): string {
	const button = task.buttons.find((b) => b.customId.startsWith(prefix));
	expect(button, `${task.id} has no ${prefix} button`).toBeDefined();
	return button?.customId ?? "";
}

/** The bytes of an MP4 as far as any check looks: an `ftyp` box first. */
export function mp4Bytes(size = 64): Uint8Array {
	const bytes = new Uint8Array(size);
	bytes.set([0, 0, 0, 24], 0);
	bytes.set(new TextEncoder().encode("ftypisom"), 4);
	return bytes;
}
