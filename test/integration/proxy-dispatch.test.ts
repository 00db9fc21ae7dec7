/**
 * The midjourney-proxy surface against a programmable upstream: what each submit endpoint sends
 * upstream (path, speed-mode prefix, body), the reply codes the gateway answers itself, the modal
 * two-step flow, cancel and its refund, list-by-condition, image-seed, and API keys.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_PRICES } from "../../src/tasks/pricing";
import { taskObject } from "../../src/tasks/task-object-stub";
import { png } from "../helpers/album";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, taskRow, userId } from "../helpers/db";
import { resetDeps, useFetch } from "../helpers/deps";
import { FakeUpstream, jsonResponse, type RecordedCall, useFakeChannelOnly } from "../helpers/fake-upstream";
import { dataUrl, PROXY_TASK_KEYS, proxyGet, proxyPost, proxyTask, reply, submitted } from "../helpers/proxy";

let channelId: number;
let upstream: FakeUpstream;
let upstreamSeq = 0;

beforeAll(async () => {
	channelId = await useFakeChannelOnly();
});

beforeEach(async () => {
	await env.DB.prepare("UPDATE channels SET enabled = 1, failure_count = 0, disabled_reason = '' WHERE id = ?")
		.bind(channelId)
		.run();
	upstream = new FakeUpstream();
	upstream.submit = () => jsonResponse({ code: 1, description: "Success", result: `77${++upstreamSeq}` });
	// The real queue's consumer reads the runtime's Deps: point their fetch at the fake, so nothing leaves the test.
	useFetch(upstream.fetch);
});

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

async function user(): Promise<{ sub: string; token: string; id: number }> {
	const sub = uniqueSub("proxy");
	const token = await tokenFor(sub);
	// The first authenticated call creates the user with NEW_USER_QUOTA.
	await call("/api/user/self", { token });
	return { sub, token, id: await userId(sub) };
}

async function quotaOf(sub: string): Promise<number> {
	const row = await env.DB.prepare("SELECT quota FROM users WHERE sub = ?").bind(sub).first<{ quota: number }>();
	return row?.quota ?? Number.NaN;
}

async function taskCount(id: number): Promise<number> {
	const row = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?").bind(id).first<{ n: number }>();
	return row?.n ?? 0;
}

/** Waits until the fake upstream got a submit call on `path` (the consumer runs on the real queue). */
function upstreamCall(path: string, count = 1): Promise<RecordedCall[]> {
	return waitFor(
		async () => {
			const calls = upstream.calls.filter((c) => c.path === path);
			return calls.length >= count ? calls : undefined;
		},
		10_000,
		`an upstream call to ${path}`,
	);
}

function waitForStatus(secret: string, id: string, status: string) {
	return waitFor(
		async () => {
			const task = await proxyTask(secret, id);
			return task.status === status ? task : undefined;
		},
		10_000,
		`task ${id} in ${status}`,
	);
}

/** A finished grid task of the user on the fake channel, with the buttons real Midjourney shows. */
async function finishedGrid(owner: number, extraButtons: string[] = []) {
	const hash = crypto.randomUUID();
	const buttons = [
		...[1, 2, 3, 4].map((n) => ({
			customId: `MJ::JOB::upsample::${n}::${hash}`,
			label: `U${n}`,
			emoji: "",
			type: 2,
			style: 2,
		})),
		{ customId: `MJ::JOB::reroll::0::${hash}::SOLO`, label: "", emoji: "🔄", type: 2, style: 2 },
		...[1, 2, 3, 4].map((n) => ({
			customId: `MJ::JOB::variation::${n}::${hash}`,
			label: `V${n}`,
			emoji: "",
			type: 2,
			style: 2,
		})),
		...extraButtons.map((customId) => ({ customId, label: "", emoji: "", type: 2, style: 2 })),
	];
	return insertTaskRow({
		userId: owner,
		status: "SUCCESS",
		progress: "100%",
		upstreamId: `parent-${++upstreamSeq}`,
		channelId,
		buttons: JSON.stringify(buttons),
		prompt: "a lighthouse at dusk",
		finishTime: Date.now(),
	});
}

