/** Discord channels on the fake Discord, added through the admin API as an operator would. */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { findChannel } from "../../src/db/channels";
import { ensureSimulatorChannel } from "../../src/upstream/channels";
import { call, json, tokenFor, uniqueSub, waitFor } from "./api";
import { db, taskRow } from "./db";
import { FAKE, fakeState, freshToken } from "./fake-discord";
import { type ProxyTask, proxyTask } from "./proxy";

export const GUILD = "1111111111111111111";
export const CHANNEL = "2222222222222222222";

export async function admin(path: string, init: RequestInit = {}): Promise<Response> {
	return call(`/api/admin/channels${path}`, {
		...init,
		token: await tokenFor(uniqueSub("admin"), "admin"),
		headers: { "content-type": "application/json" },
	});
}

export async function channelView(id: number): Promise<Record<string, unknown>> {
	const list = await json<{ data: Record<string, unknown>[] }>(await admin(""));
	return list.data.find((channel) => channel.id === id) ?? {};
}

/** Every other channel off, so that new tasks can only go to the ones a test adds. */
export async function onlyNewChannels(): Promise<void> {
	await ensureSimulatorChannel(db(), env, Date.now());
	await env.DB.prepare("UPDATE channels SET enabled = 0").run();
}

/** A discord channel on the fake with a token of its own, once its gateway is connected. */
export async function connectedAccount(
	options: { weight?: number; discord?: Record<string, unknown>; token?: string } = {},
): Promise<{ id: number; token: string }> {
	const token = options.token ?? freshToken();
	const response = await admin("", {
		method: "POST",
		body: JSON.stringify({
			name: `acct-${uniqueSub()}`,
			kind: "discord",
			secret: token,
			weight: options.weight ?? 0,
			discord: { guild_id: GUILD, channel_id: CHANNEL, api_base: FAKE, activity_base: FAKE, ...options.discord },
		}),
	});
	expect(response.status).toBe(201);
	const { data } = await json<{ data: { id: number } }>(response);
	await waitFor(async () => (await channelView(data.id)).connection === "connected", 10_000, "connected");
	return { id: data.id, token };
}

/** How long a task on the fake Discord may take to end (a few seconds each; a loaded machine is slower). */
export const TASK_TIMEOUT = 40_000;

/** A new user's token; its first call creates the user. */
export async function newUser(prefix = "discord"): Promise<string> {
	const token = await tokenFor(uniqueSub(prefix));
	await call("/api/user/self", { token });
	return token;
}

/** The task once it ended (SUCCESS, FAILURE or CANCEL). */
export async function ended(token: string, id: string): Promise<ProxyTask> {
	return waitFor(
		async () => {
			const task = await proxyTask(token, id);
			return ["SUCCESS", "FAILURE", "CANCEL"].includes(task.status) && task;
		},
		TASK_TIMEOUT,
		`task ${id} to end`,
	);
}

/** The task once it ended, which must be SUCCESS (the failure's reason in the message otherwise). */
export async function succeeded(token: string, id: string): Promise<ProxyTask> {
	const task = await ended(token, id);
	expect(task.status, `${task.action} ${id}: ${task.failReason}`).toBe("SUCCESS");
	return task;
}

/** The gateway's copy of the result: served from R2 once the task object copied it. */
export async function servedFromR2(task: ProxyTask, kind: "image" | "video" = "image"): Promise<Uint8Array> {
	const url = kind === "image" ? task.imageUrl : task.videoUrl;
	expect(url.startsWith(`http://gateway.test/mj/${kind}/${task.id}`), url).toBe(true);
	await waitFor(
		async () => {
			const row = await taskRow(task.id);
			return kind === "image" ? row.imageKey : JSON.parse(row.videoKeys).length > 0;
		},
		TASK_TIMEOUT,
		`the ${kind} copy of ${task.id}`,
	);
	const response = await call(url.replace("http://gateway.test", ""));
	expect(response.status).toBe(200);
	return new Uint8Array(await response.arrayBuffer());
}

export const isPng = (bytes: Uint8Array) =>
	bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;

/** The channel's row once it was taken out (disabled), with its reason. */
export async function disabledChannel(id: number, ms = 8000) {
	return waitFor(
		async () => {
			const row = await findChannel(db(), id);
			return row && !row.enabled && row;
		},
		ms,
		`channel ${id} disabled`,
	);
}

/** What the fake Discord's gateway saw of an account's connections. */
export interface GatewaySeen {
	connected: boolean;
	session_id: string | null;
	identifies: number;
	resumes: number;
	heartbeats: number;
	acks: number;
	connections: number;
}

export const gatewaySeen = async (token: string) => (await fakeState(token)) as unknown as GatewaySeen;

/** What the fake's gateway saw once `check` holds (after a fault, say). */
export async function gatewayUntil(
	token: string,
	check: (seen: GatewaySeen) => boolean,
	ms: number,
	what: string,
): Promise<GatewaySeen> {
	return waitFor(
		async () => {
			const seen = await gatewaySeen(token);
			return check(seen) && seen;
		},
		ms,
		what,
	);
}

/** Connected again on a resumed session. */
export const resumed = (seen: GatewaySeen) => seen.resumes >= 1 && seen.connected;
