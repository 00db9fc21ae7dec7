/**
 * CPU per invocation of each kind the gateway runs in a task's life, measured one invocation at
 * a time on an otherwise idle gateway process. Local workerd reports `cpuTime: 0` to tail
 * Workers, so the meter is the process: the nanoseconds the gateway's workerd process ran
 * (`/proc/<pid>/task/<tid>/schedstat`) from just before the bench dispatches one event until
 * the process is quiet again, minus its idle rate over that time. Runs on the instance without
 * queue consumers and without PUBLIC_BASE_URL (so the simulator never pushes on its own): the
 * bench alone decides what runs and when. It dispatches queue messages itself through Miniflare
 * (`Fetcher.queue()`), Durable Object calls as RPC through Miniflare's stub, and upstream pushes
 * as HTTP requests, one at a time. The process also runs Miniflare's local D1, R2, Durable
 * Object storage, queue broker and the magic proxy the bench dispatches through (the simulator
 * runs in a process of its own there), so every figure is an upper bound on the gateway isolate's
 * own CPU; the no-op rows say how much the dispatch path alone costs. With an inspector port, a
 * second, profiled pass gives the isolate's own running time in the same kinds of window.
 */

import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { cpuNanos } from "./proc.mjs";
import { busyMsInWindows, profileWhile } from "./profile.mjs";

/** The per-invocation limit of the Workers Free plan (issue 11). */
export const EVENT_CPU_TARGET_MS = 10;

/**
 * Every kind measured, in print order. `judged` kinds are invocations the gateway runs in a
 * task's life and are held to the target; the others are references for reading them.
 */
export const EVENT_KINDS = {
	submitMessage: {
		label:
			"TASK_QUEUE submit message (findTask, TaskObject.claimSubmit, upstream submit, TaskObject.apply SUBMITTED, poll queued)",
		judged: true,
	},
	pollUnchanged: {
		label:
			"TASK_QUEUE poll message, upstream unchanged (findTask, channel, upstream fetch, TaskObject.apply duplicate, next poll queued)",
		judged: true,
	},
	pollUpdate: {
		label: "TASK_QUEUE poll message with a new progress (the same + the accepted update: D1 write, UserHub notify)",
		judged: true,
	},
	pollSuccess: {
		label: "TASK_QUEUE poll message that sees SUCCESS, with the alarm it sets off (R2 copy, hook queued)",
		judged: false,
	},
	alarm: {
		label:
			"TaskObject alarm: image fetched from the upstream into R2, task row updated, callback queued (pollSuccess - pollUpdate)",
		judged: true,
	},
	hookMessage: {
		label: "HOOK_QUEUE message: the client callback POSTed (signed) to its notifyHook, delivery logged",
		judged: true,
	},
	push: {
		label: "POST /mj/callback/{id} upstream push, new progress (with its TaskObject.apply, D1 write, UserHub notify)",
		judged: true,
	},
	apply: {
		label: "TaskObject.apply RPC, new progress (D1 write, UserHub notify; through Miniflare's proxy)",
		judged: true,
	},
	noopQueue: {
		label: "reference: a queue message that only acks (TASK_DLQ poll message), the dispatch path's own cost",
		judged: false,
	},
	noopRpc: {
		label: "reference: TaskObject.claimSubmit RPC on a started task (answers false, no I/O), the RPC path's own cost",
		judged: false,
	},
};

/** Kinds whose dispatch path a no-op row measures: net = mean - that row's mean. */
const PATH_OF = {
	submitMessage: "noopQueue",
	pollUnchanged: "noopQueue",
	pollUpdate: "noopQueue",
	pollSuccess: "noopQueue",
	hookMessage: "noopQueue",
	apply: "noopRpc",
};