describe("each submit endpoint reaches the upstream with its body", () => {
	it("imagine carries the prompt, the reference images as data URLs, botType, the gateway's hook and state", async () => {
		const { token } = await user();
		const picture = dataUrl(await png(8, 8, 3));
		const id = await submitted(
			await proxyPost("/mj/submit/imagine", token, {
				prompt: "a red fox",
				base64Array: [picture],
				botType: "NIJI_JOURNEY",
				state: "mine",
			}),
		);
		const [sent] = await upstreamCall("/mj/submit/imagine");
		const body = sent.body as Record<string, unknown>;
		expect(body.prompt).toBe("a red fox");
		expect(body.botType).toBe("NIJI_JOURNEY");
		expect(body.base64Array).toEqual([picture]);
		// The upstream posts progress to the gateway's own signed URL, and `state` names the gateway task.
		expect(body.notifyHook).toMatch(new RegExp(`^http://gateway\\.test/mj/callback/${id}\\?sig=`));
		expect(body.state).toBe(id);
		const task = await waitForStatus(token, id, "SUBMITTED");
		expect(Object.keys(task).sort()).toEqual(PROXY_TASK_KEYS);
		expect(task).toMatchObject({
			id,
			action: "IMAGINE",
			botType: "NIJI_JOURNEY",
			state: "mine",
			mode: "",
			prompt: "a red fox",
		});
		// The input is kept in R2 under the task, not in D1.
		const inputs = JSON.parse((await taskRow(id)).inputs) as string[];
		expect(inputs).toEqual([`inputs/${id}/0.png`]);
		expect(await env.IMAGES.head(inputs[0])).not.toBeNull();
	});

	it("describe, blend, shorten, edits, video and face swap each call their own endpoint", async () => {
		const { token, id: owner } = await user();
		const [a, b] = [dataUrl(await png(4, 4, 1)), dataUrl(await png(4, 4, 2))];
		const cases: [string, unknown, string, (body: Record<string, unknown>) => void][] = [
			["/mj/submit/describe", { base64: a }, "/mj/submit/describe", (body) => expect(body.base64).toBe(a)],
			[
				"/mj/submit/blend",
				{ base64Array: [a, b], dimensions: "PORTRAIT" },
				"/mj/submit/blend",
				(body) => expect(body).toMatchObject({ base64Array: [a, b], dimensions: "PORTRAIT" }),
			],
			[
				"/mj/submit/shorten",
				{ prompt: "a very long prompt" },
				"/mj/submit/shorten",
				(body) => expect(body.prompt).toBe("a very long prompt"),
			],
			[
				"/mj/submit/edits",
				{ prompt: "make it blue", image: a },
				"/mj/submit/edits",
				(body) => expect(body).toMatchObject({ prompt: "make it blue", image: a }),
			],
			[
				"/mj/submit/video",
				{ prompt: "waves", image: b, motion: "high" },
				"/mj/submit/video",
				(body) => expect(body).toMatchObject({ prompt: "waves", image: b, motion: "high" }),
			],
			[
				"/mj/insight-face/swap",
				{ sourceBase64: a, targetBase64: b },
				"/mj/insight-face/swap",
				(body) => expect(body).toMatchObject({ sourceBase64: a, targetBase64: b }),
			],
		];
		const actions = ["DESCRIBE", "BLEND", "SHORTEN", "EDITS", "VIDEO", "SWAP_FACE"];
		for (const [index, [path, body, upstreamPath, check]] of cases.entries()) {
			// The fake never finishes a task: past three unfinished ones a user's submits answer 22.
			if (index === 3) await env.DB.prepare("UPDATE tasks SET status = 'SUCCESS' WHERE user_id = ?").bind(owner).run();
			const id = await submitted(await proxyPost(path, token, body));
			const [sent] = await upstreamCall(upstreamPath);
			check(sent.body as Record<string, unknown>);
			const task = await waitForStatus(token, id, "SUBMITTED");
			expect(task.action).toBe(actions[index]);
		}
	});

	it("the speed-mode prefix reaches the upstream and is stored on the task", async () => {
		const { token } = await user();
		for (const mode of ["fast", "relax", "turbo"]) {
			const id = await submitted(await proxyPost(`/mj-${mode}/mj/submit/imagine`, token, { prompt: `a ${mode} cat` }));
			const [sent] = await upstreamCall(`/mj-${mode}/mj/submit/imagine`);
			expect((sent.body as { prompt: string }).prompt).toBe(`a ${mode} cat`);
			const task = await waitForStatus(token, id, "SUBMITTED");
			expect(task.mode).toBe(mode);
			// The same task is visible under any prefix.
			expect((await proxyTask(token, id, "/mj-fast/mj")).id).toBe(id);
		}
	});
});

