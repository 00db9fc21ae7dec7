/**
 * Live streams at growing fan-out (bench/growth.mjs part 2): one user with 1, 100 and 1,000 open
 * streams to `GET /api/user/stream` (SSE and WebSocket alternating, Node 22's fetch and global
 * WebSocket, 127.0.0.1), then task updates for that user, one at a time: each is a
 * `TaskObject.apply` with a new progress (the bench dispatches it through Miniflare's Durable
 * Object stub, as bench/lib/events.mjs does), which writes D1 and tells the user's hub
 * (src/durable/user-hub.ts), which sends it to every stream. Measured per update: the delay from
 * dispatch to the first and the last stream holding it, the UserHub isolate's own CPU (V8 profile of
 * `mj-edge-do-UserHub`: the gateway runs split, one isolate per kind of invocation) ÷ streams, and
 * the whole workerd process's CPU (info). Streams add up: 1, then 99 more, then 900 more.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cpuNanos } from "./proc.mjs";
import { busyMsInWindows, profileWhile } from "./profile.mjs";
import { freePort, migrate } from "./server.mjs";
import { startWorkerd } from "./workerd.mjs";

export const STREAM_LAST_TARGET_MS = 1000;
const PROFILE_INTERVAL_US = 250;
const monoUs = () => Number(process.hrtime.bigint() / 1000n);
const f = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const percentile = (xs, p) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null;
};

/** Waits (at most 3 s) until the process used under 2 ms of CPU in each of two back-to-back 50 ms windows. */
async function quiet(pid, timeoutMs = 3_000) {
	const until = performance.now() + timeoutMs;
	let calm = 0;
	let last = cpuNanos(pid);
	while (calm < 2 && performance.now() < until) {
		await sleep(50);
		const now = cpuNanos(pid);
		calm = now - last < 2e6 ? calm + 1 : 0;
		last = now;
	}
}

/**
 * One open stream. `seen(marker)` is the monotonic time (µs) the stream first held text containing
 * `marker`, or undefined; every stream looks for the markers the bench registers before an update.
 */
function streamClient(kind, url, watch) {
	const arrivals = new Map();
	let ready;
	const readyPromise = new Promise((resolve, reject) => {
		ready = { resolve, reject };
	});
	const onText = (text) => {
		const now = monoUs();
		for (const marker of watch.markers) if (!arrivals.has(marker) && text.includes(marker)) arrivals.set(marker, now);
		// The hub's first message on every connection.
		if (text.includes('"type":"snapshot"')) ready.resolve();
	};
	let close;
	if (kind === "ws") {
		const ws = new WebSocket(url.replace(/^http/, "ws"));
		ws.addEventListener("message", (event) => onText(String(event.data)));
		ws.addEventListener("error", () => ready.reject(new Error("websocket error")));
		ws.addEventListener("close", (event) => ready.reject(new Error(`websocket closed ${event.code}`)));
		close = () => ws.close();
	} else {
		const controller = new AbortController();
		fetch(url, { headers: { accept: "text/event-stream" }, signal: controller.signal })
			.then(async (res) => {
				if (res.status !== 200) throw new Error(`SSE answered ${res.status}`);
				const decoder = new TextDecoder();
				for await (const chunk of res.body) onText(decoder.decode(chunk, { stream: true }));
			})
			.catch((error) => ready.reject(error));
		close = () => controller.abort();
	}
	return { kind, ready: readyPromise, seen: (marker) => arrivals.get(marker), close };
}

