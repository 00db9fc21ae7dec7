/**
 * The seed-002 surface (Midjourney-node-api) as a specification: /api/v1/trigger/submit,
 * /api/v1/task/fetch and /api/v1/task/list, field by field against the seed document.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { BASE, call, json, tokenFor, uniqueSub, waitFor } from "../helpers/api";
import { resetDeps } from "../helpers/deps";
import {
	fetchTask,
	finishedImagine,
	IMAGE_PREFIX,
	imagine,
	SEED002_KEYS,
	type Seed002Task,
	type SeenRequest,
	stubHookHosts,
	submitGet,
	submitOk,
	taskRowCount,
	UUID,
	waitForSettled,
} from "../helpers/surface";

interface Envelope {
	code: number;
	description: string;
	result?: string;
}

const HOOK_HOST = "hook.test";
const HOOK = `http://${HOOK_HOST}/mj/callback?x=1`;
let hookRequests: SeenRequest[] = [];

beforeAll(() => {
	hookRequests = stubHookHosts([HOOK_HOST, "www.baidu.com"]);
});
afterAll(() => {
	resetDeps();
	vi.restoreAllMocks();
});

/** A new user: its sub and a token for it. */
async function newUser(prefix = "s002") {
	const sub = uniqueSub(prefix);
	return { sub, token: await tokenFor(sub) };
}

function expectSeedTask(task: unknown): asserts task is Seed002Task {
	expect(Object.keys(task as object).sort()).toEqual([...SEED002_KEYS].sort());
	const t = task as Record<string, unknown>;
	for (const key of SEED002_KEYS) {
		if (key === "submitTime") expect(t[key], key).toBeTypeOf("number");
		else if (key === "finishTime") expect(t[key] === null || typeof t[key] === "number", key).toBe(true);
		else expect(t[key], key).toBeTypeOf("string");
	}
	expect(t._id).toMatch(UUID);
}

/** Asserts the exact seed success answer and returns its `result`. */
async function expectSubmitted(response: Response): Promise<string> {
	const body = await json<Envelope>(response);
	expect(response.status, JSON.stringify(body)).toBe(200);
	expect(Object.keys(body).sort()).toEqual(["code", "description", "result"]);
	expect(body.code).toBe(1);
	expect(body.description).toBe("成功");
	expect(body.result).toMatch(UUID);
	return body.result as string;
}

/** Asserts the seed error answer `{code: 0, description}` and returns the description. */
async function expectRefused(response: Response, status = 400): Promise<string> {
	const body = await json<Envelope>(response);
	expect(response.status, JSON.stringify(body)).toBe(status);
	expect(Object.keys(body).sort()).toEqual(["code", "description"]);
	expect(body.code).toBe(0);
	expect(body.description).toBeTypeOf("string");
	expect(body.description.length).toBeGreaterThan(0);
	return body.description;
}

function post(path: string, token: string, body: BodyInit | undefined, contentType?: string): Promise<Response> {
	return call(path, {
		token,
		method: "POST",
		body,
		headers: contentType ? { "content-type": contentType } : {},
	});
}

function form(params: Record<string, string>): FormData {
	const data = new FormData();
	for (const [key, value] of Object.entries(params)) data.append(key, value);
	return data;
}