describe("follow-ups and buttons run on the parent's channel with the parent's upstream id", () => {
	it("change, simple-change and a pan button", async () => {
		const { token, id: owner } = await user();
		const parent = await finishedGrid(owner, [`MJ::JOB::pan_left::1::${crypto.randomUUID()}::SOLO`]);
		const up = await submitted(
			await proxyPost("/mj/submit/change", token, { taskId: parent.publicId, action: "UPSCALE", index: 2 }),
		);
		const [change] = await upstreamCall("/mj/submit/change");
		expect(change.body).toMatchObject({ taskId: parent.upstreamId, action: "UPSCALE", index: 2 });
		expect((await waitForStatus(token, up, "SUBMITTED")).action).toBe("UPSCALE");

		await submitted(await proxyPost("/mj/submit/simple-change", token, { content: `${parent.publicId} V3` }));
		const calls = await upstreamCall("/mj/submit/change", 2);
		expect(calls[1].body).toMatchObject({ taskId: parent.upstreamId, action: "VARIATION", index: 3 });

		const pan = JSON.parse(parent.buttons).at(-1).customId as string;
		const panId = await submitted(
			await proxyPost("/mj/submit/action", token, { taskId: parent.publicId, customId: pan }),
		);
		const [action] = await upstreamCall("/mj/submit/action");
		expect(action.body).toMatchObject({ taskId: parent.upstreamId, customId: pan });
		const task = await waitForStatus(token, panId, "SUBMITTED");
		expect(task).toMatchObject({ action: "PAN", customId: pan, prompt: "a lighthouse at dusk" });
		expect((await taskRow(panId)).channelId).toBe(channelId);
	});

	it("a customId the task never showed, or another user's task, is refused with code 4 / 3 and writes nothing", async () => {
		const { token, id: owner } = await user();
		const parent = await finishedGrid(owner);
		const before = await taskCount(owner);
		const foreign = await reply(
			await proxyPost("/mj/submit/action", token, { taskId: parent.publicId, customId: "MJ::JOB::upsample::9::nope" }),
			400,
		);
		expect(foreign.code).toBe(4);
		expect(foreign.description).toMatch(/no button/);
		const other = await user();
		const stranger = await reply(
			await proxyPost("/mj/submit/action", other.token, {
				taskId: parent.publicId,
				customId: JSON.parse(parent.buttons)[0].customId,
			}),
			400,
		);
		expect(stranger.code).toBe(3);
		expect(await taskCount(owner)).toBe(before);
		expect(await taskCount(other.id)).toBe(0);
	});
});