/** A local receiver for client callbacks: answers 200 and remembers which task each POST was for. */
async function hookReceiver() {
	const seen = new Map();
	const waiters = new Map();
	const server = createServer((req, res) => {
		const chunks = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", () => {
			const id = decodeURIComponent(new URL(req.url, "http://x").pathname.split("/").pop());
			seen.set(id, (seen.get(id) ?? 0) + 1);
			waiters.get(id)?.();
			res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
		});
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	return {
		url: (key) => `http://127.0.0.1:${server.address().port}/hook/${encodeURIComponent(key)}`,
		/** Resolves once a POST for `key` arrived (true), or false after `timeoutMs`. */
		received: (key, timeoutMs = 10_000) =>
			seen.has(key)
				? Promise.resolve(true)
				: Promise.race([
						new Promise((resolve) => waiters.set(key, () => resolve(true))),
						sleep(timeoutMs).then(() => false),
					]),
		close: () => new Promise((resolve) => server.close(resolve)),
	};
}

/**
 * The meter: `idleNsPerMs` is the process's CPU while nothing is asked of it; `quiet()` returns
 * once two back-to-back 20 ms windows each cost less than 0.1 ms over the idle rate (background
 * work such as waitUntil, an alarm or a UserHub notification has finished).
 */
export function meter(pid) {
	const read = () => {
		const ns = cpuNanos(pid);
		if (ns === null) throw new Error(`gateway process ${pid} is gone`);
		return ns;
	};
	// Quiet is measured against the idle rate, which is not zero (timers; more under a profiler).
	let idleNsPerMs = 0;
	const calibrate = async () => {
		await sleep(300);
		const start = read();
		const startMs = performance.now();
		await sleep(1000);
		idleNsPerMs = (read() - start) / (performance.now() - startMs);
		return idleNsPerMs;
	};
	const quiet = async (timeoutMs = 10_000) => {
		const until = performance.now() + timeoutMs;
		let calm = 0;
		let last = read();
		while (calm < 2 && performance.now() < until) {
			await sleep(20);
			const now = read();
			calm = now - last < 100_000 + idleNsPerMs * 20 ? calm + 1 : 0;
			last = now;
		}
		return calm >= 2;
	};
	return { read, quiet, calibrate };
}

export const message = (id, body) => ({ id, timestamp: new Date(), body, attempts: 1 });

/**
 * Runs every kind `count` times (after one unmeasured warm-up of each: its first call compiles
 * code paths) and returns `{ kinds: {name: {samples, meanMs, maxMs, netMs}}, worst, pass }`.
 * `rt` is a running gateway from startWorkerd with `consumers: false` and PUBLIC_BASE_URL "".
 */
export async function measureEvents({ inspectorPort, ...options }) {
	const { summary } = await eventsRun(options);
	if (!inspectorPort) return summary;
	// A second pass under the profiler, for the isolate's own share: the profiler's own CPU
	// (~50-80 ms/s, unsteady) would blur the process figures, so they come from the first pass.
	try {
		const { profile, loadResult } = await profileWhile({
			port: inspectorPort,
			workerName: "mj-edge",
			// Fewer: this pass is information only, and the phase stays short.
			load: () => eventsRun({ ...options, count: Math.max(2, Math.ceil(options.count / 3)) }),
			intervalUs: PROFILE_INTERVAL_US,
		});
		summary.isolate = isolateTime(profile, loadResult.windows, loadResult.summary.kinds);
		judgeIsolate(summary);
	} catch (error) {
		summary.isolate = { error: String(error.message) };
	}
	return summary;
}

/**
 * The verdict on the isolate's own time when the profile gave it: the Workers CPU limit counts
 * the isolate executing JavaScript, not the time it waits on D1, R2, a Durable Object or a fetch,
 * whose local implementations run in the same process here (the process figure stays, printed
 * as an upper bound). Each kind is judged by its worst window (the alarm, a difference of two
 * means, by its mean).
 */
export function judgeIsolate(summary, kinds = EVENT_KINDS) {
	const own = summary.isolate.kinds;
	const figure = (name) => isolateFigure(summary, own[name]);
	const { missing, worst } = worstJudged(figure, kinds);
	summary.processPass = summary.pass;
	summary.processWorstKind = summary.worstKind;
	summary.processWorstMs = summary.worstMs;
	summary.judgedOn = "isolate";
	summary.worstKind = worst;
	summary.worstMs = worst ? figure(worst) : null;
	summary.missing = missing;
	summary.pass = missing.length === 0 && worst !== null && figure(worst) < summary.target;
}

