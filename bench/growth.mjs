#!/usr/bin/env node
/**
 * The cost of growth (issue 20), in workerd through Miniflare like the workerd phase
 * (bench/lib/workerd.mjs), with the gateway split into one isolate per kind of invocation
 * (`splitIsolates`: HTTP and cron, queue consumers, each Durable Object class), so a V8 profile of
 * one isolate holds one kind of work, as each is an invocation of its own in production:
 *  1. the cron with a backlog: 1,000, 10,000 and 100,000 unfinished tasks (bench/lib/backlog.mjs),
 *     one `scheduled` run after another, each followed by the queue's consumption of what it
 *     handed over, until every stuck task has ended: the cron isolate's CPU (profile), wall time,
 *     the process's CPU, D1 statements and rows read (D1_STATS), the runs it took; then one queue
 *     consumer invocation of max_batch_size `timeout` messages at a time (the consumer isolate's
 *     CPU per invocation, profile);
 *  2. live streams: one user with 1, 100 and 1,000 open streams (SSE and WebSocket mixed), then
 *     task updates for that user: CPU per update delivered and the delay to the last stream.
 * `npm run bench:growth` runs it alone (a few minutes); `npm run bench` runs it last, and
 * `BENCH_ONLY=growth npm run bench` runs only it. Prints PASS/FAIL per target and writes
 * `growth` into bench/.out/latest.json. Knobs: bench/README.md ("Growth").
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { makeToken } from "./lib/api.mjs";
import { backlogCounts, backlogSql, STUCK_SQL } from "./lib/backlog.mjs";
import { cpuNanos } from "./lib/proc.mjs";
import { busyMsInWindows, frameLocator, profileWhile, summarizeProfile } from "./lib/profile.mjs";
import { d1Execute, freePort, migrate, prepareSnapshot } from "./lib/server.mjs";
import { startWorkerd } from "./lib/workerd.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export const GROWTH_TARGETS = {
	/** Isolate CPU of one cron run, at any backlog. */
	cronIsolateMs: 50,
	/**
	 * D1 rows the reconciler may read in one run at any backlog: its three seeks at their limits
	 * (src/cron/reconcile.ts RECONCILE_BATCH) and 30 more (the cursors, the channel, each seek's
	 * last step). The idempotency clean-up beside it is bounded by its own limit (1,000 records).
	 */
	cronRowsBound: 5000 + 400 + 200 + 30,
	/** Cron runs (each followed by the queue's consumption) until every stuck task has ended, at 100,000 unfinished, 10% timed out. */
	cronRunsToEnd: 3,
	/** Isolate CPU of one queue consumer invocation (max_batch_size `timeout` messages). */
	consumerInvocationMs: 10,
	/** From a task update to the last of 1,000 streams receiving it. */
	streamLastMs: 1000,
};
/** Mirrors src/cron/reconcile.ts RECONCILE_BATCH (printed with the results). */
const BATCH = { timedOut: 5000, lost: 400, walk: 200 };
/** Mirror src/tasks/messages.ts TIMEOUT_IDS_PER_MESSAGE and max_batch_size of mj-edge-tasks (wrangler.toml). */
const TIMEOUT_IDS_PER_MESSAGE = 10;
const MAX_BATCH_SIZE = 10;
/** Consumer invocations measured per backlog, each of MAX_BATCH_SIZE messages of fresh timed-out tasks. */
const PROBE_INVOCATIONS = 3;
const PROFILE_INTERVAL_US = 250;

const intEnv = (name, fallback) => {
	const value = Number(process.env[name] ?? fallback);
	if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
	return value;
};
const listEnv = (name, fallback) =>
	(process.env[name] ?? fallback)
		.split(",")
		.map((x) => Number(x.trim()))
		.filter((x) => Number.isFinite(x) && x > 0);

const monoUs = () => Number(process.hrtime.bigint() / 1000n);
const f = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const median = (xs) => {
	const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
	return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};

/** Waits until the process used under `slackMs` of CPU in each of two back-to-back 50 ms windows. */
async function quiet(pid, { slackMs = 2, timeoutMs = 5_000 } = {}) {
	const until = performance.now() + timeoutMs;
	let calm = 0;
	let last = cpuNanos(pid);
	while (calm < 2 && performance.now() < until) {
		await sleep(50);
		const now = cpuNanos(pid);
		calm = now - last < slackMs * 1e6 ? calm + 1 : 0;
		last = now;
	}
	return calm >= 2;
}