describe("the modal flow: code 21, MODAL, then /submit/modal", () => {
	it("custom zoom waits for its prompt, then sends the action and the modal step upstream", async () => {
		const { token, sub, id: owner } = await user();
		const zoom = `MJ::CustomZoom::${crypto.randomUUID()}`;
		const parent = await finishedGrid(owner, [zoom]);
		const quota = await quotaOf(sub);
		const first = await reply(await proxyPost("/mj/submit/action", token, { taskId: parent.publicId, customId: zoom }));
		expect(first.code).toBe(21);
		const id = first.result as string;
		const waiting = await proxyTask(token, id);
		expect(waiting).toMatchObject({ status: "MODAL", action: "CUSTOM_ZOOM", customId: zoom });
		expect(await quotaOf(sub)).toBe(quota - 100);
		// Nothing goes upstream before the second step.
		expect(upstream.calls.filter((c) => c.path === "/mj/submit/action")).toHaveLength(0);

		const noPrompt = await reply(await proxyPost("/mj/submit/modal", token, { taskId: id }), 400);
		expect(noPrompt.code).toBe(4);
		upstream.submit = (c) =>
			c.path === "/mj/submit/action"
				? jsonResponse({ code: 21, description: "Waiting for window confirm", result: "modal-up-1" })
				: jsonResponse({ code: 1, description: "Success", result: "modal-up-1" });
		expect((await reply(await proxyPost("/mj/submit/modal", token, { taskId: id, prompt: "--zoom 1.8" }))).code).toBe(
			1,
		);
		const [action] = await upstreamCall("/mj/submit/action");
		expect(action.body).toMatchObject({ taskId: parent.upstreamId, customId: zoom });
		const [modal] = await upstreamCall("/mj/submit/modal");
		expect(modal.body).toMatchObject({ taskId: "modal-up-1", prompt: "--zoom 1.8" });
		const running = await waitForStatus(token, id, "SUBMITTED");
		expect((await taskRow(running.id)).upstreamId).toBe("modal-up-1");
		// A second modal step for the same task is refused.
		expect(
			(await reply(await proxyPost("/mj/submit/modal", token, { taskId: id, prompt: "--zoom 2" }), 400)).code,
		).toBe(4);
	});

	it("vary region needs a mask, which goes upstream as maskBase64", async () => {
		const { token, id: owner } = await user();
		const inpaint = `MJ::Inpaint::1::${crypto.randomUUID()}::SOLO`;
		const parent = await finishedGrid(owner, [inpaint]);
		const id = await submitted(
			await proxyPost("/mj/submit/action", token, { taskId: parent.publicId, customId: inpaint }),
			21,
		);
		expect(
			(await reply(await proxyPost("/mj/submit/modal", token, { taskId: id, prompt: "a boat" }), 400)).description,
		).toMatch(/maskBase64/);
		const badMask = await reply(
			await proxyPost("/mj/submit/modal", token, { taskId: id, maskBase64: "bm90IGFuIGltYWdl" }),
			400,
		);
		expect(badMask.description).toMatch(/PNG, JPEG or WebP/);
		const mask = dataUrl(await png(4, 4, 9));
		await submitted(await proxyPost("/mj/submit/modal", token, { taskId: id, maskBase64: mask, prompt: "a boat" }));
		const [modal] = await upstreamCall("/mj/submit/modal");
		expect(modal.body).toMatchObject({ maskBase64: mask, prompt: "a boat" });
		expect((await proxyTask(token, id)).action).toBe("INPAINT");
	});
});

