/**
 * Prompt translation: a prompt that is not English is translated (the local fake translator,
 * TRANSLATOR = "fake" in vitest.config.ts) in the queue consumer before it goes upstream, with
 * parameters, links and :: weights exactly as written; promptEn shows what was sent on every
 * surface; a translator that fails never loses the task; a banned translation fails the task,
 * refunded, with the word.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { FAKE_FAILURE_MARKER } from "../../src/translate/fake-ai";
import { call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { insertTaskRow, userId } from "../helpers/db";
import { resetDeps, useFetch } from "../helpers/deps";
import { FakeUpstream, jsonResponse, type RecordedCall, useFakeChannelOnly } from "../helpers/fake-upstream";
import { proxyPost, proxyTask, submitted } from "../helpers/proxy";

let upstream: FakeUpstream;
let seq = 0;
let channelId: number;

beforeAll(async () => {
	channelId = await useFakeChannelOnly();
});

beforeEach(() => {
	upstream = new FakeUpstream();
	upstream.submit = () => jsonResponse({ code: 1, description: "Success", result: `tr-${++seq}` });
	// The real queue's consumer reads the runtime's Deps: point their fetch at the fake, so nothing leaves the test.
	useFetch(upstream.fetch);
});

afterEach(() => {
	resetDeps();
	vi.restoreAllMocks();
});

async function user(): Promise<{ sub: string; token: string }> {
	const sub = uniqueSub("translate");
	const token = await tokenFor(sub);
	await call("/api/user/self", { token });
	return { sub, token };
}

async function quotaOf(sub: string): Promise<number> {
	const row = await env.DB.prepare("SELECT quota FROM users WHERE sub = ?").bind(sub).first<{ quota: number }>();
	return row?.quota ?? Number.NaN;
}

/** The submit the fake upstream received carrying `marker` in its prompt, once the consumer sent it. */
function sentWith(marker: string): Promise<RecordedCall> {
	return waitFor(
		async () =>
			upstream.calls.find(
				(c) => c.path === "/mj/submit/imagine" && String((c.body as { prompt?: string }).prompt).includes(marker),
			),
		10_000,
		`an upstream submit with ${marker}`,
	);
}

function waitForStatus(token: string, id: string, status: string) {
	return waitFor(
		async () => {
			const task = await proxyTask(token, id);
			return task.status === status ? task : undefined;
		},
		10_000,
		`task ${id} in ${status}`,
	);
}

describe("a Chinese prompt", () => {
	const prompt = "一只猫在花园::2 <https://ref.test/a.png> 日落::1 https://ref.test/b.png --ar 16:9 --v 6 --no 红色";
	const english =
		"a cat in garden::2 <https://ref.test/a.png> sunset::1 https://ref.test/b.png --ar 16:9 --v 6 --no 红色";

	it("goes upstream in English with parameters, links and weights unchanged; promptEn on every surface", async () => {
		const { token } = await user();
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt }));
		const sent = await sentWith("ref.test/a.png");
		expect((sent.body as { prompt: string }).prompt).toBe(english);

		const task = await waitForStatus(token, id, "SUBMITTED");
		expect(task).toMatchObject({ prompt, promptEn: english });
		expect(task.description).not.toContain("not translated");

		const seed001 = await json<{ data: { items: { mj_id: string; prompt: string; prompt_en: string }[] } }>(
			await call(`/api/mj/self?mj_id=${id}`, { token }),
		);
		expect(seed001.data.items).toEqual([expect.objectContaining({ mj_id: id, prompt, prompt_en: english })]);

		const seed002 = await json<{ _id: string; prompt: string; promptEn: string }>(
			await call(`/api/v1/task/fetch?_id=${id}`, { token }),
		);
		expect(seed002).toMatchObject({ _id: id, prompt, promptEn: english });
	});

	it("an English prompt goes as written, and promptEn is the prompt", async () => {
		const { token } = await user();
		const english = `a watercolor fox ${crypto.randomUUID()} --ar 2:3`;
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: english }));
		expect(((await sentWith(english)).body as { prompt: string }).prompt).toBe(english);
		expect(await waitForStatus(token, id, "SUBMITTED")).toMatchObject({ prompt: english, promptEn: english });
	});

	it("translator down: the task goes on untranslated and says so in its description", async () => {
		const { token } = await user();
		const down = `一只狗 ${FAKE_FAILURE_MARKER} https://ref.test/down.png --v 6`;
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: down }));
		expect(((await sentWith("ref.test/down.png")).body as { prompt: string }).prompt).toBe(down);
		const task = await waitForStatus(token, id, "SUBMITTED");
		expect(task).toMatchObject({ prompt: down, promptEn: down });
		expect(task.description).toContain("[prompt not translated: fake translator: failure requested]");
		const seed002 = await json<{ description: string }>(await call(`/api/v1/task/fetch?_id=${id}`, { token }));
		expect(seed002.description).toBe(task.description);
	});
});

describe("the modal step's prompt", () => {
	it("custom zoom's prompt goes upstream in English with its parameters", async () => {
		const { sub, token } = await user();
		const zoom = `MJ::CustomZoom::${crypto.randomUUID()}`;
		const parent = await insertTaskRow({
			userId: await userId(sub),
			status: "SUCCESS",
			progress: "100%",
			upstreamId: `zoom-parent-${++seq}`,
			channelId,
			buttons: JSON.stringify([{ customId: zoom, label: "Custom Zoom", emoji: "", type: 2, style: 2 }]),
			prompt: "a lighthouse",
			finishTime: Date.now(),
		});
		const first = await json<{ code: number; result: string }>(
			await proxyPost("/mj/submit/action", token, { taskId: parent.publicId, customId: zoom }),
		);
		expect(first.code).toBe(21);
		upstream.submit = (c) =>
			jsonResponse({ code: c.path === "/mj/submit/action" ? 21 : 1, description: "ok", result: `zoom-${seq}` });
		await submitted(await proxyPost("/mj/submit/modal", token, { taskId: first.result, prompt: "水彩画 --zoom 2" }));
		const modal = await waitFor(
			async () => upstream.calls.find((c) => c.path === "/mj/submit/modal"),
			10_000,
			"the modal step upstream",
		);
		expect(modal.body).toMatchObject({ prompt: "watercolor painting --zoom 2" });
	});
});

describe("banned words on the translation", () => {
	it("a translation containing a banned word fails the task, refunded, with the word, and counts a hit", async () => {
		const admin = await tokenFor(uniqueSub("translate-admin"), "admin");
		const added = await call("/api/admin/banned-words", {
			method: "POST",
			token: admin,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ word: "Contraband" }),
		});
		expect(added.status).toBe(201);
		const { sub, token } = await user();
		const quota = await quotaOf(sub);
		// The prompt itself has no banned word: accepted (and charged) at submit.
		const id = await submitted(await proxyPost("/mj/submit/imagine", token, { prompt: "走私品 一只猫 --v 6" }));
		expect(await quotaOf(sub)).toBeLessThan(quota);

		const failed = await waitForStatus(token, id, "FAILURE");
		expect(failed).toMatchObject({ failReason: "banned prompt: contraband", promptEn: "contraband a cat --v 6" });
		expect(await quotaOf(sub)).toBe(quota);
		expect(upstream.submitCalls()).toHaveLength(0);

		const list = await json<{ data: { word: string; hits: number }[] }>(
			await call("/api/admin/banned-words", { token: admin }),
		);
		expect(list.data.find((w) => w.word === "contraband")?.hits).toBe(1);
	});
});