describe("POST|GET /api/v1/trigger/submit", () => {
	it("accepts the params in the query string of a GET and answers the seed's success object", async () => {
		const { token } = await newUser();
		const id = await expectSubmitted(await submitGet(token, { action: "IMAGINE", prompt: "a dog from a GET" }));
		expect(await fetchTask(token, id)).toMatchObject({ _id: id, action: "IMAGINE", prompt: "a dog from a GET" });
	});

	it("accepts a urlencoded POST body", async () => {
		const { token } = await newUser();
		const body = new URLSearchParams({ action: "IMAGINE", prompt: "a dog from a form", state: "urlencoded" });
		const id = await expectSubmitted(await post("/api/v1/trigger/submit", token, body));
		expect(await fetchTask(token, id)).toMatchObject({ prompt: "a dog from a form", state: "urlencoded" });
	});

	it("accepts a multipart POST body", async () => {
		const { token } = await newUser();
		const body = form({ action: "IMAGINE", prompt: "a dog from multipart", state: "multipart" });
		const id = await expectSubmitted(await post("/api/v1/trigger/submit", token, body));
		expect(await fetchTask(token, id)).toMatchObject({ prompt: "a dog from multipart", state: "multipart" });
	});

	it("accepts a JSON POST body", async () => {
		const { token } = await newUser();
		const body = JSON.stringify({ action: "IMAGINE", prompt: "a dog from JSON", state: "json" });
		const id = await expectSubmitted(await post("/api/v1/trigger/submit", token, body, "application/json"));
		expect(await fetchTask(token, id)).toMatchObject({ prompt: "a dog from JSON", state: "json" });
	});

	it("accepts a POST with the params in the query string and no body", async () => {
		const { token } = await newUser();
		const query = new URLSearchParams({ action: "IMAGINE", prompt: "a dog from a POST query", state: "q" });
		const id = await expectSubmitted(await post(`/api/v1/trigger/submit?${query}`, token, undefined));
		expect(await fetchTask(token, id)).toMatchObject({ prompt: "a dog from a POST query", state: "q" });
	});

	it("takes a body value over a query value of the same name", async () => {
		const { token } = await newUser();
		const body = JSON.stringify({ prompt: "from the body" });
		const response = await post(
			"/api/v1/trigger/submit?action=IMAGINE&prompt=from%20the%20query",
			token,
			body,
			"application/json",
		);
		const id = await expectSubmitted(response);
		expect((await fetchTask(token, id)).prompt).toBe("from the body");
	});

	it("serves the seed's own GET URL; taskId and index are ignored for IMAGINE, state and notifyHook echoed", async () => {
		const { token } = await newUser();
		const response = await call(
			"/api/v1/trigger/submit?action=IMAGINE&prompt=一只狗&taskId=123456789&index=1&state=main&notifyHook=http://www.baidu.com",
			{ token },
		);
		const id = await expectSubmitted(response);
		const task = await waitForSettled(token, id);
		expectSeedTask(task);
		expect(task).toMatchObject({
			_id: id,
			action: "IMAGINE",
			prompt: "一只狗",
			taskId: "",
			index: "",
			state: "main",
			notifyHook: "http://www.baidu.com",
			description: "/imagine 一只狗",
			status: "SUCCESS",
			progress: "done",
		});
		// The notifyHook receives the finished task in the same seed format.
		const hook = await waitFor(
			async () => hookRequests.find((r) => r.url === "http://www.baidu.com/"),
			10_000,
			"the notifyHook POST",
		);
		expect(hook.method).toBe("POST");
		expect(JSON.parse(hook.body)).toEqual(task);
	});
});