/**
 * A kind's judged isolate figure: its worst window, or, where the windows were split by invocation
 * (`isolate.judgedBy === "invocation"`), the largest invocation's bound in its worst window.
 */
function isolateFigure(events, own) {
	if (events.isolate?.judgedBy === "invocation" && own?.worstInvocationMs != null) return own.worstInvocationMs;
	return own?.maxMs ?? own?.meanMs;
}

/** Coarse enough that sampling costs the process little; a 5 ms event still gets ~10 samples. */
export const PROFILE_INTERVAL_US = 500;

/**
 * The gateway isolate's own time in each counted event's window, from one V8 CPU profile of the
 * whole phase. workerd's sampler takes samples only while the isolate runs: a sample's timeDelta
 * after a pause spans the pause, so each non-idle sample counts for at most one sampling
 * interval (samples x interval: the time the isolate was seen running). V8 and Node both stamp
 * with CLOCK_MONOTONIC, so the bench's windows line up with the samples; a profile that does not
 * cover them gives no figures. Only the isolate: not the local D1/R2/DO storage, queue broker or
 * proxy, which run outside it, so this is what the gateway's own code costs here.
 * `split` ({ kinds: { kind: otherKind }, frames: RegExp }) moves, in the windows of `kind`, the
 * samples with a function matching `frames` on their stack to `otherKind`: two invocations that
 * one event sets off back to back (a message and the alarm it arms) told apart by their code.
 * `invocationOf` (a sample's node id -> the invocation it belongs to, or null when its stack does
 * not tell) splits each window further: a kind then also gets `worstInvocationMs`, the largest
 * invocation's own samples plus every sample of its window no invocation claimed, at its worst
 * window (an upper bound on the largest invocation the event set off).
 */
export function isolateTime(profile, windows, kinds, split, invocationOf) {
	const busy = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
	/** Per kind, per window: the largest invocation's bound and which one it was (with `invocationOf`). */
	const largest = {};
	const covered =
		split || invocationOf
			? splitWindows(profile, windows, { busy, largest }, split, invocationOf)
			: plainWindows(profile, windows, busy);
	if (windows.length === 0 || !covered) {
		return { error: `the profile (${profile.startTime}..${profile.endTime} µs) does not cover the event windows` };
	}
	const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
	const result = { intervalUs: PROFILE_INTERVAL_US, kinds: {} };
	for (const [name, xs] of Object.entries(busy)) {
		if (xs.length) result.kinds[name] = { meanMs: mean(xs), maxMs: Math.max(...xs) };
	}
	for (const [name, list] of Object.entries(largest)) {
		const worst = list.reduce((a, b) => (b.ms > a.ms ? b : a));
		Object.assign(result.kinds[name], {
			worstInvocationMs: worst.ms,
			worstInvocation: worst.owner,
			worstInvocationOwnMs: worst.ownMs,
		});
	}
	const base = result.kinds.pollUpdate ?? result.kinds.pollUnchanged;
	if (result.kinds.pollSuccess && base) {
		result.kinds.alarm = { meanMs: result.kinds.pollSuccess.meanMs - base.meanMs, maxMs: null };
	}
	return result;
}

/** Each window's own samples, summed as busyMsInWindows sums them; false when the profile misses a window. */
function plainWindows(profile, windows, busy) {
	const ms = busyMsInWindows(profile, windows, PROFILE_INTERVAL_US);
	if (ms === null) return false;
	for (const [i, w] of windows.entries()) busy[w.kind].push(ms[i]);
	return true;
}

/**
 * isolateTime's windows with `split` and `invocationOf`: the samples of a window's kind that fall
 * under `split.frames` go to the other kind, and the rest are told apart by invocation. Windows in
 * time order; false when the profile misses one.
 */