/**
 * The bench plays the upstream (a midjourney-proxy) on 127.0.0.1, so none of its CPU is in the
 * gateway's process: list-by-condition answers every id by its kind (bench/lib/backlog.mjs), a
 * submit is accepted, and a task the gateway submitted is SUCCESS when asked.
 */
async function fakeUpstream() {
	let submitted = 0;
	const view = (id) => {
		if (id.startsWith("done-") || id.startsWith("sub-"))
			return { id, status: "SUCCESS", progress: "100%", finishTime: Date.now() };
		return { id, status: "IN_PROGRESS", progress: "50%" };
	};
	const server = createServer((req, res) => {
		const chunks = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", () => {
			const path = new URL(req.url, "http://x").pathname;
			const send = (body) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
			if (path === "/mj/task/list-by-condition") {
				const { ids = [] } = JSON.parse(Buffer.concat(chunks).toString() || "{}");
				return send(ids.map(view));
			}
			if (path.startsWith("/mj/submit/")) {
				submitted += 1;
				return send({ code: 1, description: "Submit success", result: `sub-${submitted}`, properties: {} });
			}
			const fetched = /^\/mj\/task\/([^/]+)\/fetch$/.exec(path);
			if (fetched) return send(view(decodeURIComponent(fetched[1])));
			res.writeHead(404).end("null");
		});
	});
	await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
	return {
		url: `http://127.0.0.1:${server.address().port}`,
		submitted: () => submitted,
		close: () => new Promise((ok) => server.close(ok)),
	};
}

/** Collects workerd's log lines; `next(prefix)` resolves with the JSON after the next line starting with it. */
function logWatcher() {
	const waiting = [];
	const seen = [];
	const onLog = (_level, message) => {
		const text = String(message);
		seen.push(text);
		for (const w of [...waiting]) {
			if (text.startsWith(w.prefix)) {
				waiting.splice(waiting.indexOf(w), 1);
				w.resolve({ at: monoUs(), json: JSON.parse(text.slice(w.prefix.length).trim()) });
			}
		}
	};
	const next = (prefix, timeoutMs = 60_000) =>
		Promise.race([new Promise((resolve) => waiting.push({ prefix, resolve })), sleep(timeoutMs).then(() => null)]);
	return { onLog, next, seen };
}

/** Builds the bundle once (the console's assets directory must exist for wrangler's config). */
async function snapshotFor(outDir, logFile) {
	const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
	const assets = /^directory\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
	if (assets && !existsSync(join(ROOT, assets))) {
		const { buildWeb } = await import("../web/build.ts");
		await buildWeb();
	}
	return prepareSnapshot({ root: ROOT, dir: join(outDir, "growth-build"), logFile });
}