describe("POST|GET /api/v1/task/fetch", () => {
	let user: { sub: string; token: string };
	let done: Seed002Task;

	beforeAll(async () => {
		user = await newUser();
		done = await finishedImagine(user.token, "a red fox in snow", { state: "fetch-state", notifyHook: HOOK });
	});

	it("answers a finished IMAGINE with exactly the seed's 17 fields, filled in", () => {
		expectSeedTask(done);
		expect(done.status).toBe("SUCCESS");
		expect(done.progress).toBe("done");
		expect(done.action).toBe("IMAGINE");
		expect(done.prompt).toBe("a red fox in snow");
		expect(done.promptEn.length).toBeGreaterThan(0);
		expect(done.description).toBe("/imagine a red fox in snow");
		expect(done.state).toBe("fetch-state");
		expect(done.notifyHook).toBe(HOOK);
		expect(done.index).toBe("");
		expect(done.taskId).toBe("");
		expect(done.imageUrl).toBe(done.uri);
		expect(done.imageUrl.startsWith(`${IMAGE_PREFIX}${done._id}?sig=`)).toBe(true);
		expect(done.hash.length).toBeGreaterThan(0);
		expect(done.content.length).toBeGreaterThan(0);
		expect(done.content).toContain("a red fox in snow");
		expect(done.submitTime).toBeGreaterThan(Date.now() - 120_000);
		expect(done.finishTime).toBeTypeOf("number");
		expect(done.finishTime as number).toBeGreaterThanOrEqual(done.submitTime);
	});

	it("answers the same object to GET, POST query, urlencoded, multipart, JSON and the doubled-slash URL", async () => {
		const { token } = user;
		const id = done._id;
		const q = `_id=${id}`;
		const responses = await Promise.all([
			call(`/api/v1/task/fetch?${q}`, { token }),
			call(`/api/v1//task/fetch?${q}`, { token }),
			post(`/api/v1/task/fetch?${q}`, token, undefined),
			post(`/api/v1//task/fetch?${q}`, token, undefined),
			post("/api/v1/task/fetch", token, new URLSearchParams({ _id: id })),
			post("/api/v1/task/fetch", token, form({ _id: id })),
			post("/api/v1//task/fetch", token, form({ _id: id })),
			post("/api/v1/task/fetch", token, JSON.stringify({ _id: id }), "application/json"),
		]);
		for (const response of responses) {
			expect(response.status).toBe(200);
			expect(await response.json()).toEqual(done);
		}
	});

	it("shows an unfinished task with finishTime null and a percentage progress", async () => {
		const { token } = await newUser();
		const id = await imagine(token, "a snail --sim-slow");
		const task = await fetchTask(token, id);
		expectSeedTask(task);
		expect(["NOT_START", "SUBMITTED", "IN_PROGRESS"]).toContain(task.status);
		expect(task.finishTime).toBeNull();
		expect(task.progress).toMatch(/^\d{1,3}%$/);
		expect(task.imageUrl).toBe("");
		expect(task.uri).toBe("");
	});

	it("answers an unknown _id with 400 {code: 0, description}", async () => {
		const unknown = crypto.randomUUID();
		const description = await expectRefused(await call(`/api/v1/task/fetch?_id=${unknown}`, { token: user.token }));
		expect(description).toContain(unknown);
	});

	it("answers a missing _id with 400 naming the field", async () => {
		expect(await expectRefused(await call("/api/v1/task/fetch", { token: user.token }))).toMatch(/_id is required/);
	});

	it("answers another user's task exactly like an unknown id", async () => {
		const stranger = await newUser("stranger");
		const unknown = crypto.randomUUID();
		const [theirs, missing] = await Promise.all([
			call(`/api/v1/task/fetch?_id=${done._id}`, { token: stranger.token }),
			call(`/api/v1/task/fetch?_id=${unknown}`, { token: stranger.token }),
		]);
		expect(theirs.status).toBe(missing.status);
		expect(theirs.status).toBe(400);
		const [a, b] = [await theirs.text(), await missing.text()];
		expect(a).toContain(done._id);
		expect(a.replaceAll(done._id, "<id>")).toBe(b.replaceAll(unknown, "<id>"));
		expect(theirs.headers.get("content-type")).toBe(missing.headers.get("content-type"));
	});
});

describe("UPSCALE and VARIATION of a finished task", () => {
	it("point at the parent by taskId, carry index as a string, inherit the prompt and finish", async () => {
		const { sub, token } = await newUser();
		const parent = await finishedImagine(token, "a lighthouse at dusk");
		const [upscaleId, variationId, jsonId] = await Promise.all([
			submitOk(token, { action: "UPSCALE", taskId: parent._id, index: "2" }),
			submitOk(token, { action: "VARIATION", taskId: parent._id, index: "2" }),
			// JSON clients send index as a number; it is still answered as the seed's string.
			post(
				"/api/v1/trigger/submit",
				token,
				JSON.stringify({ action: "variation", taskId: parent._id, index: 3 }),
				"application/json",
			).then(expectSubmitted),
		]);
		expect(await fetchTask(token, jsonId)).toMatchObject({ action: "VARIATION", taskId: parent._id, index: "3" });
		const [upscale, variation] = await Promise.all([
			waitForSettled(token, upscaleId),
			waitForSettled(token, variationId),
		]);
		for (const [task, action] of [
			[upscale, "UPSCALE"],
			[variation, "VARIATION"],
		] as const) {
			expectSeedTask(task);
			expect(task).toMatchObject({
				action,
				taskId: parent._id,
				index: "2",
				prompt: "a lighthouse at dusk",
				status: "SUCCESS",
				progress: "done",
			});
			expect(task._id).not.toBe(parent._id);
			expect(task.imageUrl.startsWith(`${IMAGE_PREFIX}${task._id}?sig=`)).toBe(true);
			expect(task.finishTime as number).toBeGreaterThanOrEqual(task.submitTime);
		}
		// A variation is a new grid with its own job hash.
		expect(variation.hash.length).toBeGreaterThan(0);
		expect(variation.hash).not.toBe(parent.hash);

		// An upscaled single image is not a grid: it cannot be upscaled again, and nothing is written.
		const before = await taskRowCount(sub);
		const again = await submitGet(token, { action: "UPSCALE", taskId: upscale._id, index: "1" });
		expect(await expectRefused(again)).toMatch(/grid/);
		expect(await taskRowCount(sub)).toBe(before);
	});
});