function splitWindows(profile, windows, { busy, largest }, split, invocationOf) {
	const skip = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
	const parent = new Map();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const splitMemo = new Map();
	const underSplit = (id) => {
		if (!splitMemo.has(id)) {
			let hit = false;
			for (let at = id; at !== undefined && !hit; at = parent.get(at))
				hit = split.frames.test(byId.get(at).callFrame.functionName);
			splitMemo.set(id, hit);
		}
		return splitMemo.get(id);
	};
	const times = [];
	let t = profile.startTime;
	for (let i = 0; i < profile.samples.length; i++) {
		t += profile.timeDeltas[i] ?? 0;
		times.push(t);
	}
	if (windows.length === 0 || profile.startTime > windows[0].fromUs || profile.endTime < windows.at(-1).toUs)
		return false;
	let at = 0;
	for (const w of windows) {
		while (at < times.length && times[at] < w.fromUs) at++;
		const other = split?.kinds[w.kind];
		let us = 0;
		let otherUs = 0;
		const byInvocation = new Map();
		let unclaimedUs = 0;
		for (let i = at; i < times.length && times[i] <= w.toUs; i++) {
			if (skip.has(profile.samples[i])) continue;
			const sampleUs = Math.min(profile.timeDeltas[i] ?? 0, PROFILE_INTERVAL_US);
			if (other && underSplit(profile.samples[i])) {
				otherUs += sampleUs;
				continue;
			}
			us += sampleUs;
			if (!invocationOf) continue;
			const owner = invocationOf(profile.samples[i]);
			if (owner) byInvocation.set(owner, (byInvocation.get(owner) ?? 0) + sampleUs);
			else unclaimedUs += sampleUs;
		}
		if (invocationOf) {
			const [owner, ownUs] = [...byInvocation].reduce((a, b) => (b[1] > a[1] ? b : a), ["(none)", 0]);
			largest[w.kind] ??= [];
			largest[w.kind].push({ owner, ms: (ownUs + unclaimedUs) / 1000, ownMs: ownUs / 1000 });
		}
		busy[w.kind].push(us / 1000);
		if (other) {
			busy[other] ??= [];
			busy[other].push(otherUs / 1000);
		}
	}
	return true;
}