describe("reply codes the gateway answers itself", () => {
	it("22 past USER_CONCURRENCY unfinished tasks, 23 at USER_QUEUE_LIMIT with nothing written", async () => {
		const { token, id: owner } = await user();
		for (let i = 0; i < 3; i++) await insertTaskRow({ userId: owner, status: "IN_PROGRESS" });
		const queued = await reply(await proxyPost("/mj/submit/imagine", token, { prompt: "one more" }));
		expect(queued).toMatchObject({ code: 22, properties: { numberOfQueues: 1 } });
		expect(queued.description).toMatch(/1 task ahead/);
		for (let i = 0; i < 96; i++) await insertTaskRow({ userId: owner, status: "SUBMITTED" });
		const before = await taskCount(owner);
		const full = await reply(await proxyPost("/mj/submit/imagine", token, { prompt: "too many" }), 429);
		expect(full.code).toBe(23);
		expect(await taskCount(owner)).toBe(before);
	});

	it("a burst of submits never takes a user past USER_QUEUE_LIMIT; code 22 counts each task's own place", async () => {
		const { token, sub, id: owner } = await user();
		for (let i = 0; i < 45; i++) await insertTaskRow({ userId: owner, status: i % 2 ? "NOT_START" : "SUBMITTED" });
		const quota = await quotaOf(sub);
		const replies = await Promise.all(
			Array.from({ length: 59 }, async (_, i) => {
				const response = await proxyPost("/mj/submit/imagine", token, { prompt: `burst ${i}` });
				return {
					status: response.status,
					body: await json<{ code: number; properties: { numberOfQueues?: number } }>(response),
				};
			}),
		);
		const accepted = replies.filter((r) => r.status === 200);
		const refused = replies.filter((r) => r.status !== 200);
		// 100 - 45: nothing in this test finishes a task, so exactly that many fit.
		expect(accepted).toHaveLength(55);
		expect(refused.map((r) => [r.status, r.body.code])).toEqual(Array(4).fill([429, 23]));
		expect(accepted.every((r) => r.body.code === 22)).toBe(true);
		// Each accepted task saw the others written before it: places 43 … 97 (USER_CONCURRENCY 3), each once.
		const places = accepted.map((r) => r.body.properties.numberOfQueues ?? -1).sort((a, b) => a - b);
		expect(places).toEqual(Array.from({ length: 55 }, (_, i) => 43 + i));
		const unfinished = await env.DB.prepare(
			"SELECT count(*) AS n FROM tasks WHERE user_id = ? AND status IN ('NOT_START', 'SUBMITTED', 'IN_PROGRESS', 'MODAL')",
		)
			.bind(owner)
			.first<{ n: number }>();
		expect(unfinished?.n).toBe(100);
		// Only the accepted ones were charged.
		expect(await quotaOf(sub)).toBe(quota - 55 * DEFAULT_PRICES.IMAGINE);
		// Ended in D1, so their queued submits and polls stop without reaching for the upstream after this test.
		await env.DB.prepare("UPDATE tasks SET status = 'CANCEL' WHERE user_id = ?").bind(owner).run();
	});

	it("24 for a banned word, with bannedWord and promptEn, and nothing charged", async () => {
		const { token, sub, id: owner } = await user();
		const quota = await quotaOf(sub);
		const banned = await reply(await proxyPost("/mj/submit/imagine", token, { prompt: "a Forbiddenword cat" }), 400);
		expect(banned).toMatchObject({
			code: 24,
			properties: { bannedWord: "forbiddenword", promptEn: "a Forbiddenword cat" },
		});
		expect(await quotaOf(sub)).toBe(quota);
		expect(await taskCount(owner)).toBe(0);
	});

	it("3 for an unknown task, 4 for bad input, 9 when no channel can take the task", async () => {
		const { token, id: owner } = await user();
		expect(
			(await reply(await proxyPost("/mj/submit/change", token, { taskId: "nope", action: "UPSCALE", index: 1 }), 400))
				.code,
		).toBe(3);
		expect((await reply(await proxyGet("/mj/task/nope/fetch", token), 404)).code).toBe(3);
		for (const [path, body] of [
			["/mj/submit/imagine", {}],
			["/mj/submit/imagine", { prompt: "" }],
			["/mj/submit/imagine", { prompt: "x", base64Array: ["bm90IGFuIGltYWdl"] }],
			["/mj/submit/blend", { base64Array: [dataUrl(await png())] }],
			["/mj/submit/change", { taskId: "x", action: "ZOOM", index: 1 }],
			["/mj/submit/simple-change", { content: "nonsense" }],
			["/mj/submit/video", { prompt: "no image" }],
			["/mj/submit/describe", {}],
		] as const) {
			const refused = await reply(await proxyPost(path, token, body), 400);
			expect(refused.code, `${path} ${JSON.stringify(body)}`).toBe(4);
		}
		const notJson = await call("/mj/submit/imagine", {
			method: "POST",
			headers: { "mj-api-secret": token },
			body: "prompt=x",
		});
		expect((await reply(notJson, 400)).code).toBe(4);
		expect(await taskCount(owner)).toBe(0);
		await env.DB.prepare("UPDATE channels SET enabled = 0").run();
		try {
			const none = await reply(await proxyPost("/mj/submit/imagine", token, { prompt: "nowhere to go" }), 503);
			expect(none.code).toBe(9);
		} finally {
			await env.DB.prepare("UPDATE channels SET enabled = 1 WHERE id = ?").bind(channelId).run();
		}
		expect(await taskCount(owner)).toBe(0);
		// A refused request leaves no pictures behind either.
		expect((await env.IMAGES.list({ prefix: "inputs/" })).objects.every((o) => !o.key.includes("undefined"))).toBe(
			true,
		);
	});
});