/** One backlog size: seed, start, run the cron until nothing is stuck (or maxRuns), measure each run. */
async function cronAtSize({ snapshot, outDir, logFile, log, total, maxRuns }) {
	const state = join(outDir, "growth-state");
	rmSync(state, { recursive: true, force: true });
	const upstream = await fakeUpstream();
	const d1 = { root: ROOT, persistTo: state, config: snapshot.config, logFile };
	migrate(d1);
	const file = join(outDir, "growth-backlog.sql");
	writeFileSync(file, backlogSql(total, Date.now(), upstream.url));
	const seedStart = performance.now();
	d1Execute({ ...d1, file });
	log(`cron ${total}: seeded in ${f((performance.now() - seedStart) / 1000)} s`);
	const logs = logWatcher();
	const inspectorPort = await freePort();
	const rt = await startWorkerd({
		snapshot,
		persistTo: state,
		logFile,
		// No simulator channel: lost tasks are submitted to the bench's upstream (channel 1).
		vars: { SIMULATOR_URL: "" },
		inspectorPort,
		splitIsolates: true,
		variants: { "mj-edge-stats": { D1_STATS: "true" } },
		onLog: logs.onLog,
		hello: false,
	});
	try {
		const worker = await rt.mf.getWorker("mj-edge");
		const statsWorker = await rt.mf.getWorker("mj-edge-stats");
		const db = await rt.mf.getD1Database("DB", "mj-edge");
		const stuckNow = async () => {
			const row = await db.prepare(STUCK_SQL).first();
			return { ...row, stuck: row.late + row.lost };
		};
		// Load the cron's isolate (the bundle's top level) as any first request would.
		await (await fetch(`${rt.base}/health`)).arrayBuffer();
		const before = await stuckNow();
		/**
		 * Waits until the queue has consumed what a run handed over (the timed-out tasks' `timeout`
		 * messages, the lost tasks' submits): nothing stuck is left, or the stuck count has not
		 * moved over two looks a couple of seconds apart. In production the next run is a minute
		 * away. (Not "the process is quiet": the profiler sampling it keeps it from ever being so.)
		 */
		const drained = async () => {
			const t0 = performance.now();
			let last = await stuckNow();
			let still = 0;
			while (last.stuck > 0 && still < 2 && performance.now() - t0 < 180_000) {
				await quiet(rt.pid, { timeoutMs: 2_000 });
				const now = await stuckNow();
				still = now.stuck === last.stuck ? still + 1 : 0;
				last = now;
			}
			return { left: last, ms: performance.now() - t0 };
		};
		const runs = [];
		const windows = [];
		const dispatch = async (i) => {
			await quiet(rt.pid);
			const stats = i === 2;
			const reportLine = logs.next("reconcile ");
			const statsLine = stats ? logs.next("cron d1 ") : null;
			const cpu0 = cpuNanos(rt.pid);
			const fromUs = monoUs();
			const outcome = await (stats ? statsWorker : worker).scheduled({
				cron: "* * * * *",
				scheduledTime: new Date(),
			});
			const returnedUs = monoUs();
			const report = await reportLine;
			const d1 = statsLine ? await statsLine : null;
			// The run ends when its work does: scheduled() waits for waitUntil, the log line proves it.
			const toUs = Math.max(returnedUs, report?.at ?? 0, d1?.at ?? 0);
			const cpuMs = (cpuNanos(rt.pid) - cpu0) / 1e6;
			const { left, ms: drainMs } = await drained();
			const run = {
				run: i,
				worker: stats ? "mj-edge-stats (D1_STATS)" : "mj-edge",
				outcome: outcome.outcome,
				wallMs: (toUs - fromUs) / 1000,
				processCpuMs: cpuMs,
				report: report?.json ?? null,
				d1: d1?.json
					? Object.fromEntries(
							Object.entries(d1.json).map(([part, st]) => [
								part,
								{ queries: st.queries, rowsRead: st.rowsRead, rowsWritten: st.rowsWritten },
							]),
						)
					: null,
				stuckAfter: left.stuck,
				drainMs,
				left,
			};
			runs.push(run);
			if (!stats) windows.push({ fromUs, toUs, run: i });
			log(
				`cron ${total}: run ${i}${stats ? " (D1_STATS)" : ""} ${f(run.wallMs)} ms wall, process ${f(cpuMs)} ms, ${JSON.stringify(run.report)}${run.d1 ? ` d1 ${JSON.stringify(run.d1)}` : ""}; queue drained ${f(drainMs / 1000)} s later: stuck ${left.stuck} (late ${left.late}, lost ${left.lost}), done unheard ${left.done}`,
			);
			return left;
		};
		const loop = async () => {
			let left = before;
			// Run 2 is the D1_STATS worker's, so at least two runs even when run 1 ended everything.
			for (let i = 1; i <= maxRuns && (left.stuck > 0 || i <= 2); i++) left = await dispatch(i);
			await quiet(rt.pid);
			return left;
		};
		const objects = "mj-edge-do-TaskObject";
		const nested = await profileWhile({
			port: inspectorPort,
			workerName: objects,
			intervalUs: PROFILE_INTERVAL_US,
			load: () =>
				profileWhile({ port: inspectorPort, workerName: "mj-edge", intervalUs: PROFILE_INTERVAL_US, load: loop }),
		});
		const cronProfile = nested.loadResult.profile;
		// For Chrome DevTools (Performance > Load profile), and for reading what a run did.
		writeFileSync(join(outDir, `growth-cron-${total}.cpuprofile`), JSON.stringify(cronProfile));
		writeFileSync(join(outDir, `growth-cron-${total}.windows.json`), JSON.stringify(windows));
		const left = nested.loadResult.loadResult;
		const cronMs = busyMsInWindows(cronProfile, windows, PROFILE_INTERVAL_US);
		// Self time at the cron's own lines, nearly all of it at its Durable Object calls: local workerd
		// starts an object that is not running (its SQLite storage opened, …) inside the caller's call,
		// ~1.5 ms a call here, 11 µs once it runs (bench/cold-objects.mjs). In production the object
		// starts on its own machine and thread, not in the cron's CPU time.
		const locate = frameLocator(`${snapshot.script}.map`);
		const atCallsMs = busyMsInWindows(cronProfile, windows, PROFILE_INTERVAL_US, {
			leaf: (frame) => locate(frame) === "src/cron/reconcile.ts",
		});
		const objectMs = busyMsInWindows(nested.profile, windows, PROFILE_INTERVAL_US);
		windows.forEach((w, i) => {
			const run = runs.find((r) => r.run === w.run);
			run.isolateMs = cronMs?.[i] ?? null;
			run.atObjectCallsMs = atCallsMs?.[i] ?? null;
			run.ownMs = run.isolateMs == null ? null : run.isolateMs - (run.atObjectCallsMs ?? 0);
			run.taskObjectsMs = objectMs?.[i] ?? null;
		});
		const plain = runs.filter((r) => r.isolateMs != null);
		// The cron's figures stand even if the probe cannot run.
		const consumer = await consumerProbe({ rt, db, total, inspectorPort, locate, log }).catch((error) => {
			log(`cron ${total}: consumer probe could not run: ${error?.stack ?? error}`);
			return null;
		});
		const ended = left.stuck === 0;
		const k = ended ? runs.findIndex((r) => r.stuckAfter === 0) + 1 : null;
		const profileSummary = summarizeProfile(cronProfile, {
			mapFile: `${snapshot.script}.map`,
			top: 8,
			intervalUs: PROFILE_INTERVAL_US,
		});
		const statsRun = runs.find((r) => r.d1);
		return {
			total,
			kinds: backlogCounts(total),
			before,
			after: left,
			runs,
			k,
			ended,
			firstRun: runs[0],
			worstIsolateMs: Math.max(...plain.map((r) => r.isolateMs)),
			medianIsolateMs: median(plain.map((r) => r.isolateMs)),
			worstOwnMs: Math.max(...plain.map((r) => r.ownMs)),
			medianOwnMs: median(plain.map((r) => r.ownMs)),
			medianTaskObjectsMs: median(plain.map((r) => r.taskObjectsMs)),
			medianWallMs: median(plain.map((r) => r.wallMs)),
			medianProcessCpuMs: median(plain.map((r) => r.processCpuMs)),
			rowsRead: statsRun?.d1?.reconcile?.rowsRead ?? null,
			statements: statsRun?.d1?.reconcile?.queries ?? null,
			rowsWritten: statsRun?.d1?.reconcile?.rowsWritten ?? null,
			purge: statsRun?.d1?.purge ?? null,
			walkPeriodRuns: Math.ceil((total - backlogCounts(total).lost) / BATCH.walk),
			upstreamSubmits: upstream.submitted(),
			consumer,
			profile: {
				sampledMs: profileSummary.sampledMs,
				sources: profileSummary.sources,
				functions: profileSummary.functions,
			},
		};
	} finally {
		await rt.stop();
		await upstream.close();
	}
}