describe("POST|GET /api/v1/task/list", () => {
	it("lists only the caller's tasks, newest first, in the seed format, in every form", async () => {
		const me = await newUser();
		const other = await newUser("other");
		const mine: string[] = [];
		for (const n of [1, 2, 3]) mine.push(await imagine(me.token, `listed task ${n}`));
		await imagine(other.token, "someone else's task");
		const newestFirst = [...mine].reverse();

		const { token } = me;
		const responses = await Promise.all([
			call("/api/v1/task/list", { token }),
			call("/api/v1//task/list", { token }),
			post("/api/v1/task/list", token, undefined),
			post("/api/v1//task/list", token, form({})),
			post("/api/v1/task/list", token, JSON.stringify({}), "application/json"),
		]);
		for (const response of responses) {
			expect(response.status).toBe(200);
			expect(response.headers.get("x-next-cursor")).toBeNull();
			const tasks = await json<Seed002Task[]>(response);
			expect(Array.isArray(tasks)).toBe(true);
			expect(tasks.map((t) => t._id)).toEqual(newestFirst);
			expect(tasks.map((t) => t.prompt)).toEqual(["listed task 3", "listed task 2", "listed task 1"]);
			for (const task of tasks) expectSeedTask(task);
		}
	});

	it("answers a user without tasks with an empty array", async () => {
		const { token } = await newUser();
		const response = await call("/api/v1/task/list", { token });
		expect(response.status).toBe(200);
		expect(await response.json()).toEqual([]);
	});

	it("pages with limit and x-next-cursor, without overlap, until there is no cursor", async () => {
		const { token } = await newUser();
		const submitted: string[] = [];
		for (const n of [1, 2, 3, 4, 5]) submitted.push(await imagine(token, `paged task ${n}`));

		const pages: string[][] = [];
		let cursor: string | null = null;
		do {
			const params: Record<string, string> = { limit: "2", ...(cursor ? { cursor } : {}) };
			// Odd pages by GET query, even pages by POST form: the cursor works in both.
			const response: Response =
				pages.length % 2 === 0
					? await call(`/api/v1/task/list?${new URLSearchParams(params)}`, { token })
					: await post("/api/v1/task/list", token, new URLSearchParams(params));
			expect(response.status).toBe(200);
			pages.push((await json<Seed002Task[]>(response)).map((t) => t._id));
			cursor = response.headers.get("x-next-cursor");
		} while (cursor && pages.length < 10);

		expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
		expect(pages.flat()).toEqual([...submitted].reverse());
	});

	it("returns 20 tasks by default and accepts up to 100", async () => {
		const { sub, token } = await newUser();
		expect((await call("/api/v1/task/list", { token })).status).toBe(200); // creates the user
		const user = await env.DB.prepare("SELECT id FROM users WHERE sub = ?").bind(sub).first<{ id: number }>();
		if (!user) throw new Error("user row missing");
		// 25 finished tasks, written directly: the list only reads rows.
		const ids = Array.from({ length: 25 }, () => crypto.randomUUID());
		const start = Date.now() - 60_000;
		await env.DB.batch([
			...ids.map((publicId, i) =>
				env.DB.prepare(
					`INSERT INTO tasks (public_id, user_id, user_seq, action, prompt, status, progress, submit_time, finish_time, updated_at)
					 VALUES (?, ?, ?, 'IMAGINE', ?, 'SUCCESS', '100%', ?, ?, ?)`,
				).bind(publicId, user.id, i + 1, `row ${i}`, start + i, start + i + 1, start + i + 1),
			),
			env.DB.prepare("UPDATE users SET task_count = ? WHERE id = ?").bind(ids.length, user.id),
		]);
		const newestFirst = [...ids].reverse();

		const first = await call("/api/v1/task/list", { token });
		const firstPage = await json<Seed002Task[]>(first);
		expect(firstPage.map((t) => t._id)).toEqual(newestFirst.slice(0, 20));
		const cursor = first.headers.get("x-next-cursor");
		expect(cursor).toBeTruthy();
		const rest = await call(`/api/v1/task/list?cursor=${encodeURIComponent(cursor as string)}`, { token });
		expect((await json<Seed002Task[]>(rest)).map((t) => t._id)).toEqual(newestFirst.slice(20));
		expect(rest.headers.get("x-next-cursor")).toBeNull();

		const all = await call("/api/v1/task/list?limit=100", { token });
		expect((await json<Seed002Task[]>(all)).map((t) => t._id)).toEqual(newestFirst);
		expect(all.headers.get("x-next-cursor")).toBeNull();
	});

	it.each(["101", "0", "-1", "2.5", "ten"])("refuses limit=%s with 400", async (limit) => {
		const { token } = await newUser();
		const description = await expectRefused(await call(`/api/v1/task/list?limit=${limit}`, { token }));
		expect(description).toMatch(/limit must be an integer from 1 to 100/);
	});

	it.each(["!!!", "abc", btoa("12.x"), btoa("-1.5")])("refuses the invalid cursor %s with 400", async (cursor) => {
		const { token } = await newUser();
		const response = await call(`/api/v1/task/list?cursor=${encodeURIComponent(cursor)}`, { token });
		expect(await expectRefused(response)).toMatch(/cursor is not valid/);
	});
});

