/**
 * The owner check on every path that reads a task by its id, for a task read from D1: a live task
 * (never cached) and a finished one nobody has read yet, beside one the owner's read put into the
 * isolate's cache (src/db/settled-tasks.ts). Another user's id answers exactly like an unknown id
 * (same status, same body but for the id), and changes nothing of the owner's task. The paths are
 * the callers of findUserTask / findSettledOrLiveTask(s) in src/ plus the lists filtered by task.
 */
import { env } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { NewTaskRow, TaskRow } from "../../src/db/schema";
import { settledTaskCache } from "../../src/db/settled-tasks";
import { recordDelivery } from "../../src/db/webhooks";
import { issueTicket } from "../../src/live/ticket";
import { ensureSimulatorChannel } from "../../src/upstream/channels";
import { call, tokenFor, uniqueSub } from "../helpers/api";
import { db, insertTaskRow, taskRow, userId } from "../helpers/db";

interface Who {
	token: string;
	id: number;
}

async function signedIn(prefix: string): Promise<Who> {
	const sub = uniqueSub(prefix);
	const token = await tokenFor(sub);
	await call("/api/user/self", { token });
	return { token, id: await userId(sub) };
}

const UPSCALE = "MJ::JOB::upsample::1::0a1b2c3d-0000-4000-8000-000000000001";

const SETTLED: Partial<NewTaskRow> = {
	status: "SUCCESS",
	progress: "100%",
	upstreamImageUrl: "https://cdn.example/secret-grid.png",
	imageKey: "images/secret-grid",
	imageType: "image/png",
	finishTime: 1_700_000_000_000,
	buttons: JSON.stringify([{ customId: UPSCALE, label: "U1" }]),
};

const HOOK = "ftp://client.test/owner-hook";

type Variant = "live" | "settled, read from D1" | "settled, cached by its owner";
const VARIANTS: Variant[] = ["live", "settled, read from D1", "settled, cached by its owner"];

let owner: Who;
let other: Who;
let channelId: number;

beforeAll(async () => {
	// The simulator is the upstream: what an owner's request sends on (a seed, a follow-up) ends there.
	await ensureSimulatorChannel(db(), env, Date.now());
	const channel = await env.DB.prepare("SELECT id FROM channels WHERE enabled = 1 ORDER BY id LIMIT 1").first<{
		id: number;
	}>();
	if (!channel) throw new Error("no simulator channel");
	channelId = channel.id;
	owner = await signedIn("owner");
	other = await signedIn("other");
});

beforeEach(() => settledTaskCache.clear());

/** The owner's task in the given state; the prompt marks what must never reach another user. */
async function ownersTask(variant: Variant): Promise<TaskRow> {
	const row = await insertTaskRow({
		userId: owner.id,
		prompt: "the owner's secret prompt",
		// Not http(s): a redelivery the owner asks for is dropped at once, not retried against the network.
		notifyHook: HOOK,
		upstreamId: `up-${crypto.randomUUID()}`,
		channelId,
		...(variant === "live" ? { status: "IN_PROGRESS", progress: "40%" } : SETTLED),
	});
	// One callback attempt, so the delivery log has something of the task's to show (or not).
	await recordDelivery(db(), {
		eventId: eventIdOf(row.publicId),
		taskId: row.publicId,
		userId: owner.id,
		url: HOOK,
		manual: false,
		httpStatus: 500,
		error: "HTTP 500",
		durationMs: 3,
		outcome: "failed",
		nextTryAt: null,
		createdAt: Date.now(),
		event: JSON.stringify({ status: row.status, seq: 1, at: Date.now() }),
	});
	if (variant === "settled, cached by its owner") {
		const read = await call(`/api/v1/task/fetch?_id=${row.publicId}`, { token: owner.token });
		expect(read.status).toBe(200);
		expect(settledTaskCache.has(row.publicId)).toBe(true);
	} else {
		expect(settledTaskCache.has(row.publicId)).toBe(false);
	}
	return row;
}

/** The callback event id the test gives a task's delivery (a valid id with the task's id in it). */
const eventIdOf = (publicId: string) => `msg_${publicId.replaceAll("-", "_")}`;

interface ReadPath {
	name: string;
	request: (id: string, who: Who) => Promise<Response>;
}

const bearer = (who: Who) => ({ authorization: `Bearer ${who.token}` });
const secret = (who: Who) => ({ "mj-api-secret": who.token });
const postJson = (path: string, headers: Record<string, string>, body: unknown) =>
	call(path, {
		method: "POST",
		headers: { ...headers, "content-type": "application/json" },
		body: JSON.stringify(body),
	});