export async function runStreamGrowth({ root, snapshot, outDir, logFile, log, makeToken }) {
	const counts = (process.env.BENCH_GROWTH_STREAMS ?? "1,100,1000").split(",").map(Number);
	const updates = Number(process.env.BENCH_GROWTH_UPDATES ?? 7);
	const state = join(outDir, "growth-streams-state");
	rmSync(state, { recursive: true, force: true });
	migrate({ root, persistTo: state, config: snapshot.config, logFile });
	const inspectorPort = await freePort();
	const rt = await startWorkerd({
		snapshot,
		persistTo: state,
		logFile,
		// Nothing moves the task but the bench: no consumers, no simulator channel.
		vars: { SIMULATOR_URL: "" },
		consumers: false,
		inspectorPort,
		splitIsolates: true,
		hello: false,
	});
	const streams = [];
	try {
		const db = await rt.mf.getD1Database("DB", "mj-edge");
		const now = Date.now();
		// A channel so that the submit is accepted; nothing is ever sent to it (no consumers).
		await db
			.prepare(
				"INSERT INTO channels (name, base_url, secret, weight, enabled, created_at, updated_at) VALUES ('bench-streams', 'http://127.0.0.1:9', '', 1, 1, ?, ?)",
			)
			.bind(now, now)
			.run();
		const token = await makeToken([snapshot.devVars], "bench-streams-user");
		const headers = { authorization: `Bearer ${token}` };
		const submit = await fetch(
			`${rt.base}/api/v1/trigger/submit?${new URLSearchParams({ action: "IMAGINE", prompt: "bench streams" })}`,
			{ headers },
		);
		const submitted = await submit.json();
		if (submitted.code !== 1) throw new Error(`submit answered ${JSON.stringify(submitted)}`);
		const taskId = submitted.result;
		const objects = await rt.mf.getDurableObjectNamespace("TASK_OBJECT", "mj-edge");
		const task = objects.get(objects.idFromName(taskId));
		let progress = 1;
		const apply = () => task.apply(taskId, { status: "IN_PROGRESS", progress: `${progress}%`, upstreamId: "bench-up" });
		if (!(await apply()).applied) throw new Error("the first update was not applied");

		const watch = { markers: new Set() };
		const ticket = async () => {
			const res = await fetch(`${rt.base}/api/user/stream-ticket`, { method: "POST", headers });
			const body = await res.json();
			if (!body?.data?.ticket) throw new Error(`stream-ticket answered ${res.status} ${JSON.stringify(body)}`);
			return body.data.ticket;
		};
		const results = [];
		const updateRun = async () => {
			const windows = [];
			const rows = [];
			for (let u = 0; u < updates; u++) {
				await quiet(rt.pid);
				progress += 1;
				const marker = `"progress":"${progress}%"`;
				watch.markers.add(marker);
				const cpu0 = cpuNanos(rt.pid);
				const fromUs = monoUs();
				const result = await apply();
				if (!result.applied) throw new Error(`update ${progress}% was not applied: ${JSON.stringify(result)}`);
				const deadline = performance.now() + 15_000;
				while (streams.some((s) => s.seen(marker) === undefined) && performance.now() < deadline) await sleep(2);
				const times = streams.map((s) => s.seen(marker));
				const missing = times.filter((t) => t === undefined).length;
				const got = times.filter((t) => t !== undefined);
				const toUs = Math.max(...got);
				const cpu1 = cpuNanos(rt.pid);
				rows.push({
					firstMs: (Math.min(...got) - fromUs) / 1000,
					lastMs: (Math.max(...got) - fromUs) / 1000,
					p50StreamMs: (percentile(got, 0.5) - fromUs) / 1000,
					missing,
					processCpuMs: (cpu1 - cpu0) / 1e6,
				});
				windows.push({ fromUs, toUs });
				watch.markers.delete(marker);
			}
			return { rows, windows };
		};
		for (const count of counts) {
			const want = count - streams.length;
			let t = await ticket();
			let ticketAt = Date.now();
			for (let i = 0; i < want; i += 50) {
				if (Date.now() - ticketAt > 40_000) {
					t = await ticket();
					ticketAt = Date.now();
				}
				const batch = [];
				for (let j = i; j < Math.min(want, i + 50); j++) {
					const kind = (streams.length + batch.length) % 2 === 0 ? "sse" : "ws";
					batch.push(streamClient(kind, `${rt.base}/api/user/stream?ticket=${encodeURIComponent(t)}`, watch));
				}
				streams.push(...batch);
				await Promise.all(batch.map((s) => s.ready));
			}
			log(`streams: ${streams.length} open (${streams.filter((s) => s.kind === "ws").length} WebSocket)`);
			const hubs = await rt.mf.getDurableObjectNamespace("USER_HUB", "mj-edge");
			// Delays and process CPU unprofiled (the profilers cost the process CPU of their own and slow
			// the isolates), then the same number of updates under the profilers for the isolates' CPU.
			const plain = await updateRun();
			const nested = await profileWhile({
				port: inspectorPort,
				workerName: "mj-edge-do-UserHub",
				intervalUs: PROFILE_INTERVAL_US,
				load: () =>
					profileWhile({
						port: inspectorPort,
						workerName: "mj-edge-do-TaskObject",
						intervalUs: PROFILE_INTERVAL_US,
						load: () => updateRun(),
					}),
			});
			const { rows } = plain;
			const profiled = nested.loadResult.loadResult;
			const hubMs = busyMsInWindows(nested.profile, profiled.windows, PROFILE_INTERVAL_US) ?? [];
			const objectMs = busyMsInWindows(nested.loadResult.profile, profiled.windows, PROFILE_INTERVAL_US) ?? [];
			for (const [i, row] of rows.entries()) {
				row.hubMs = hubMs[i];
				row.taskObjectMs = objectMs[i];
				row.profiledLastMs = profiled.rows[i]?.lastMs;
			}
			const last = rows.map((r) => r.lastMs);
			const hub = rows.map((r) => r.hubMs).filter(Number.isFinite);
			const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
			const entry = {
				streams: count,
				websockets: streams.filter((s) => s.kind === "ws").length,
				updates: rows.length,
				rows,
				lastP50Ms: percentile(last, 0.5),
				lastWorstMs: Math.max(...last),
				firstP50Ms: percentile(
					rows.map((r) => r.firstMs),
					0.5,
				),
				missing: rows.reduce((a, r) => a + r.missing, 0),
				hubMsPerUpdate: mean(hub),
				hubUsPerStream: mean(hub) === null ? null : (mean(hub) * 1000) / count,
				taskObjectMsPerUpdate: mean(rows.map((r) => r.taskObjectMs).filter(Number.isFinite)),
				processCpuMsPerUpdate: mean(rows.map((r) => r.processCpuMs)),
				hubConnections: await hubs
					.get(hubs.idFromName("user:1"))
					.connections()
					.then((c) => ({ websockets: c.websockets, sse: c.sse }))
					.catch(() => null),
			};
			results.push(entry);
			log(
				`streams ${count}: last stream p50 ${f(entry.lastP50Ms)} ms worst ${f(entry.lastWorstMs)} ms, UserHub ${f(entry.hubMsPerUpdate, 2)} ms/update (${f(entry.hubUsPerStream, 1)} µs per stream), process ${f(entry.processCpuMsPerUpdate)} ms/update, missing ${entry.missing}`,
			);
		}
		const top = results.find((r) => r.streams === Math.max(...counts));
		return {
			results,
			target: STREAM_LAST_TARGET_MS,
			pass: Boolean(top) && top.missing === 0 && top.lastWorstMs < STREAM_LAST_TARGET_MS,
		};
	} finally {
		for (const s of streams) s.close();
		await rt.stop();
	}
}