describe("cancel", () => {
	it("before submit: CANCEL at once, refunded once however often it is cancelled", async () => {
		const { token, sub, id: owner } = await user();
		const before = await quotaOf(sub);
		const task = await insertTaskRow({ userId: owner, quota: 100, status: "NOT_START" });
		await env.DB.prepare("UPDATE users SET quota = quota - 100 WHERE id = ?").bind(owner).run();
		const answers = await Promise.all(
			[1, 2, 3].map(() => proxyPost(`/mj/task/${task.publicId}/cancel`, token, {}).then((r) => reply(r))),
		);
		expect(answers.map((a) => a.code)).toEqual([1, 1, 1]);
		const cancelled = await proxyTask(token, task.publicId);
		expect(cancelled.status).toBe("CANCEL");
		expect(cancelled.failReason).toBe("cancelled by the user");
		expect(await quotaOf(sub)).toBe(before);
		// Still once after another cancel.
		await reply(await proxyPost(`/mj/task/${task.publicId}/cancel`, token, {}));
		expect(await quotaOf(sub)).toBe(before);
	});

	it("after submit: the upstream's cancel is called; racing a failure still refunds once", async () => {
		const { token, sub, id: owner } = await user();
		const before = await quotaOf(sub);
		const task = await insertTaskRow({
			userId: owner,
			quota: 100,
			status: "SUBMITTED",
			upstreamId: "up-cancel-1",
			channelId,
		});
		await env.DB.prepare("UPDATE users SET quota = quota - 100 WHERE id = ?").bind(owner).run();
		const failure = taskObject(env, task.publicId).apply(task.publicId, { status: "FAILURE", failReason: "boom" });
		const [cancel] = await Promise.all([proxyPost(`/mj/task/${task.publicId}/cancel`, token, {}), failure]);
		const ended = await taskRow(task.publicId);
		expect(["CANCEL", "FAILURE"]).toContain(ended.status);
		expect(await quotaOf(sub)).toBe(before);
		if (ended.status === "CANCEL") {
			expect((await reply(cancel)).code).toBe(1);
			await waitFor(
				async () => upstream.calls.find((c) => c.path === "/mj/task/up-cancel-1/cancel"),
				5_000,
				"upstream cancel",
			);
		} else {
			expect((await reply(cancel, 409)).code).toBe(4);
		}
	});

	it("a finished task answers a clear error and keeps its status", async () => {
		const { token, id: owner } = await user();
		const done = await finishedGrid(owner);
		const refused = await reply(await proxyPost(`/mj/task/${done.publicId}/cancel`, token, {}), 409);
		expect(refused.code).toBe(4);
		expect(refused.description).toMatch(/already finished \(SUCCESS\)/);
		expect((await taskRow(done.publicId)).status).toBe("SUCCESS");
		expect((await reply(await proxyPost("/mj/task/unknown/cancel", token, {}), 404)).code).toBe(3);
	});
});