const READ_PATHS: ReadPath[] = [
	{ name: "seed 002 task/fetch", request: (id, who) => call(`/api/v1/task/fetch?_id=${id}`, { headers: bearer(who) }) },
	{ name: "proxy task/{id}/fetch", request: (id, who) => call(`/mj/task/${id}/fetch`, { headers: secret(who) }) },
	{
		name: "proxy task/list-by-condition",
		request: (id, who) => postJson("/mj/task/list-by-condition", secret(who), { ids: [id] }),
	},
	{
		name: "proxy task/list-by-ids",
		request: (id, who) => postJson("/mj/task/list-by-ids", secret(who), { ids: [id] }),
	},
	{
		name: "proxy task/{id}/image-seed",
		request: (id, who) => call(`/mj/task/${id}/image-seed`, { headers: secret(who) }),
	},
	{ name: "proxy task/{id}/cancel", request: (id, who) => postJson(`/mj/task/${id}/cancel`, secret(who), {}) },
	{
		name: "proxy submit/modal",
		request: (id, who) => postJson("/mj/submit/modal", secret(who), { taskId: id, prompt: "--zoom 1.8" }),
	},
	{
		name: "proxy submit/action (the parent)",
		request: (id, who) => postJson("/mj/submit/action", secret(who), { taskId: id, customId: UPSCALE }),
	},
	{
		name: "proxy submit/simple-change (the parent)",
		request: (id, who) => postJson("/mj/submit/simple-change", secret(who), { content: `${id} U1` }),
	},
	{
		name: "seed 001 list by mj_id",
		request: (id, who) => call(`/api/mj/self?mj_id=${id}`, { headers: bearer(who) }),
	},
	{
		name: "deliveries by task_id",
		request: (id, who) => call(`/api/user/deliveries?task_id=${id}`, { headers: bearer(who) }),
	},
	{
		name: "redeliver a task's callback event",
		request: (id, who) => postJson(`/api/user/deliveries/${eventIdOf(id)}/redeliver`, bearer(who), {}),
	},
	{
		name: "stream ticket for a task",
		request: (id, who) => postJson("/api/user/stream-ticket", bearer(who), { task_id: id }),
	},
	{
		// A ticket made for this user and task (as if the check at issue had let it through).
		name: "task stream",
		request: async (id, who) => {
			const { ticket } = await issueTicket(env, { userId: who.id, taskId: id }, Date.now());
			return call(`/api/user/tasks/${id}/stream?ticket=${encodeURIComponent(ticket)}`, {
				headers: { upgrade: "websocket" },
			});
		},
	},
];

/** A stream's first message (its snapshot): what the stream shows of the task. */
async function firstMessage(socket: WebSocket): Promise<string> {
	const first = new Promise<string>((resolve, reject) => {
		socket.addEventListener("message", (event) => resolve(`(websocket) ${String(event.data)}`), { once: true });
		setTimeout(() => reject(new Error("no snapshot on the stream")), 5_000);
	});
	socket.accept();
	try {
		return await first;
	} finally {
		socket.close();
	}
}

/** Status and body, with the asked id replaced so two answers compare. */
async function answer(response: Response, id: string): Promise<{ status: number; body: string }> {
	const text = response.webSocket ? await firstMessage(response.webSocket) : await response.text();
	return {
		status: response.status,
		body: text.replaceAll(id, "<id>").replaceAll(eventIdOf(id), "<event>"),
	};
}

/** What the owner's task looks like in D1, but for what a read may touch. */
const fingerprint = (row: TaskRow) => ({ status: row.status, progress: row.progress, options: row.options });

describe("another user's task answers exactly like an unknown id", () => {
	for (const path of READ_PATHS) {
		describe(path.name, () => {
			for (const variant of VARIANTS) {
				it(variant, async () => {
					const task = await ownersTask(variant);
					const before = fingerprint(await taskRow(task.publicId));
					const unknown = crypto.randomUUID();
					const foreign = await answer(await path.request(task.publicId, other), task.publicId);
					const missing = await answer(await path.request(unknown, other), unknown);
					expect(foreign).toEqual(missing);
					expect(foreign.body).not.toContain("secret");
					expect(fingerprint(await taskRow(task.publicId))).toEqual(before);
				});
			}
			it("while its owner is answered", async () => {
				const task = await ownersTask("settled, read from D1");
				const unknown = crypto.randomUUID();
				const own = await answer(await path.request(task.publicId, owner), task.publicId);
				const missing = await answer(await path.request(unknown, owner), unknown);
				expect(own).not.toEqual(missing);
			});
		});
	}
});

describe("lists hold only the caller's tasks", () => {
	// (seed 001's list pages on user_seq, which rows inserted here do not follow: its mj_id filter is above.)
	it("seed 002 task/list, proxy task/list and task/queue", async () => {
		const live = await ownersTask("live");
		const settled = await ownersTask("settled, read from D1");
		const lists = [
			(who: Who) => call("/api/v1/task/list?limit=100", { headers: bearer(who) }),
			(who: Who) => call("/mj/task/list?limit=100", { headers: secret(who) }),
			(who: Who) => call("/mj/task/queue", { headers: secret(who) }),
		];
		for (const [i, list] of lists.entries()) {
			const mine = await (await list(owner)).text();
			const theirs = await (await list(other)).text();
			expect(mine, `list ${i}`).toContain(live.publicId);
			expect(theirs, `list ${i}`).not.toContain(live.publicId);
			expect(theirs, `list ${i}`).not.toContain(settled.publicId);
		}
	});

	it("the album page does not show another user's album picture", async () => {
		const seq = 1;
		const row = await insertTaskRow({ userId: owner.id, albumSeq: seq, action: "SWAP_FACE", ...SETTLED });
		await env.DB.prepare("UPDATE users SET album_count = ? WHERE id IN (?, ?)").bind(seq, owner.id, other.id).run();
		const page = async (who: Who) => {
			const response = await postJson("/userAlbum", bearer(who), { page: 1, pageSize: 20 });
			expect(response.status).toBe(200);
			return response.text();
		};
		expect(await page(owner)).toContain(row.publicId);
		expect(await page(other)).not.toContain(row.publicId);
	});
});