/**
 * One queue consumer invocation at a time, as production's max_batch_size makes the largest:
 * MAX_BATCH_SIZE `timeout` messages of TIMEOUT_IDS_PER_MESSAGE fresh timed-out tasks each
 * (`bl-probe-n`, written after the cron's runs), dispatched to `mj-edge-queue` with Miniflare's
 * `queue()` under a V8 profile of that isolate. As for the cron, the self time at the consumer's
 * own lines (src/queue/task-consumer.ts) is where local workerd starts each cold object inside
 * the caller; both figures are kept.
 */
async function consumerProbe({ rt, db, total, inspectorPort, locate, log }) {
	const perInvocation = MAX_BATCH_SIZE * TIMEOUT_IDS_PER_MESSAGE;
	const count = PROBE_INVOCATIONS * perInvocation;
	const now = Date.now();
	await db
		.prepare(
			`INSERT INTO tasks (public_id, user_id, user_seq, task_seq, action, prompt, status, progress, channel_id, upstream_id,
			   submit_time, updated_at, version, quota)
			 WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ?1)
			 SELECT 'bl-probe-' || n, 1 + n % 100, 10000000 + n, ?2 + n, 'IMAGINE', 'bench probe ' || n, 'IN_PROGRESS', '50%', 1,
			   'probe-' || n, ?3 - 41 * 60000 - n, ?3, 1, 0 FROM seq`,
		)
		.bind(count, total, now)
		.run();
	const ids = Array.from({ length: count }, (_, i) => `bl-probe-${i + 1}`);
	const queueWorker = await rt.mf.getWorker("mj-edge-queue");
	const windows = [];
	const outcomes = [];
	const load = async () => {
		for (let i = 0; i < PROBE_INVOCATIONS; i++) {
			await quiet(rt.pid);
			const messages = Array.from({ length: MAX_BATCH_SIZE }, (_, m) => {
				const at = i * perInvocation + m * TIMEOUT_IDS_PER_MESSAGE;
				return {
					id: `probe-${i}-${m}`,
					timestamp: new Date(),
					attempts: 1,
					body: {
						kind: "timeout",
						failReason: "timed out after 30 minutes",
						taskIds: ids.slice(at, at + TIMEOUT_IDS_PER_MESSAGE),
					},
				};
			});
			const fromUs = monoUs();
			const result = await queueWorker.queue("mj-edge-tasks", messages);
			windows.push({ fromUs, toUs: monoUs() });
			outcomes.push(result.outcome);
		}
		await quiet(rt.pid);
	};
	const { profile } = await profileWhile({
		port: inspectorPort,
		workerName: "mj-edge-queue",
		intervalUs: PROFILE_INTERVAL_US,
		load,
	});
	const isolateMs = busyMsInWindows(profile, windows, PROFILE_INTERVAL_US) ?? [];
	const atCallsMs =
		busyMsInWindows(profile, windows, PROFILE_INTERVAL_US, {
			leaf: (frame) => locate(frame) === "src/queue/task-consumer.ts",
		}) ?? [];
	const ended = await db
		.prepare(
			"SELECT COUNT(*) AS n FROM tasks WHERE public_id >= 'bl-probe-' AND public_id < 'bl-probe.' AND status = 'FAILURE'",
		)
		.first();
	const invocations = windows.map((w, i) => ({
		wallMs: (w.toUs - w.fromUs) / 1000,
		isolateMs: isolateMs[i] ?? null,
		atObjectCallsMs: atCallsMs[i] ?? null,
		ownMs: isolateMs[i] == null ? null : isolateMs[i] - (atCallsMs[i] ?? 0),
		outcome: outcomes[i],
	}));
	log(
		`cron ${total}: consumer invocations of ${MAX_BATCH_SIZE} x ${TIMEOUT_IDS_PER_MESSAGE} timed-out tasks: ${JSON.stringify(invocations)}; ${ended.n} of ${count} ended`,
	);
	return {
		messagesPerInvocation: MAX_BATCH_SIZE,
		idsPerMessage: TIMEOUT_IDS_PER_MESSAGE,
		invocations,
		ended: ended.n,
		count,
		worstOwnMs: Math.max(...invocations.map((x) => x.ownMs ?? Number.NaN)),
		worstIsolateMs: Math.max(...invocations.map((x) => x.isolateMs ?? Number.NaN)),
	};
}