async function eventsRun({ rt, client, signingSecret, count, stepMs }) {
	const worker = await rt.mf.getWorker("mj-edge");
	const objects = await rt.mf.getDurableObjectNamespace("TASK_OBJECT", "mj-edge");
	const db = await rt.mf.getD1Database("DB", "mj-edge");
	const stub = (id) => objects.get(objects.idFromName(id));
	const row = async (id) =>
		db.prepare("SELECT status, progress, upstream_id, image_key FROM tasks WHERE public_id = ?").bind(id).first();
	const { read, quiet, calibrate } = meter(rt.pid);
	const samples = Object.fromEntries(Object.keys(EVENT_KINDS).map((k) => [k, []]));
	/** Each counted event's window on the monotonic clock (µs), to find its samples in the isolate's profile. */
	const windows = [];
	const monoUs = () => Number(process.hrtime.bigint() / 1000n);
	const warnings = [];
	const hooks = await hookReceiver();
	let messageNo = 0;
	const nextId = () => `bench-event-${++messageNo}`;

	const idleNsPerMs = await calibrate();

	/**
	 * One event: quiet, read, run (which may wait for the event's own signal), quiet again, read.
	 * `kind` may be an async function of run's result, for events whose kind shows only afterwards.
	 */
	const measure = async (kind, counted, run) => {
		if (!(await quiet())) warnings.push("the process was not quiet before an event");
		const startNs = read();
		const startMs = performance.now();
		const fromUs = monoUs();
		const result = await run();
		const settled = await quiet();
		const toUs = monoUs();
		const ms = (read() - startNs - idleNsPerMs * (performance.now() - startMs)) / 1e6;
		// Read after the window: the bench's own D1 reads run in the same process.
		const name = typeof kind === "function" ? await kind(result) : kind;
		if (!settled) warnings.push(`${name}: the process was not quiet within 10 s after the event`);
		if (counted) {
			samples[name].push(ms);
			windows.push({ kind: name, fromUs, toUs });
		}
		return typeof kind === "function" ? name : result;
	};
	const queueEvent = async (queue, body) => {
		const id = nextId();
		const result = await worker.queue(queue, [message(id, body)]);
		if (result.outcome !== "ok" || !result.explicitAcks.includes(id)) {
			warnings.push(`${queue} ${body.kind ?? "message"} ${body.taskId}: not acked (${JSON.stringify(result)})`);
		}
		return result;
	};

	try {
		// Group A (warm-up + count): submit message, polls to SUCCESS (each alarm with it), client callback.
		const groupA = [];
		for (let i = 0; i <= count; i++) {
			const key = `events-a-${i}-${Date.now()}`;
			const q = new URLSearchParams({ action: "IMAGINE", prompt: `bench events ${i}`, notifyHook: hooks.url(key) });
			const res = await fetch(`${client.base}/api/v1/trigger/submit?${q}`, { headers: client.headers });
			const body = await res.json();
			if (body.code !== 1) throw new Error(`events: submit answered ${JSON.stringify(body)}`);
			groupA.push({ id: body.result, key, counted: i > 0 });
		}
		for (const t of groupA) {
			await measure("noopQueue", t.counted, () =>
				queueEvent("mj-edge-tasks-dlq", { kind: "poll", taskId: t.id, n: 0 }),
			);
			await measure("submitMessage", t.counted, () => queueEvent("mj-edge-tasks", { kind: "submit", taskId: t.id }));
			t.submittedAt = performance.now();
			const r = await row(t.id);
			if (r?.status !== "SUBMITTED") throw new Error(`events: task ${t.id} is ${r?.status} after its submit message`);
			t.upstreamId = r.upstream_id;
		}
		// The simulator moves a task one step every `stepMs`: one poll of each task per round, rounds
		// at least a step apart, until every task is SUCCESS with its image in R2.
		const pending = new Set(groupA);
		for (let round = 0; pending.size > 0 && round < 12; round++) {
			const roundStart = performance.now();
			for (const t of [...pending]) {
				const before = await row(t.id);
				// The alarm that SUCCESS sets off runs on in the background, busy all the way (the image
				// streamed in from the simulator, the R2 put, D1): the quiet that ends the window waits for it.
				const classify = async () => {
					const after = await row(t.id);
					if (after.status !== "SUCCESS")
						return after.status !== before.status || after.progress !== before.progress
							? "pollUpdate"
							: "pollUnchanged";
					if (!after.image_key)
						warnings.push(`task ${t.id}: the alarm had not copied the image when the window closed`);
					pending.delete(t);
					return "pollSuccess";
				};
				const kind = await measure(classify, t.counted, async () => {
					await queueEvent("mj-edge-tasks", { kind: "poll", taskId: t.id, n: round });
				});
				// Straight after a poll that moved the task, the upstream has not moved again (its
				// next step is up to a step away): a second poll now is one that finds it unchanged.
				if (kind === "pollUpdate" && samples.pollUnchanged.length < count) {
					const again = await row(t.id);
					const same = async () => {
						const after = await row(t.id);
						return after.status === again.status && after.progress === again.progress ? "pollUnchanged" : "pollUpdate";
					};
					await measure(same, t.counted, async () => {
						await queueEvent("mj-edge-tasks", { kind: "poll", taskId: t.id, n: round });
					});
				}
			}
			const wait = stepMs + 50 - (performance.now() - roundStart);
			if (wait > 0) await sleep(wait);
		}
		if (pending.size > 0) warnings.push(`${pending.size} tasks did not reach SUCCESS by polling`);
		for (const t of groupA) {
			await measure("hookMessage", t.counted, async () => {
				await queueEvent("mj-edge-hooks", { taskId: t.id });
				if (!(await hooks.received(t.key))) warnings.push(`task ${t.id}: its callback never arrived`);
			});
		}

		// Group B: the bench plays the upstream (pushes), then calls the TaskObject directly.
		for (let i = 0; i <= count; i++) {
			const id = await client.imagine(`bench events push ${i}`);
			const upstreamId = `bench-events-upstream-${id}`;
			await db.prepare("UPDATE tasks SET upstream_id = ? WHERE public_id = ?").bind(upstreamId, id).run();
			const sig = createHmac("sha256", signingSecret).update(`upstream-callback:${id}`).digest("base64url");
			const counted = i > 0;
			for (const progress of ["10%", "20%"]) {
				await measure("push", counted, async () => {
					const res = await fetch(`${client.base}/mj/callback/${id}?sig=${sig}`, {
						method: "POST",
						headers: { "content-type": "application/json" },
						body: JSON.stringify({ id: upstreamId, status: "IN_PROGRESS", progress, startTime: Date.now() }),
					});
					const text = await res.text();
					if (res.status !== 200 || !text.includes("applied"))
						warnings.push(`push ${id} ${progress}: ${res.status} ${text.slice(0, 200)}`);
				});
			}
			for (const progress of ["30%", "40%"]) {
				await measure("apply", counted, async () => {
					const result = await stub(id).apply(id, { status: "IN_PROGRESS", progress });
					if (!result.applied) warnings.push(`apply ${id} ${progress}: ${JSON.stringify(result)}`);
				});
			}
			await measure("noopRpc", counted, async () => {
				if (await stub(id).claimSubmit(id, 0)) warnings.push(`claimSubmit ${id} answered true`);
			});
		}
	} finally {
		await hooks.close();
	}
	const summary = summarizeEvents(samples, { idleNsPerMs, count, warnings });
	summary.simulatorApart = Boolean(rt.simulator);
	return { summary, windows };
}