export function streamLines(report) {
	if (report.error) return [`live streams: could not run (${report.error.split("\n")[0]})`];
	const lines = [
		"live streams (one user, SSE and WebSocket alternating, updates one at a time through TaskObject.apply; delay = dispatch to the last stream holding the update; UserHub = that isolate's own CPU, V8 profile; process = the whole workerd process, info):",
	];
	for (const r of report.results) {
		lines.push(
			`  ${String(r.streams).padStart(5)} streams (${r.websockets} WebSocket)  last stream p50 ${f(r.lastP50Ms)} ms worst ${f(r.lastWorstMs)} ms, first p50 ${f(r.firstP50Ms)} ms  |  UserHub ${f(r.hubMsPerUpdate, 2)} ms per update = ${f(r.hubUsPerStream, 1)} µs per stream delivered  |  TaskObject ${f(r.taskObjectMsPerUpdate, 2)} ms, process ${f(r.processCpuMsPerUpdate)} ms per update  |  ${r.updates} updates, missed ${r.missing}`,
		);
	}
	const top = report.results.at(-1);
	lines.push(
		`  delay to the last of ${top?.streams} streams, worst of ${top?.updates} updates: ${f(top?.lastWorstMs)} ms  target < ${report.target} ms: ${report.pass ? "PASS" : "FAIL"}`,
	);
	return lines;
}
