#!/usr/bin/env node
// `npm run test:clients`: a real midjourney-proxy client from npm (uniai's MidJourney provider)
// against a local gateway, unchanged. Starts a gateway of its own (test/lib/local-gateway.mjs:
// npm start on a free port with a fresh state), or uses the one `npm run test:e2e` shares between
// the npm-start checks; makes an admin of its own (`npm run admin:create`, a sub with this run's
// id) and gives its key to the client as its `mj-api-secret`, then drives the client's own API:
// imagine, fetch until done, U1 and V2 through /mj/submit/change, the task list. Stops the
// gateway it started and prints "N passed, N failed" (exit 1 on any failure).
//
// uniai keeps a ./cache directory in the working directory (node-localstorage, and every finished
// task's picture, which it downloads itself), so the client runs with a temporary directory as
// its cwd. Every HTTP request this process makes is recorded (node:diagnostics_channel) and must
// go to the gateway on 127.0.0.1.
import { spawnSync } from "node:child_process";
import { subscribe } from "node:diagnostics_channel";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bounded, ROOT, useGateway } from "../lib/local-gateway.mjs";

const TOTAL_MS = 180_000;
const TASK_MS = 45_000;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let passed = 0;
let failed = 0;

function assert(condition, message) {
	if (!condition) throw new Error(message);
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// ---- every outgoing request, whoever makes it (axios inside uniai uses node:http) ----

const requests = [];
subscribe("http.client.request.start", ({ request }) => {
	requests.push({ method: request.method, host: request.host, port: request.socket?.remotePort, path: request.path });
});
subscribe("undici:request:create", ({ request }) => {
	requests.push({ method: request.method, origin: String(request.origin), path: request.path });
});
// An HTTP(S)_PROXY in the environment would send the client's requests elsewhere.
process.env.NO_PROXY = "*";
process.env.no_proxy = "*";

// ---- the gateway: test/e2e.mjs's, or one of its own ----

/** Set once it answers. */
let gateway;
let base;
let port;

const cache = mkdtempSync(join(tmpdir(), "mj-edge-uniai-"));
let finishing = false;
async function finish() {
	if (finishing) return;
	finishing = true;
	await gateway?.stop();
	rmSync(cache, { recursive: true, force: true });
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed === 0 ? 0 : 1);
}
// Bounded: whatever hangs, the process group is stopped and the run fails.
bounded(TOTAL_MS, (why) => {
	failed += 1;
	console.log(`not ok - ${why}`);
	void finish();
});

async function step(name, run) {
	const started = Date.now();
	try {
		await run();
		passed += 1;
		console.log(`ok - ${name} (${Date.now() - started} ms)`);
	} catch (error) {
		failed += 1;
		const detail = error?.response ? ` (HTTP ${error.response.status} ${JSON.stringify(error.response.data)})` : "";
		console.log(`not ok - ${name}: ${error?.message ?? error}${detail}`);
		throw Object.assign(error instanceof Error ? error : new Error(String(error)), { counted: true });
	}
}

// The task as the protocol answers it, to check what the client's summary leaves out.
async function rawTask(key, id) {
	const response = await fetch(`${base}/mj/task/${id}/fetch`, { headers: { "mj-api-secret": key } });
	assert(response.ok, `GET /mj/task/${id}/fetch: ${response.status}`);
	return response.json();
}

// ---- the scenario ----