export async function runCronGrowth({ snapshot, outDir, logFile, log }) {
	const sizes = listEnv("BENCH_GROWTH_SIZES", "1000,10000,100000");
	const maxRuns = intEnv("BENCH_GROWTH_MAX_RUNS", 40);
	const results = [];
	for (const total of sizes) results.push(await cronAtSize({ snapshot, outDir, logFile, log, total, maxRuns }));
	const worst = Math.max(...results.map((r) => r.worstOwnMs));
	const worstRaw = Math.max(...results.map((r) => r.worstIsolateMs));
	const rows = results.map((r) => r.rowsRead).filter(Number.isFinite);
	const rowsPass = rows.length === results.length && Math.max(...rows) <= GROWTH_TARGETS.cronRowsBound;
	const consumerWorst = Math.max(...results.map((r) => r.consumer?.worstOwnMs ?? Number.NaN));
	return {
		batch: BATCH,
		consumerWorstOwnMs: consumerWorst,
		consumerWorstIsolateMs: Math.max(...results.map((r) => r.consumer?.worstIsolateMs ?? Number.NaN)),
		consumerPass:
			Number.isFinite(consumerWorst) &&
			consumerWorst < GROWTH_TARGETS.consumerInvocationMs &&
			results.every((r) => r.consumer?.ended === r.consumer?.count),
		maxRuns,
		sizes: results,
		worstOwnMs: worst,
		worstIsolateMs: worstRaw,
		isolatePass: Number.isFinite(worst) && worst < GROWTH_TARGETS.cronIsolateMs,
		rowsPass,
		endedPass: results.every((r) => r.ended),
		runsPass: results.every((r) => r.ended && r.k <= GROWTH_TARGETS.cronRunsToEnd),
	};
}