describe("bad submit input: 4xx {code: 0, description} and no task written", () => {
	const me = { sub: "", token: "" };
	let parent = "";
	let unfinished = "";
	let othersTask = "";

	beforeAll(async () => {
		Object.assign(me, await newUser("bad"));
		const other = await newUser("other");
		[parent, othersTask, unfinished] = await Promise.all([
			finishedImagine(me.token, "a parent grid").then((t) => t._id),
			finishedImagine(other.token, "someone else's grid").then((t) => t._id),
			imagine(me.token, "a tortoise --sim-slow"),
		]);
	});

	const postJson = (body: unknown) =>
		post("/api/v1/trigger/submit", me.token, JSON.stringify(body), "application/json");
	const get = (params: Record<string, string>) => submitGet(me.token, params);

	const cases: { name: string; send: () => Promise<Response>; says: RegExp }[] = [
		{ name: "missing action", send: () => get({ prompt: "a cat" }), says: /action is required/ },
		{
			name: "unknown action",
			send: () => get({ action: "DESCRIBE", prompt: "a cat" }),
			says: /action must be IMAGINE, UPSCALE or VARIATION/,
		},
		{ name: "IMAGINE without prompt", send: () => get({ action: "IMAGINE" }), says: /prompt is required/ },
		{
			name: "IMAGINE with an empty prompt",
			send: () => get({ action: "IMAGINE", prompt: "" }),
			says: /prompt is required/,
		},
		{
			name: "IMAGINE with a blank prompt",
			send: () => postJson({ action: "IMAGINE", prompt: "   " }),
			says: /prompt is required/,
		},
		{
			name: "a prompt over 4000 characters",
			send: () => postJson({ action: "IMAGINE", prompt: "p".repeat(4001) }),
			says: /prompt must be at most 4000 characters/,
		},
		{
			name: "a state over 1024 characters",
			send: () => postJson({ action: "IMAGINE", prompt: "a cat", state: "s".repeat(1025) }),
			says: /state must be at most 1024 characters/,
		},
		{
			name: "UPSCALE without taskId",
			send: () => get({ action: "UPSCALE", index: "1" }),
			says: /taskId is required for UPSCALE/,
		},
		{
			name: "VARIATION without taskId",
			send: () => get({ action: "VARIATION", index: "1" }),
			says: /taskId is required for VARIATION/,
		},
		{
			name: "UPSCALE without index",
			send: () => get({ action: "UPSCALE", taskId: parent }),
			says: /index \(1-4\) is required for UPSCALE/,
		},
		{
			name: "UPSCALE with index 0",
			send: () => get({ action: "UPSCALE", taskId: parent, index: "0" }),
			says: /index must be 1, 2, 3 or 4/,
		},
		{
			name: "UPSCALE with index 5",
			send: () => get({ action: "UPSCALE", taskId: parent, index: "5" }),
			says: /index must be 1, 2, 3 or 4/,
		},
		{
			name: "VARIATION with index 5",
			send: () => postJson({ action: "VARIATION", taskId: parent, index: 5 }),
			says: /index must be 1, 2, 3 or 4/,
		},
		{
			name: "UPSCALE of an unknown task",
			send: () => get({ action: "UPSCALE", taskId: crypto.randomUUID(), index: "1" }),
			says: /no task with taskId/,
		},
		{
			name: "UPSCALE of another user's task",
			send: () => get({ action: "UPSCALE", taskId: othersTask, index: "1" }),
			says: /no task with taskId/,
		},
		{
			name: "UPSCALE of an unfinished task",
			send: () => get({ action: "UPSCALE", taskId: unfinished, index: "1" }),
			says: /is not finished/,
		},
		{
			name: "a malformed JSON body",
			send: () => post("/api/v1/trigger/submit", me.token, '{"action":"IMAGINE","prompt":', "application/json"),
			says: /malformed JSON body/,
		},
		{
			name: "a JSON body that is not an object",
			send: () => postJson([{ action: "IMAGINE", prompt: "a cat" }]),
			says: /JSON body must be an object/,
		},
		{
			name: "notifyHook ftp://x",
			send: () => get({ action: "IMAGINE", prompt: "a cat", notifyHook: "ftp://x" }),
			says: /notifyHook must be an http\(s\) URL/,
		},
		{
			name: "notifyHook 'not a url'",
			send: () => get({ action: "IMAGINE", prompt: "a cat", notifyHook: "not a url" }),
			says: /notifyHook must be an absolute http\(s\) URL/,
		},
	];

	it.each(cases)("refuses $name", async ({ send, says }) => {
		const before = await taskRowCount(me.sub);
		expect(before).toBeGreaterThan(0); // the user exists: a zero below would prove nothing
		expect(await expectRefused(await send())).toMatch(says);
		expect(await taskRowCount(me.sub)).toBe(before);
	});

	it.each(["http://kubernetes.default/hook", "http://kubernetes.default./hook", "http://10.0.0.5/hook"])(
		"in production refuses notifyHook %s, writing nothing",
		async (hook) => {
			const before = await taskRowCount(me.sub);
			const query = new URLSearchParams({ action: "IMAGINE", prompt: "a cat", notifyHook: hook });
			const response = await createApp().fetch(
				new Request(`${BASE}/api/v1/trigger/submit?${query}`, { headers: { authorization: `Bearer ${me.token}` } }),
				{ ...env, ENVIRONMENT: "production" },
				createExecutionContext(),
			);
			expect(await expectRefused(response)).toBe("notifyHook must be a public address");
			expect(await taskRowCount(me.sub)).toBe(before);
		},
	);

	it("answers another user's taskId exactly like an unknown one", async () => {
		const unknown = crypto.randomUUID();
		const [theirs, missing] = await Promise.all([
			get({ action: "VARIATION", taskId: othersTask, index: "1" }),
			get({ action: "VARIATION", taskId: unknown, index: "1" }),
		]);
		expect(theirs.status).toBe(missing.status);
		const [a, b] = [await theirs.text(), await missing.text()];
		expect(a.replaceAll(othersTask, "<id>")).toBe(b.replaceAll(unknown, "<id>"));
	});

	it("accepts a prompt of exactly 4000 characters", async () => {
		const { token } = await newUser();
		const prompt = "q".repeat(4000);
		const id = await expectSubmitted(
			await post("/api/v1/trigger/submit", token, JSON.stringify({ action: "IMAGINE", prompt }), "application/json"),
		);
		expect((await fetchTask(token, id)).prompt).toBe(prompt);
	});
});

