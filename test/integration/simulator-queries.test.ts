/**
 * The upstream simulator (simulator/) through the SIMULATOR binding: fetch, list-by-condition,
 * list, queue, image-seed, cancel, and notifyHook pushes.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { upstreamCallbackUrl } from "../../src/upstream/callback-url";
import { type UpstreamTask, upstreamTaskSchema } from "../../src/upstream/protocol";
import { waitFor } from "../helpers/api";
import { insertTaskRow, simulatorChannelId, taskRow, userId } from "../helpers/db";
import {
	accepted,
	call,
	FINAL,
	fetchTask,
	hashOf,
	imagine,
	press,
	type Reply,
	stepped,
	submit,
	succeeded,
	upscaled,
} from "../helpers/simulator";

describe("query: fetch, list-by-condition, list, queue, image-seed, cancel", () => {
	it("list-by-condition returns the known tasks and silently leaves out unknown ids", async () => {
		const [a, b] = await Promise.all([imagine("list one"), imagine("list two")]);
		const response = await call("/mj/task/list-by-condition", { body: { ids: [a, "1111111111111111", b, "junk"] } });
		expect(response.status).toBe(200);
		const tasks = await response.json<UpstreamTask[]>();
		expect(tasks.map((t) => t.id).sort()).toEqual([a, b].sort());
	});

	it("list shows recent tasks newest first; queue only the unfinished ones", async () => {
		const finished = await succeeded(await imagine("listed and done"));
		const running = await imagine("listed and running --sim-slow");
		const list = await (await call("/mj/task/list")).json<UpstreamTask[]>();
		const ids = list.map((t) => t.id);
		expect(ids).toContain(finished.id);
		expect(ids.indexOf(running)).toBeLessThan(ids.indexOf(finished.id));
		const queue = await (await call("/mj-fast/mj/task/queue")).json<UpstreamTask[]>();
		expect(queue.map((t) => t.id)).toContain(running);
		expect(queue.map((t) => t.id)).not.toContain(finished.id);
		expect(queue.every((t) => !FINAL.includes(t.status ?? ""))).toBe(true);
	});

	it("image-seed answers a numeric seed for finished image tasks only", async () => {
		const task = await succeeded(await imagine("a seeded garden"));
		const seed = await (await call(`/mj/task/${task.id}/image-seed`)).json<Reply>();
		expect(seed).toMatchObject({ code: 1 });
		expect(seed.result).toMatch(/^\d+$/);
		expect(await (await call(`/mj/task/${task.id}/image-seed`)).json<Reply>()).toEqual(seed); // stable
		const slow = await imagine("no seed yet --sim-slow");
		expect(await (await call(`/mj/task/${slow}/image-seed`)).json<Reply>()).toMatchObject({ code: 4 });
		const text = await succeeded(await accepted("/mj/submit/shorten", { prompt: "no picture at all" }));
		expect(await (await call(`/mj/task/${text.id}/image-seed`)).json<Reply>()).toMatchObject({ code: 4 });
		expect(await (await call("/mj/task/9999999999999999/image-seed")).json<Reply>()).toMatchObject({ code: 3 });
	});

	it("cancel stops an unfinished or MODAL task for good; finished (4) and unknown (3) are refused", async () => {
		const slow = await imagine("cancel me --sim-slow");
		const cancelled = await call(`/mj/task/${slow}/cancel`, { method: "POST" });
		expect(await cancelled.json<Reply>()).toMatchObject({ code: 1 });
		const task = await fetchTask(slow);
		expect(task).toMatchObject({ status: "CANCEL" });
		expect(task?.finishTime).toBeTypeOf("number");
		// A slow task submitted after it takes a step: the cancelled one would have taken one too.
		await stepped(await imagine("a slow witness --sim-slow"));
		expect((await fetchTask(slow))?.status).toBe("CANCEL"); // it never comes back to life
		expect(await (await call(`/mj/task/${slow}/cancel`, { method: "POST" })).json<Reply>()).toEqual({
			code: 4,
			description: "task is already finished",
			result: null,
			properties: {},
		});

		const single = await upscaled("a modal to cancel");
		const modal = await press(single, `MJ::CustomZoom::${hashOf(single)}`, 21);
		expect(await (await call(`/mj/task/${modal}/cancel`, { method: "POST" })).json<Reply>()).toMatchObject({ code: 1 });
		expect((await fetchTask(modal))?.status).toBe("CANCEL");
		expect(await submit("/mj/submit/modal", { taskId: modal, prompt: "--zoom 2" })).toMatchObject({ code: 4 });

		expect(await (await call(`/mj/task/${single.id}/cancel`, { method: "POST" })).json<Reply>()).toMatchObject({
			code: 4,
		});
		expect(await (await call("/mj/task/9999999999999999/cancel", { method: "POST" })).json<Reply>()).toMatchObject({
			code: 3,
		});
	});
});

describe("notifyHook", () => {
	/** What the simulator posted to `url` (vitest.config.ts collects posts to non-gateway hosts). */
	async function posted(url: string): Promise<UpstreamTask[]> {
		const response = await env.HOOK_SINK.fetch(`http://sink/?url=${encodeURIComponent(url)}`);
		return response.json<UpstreamTask[]>();
	}

	it("posts every change to the hook with plain fetch until the final status", async () => {
		const hook = `http://hook.test/${crypto.randomUUID()}`;
		const id = await imagine("a hooked fish", { notifyHook: hook, state: "cb" });
		const posts = await waitFor(
			async () => {
				const all = await posted(hook);
				return all.at(-1)?.status === "SUCCESS" ? all : undefined;
			},
			10_000,
			"the SUCCESS push",
		);
		for (const post of posts) expect(upstreamTaskSchema.safeParse(post).success).toBe(true);
		const keys = posts.map((p) => `${p.status}:${p.progress}`);
		expect(new Set(keys).size).toBe(keys.length);
		expect(keys).not.toContain("SUBMITTED:0%");
		expect(keys).toContain("IN_PROGRESS:25%");
		expect(posts.at(-1)).toMatchObject({ id, status: "SUCCESS", progress: "100%", state: "cb" });
		// The hook carries exactly what fetch answers.
		expect(posts.at(-1)).toEqual(await (await call(`/mj/task/${id}/fetch`)).json());
	});

	it("posts a cancel", async () => {
		const hook = `http://hook.test/${crypto.randomUUID()}`;
		const id = await imagine("a cancelled hook --sim-slow", { notifyHook: hook });
		await call(`/mj/task/${id}/cancel`, { method: "POST" });
		const posts = await waitFor(
			async () => {
				const all = await posted(hook);
				return all.at(-1)?.status === "CANCEL" ? all : undefined;
			},
			10_000,
			"the CANCEL push",
		);
		expect(posts.at(-1)).toMatchObject({ id, status: "CANCEL" });
	});

	it("reaches the gateway's upstream callback: a task no poll ever looked at still finishes", async () => {
		// A row with no queue message and no cron run behind it: only the simulator's push can move it.
		const row = await insertTaskRow({
			userId: await userId(`push-${Date.now()}`),
			status: "SUBMITTED",
			channelId: await simulatorChannelId(),
			prompt: "pushed home",
		});
		const hook = await upstreamCallbackUrl(env, row.publicId);
		const upstreamId = await imagine("pushed home", { notifyHook: hook });
		// What the consumer records from the submit's answer: pushes are taken for that upstream id only.
		await env.DB.prepare("UPDATE tasks SET upstream_id = ? WHERE public_id = ?").bind(upstreamId, row.publicId).run();
		const done = await waitFor(
			async () => {
				const current = await taskRow(row.publicId);
				return current.status === "SUCCESS" ? current : undefined;
			},
			10_000,
			"the pushed SUCCESS",
		);
		expect(done.progress).toBe("100%");
		expect(done.upstreamImageUrl).toContain(upstreamId);
		expect(await posted(hook as string)).toEqual([]); // it went to the gateway, not out to the network
	});
});