/** The judged kinds `figure` gives no number for, and the judged kind with the largest figure. */
function worstJudged(figure, kinds = EVENT_KINDS) {
	const judged = Object.keys(kinds).filter((name) => kinds[name].judged);
	// A poll that finds the upstream unchanged happens only when a round lands inside one step.
	const missing = judged.filter((name) => name !== "pollUnchanged" && !Number.isFinite(figure(name)));
	const worst = judged
		.filter((name) => Number.isFinite(figure(name)))
		.reduce((a, b) => (a === null || figure(b) > figure(a) ? b : a), null);
	return { missing, worst };
}

/**
 * Mean and max per kind of `samples` ({kind: [ms]}), the worst judged kind and the verdict on the
 * process figure. `spec` is the kinds' table (EVENT_KINDS, or another part's, as bench/lib/discord.mjs).
 */
export function summarizeEvents(samples, { idleNsPerMs, count, warnings, spec = EVENT_KINDS }) {
	const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
	const kinds = {};
	for (const [name, xs] of Object.entries(samples)) {
		if (name === "alarm" && spec === EVENT_KINDS) continue;
		kinds[name] = { samples: xs, n: xs.length, meanMs: mean(xs), maxMs: xs.length ? Math.max(...xs) : null };
	}
	if (spec === EVENT_KINDS) {
		// The alarm runs inside the poll that saw SUCCESS: that poll minus a poll that carried an update.
		const base = kinds.pollUpdate.n ? kinds.pollUpdate : kinds.pollUnchanged;
		const alarmMs = kinds.pollSuccess.n && base.n ? kinds.pollSuccess.meanMs - base.meanMs : null;
		kinds.alarm = { samples: [], n: kinds.pollSuccess.n, meanMs: alarmMs, maxMs: null, derived: true };
		for (const [name, path] of Object.entries(PATH_OF)) {
			const k = kinds[name];
			if (k?.meanMs != null && kinds[path].meanMs != null) k.netMs = k.meanMs - kinds[path].meanMs;
		}
	}
	const { missing, worst } = worstJudged((name) => kinds[name]?.meanMs, spec);
	return {
		count,
		idleMsPerS: idleNsPerMs / 1000,
		kinds,
		worstKind: worst,
		worstMs: worst ? kinds[worst].meanMs : null,
		missing,
		target: EVENT_CPU_TARGET_MS,
		pass: missing.length === 0 && worst !== null && kinds[worst].meanMs < EVENT_CPU_TARGET_MS,
		warnings,
	};
}