describe("tasks the upstream refuses or fails", () => {
	it("a banned prompt is accepted (code 1), then ends FAILURE with the banned word as fail_reason", async () => {
		const { token } = await newUser();
		const [bannedId, failingId] = await Promise.all([
			imagine(token, "a statue --sim-banned"),
			imagine(token, "a bridge --sim-fail"),
		]);
		const [banned, failing] = await Promise.all([waitForSettled(token, bannedId), waitForSettled(token, failingId)]);
		for (const task of [banned, failing]) {
			expectSeedTask(task);
			expect(task.status).toBe("FAILURE");
			expect(task.progress).not.toBe("done");
			expect(task.imageUrl).toBe("");
			expect(task.finishTime).toBeTypeOf("number");
		}
		// The seed format has no failReason: the reason is kept in D1.
		const reasons = await env.DB.prepare(
			"SELECT public_id, status, fail_reason FROM tasks WHERE public_id IN (?, ?) ORDER BY id",
		)
			.bind(bannedId, failingId)
			.all<{ public_id: string; status: string; fail_reason: string }>();
		const byId = Object.fromEntries(reasons.results.map((r) => [r.public_id, r]));
		expect(byId[bannedId]).toMatchObject({ status: "FAILURE", fail_reason: "banned prompt: sim-banned" });
		expect(byId[failingId]).toMatchObject({ status: "FAILURE", fail_reason: "simulated failure" });
	});
});