describe("queries", () => {
	it("list-by-condition answers only the caller's tasks, in the order asked, leaving out unknown and foreign ids", async () => {
		const me = await user();
		const other = await user();
		const [a, b] = [await finishedGrid(me.id), await finishedGrid(me.id)];
		const theirs = await finishedGrid(other.id);
		const response = await proxyPost("/mj/task/list-by-condition", me.token, {
			ids: [b.publicId, "unknown-id", theirs.publicId, a.publicId, b.publicId],
		});
		const tasks = await json<{ id: string }[]>(response);
		expect(response.status).toBe(200);
		expect(tasks.map((t) => t.id)).toEqual([b.publicId, a.publicId]);
	});

	it("task/list is newest first and bounded, task/queue holds only unfinished tasks", async () => {
		const { token, id: owner } = await user();
		const done = await finishedGrid(owner);
		const running = await insertTaskRow({ userId: owner, status: "IN_PROGRESS", submitTime: Date.now() + 10 });
		const list = await json<{ id: string }[]>(await proxyGet("/mj/task/list?limit=1", token));
		expect(list.map((t) => t.id)).toEqual([running.publicId]);
		const page = await proxyGet("/mj/task/list?limit=1", token);
		const cursor = page.headers.get("x-next-cursor");
		expect(cursor).toBeTruthy();
		const next = await json<{ id: string }[]>(await proxyGet(`/mj/task/list?limit=1&cursor=${cursor}`, token));
		expect(next.map((t) => t.id)).toEqual([done.publicId]);
		expect((await reply(await proxyGet("/mj/task/list?limit=1e2", token), 400)).code).toBe(4);
		const queue = await json<{ id: string; status: string }[]>(await proxyGet("/mj/task/queue", token));
		expect(queue.map((t) => t.id)).toEqual([running.publicId]);
	});

	it("task/list pages at most 100 tasks: 20 by default, a bigger limit is refused", async () => {
		const { token, id: owner } = await user();
		const start = Date.now();
		const rows = await env.DB.batch(
			Array.from({ length: 101 }, (_, i) =>
				env.DB.prepare(
					"INSERT INTO tasks (public_id, user_id, user_seq, action, prompt, status, progress, description, submit_time, updated_at) VALUES (?, ?, ?, 'IMAGINE', 'p', 'NOT_START', '0%', '/imagine p', ?, ?)",
				).bind(crypto.randomUUID(), owner, i + 1, start + i, start + i),
			),
		);
		expect(rows).toHaveLength(101);
		const full = await proxyGet("/mj/task/list?limit=100", token);
		expect(full.status).toBe(200);
		expect(await json<unknown[]>(full)).toHaveLength(100);
		const cursor = full.headers.get("x-next-cursor");
		expect(cursor).toBeTruthy();
		const rest = await proxyGet(`/mj/task/list?limit=100&cursor=${cursor}`, token);
		expect(await json<unknown[]>(rest)).toHaveLength(1);
		expect(rest.headers.get("x-next-cursor")).toBeNull();
		expect(await json<unknown[]>(await proxyGet("/mj/task/list", token))).toHaveLength(20);
		for (const limit of ["101", "1000", "0"]) {
			const refused = await reply(await proxyGet(`/mj/task/list?limit=${limit}`, token), 400);
			expect(refused.code, limit).toBe(4);
			expect(refused.description, limit).toMatch(/limit must be an integer from 1 to 100/);
		}
	});

	it("image-seed asks the task's upstream", async () => {
		const { token, id: owner } = await user();
		const done = await finishedGrid(owner);
		const seed = await reply(await proxyGet(`/mj/task/${done.publicId}/image-seed`, token));
		expect(seed).toMatchObject({ code: 1, result: `seed-of-${done.upstreamId}` });
		const running = await insertTaskRow({ userId: owner, status: "IN_PROGRESS" });
		expect((await reply(await proxyGet(`/mj/task/${running.publicId}/image-seed`, token), 400)).code).toBe(4);
	});

	it("upload-discord-images keeps the pictures in R2 and answers the gateway's own links", async () => {
		const { token } = await user();
		const picture = await png(6, 6, 4);
		const answer = await reply(
			await proxyPost("/mj/submit/upload-discord-images", token, { base64Array: [dataUrl(picture)] }),
		);
		expect(answer.code).toBe(1);
		const [url] = answer.result as string[];
		expect(url).toMatch(/^http:\/\/gateway\.test\/mj\/upload\/[0-9a-f-]{36}\.png\?sig=/);
		const served = await call(url.replace("http://gateway.test", ""));
		expect(served.status).toBe(200);
		expect(new Uint8Array(await served.arrayBuffer())).toEqual(picture);
		const forged = await call(url.replace("http://gateway.test", "").replace(/sig=.*/, "sig=AAAA"));
		expect(forged.status).toBe(403);
	});
});

describe("a client that only speaks the proxy protocol, with an API key", () => {
	it("creates a key once, then submits, fetches and lists with mj-api-secret: <key>", async () => {
		const { token } = await user();
		const created = await json<{ data: { key: string } }>(
			await call("/api/user/keys", {
				method: "POST",
				token,
				headers: { "content-type": "application/json" },
				body: JSON.stringify({ name: "bot" }),
			}),
		);
		const key = created.data.key;
		const id = await submitted(await proxyPost("/mj/submit/imagine", key, { prompt: "a key-driven cat" }));
		await upstreamCall("/mj/submit/imagine");
		expect((await waitForStatus(key, id, "SUBMITTED")).id).toBe(id);
		const listed = await json<{ id: string }[]>(await proxyPost("/mj/task/list-by-condition", key, { ids: [id] }));
		expect(listed.map((t) => t.id)).toEqual([id]);
		const bad = await reply(
			await proxyGet(`/mj/task/${id}/fetch`, "mjk_not-a-real-key-000000000000000000000000000"),
			401,
		);
		expect(bad.description).toMatch(/invalid API key/);
	});
});