const f = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/**
 * The printout: one line per kind, mean and max CPU ms, PASS/FAIL for the judged ones. `spec` and
 * `what` name another part's kinds (bench/lib/discord.mjs) in the same table format.
 */
export function eventLines(events, spec = EVENT_KINDS, what = "consumer message, alarm and push") {
	if (events.error) return [`  CPU per ${what}: not measured (${events.error})`];
	const lines = [
		`  CPU per invocation, one at a time on an idle gateway process (schedstat ns, minus idle ${f(events.idleMsPerS, 3)} ms/s; ${events.count} of each after a warm-up; upper bounds: the process also runs local D1/R2/DO storage, the queue broker, Miniflare's proxy${events.simulatorApart ? `; the simulator${spec === EVENT_KINDS ? "" : " and the fake Discord"} run${spec === EVENT_KINDS ? "s" : ""} in a process of ${spec === EVENT_KINDS ? "its" : "their"} own` : " and the simulator"}):`,
	];
	for (const [name, kindSpec] of Object.entries(spec)) {
		const k = events.kinds[name];
		if (!k) continue;
		const own = events.isolate?.kinds?.[name];
		const judgedMs = events.judgedOn === "isolate" ? isolateFigure(events, own) : k.meanMs;
		const verdict = !kindSpec.judged
			? "info"
			: !Number.isFinite(judgedMs)
				? "n/a"
				: judgedMs < events.target
					? "PASS"
					: "FAIL";
		const stats = k.derived
			? `mean ${f(k.meanMs).padStart(6)} ms (derived)     `
			: `mean ${f(k.meanMs).padStart(6)} ms  max ${f(k.maxMs).padStart(6)}`;
		const net = k.netMs === undefined ? "" : `  (${f(k.netMs)} ms net of the ${PATH_OF[name]} row)`;
		const largest =
			own?.worstInvocationMs != null
				? `  largest invocation <= ${f(own.worstInvocationMs)} ms (${own.worstInvocation} ${f(own.worstInvocationOwnMs)} + unclaimed)`
				: "";
		const isolate = events.isolate?.kinds
			? `  isolate mean ${(own ? f(own.meanMs) : "n/a").padStart(5)} max ${(own?.maxMs != null ? f(own.maxMs) : "-").padStart(5)} ms`
			: "";
		lines.push(
			`    ${name.padEnd(16)} ${stats}  n ${String(k.n).padStart(2)}  ${verdict.padEnd(4)}${isolate}${largest}  ${kindSpec.label}${net}`,
		);
	}
	const on =
		events.judgedOn !== "isolate"
			? "process, mean"
			: events.isolate?.judgedBy === "invocation"
				? "isolate, largest invocation in the worst window"
				: "isolate, worst window";
	lines.push(
		`    worst kind: ${events.worstKind ?? "n/a"} ${f(events.worstMs)} ms (${on}), target every ${what} < ${events.target} ms: ${events.pass ? "PASS" : "FAIL"}${events.missing.length ? ` (not measured: ${events.missing.join(", ")})` : ""}`,
	);
	if (events.isolate?.error)
		lines.push(`    isolate: not shown (${events.isolate.error}); the verdicts use the process figure`);
	else if (events.isolate)
		lines.push(
			`    isolate = the gateway isolate's own running time in the same windows (V8 profile: non-idle samples x ${events.isolate.intervalUs} µs; without local D1/R2/DO storage, broker and proxy), which is what the Workers CPU limit counts: the verdicts use it. By the process figure (an upper bound) the worst kind is ${events.processWorstKind ?? "n/a"} at ${f(events.processWorstMs)} ms: ${events.processPass ? "under" : "over"} ${events.target} ms`,
		);
	for (const w of events.warnings.slice(0, 10)) lines.push(`    warning: ${w}`);
	return lines;
}