export function cronLines(cron) {
	if (cron.error) return [`cron with a backlog: could not run (${cron.error})`];
	const verdict = (ok) => (ok ? "PASS" : "FAIL");
	const lines = [
		`cron with a backlog (one scheduled() run after another, each followed by the queue consuming what it handed over, until no task is stuck; batch per run: ${cron.batch.timedOut} timed out handed to the queue, ${cron.batch.lost} lost, ${cron.batch.walk} walked; isolate = the cron isolate's own CPU, V8 profile ${PROFILE_INTERVAL_US} µs; process = the whole workerd process incl. local D1, queue consumers and the task objects, info):`,
	];
	for (const r of cron.sizes) {
		const one = r.firstRun;
		lines.push(
			`  backlog ${String(r.total).padStart(6)}  run 1: isolate ${f(one.ownMs)} ms (+ ${f(one.atObjectCallsMs)} at cold object calls), wall ${f(one.wallMs)} ms, process ${f(one.processCpuMs)} ms, task objects ${f(one.taskObjectsMs)} ms  |  runs: isolate median ${f(r.medianOwnMs)} worst ${f(r.worstOwnMs)} ms (with object starts: median ${f(r.medianIsolateMs)} worst ${f(r.worstIsolateMs)}), wall median ${f(r.medianWallMs)} ms, process median ${f(r.medianProcessCpuMs)} ms  |  D1 per run (reconcile): ${r.statements ?? "n/a"} statements, ${r.rowsRead ?? "n/a"} rows read, ${r.rowsWritten ?? "n/a"} written; idempotency clean-up ${r.purge ? `${r.purge.queries} statement, ${r.purge.rowsRead} read, ${r.purge.rowsWritten} written` : "n/a"}`,
			`                  stuck ${r.before.stuck} (late ${r.before.late}, lost ${r.before.lost}) -> ${r.after.stuck} after ${r.runs.length} runs: ${r.ended ? `k = ${r.k}` : `NOT ended within ${cron.maxRuns} runs`} (target <= ${GROWTH_TARGETS.cronRunsToEnd}: ${verdict(r.ended && r.k <= GROWTH_TARGETS.cronRunsToEnd)}; queue drained after each run in median ${f(median(r.runs.map((x) => x.drainMs / 1000)))} s)  |  done-unheard ${r.before.done} -> ${r.after.done} (the walk passes every in-flight task in ${r.walkPeriodRuns} runs)  |  healthy disturbed ${r.after.runDisturbed}`,
		);
	}
	lines.push(
		`  isolate CPU per run, worst at any backlog: ${f(cron.worstOwnMs)} ms  target < ${GROWTH_TARGETS.cronIsolateMs} ms: ${verdict(cron.isolatePass)}  (with local workerd's cold object starts in the caller: ${f(cron.worstIsolateMs)} ms, ${cron.worstIsolateMs < GROWTH_TARGETS.cronIsolateMs ? "under" : "over"} the target; see bench/README.md)`,
		`  D1 rows read by the reconciler in run 2 (D1_STATS): ${cron.sizes.map((r) => r.rowsRead ?? "n/a").join(" / ")} at backlogs ${cron.sizes.map((r) => r.total).join(" / ")}  target a fixed bound whatever the backlog (<= ${GROWTH_TARGETS.cronRowsBound}: the batch caps ${BATCH.timedOut} + ${BATCH.lost} + ${BATCH.walk} + 30): ${verdict(cron.rowsPass)}`,
		`  every stuck task ended: k = ${cron.sizes.map((r) => r.k ?? `>${cron.maxRuns}`).join(" / ")} runs at backlogs ${cron.sizes.map((r) => r.total).join(" / ")}  target stuck reaches 0: ${verdict(cron.endedPass)}; within <= ${GROWTH_TARGETS.cronRunsToEnd} runs (plus the queue's consumption) at each: ${verdict(cron.runsPass)}`,
	);
	for (const r of cron.sizes) {
		const c = r.consumer;
		if (!c) continue;
		lines.push(
			`  queue consumer at ${String(r.total).padStart(6)}: one invocation of ${c.messagesPerInvocation} timeout messages x ${c.idsPerMessage} tasks (max_batch_size): isolate ${c.invocations.map((x) => f(x.ownMs)).join(" / ")} ms (+ ${c.invocations.map((x) => f(x.atObjectCallsMs)).join(" / ")} at cold object calls), wall ${c.invocations.map((x) => f(x.wallMs, 0)).join(" / ")} ms; ${c.ended} of ${c.count} ended`,
		);
	}
	lines.push(
		`  queue consumer invocation CPU, worst: ${f(cron.consumerWorstOwnMs)} ms  target < ${GROWTH_TARGETS.consumerInvocationMs} ms (and every task ended): ${verdict(cron.consumerPass)}  (with local workerd's cold object starts in the caller: ${f(cron.consumerWorstIsolateMs)} ms)`,
	);
	const big = cron.sizes.at(-1);
	if (big?.profile?.sources?.length) {
		lines.push(
			`  cron isolate at ${big.total} (sampled ${f(big.profile.sampledMs)} ms over all runs), by source: ${big.profile.sources
				.slice(0, 6)
				.map((s) => `${s.name} ${f(s.share * 100, 0)}%`)
				.join(", ")}`,
		);
	}
	return lines;
}