try {
	gateway = await useGateway("clients-test");
	({ base, port } = gateway);

	const created = spawnSync(
		"npm",
		[
			"run",
			"--silent",
			"admin:create",
			"--",
			"--sub",
			`clients-test-${Date.now().toString(36)}`,
			"--local",
			"--persist-to",
			gateway.state,
		],
		{ cwd: ROOT, encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
	);
	const key = created.stdout.trim();
	assert(created.status === 0 && /^mjk_\S+$/.test(key), `admin:create failed: ${created.stderr}${created.stdout}`);

	process.chdir(cache);
	// uniai has no "exports" map, so Node loads its CommonJS build: the class is module.exports.default.
	const uniai = await import("uniai");
	const { ImagineModelProvider, MJTaskType } = uniai;
	const UniAI = uniai.default.default;
	const MJ = ImagineModelProvider.MidJourney;
	const ai = new UniAI({ MidJourney: { proxy: base, token: key } });

	// uniai's summary of a task has no status: done is progress 100 with its picture downloaded,
	// failed is a non-empty failReason.
	async function untilDone(id, type) {
		const deadline = Date.now() + TASK_MS;
		let last;
		while (Date.now() < deadline) {
			const [task] = await ai.task(MJ, id);
			last = task;
			assert(task.id === id, `task(${id}) answered for ${task.id}`);
			assert(task.type === type, `task ${id} is a ${task.type}, not a ${type}`);
			assert(!task.fail, `task ${id} failed: ${task.fail}`);
			if (task.progress === 100 && task.imgs.length > 0) return task;
			await sleep(500);
		}
		throw new Error(`task ${id} not done within ${TASK_MS / 1000} s: ${JSON.stringify(last)}`);
	}

	// The client downloaded the picture from imageUrl; check that link is the gateway's own.
	async function checkPicture(task, raw) {
		assert(raw.status === "SUCCESS", `status ${raw.status}`);
		assert(raw.imageUrl.startsWith(`${base}/mj/image/`), `imageUrl is not the gateway's link: ${raw.imageUrl}`);
		assert(task.imgs.length === 1 && existsSync(task.imgs[0]), `no downloaded picture: ${task.imgs}`);
		const bytes = readFileSync(task.imgs[0]);
		assert(bytes.length > 100 && bytes.subarray(0, 8).equals(PNG), `the picture is not a PNG (${bytes.length} bytes)`);
		const path = new URL(raw.imageUrl).pathname;
		assert(
			requests.some((r) => r.method === "GET" && r.path.startsWith(path)),
			`the client did not fetch ${path} itself`,
		);
	}

	let imagine;
	await step("imagine through uniai: submitted, fetched until done, the gateway's picture downloaded", async () => {
		const { taskId } = await ai.imagine("a red fox in the snow", { provider: MJ, width: 1600, height: 900 });
		assert(typeof taskId === "string" && taskId.length > 0, `no task id: ${taskId}`);
		imagine = await untilDone(taskId, MJTaskType.IMAGINE);
		const raw = await rawTask(key, taskId);
		// uniai appends the aspect ratio it computed from width and height.
		assert(/^a red fox in the snow --ar 16:9\b/.test(raw.prompt), `prompt as stored: ${raw.prompt}`);
		assert(
			raw.buttons?.some((b) => b.label === "U1"),
			"the grid has no U1 button",
		);
		await checkPicture(imagine, raw);
	});

	let upscale;
	await step("U1 through uniai's change(): a new UPSCALE task, done, its own picture", async () => {
		const { taskId } = await ai.change(MJ, imagine.id, MJTaskType.UPSCALE, 1);
		// change() does not look at the answer's code: a refusal would surface as a missing id.
		assert(typeof taskId === "string" && taskId.length > 0 && taskId !== imagine.id, `no new task id: ${taskId}`);
		upscale = await untilDone(taskId, MJTaskType.UPSCALE);
		const raw = await rawTask(key, taskId);
		assert(raw.parentId === imagine.id, `parentId ${raw.parentId}, not ${imagine.id}`);
		await checkPicture(upscale, raw);
		const grid = await rawTask(key, imagine.id);
		assert(raw.imageUrl !== grid.imageUrl, "the upscale shows the grid's picture");
	});

	let variation;
	await step("V2 through uniai's change(): a VARIATION task, done", async () => {
		const { taskId } = await ai.change(MJ, imagine.id, MJTaskType.VARIATION, 2);
		assert(typeof taskId === "string" && taskId.length > 0, `no task id: ${taskId}`);
		variation = await untilDone(taskId, MJTaskType.VARIATION);
		await checkPicture(variation, await rawTask(key, taskId));
	});

	await step("uniai's task list holds the three tasks, newest first", async () => {
		const tasks = await ai.task(MJ);
		const ids = tasks.map((t) => t.id);
		for (const id of [imagine.id, upscale.id, variation.id]) assert(ids.includes(id), `${id} missing from ${ids}`);
		assert(ids.indexOf(variation.id) < ids.indexOf(imagine.id), `not newest first: ${ids}`);
		const listed = tasks.find((t) => t.id === upscale.id);
		assert(listed.type === "UPSCALE" && listed.progress === 100, `listed upscale: ${JSON.stringify(listed)}`);
		assert(listed.imgs[0]?.startsWith(`${base}/mj/image/`), `listed picture: ${listed.imgs}`);
	});

	await step("a wrong secret: uniai's imagine throws, nothing is submitted", async () => {
		const stranger = new UniAI({ MidJourney: { proxy: base, token: "mjk_not-a-key" } });
		const before = (await ai.task(MJ)).length;
		let status;
		try {
			await stranger.imagine("a fox without a key", { provider: MJ });
		} catch (error) {
			status = error?.response?.status;
		}
		assert(status === 401, `expected a 401, got ${status}`);
		assert((await ai.task(MJ)).length === before, "a refused imagine added a task");
	});

	await step("every request went to the gateway on 127.0.0.1", async () => {
		assert(requests.length > 0, "no requests were recorded");
		const elsewhere = requests.filter((r) =>
			r.origin ? r.origin !== base : r.host !== "127.0.0.1" && r.host !== `127.0.0.1:${port}`,
		);
		assert(elsewhere.length === 0, `requests elsewhere: ${JSON.stringify(elsewhere.slice(0, 5))}`);
		for (const path of ["/mj/submit/imagine", "/mj/submit/change", `/mj/task/${imagine.id}/fetch`, "/mj/task/list"]) {
			assert(
				requests.some((r) => r.path.startsWith(path)),
				`the client never called ${path}`,
			);
		}
	});
} catch (error) {
	// A failed step has been counted and printed already; later steps build on it, so they do not run.
	if (error?.counted !== true) {
		failed += 1;
		console.log(`not ok - ${error?.stack ?? error}`);
	}
} finally {
	await finish();
}