/** Runs the growth parts; `parts` is a subset of ["cron", "streams"]. */
export async function runGrowth({ outDir, logFile, log, parts = ["cron", "streams"] }) {
	mkdirSync(outDir, { recursive: true });
	log("growth: freezing a bundle (wrangler deploy --dry-run) into bench/.out/growth-build");
	const snapshot = await snapshotFor(outDir, logFile);
	const report = { startedAt: new Date().toISOString(), loadAverageStart: loadavg() };
	if (parts.includes("cron")) {
		try {
			report.cron = await runCronGrowth({ snapshot, outDir, logFile, log });
		} catch (error) {
			report.cron = { error: String(error?.stack ?? error) };
		}
	}
	if (parts.includes("streams")) {
		try {
			const { runStreamGrowth } = await import("./lib/streams.mjs");
			report.streams = await runStreamGrowth({ root: ROOT, snapshot, outDir, logFile, log, makeToken });
		} catch (error) {
			report.streams = { error: String(error?.stack ?? error) };
		}
	}
	report.loadAverageEnd = loadavg();
	return report;
}

export async function growthLines(report) {
	const lines = [`growth (load average ${report.loadAverageStart.map((x) => f(x, 2)).join(" ")} at the start)`];
	if (report.cron) lines.push(...cronLines(report.cron));
	if (report.streams) {
		const { streamLines } = await import("./lib/streams.mjs");
		lines.push(...streamLines(report.streams));
	}
	return lines;
}

/** `npm run bench:growth`: this file alone; merges `growth` into bench/.out/latest.json. */
async function main() {
	const outDir = join(ROOT, "bench", ".out");
	const logFile = join(outDir, "growth.log");
	rmSync(logFile, { force: true });
	const t0 = Date.now();
	const log = (message) => console.log(`[growth ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${message}`);
	const parts = (process.env.BENCH_GROWTH_PARTS ?? "cron,streams").split(",").map((p) => p.trim());
	const report = await runGrowth({ outDir, logFile, log, parts });
	const latest = join(outDir, "latest.json");
	const merged = existsSync(latest) ? JSON.parse(readFileSync(latest, "utf8")) : {};
	// A run of one part keeps the other part's last figures.
	merged.growth = { ...merged.growth, ...report };
	writeFileSync(latest, `${JSON.stringify(merged, null, "\t")}\n`);
	console.log("");
	for (const line of await growthLines(report)) console.log(line);
	console.log("written to bench/.out/latest.json (growth)");
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	main().then(
		() => process.exit(0),
		(error) => {
			console.error(`growth bench could not run: ${error?.stack ?? error}`);
			process.exit(1);
		},
	);
}
