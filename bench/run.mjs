#!/usr/bin/env node
/**
 * `npm run bench`: seeds a throwaway local D1 with 100,000 tasks over 100 users, then
 * (1) on a gateway started with D1_STATS on, reads D1's rows_read and query plans of the
 * seed-001 task lists (and runs bench/album.mjs when it exists);
 * (2) on the gateway as configured, measures workerd memory growth while a 50 MB result image
 * is copied into R2, and the throughput of GET /health against an authenticated
 * GET /api/v1/task/fetch and GET /api/mj/self (the user with 50,000 tasks);
 * (3) the way production runs: the same bundle in workerd through Miniflare's API, no dev proxy,
 * every route's req/s against a bare hello Worker's, CPU per request, submit throughput, the
 * pipeline's latencies, R2 reads of repeat image views and a CPU profile (bench/lib/production.mjs);
 * prints a summary and writes it to bench/.out/latest.json. Exit 0 when the bench ran
 * (whatever the targets say), non-zero when it could not run. Knobs: see bench/README.md.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildWeb } from "../web/build.ts";
import { growthLines, runGrowth } from "./growth.mjs";
import { Client, makeToken } from "./lib/api.mjs";
import { DEFAULT_ACCOUNT_STEPS, discordLines, discordPass, runDiscordBench } from "./lib/discord.mjs";
import { listCases, listLines, measureLists } from "./lib/lists.mjs";
import { closedLoop, median } from "./lib/load.mjs";
import { KIB_PER_MIB, peakOf, perPidPeak, readWorkerd, startSampler, workerdRole } from "./lib/memory.mjs";
import { cmdline, cpuSeconds, descendants, workerdProcesses } from "./lib/proc.mjs";
import { productionLines, productionPass, runProduction } from "./lib/production.mjs";
import { BIG_USER_TASKS, SEED_CHECK_SQL, SEED_EXPECTED, seedSql, TASKS, USERS, userSub } from "./lib/seed.mjs";
import {
	d1Execute,
	ensureDevVars,
	freePort,
	liveDevVars,
	migrate,
	prepareSnapshot,
	startServer,
} from "./lib/server.mjs";
import { wrkAvailable } from "./lib/wrk.mjs";
import { routesLines, runRoutes } from "./routes.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUT_DIR = join(ROOT, "bench", ".out");
// bench/.out/ is git-ignored; bench/.state would not be.
const STATE_DIR = join(OUT_DIR, "state");
const LOG_FILE = join(OUT_DIR, "server.log");
const BUILD_DIR = join(OUT_DIR, "build");

const intEnv = (name, fallback) => {
	const value = Number(process.env[name] ?? fallback);
	if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
	return value;
};
const config = {
	concurrency: intEnv("BENCH_CONCURRENCY", 16),
	// Many short rounds rather than a few long ones: a neighbour's burst of CPU then lands in
	// one or two rounds, which the medians discard.
	warmupMs: intEnv("BENCH_WARMUP_MS", 1000),
	durationMs: intEnv("BENCH_DEV_DURATION_MS", 5000),
	// Under wrangler dev (info only since the workerd phase): one round by default.
	rounds: intEnv("BENCH_DEV_ROUNDS", 1),
	// The workerd phase (bench/lib/production.mjs): wrk, whole seconds.
	prod: {
		concurrency: intEnv("BENCH_CONCURRENCY", 16),
		rounds: intEnv("BENCH_ROUNDS", 3),
		durationMs: intEnv("BENCH_DURATION_MS", 3000),
		latencySamples: intEnv("BENCH_LATENCY_SAMPLES", 7),
		lifecycleTasks: intEnv("BENCH_LIFECYCLE_TASKS", 5),
		// CPU per invocation (bench/lib/events.mjs): this many of each kind, after one warm-up.
		eventTasks: intEnv("BENCH_EVENT_TASKS", 6),
	},
	// Discord accounts (bench/lib/discord.mjs): this many IMAGINEs (and an UPSCALE of each) per pass
	// after a warm-up; the accounts-per-Worker steps; seconds profiled at each.
	discord: {
		tasks: intEnv("BENCH_DISCORD_TASKS", 4),
		steps: process.env.BENCH_DISCORD_ACCOUNTS
			? process.env.BENCH_DISCORD_ACCOUNTS.split(",").map((n) => {
					const value = Number(n);
					if (!Number.isInteger(value) || value <= 0)
						throw new Error("BENCH_DISCORD_ACCOUNTS: positive integers, comma-separated");
					return value;
				})
			: DEFAULT_ACCOUNT_STEPS,
		seconds: intEnv("BENCH_DISCORD_SECONDS", 30),
	},
	imageMb: intEnv("BENCH_IMAGE_MB", 50),
	copies: Math.max(2, intEnv("BENCH_IMAGE_COPIES", 3)),
	// "snapshot": serve a bundle built at the start; "live": let wrangler bundle src/ and watch it.
	source: process.env.BENCH_SOURCE === "live" ? "live" : "snapshot",
};
// Under wrangler dev the req/s ratios to /health are information only now: the dev proxy costs
// ~3.2 ms of CPU per request, several times the routes themselves. The workerd phase judges them.
const TARGETS = { devRatioInfo: { fetch: 0.6, self: 0.5 }, growthMaxMb: 32 };

const t0 = Date.now();
const log = (message) => console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${message}`);
const mb = (kb) => kb / KIB_PER_MIB;
const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

let server;
async function shutdown(code) {
	if (server) {
		await server.stop();
		server = undefined;
	}
	process.exit(code);
}
for (const [signal, code] of [
	["SIGINT", 130],
	["SIGTERM", 143],
]) {
	process.on(signal, () => {
		log(`${signal}: stopping the server`);
		shutdown(code);
	});
}
process.on("exit", () => server?.killNow());

/** Which part of the dev server a process under wrangler is. */
function roleOf(p) {
	if (p.comm === "workerd") return workerdRole(cmdline(p.pid), server.port);
	if (p.comm === "node" || p.pid === server.pid) return "wrangler";
	return p.comm;
}

/** CPU seconds used so far, summed per role; "client" is this process (the load generator). */
function cpuByRole() {
	const byRole = {};
	for (const p of [{ pid: server.pid, comm: "node" }, ...descendants(server.pid)]) {
		const seconds = cpuSeconds(p.pid);
		if (seconds === null) continue;
		const role = roleOf(p);
		byRole[role] = (byRole[role] ?? 0) + seconds;
	}
	const self = process.cpuUsage();
	byRole.client = (self.user + self.system) / 1e6;
	return byRole;
}

/** CPU milliseconds per counted request of each role over a load run's measuring window. */
function cpuPerRequest(result) {
	const { start, end } = result.probe ?? {};
	if (!start || !end || result.requests === 0) return {};
	return Object.fromEntries(
		Object.keys(end)
			.filter((role) => role in start && role !== "esbuild")
			.map((role) => [role, ((end[role] - start[role]) * 1000) / result.requests]),
	);
}

/**
 * Closed-loop req/s of GET /health and of each endpoint in `targets` ({ name: { url, headers } }),
 * `config.rounds` rounds; each endpoint's median req/s is compared with health's.
 */
async function throughput(targets) {
	const endpoints = { health: { url: `${server.base}/health`, headers: {} }, ...targets };
	const names = Object.keys(endpoints);
	const runs = Object.fromEntries(names.map((name) => [name, []]));
	const run = (name, options) =>
		closedLoop({ url: endpoints[name].url, headers: endpoints[name].headers, ...loadOptions(), ...options });
	// Round 1 otherwise pays for the JIT and for collecting the memory phase's garbage.
	log(`warming ${names.join(", ")} up (unmeasured)`);
	for (const name of names) await run(name, { warmupMs: 0, durationMs: 2000 });
	for (let round = 1; round <= config.rounds; round++) {
		// ABBA order (health, fetch, self / self, fetch, health, ...), so slow drift (heat,
		// neighbours, growing state) hits every endpoint alike.
		const order = round % 2 ? names : [...names].reverse();
		for (const name of order) {
			const { probe, ...result } = await run(name, { probe: cpuByRole });
			result.cpuMsPerRequest = cpuPerRequest({ ...result, probe });
			runs[name].push(result);
			log(
				`round ${round} ${name.padEnd(6)} ${fmt(result.rps, 0).padStart(5)} req/s  p50 ${fmt(result.p50Ms)} ms  p99 ${fmt(result.p99Ms)} ms  errors ${result.errors}${result.errors ? ` ${JSON.stringify(result.statuses)}` : ""}  cpu ms/req ${formatCpu(result.cpuMsPerRequest)}`,
			);
		}
	}
	const summarize = (list) => ({
		rps: median(list.map((r) => r.rps)),
		cpuMsPerRequest: Object.fromEntries(
			Object.keys(list[0]?.cpuMsPerRequest ?? {}).map((role) => [
				role,
				median(list.map((r) => r.cpuMsPerRequest[role])),
			]),
		),
		p50Ms: median(list.map((r) => r.p50Ms)),
		p99Ms: median(list.map((r) => r.p99Ms)),
		requests: list.reduce((a, r) => a + r.requests, 0),
		errors: list.reduce((a, r) => a + r.errors, 0),
		rounds: list,
	});
	const summary = Object.fromEntries(names.map((name) => [name, summarize(runs[name])]));
	// What a ratio would be if every process were CPU-bound on a quiet machine: CPU time per
	// request moves much less with neighbours' load than req/s does.
	const cpuTotal = (side) => Object.values(side.cpuMsPerRequest).reduce((a, b) => a + b, 0);
	const ratios = Object.fromEntries(
		names
			.filter((name) => name !== "health")
			.map((name) => {
				const ratio = summary[name].rps / summary.health.rps;
				const min = TARGETS.devRatioInfo[name];
				return [
					name,
					{
						ratio,
						// Each round's pair ran back to back: their spread shows how far to trust the ratio.
						roundRatios: runs[name].map((r, i) => r.rps / runs.health[i].rps),
						cpuRatio: cpuTotal(summary.health) / cpuTotal(summary[name]),
						target: `info (was >= ${min})`,
						pass: null,
					},
				];
			}),
	);
	return { ...summary, ratios };
}

function formatCpu(byRole) {
	return Object.entries(byRole)
		.map(([role, ms]) => `${role} ${fmt(ms, 2)}`)
		.join(", ");
}

function loadOptions() {
	return { concurrency: config.concurrency, warmupMs: config.warmupMs, durationMs: config.durationMs };
}

/**
 * Copies `config.copies` big images one after another. The first copy runs on a cold
 * runtime: workerd's stream machinery then grows RSS by ~75-135 MB once, even for a Worker
 * that only discards a 50 MB stream (bench/README.md), so it is reported for information.
 * The target applies to the worst of the later copies: on a warm runtime a streamed copy adds
 * little, while a copy that buffers the image adds more than the image (~125 MB for 50 MB,
 * measured with a deliberately buffering Worker), so the check still catches buffering.
 */
async function memory(client) {
	const procs = workerdProcesses(server.pid);
	if (procs.length === 0) throw new Error(`no workerd process found under wrangler pid ${server.pid}`);
	const roles = Object.fromEntries(procs.map((p) => [p.pid, workerdRole(p.cmdline, server.port)]));
	log(`workerd processes: ${procs.map((p) => `${p.pid} (${roles[p.pid]})`).join(", ")}`);
	const pids = procs.map((p) => p.pid);
	const copies = [];
	for (let n = 1; n <= config.copies; n++) copies.push(await copyOnce(client, pids, roles, n));
	const [cold, ...warm] = copies;
	const worst = warm.reduce((a, b) => (b.growthMb > a.growthMb ? b : a));
	return {
		...worst,
		target: `< ${TARGETS.growthMaxMb} MB`,
		pass: copies.every((c) => c.copied && c.image.sizeOk === true) && worst.growthMb < TARGETS.growthMaxMb,
		cold,
		warm,
	};
}

async function copyOnce(client, pids, roles, n) {
	log(`copy ${n}: idle 2 s for a baseline`);
	await sleep(2000);
	const baseline = readWorkerd(pids);
	log(`copy ${n}: baseline RSS ${fmt(mb(baseline.totalKb))} MB`);

	const sampler = startSampler(server.pid, 100);
	const prompt = `bench big ${n} --sim-size ${config.imageMb}mb`;
	const submittedAt = Date.now();
	const id = await client.imagine(prompt);
	log(`copy ${n}: submitted "${prompt}" as ${id}`);
	let successAt;
	let copiedAt;
	let task;
	let copyError;
	try {
		task = await client.waitFor(
			id,
			(t) => {
				if (t.status === "SUCCESS" && !successAt) successAt = Date.now();
				return t.status === "SUCCESS" && t.imageUrl.includes("/mj/image/");
			},
			{ timeoutMs: 120_000, intervalMs: 250 },
		);
		copiedAt = Date.now();
		log(
			`copy ${n}: SUCCESS after ${fmt((successAt - submittedAt) / 1000)} s, copy in R2 after ${fmt((copiedAt - submittedAt) / 1000)} s`,
		);
	} catch (error) {
		copyError = error.message;
		log(`copy ${n}: not observed: ${copyError}`);
	}
	sampler.mark("copied");

	const image = { expectedBytes: config.imageMb * 1_000_000 };
	if (task) {
		await verifyImage(task.imageUrl, image).catch((error) => {
			image.error = error.message;
			image.sizeOk = false;
			log(`image check failed: ${error.message}`);
		});
	}
	sampler.mark("downloaded");
	await sleep(1000);
	const { samples, marks } = sampler.stop();
	const after = samples[samples.length - 1];

	const copiedIndex = marks.find((m) => m.label === "copied").index;
	const downloadedIndex = marks.find((m) => m.label === "downloaded").index;
	const copyPeak = peakOf(samples, 0, copiedIndex) ?? baseline;
	const downloadPeak = peakOf(samples, copiedIndex, downloadedIndex) ?? copyPeak;
	const pidPeaks = perPidPeak(samples, 0, copiedIndex);
	const processes = pids.map((pid) => ({
		pid,
		role: roles[pid],
		baselineMb: mb(baseline.procs[pid]?.rssKb ?? 0),
		copyPeakMb: mb(pidPeaks[pid]?.rssKb ?? 0),
		growthMb: mb((pidPeaks[pid]?.rssKb ?? 0) - (baseline.procs[pid]?.rssKb ?? 0)),
		baselineAnonMb: mb(baseline.procs[pid]?.anonKb ?? 0),
		copyPeakAnonMb: mb(pidPeaks[pid]?.anonKb ?? 0),
		afterMb: mb(after.procs[pid]?.rssKb ?? 0),
	}));
	const growthMb = mb(copyPeak.totalKb - baseline.totalKb);
	// Seconds after submit -> MB per role, to see when (and in which process) memory rose.
	const timeline = samples.map((sample) => ({
		s: Math.round((sample.t - submittedAt) / 100) / 10,
		totalMb: Math.round(mb(sample.totalKb) * 10) / 10,
		...Object.fromEntries(
			Object.entries(sample.procs).map(([pid, m]) => [roles[pid] ?? pid, Math.round(mb(m.rssKb) * 10) / 10]),
		),
	}));
	return {
		taskId: id,
		prompt,
		copied: Boolean(task),
		copyError,
		secondsToSuccess: successAt ? (successAt - submittedAt) / 1000 : null,
		secondsToCopy: copiedAt ? (copiedAt - submittedAt) / 1000 : null,
		image,
		baselineMb: mb(baseline.totalKb),
		copyPeakMb: mb(copyPeak.totalKb),
		copyPeakAtS: Math.round((copyPeak.t - submittedAt) / 100) / 10,
		growthMb,
		downloadPeakMb: mb(downloadPeak.totalKb),
		afterMb: mb(after.totalKb),
		processes,
		timeline,
	};
}

/** HEAD and a streamed GET of the gateway's copy: proves the whole image landed in R2. */
async function verifyImage(url, image) {
	const head = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(15_000) });
	image.headStatus = head.status;
	image.contentLength = Number(head.headers.get("content-length"));
	image.contentType = head.headers.get("content-type");
	const started = Date.now();
	const get = await fetch(url, { signal: AbortSignal.timeout(120_000) });
	image.getStatus = get.status;
	let bytes = 0;
	for await (const chunk of get.body) bytes += chunk.byteLength;
	image.downloadedBytes = bytes;
	image.downloadMs = Date.now() - started;
	image.sizeOk =
		head.status === 200 &&
		get.status === 200 &&
		bytes === image.contentLength &&
		Math.abs(bytes - image.expectedBytes) <= image.expectedBytes * 0.1;
	log(
		`image HEAD ${head.status} content-length ${image.contentLength}; GET ${get.status} ${bytes} bytes in ${image.downloadMs} ms`,
	);
}

/** HEAD, with "+dirty" when the tree has uncommitted changes (read-only: no index refresh). */
function gitCommit() {
	try {
		const git = (...args) => execFileSync("git", ["--no-optional-locks", ...args], { cwd: ROOT, encoding: "utf8" });
		const head = git("rev-parse", "--short", "HEAD").trim();
		return git("status", "--porcelain", "--untracked-files=no").trim() ? `${head}+dirty` : head;
	} catch {
		return undefined;
	}
}

/** Total workerd RSS through the memory phase, at most ~16 points, to see when it rose. */
function timelineLine(timeline) {
	const span = timeline.at(-1)?.s ?? 0;
	const step = Math.max(1, Math.ceil(span / 16));
	const points = [];
	let next = 0;
	for (const point of timeline) {
		if (point.s >= next) {
			points.push(`${point.s.toFixed(0)}s:${point.totalMb.toFixed(0)}`);
			next = Math.floor(point.s) + step;
		}
	}
	return points.join(" ");
}

async function printSummary(report) {
	const { throughput: tp, memory: mem } = report;
	const verdict = (pass) => (pass ? "PASS" : "FAIL");
	const names = Object.keys(tp).filter((name) => name !== "ratios");
	const each = (value) => names.map(value).join(" / ");
	const rows = [
		...names.flatMap((name) => [
			[`${name} req/s (median)`, fmt(tp[name].rps, 0), ""],
			[`${name} p50 / p99 ms`, `${fmt(tp[name].p50Ms)} / ${fmt(tp[name].p99Ms)}`, ""],
		]),
		[`errors ${names.join(" / ")}`, each((name) => tp[name].errors), ""],
		...Object.entries(tp.ratios).flatMap(([name, r]) => [
			// Three decimals: 0.598 must not print as a failing "0.60".
			[`ratio ${name}/health (wrangler dev)`, fmt(r.ratio, 3), r.target],
			["  per round", r.roundRatios.map((x) => fmt(x, 2)).join(" "), ""],
			["  from CPU ms/req (all processes)", fmt(r.cpuRatio, 2), "info only"],
		]),
		[`CPU ms/req ${names.join(" / ")}`, "", ""],
		...["worker", "proxy", "wrangler", "client"].map((role) => [
			`  ${role}`,
			each((name) => fmt(tp[name].cpuMsPerRequest[role], 2)),
			"",
		]),
		[
			"D1 list cases (rows_read, plans)",
			`${report.lists.cases.filter((c) => c.pass).length} of ${report.lists.cases.length} pass`,
			`targets below: ${verdict(report.lists.pass)}`,
		],
		...(report.album.report
			? [["album pages (rows_read, queries)", "", `targets below: ${verdict(report.album.pass)}`]]
			: []),
		["workerd RSS baseline MB", fmt(mem.baselineMb), ""],
		["workerd RSS peak (copy) MB", fmt(mem.copyPeakMb), ""],
		[
			`workerd RSS growth MB (worst warm copy, ${mem.warm.length})`,
			fmt(mem.growthMb),
			`target < ${TARGETS.growthMaxMb} MB: ${verdict(mem.pass)}`,
		],
		...mem.processes.map((p) => [
			`  pid ${p.pid} ${p.role}`,
			`${fmt(p.baselineMb)} -> ${fmt(p.copyPeakMb)} (+${fmt(p.growthMb)})`,
			"",
		]),
		["RSS peak (download) / after MB", `${fmt(mem.downloadPeakMb)} / ${fmt(mem.afterMb)}`, ""],
		...[mem.cold, ...mem.warm].map((r, i) => [
			`copy ${i + 1}${i === 0 ? " (cold runtime)" : ""}: RSS MB`,
			`${fmt(r.baselineMb)} -> ${fmt(r.copyPeakMb)} (+${fmt(r.growthMb)})`,
			r.copied ? (r.image.sizeOk ? (i === 0 ? "info only" : "") : "size WRONG") : "not done",
		]),
		[
			"image copy",
			mem.copied
				? `${mem.image.downloadedBytes ?? "?"} bytes, in R2 ${fmt(mem.secondsToCopy)} s after submit`
				: "not done",
			mem.copied ? `size ${mem.image.sizeOk ? "ok" : "WRONG"}` : mem.copyError.slice(0, 100),
		],
	];
	const w0 = Math.max(...rows.map((r) => r[0].length));
	const w1 = Math.max(...rows.map((r) => r[1].length));
	console.log("");
	console.log(
		`mj-edge bench  ${report.finishedAt}  ${report.commit ?? ""}  node ${process.version}, ${report.cpus} cpus, ` +
			`${config.concurrency} conns, ${config.rounds} x ${config.durationMs / 1000} s rounds, ${config.source}`,
	);
	console.log(
		`fetch = GET /api/v1/task/fetch of a finished task; self = GET /api/mj/self?page_size=20 as ${userSub(1)} (${BIG_USER_TASKS} tasks)`,
	);
	console.log("-".repeat(w0 + w1 + 30));
	for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`.trimEnd());
	console.log("-".repeat(w0 + w1 + 30));
	console.log(`RSS by second after submit, copy 1 (MB): ${timelineLine(mem.timeline)}`);
	console.log("");
	console.log(
		`D1 per list request: ${TASKS} tasks over ${USERS} users, "self" as ${userSub(1)} (${BIG_USER_TASKS} tasks), page_size 20, D1_STATS server`,
	);
	for (const line of listLines(report.lists)) console.log(`  ${line}`);
	console.log("");
	const { production } = report;
	if (production?.skipped) console.log(`workerd phase: skipped (${production.skipped})`);
	else if (production) {
		for (const line of productionLines(production, { submitStats: report.submitStats })) console.log(line);
		console.log(`  workerd phase goals: ${productionPass(production) ? "all PASS" : "not all PASS (see above)"}`);
	}
	if (report.routes?.error)
		console.log(`routes against their ceilings: could not run: ${report.routes.error.split("\n")[0]}`);
	else if (report.routes) for (const line of routesLines(report.routes)) console.log(line);
	console.log("");
	const { discord } = report;
	if (discord?.skipped) console.log(`Discord accounts: skipped (${discord.skipped})`);
	else if (discord?.error) console.log(`Discord accounts: could not run: ${discord.error.split("\n")[0]}`);
	else if (discord) {
		console.log("Discord accounts (bench/lib/discord.mjs):");
		for (const line of discordLines(discord)) console.log(line);
		console.log(`  Discord goals: ${discordPass(discord) ? "all PASS" : "not all PASS (see above)"}`);
	}
	const { growth } = report;
	if (growth?.error) console.log(`growth: could not run: ${growth.error.split("\n")[0]}`);
	else if (growth) for (const line of await growthLines(growth)) console.log(line);
	console.log("");
	const { album } = report;
	if (album.skipped) console.log(`album: skipped (${album.skipped})`);
	for (const line of album.lines ?? []) console.log(line);
	if (album.error) console.log(`album: could not run: ${album.error.split("\n")[0]}`);
	console.log("");
	for (const warning of report.warnings) console.log(`warning: ${warning}`);
	console.log(`written to ${relative(ROOT, join(OUT_DIR, "latest.json"))}`);
}

/** A fresh bundle of the gateway (wrangler deploy --dry-run) in bench/.out/build, for one BENCH_ONLY part. */
function freezeBundle(note = "") {
	rmSync(BUILD_DIR, { recursive: true, force: true });
	mkdirSync(OUT_DIR, { recursive: true });
	log(`freezing a bundle (wrangler deploy --dry-run) into bench/.out/build${note}`);
	return prepareSnapshot({ root: ROOT, dir: BUILD_DIR, logFile: LOG_FILE });
}

/**
 * BENCH_ONLY=workerd: only the workerd phase, on the state a full run left in bench/.out/state
 * (seeded tasks and album), with a fresh bundle of the code as it is now: for comparing a change
 * quickly. Writes bench/.out/workerd.json.
 */
async function workerdOnly() {
	if (!existsSync(STATE_DIR))
		throw new Error("BENCH_ONLY=workerd needs bench/.out/state: run `npm run bench` once first");
	const snapshot = freezeBundle("; reusing bench/.out/state");
	const production = await runProduction({
		snapshot,
		persistTo: STATE_DIR,
		logFile: LOG_FILE,
		scriptDir: OUT_DIR,
		config: config.prod,
		log,
	});
	const report = { finishedAt: new Date().toISOString(), commit: gitCommit(), loadAverage: loadavg(), production };
	writeFileSync(join(OUT_DIR, "workerd.json"), `${JSON.stringify(report, null, "\t")}\n`);
	console.log("");
	for (const line of productionLines(production)) console.log(line);
	console.log(`written to ${relative(ROOT, join(OUT_DIR, "workerd.json"))}`);
	return { album: {} };
}

/**
 * BENCH_ONLY=routes: each D1 route against its own ceiling and the framework's profile share
 * (bench/routes.mjs), on the state a full run left, or on one seeded here (migrations, the list
 * data set, the album) when there is none. Writes bench/.out/routes.json.
 */
async function routesOnly() {
	if (!wrkAvailable()) throw new Error("BENCH_ONLY=routes needs wrk (apt-get install -y wrk)");
	const snapshot = freezeBundle();
	if (!existsSync(STATE_DIR)) {
		log("no bench/.out/state: applying migrations and seeding the list data set and the album");
		migrate({ root: ROOT, persistTo: STATE_DIR, config: snapshot.config, logFile: LOG_FILE });
		seed(snapshot);
		const { seedAlbum } = await import(pathToFileURL(join(ROOT, "bench", "album.mjs")).href);
		seedAlbum({
			root: ROOT,
			persistDir: STATE_DIR,
			config: snapshot.config,
			sub: "bench-album-user",
			logFile: LOG_FILE,
		});
	}
	const routes = await runRoutes({
		snapshot,
		persistTo: STATE_DIR,
		logFile: LOG_FILE,
		scriptDir: OUT_DIR,
		config: config.prod,
		log,
	});
	const report = { finishedAt: new Date().toISOString(), commit: gitCommit(), loadAverage: loadavg(), routes };
	writeFileSync(join(OUT_DIR, "routes.json"), `${JSON.stringify(report, null, "\t")}\n`);
	console.log("");
	console.log(
		`load average at the end: ${loadavg()
			.map((x) => x.toFixed(2))
			.join(" ")}`,
	);
	for (const line of routesLines(routes)) console.log(line);
	console.log(`written to ${relative(ROOT, join(OUT_DIR, "routes.json"))}`);
	return { album: {} };
}

/**
 * BENCH_ONLY=discord: only the Discord accounts part (bench/lib/discord.mjs), on a fresh state of
 * its own with a fresh bundle: a few minutes. Writes bench/.out/discord.json and the `discord`
 * field of bench/.out/latest.json (when a full run left one).
 */
async function discordOnly() {
	const snapshot = freezeBundle();
	const discord = await runDiscordBench({
		root: ROOT,
		snapshot,
		outDir: OUT_DIR,
		logFile: LOG_FILE,
		config: config.discord,
		log,
	});
	const report = { finishedAt: new Date().toISOString(), commit: gitCommit(), loadAverage: loadavg(), discord };
	writeFileSync(join(OUT_DIR, "discord.json"), `${JSON.stringify(report, null, "\t")}\n`);
	const latest = join(OUT_DIR, "latest.json");
	if (existsSync(latest)) {
		const full = JSON.parse(readFileSync(latest, "utf8"));
		writeFileSync(latest, `${JSON.stringify({ ...full, discord }, null, "\t")}\n`);
	}
	console.log("");
	console.log(`Discord accounts (${report.commit ?? ""}):`);
	for (const line of discordLines(discord)) console.log(line);
	console.log(`  Discord goals: ${discordPass(discord) ? "all PASS" : "not all PASS (see above)"}`);
	console.log(`written to ${relative(ROOT, join(OUT_DIR, "discord.json"))}`);
	return { album: {} };
}

async function main() {
	if (process.env.BENCH_ONLY === "workerd") return workerdOnly();
	if (process.env.BENCH_ONLY === "routes") return routesOnly();
	if (process.env.BENCH_ONLY === "discord") return discordOnly();
	if (process.env.BENCH_ONLY === "growth") return growthOnly();
	rmSync(STATE_DIR, { recursive: true, force: true });
	rmSync(BUILD_DIR, { recursive: true, force: true });
	mkdirSync(OUT_DIR, { recursive: true });
	rmSync(LOG_FILE, { force: true });

	// wrangler.toml's [assets] directory (the web console) must exist for either source.
	await buildWeb();
	let snapshot;
	if (config.source === "snapshot") {
		log("freezing config, migrations and a bundle (wrangler deploy --dry-run) into bench/.out/build");
		snapshot = prepareSnapshot({ root: ROOT, dir: BUILD_DIR, logFile: LOG_FILE });
	} else {
		ensureDevVars(ROOT);
	}
	log("applying D1 migrations to bench/.out/state");
	migrate({ root: ROOT, persistTo: STATE_DIR, config: snapshot?.config, logFile: LOG_FILE });
	const devVars = [snapshot ? snapshot.devVars : liveDevVars(STATE_DIR)];

	// The list data set goes in before any server runs, so both servers below see it.
	const seeded = seed(snapshot);

	// Server B: D1_STATS on. Every read then runs twice (once to answer, once for its meta)
	// plus an EXPLAIN, so it measures rows and plans only, never throughput.
	const stats = await withServer("D1_STATS on", snapshot, ["--var", "D1_STATS:true"], async () => {
		log(`D1 per list request: ${listCases({ endMs: seeded.endMs }).length} cases`);
		const lists = await measureLists({
			base: server.base,
			tokens: {
				user: await makeToken(devVars, userSub(1)),
				admin: await makeToken(devVars, "bench-admin", "admin"),
			},
			endMs: seeded.endMs,
		});
		for (const line of listLines(lists).filter((l) => !l.includes("plan: "))) log(line);
		const albumReport = await album(snapshot, devVars);
		return { lists, album: albumReport, submit: await submitStats(devVars) };
	});

	// Server A: the gateway as configured, on the same state, for memory and throughput.
	const devReport = await withServer("no D1 stats", snapshot, [], async () => {
		const runtimePids = () =>
			workerdProcesses(server.pid)
				.map((p) => p.pid)
				.sort()
				.join(",");
		const pidsAtStart = runtimePids();

		const client = new Client(server.base, await makeToken(devVars, "bench-user"));
		const seedId = await client.imagine("bench seed task");
		const seedTask = await client.waitFor(seedId, (t) => t.status === "SUCCESS" && t.imageUrl.includes("/mj/image/"), {
			timeoutMs: 60_000,
		});
		log(`seed task ${seedId} is SUCCESS; its fetch is ${JSON.stringify(seedTask).length} bytes of JSON`);

		// Memory first: a fresh runtime has no slack left over from the load rounds to hide growth in.
		const mem = await memory(client);

		log(
			`throughput: ${config.rounds} rounds, ${config.concurrency} workers, ${config.warmupMs} + ${config.durationMs} ms each`,
		);
		const tp = await throughput({
			fetch: { url: client.fetchUrl(seedId), headers: client.headers },
			// The user with 50,000 tasks, page 1: the seed-001 list at its biggest.
			self: {
				url: `${server.base}/api/mj/self?page_size=20`,
				headers: { authorization: `Bearer ${await makeToken(devVars, userSub(1))}` },
			},
		});
		return { tp, mem, pidsAtStart, pidsAtEnd: runtimePids() };
	});

	// C and D: the same bundle and state in workerd without the dev proxy (needs a snapshot).
	let production;
	if (!snapshot) production = { skipped: "BENCH_SOURCE=live: the workerd phase needs the bundle" };
	else if (!wrkAvailable()) production = { skipped: "wrk is not installed (apt-get install -y wrk)" };
	else {
		log("workerd phase: the production bundle under Miniflare, no dev proxy");
		production = await runProduction({
			snapshot,
			persistTo: STATE_DIR,
			logFile: LOG_FILE,
			scriptDir: OUT_DIR,
			config: config.prod,
			log,
		});
	}
	// Each D1 route against its own ceiling and the framework's profile share (bench/routes.mjs).
	let routes;
	if (snapshot && wrkAvailable()) {
		log("routes against their ceilings (bench/routes.mjs)");
		routes = await runRoutes({
			snapshot,
			persistTo: STATE_DIR,
			logFile: LOG_FILE,
			scriptDir: OUT_DIR,
			config: config.prod,
			log,
		}).catch((error) => ({ error: String(error?.stack ?? error) }));
	}
	// Discord accounts: a state of their own, so none of the seeded tasks or channels is in the way.
	let discord;
	if (!snapshot) discord = { skipped: "BENCH_SOURCE=live: the Discord part needs the bundle" };
	else {
		log("Discord accounts: per invocation, then accounts per gateway Worker (bench/lib/discord.mjs)");
		try {
			discord = await runDiscordBench({
				root: ROOT,
				snapshot,
				outDir: OUT_DIR,
				logFile: LOG_FILE,
				config: config.discord,
				log,
			});
		} catch (error) {
			discord = { error: String(error?.stack ?? error) };
		}
	}
	// The cost of growth (bench/growth.mjs): a bundle and states of its own.
	const growth = await growthPhase().catch((error) => ({ error: String(error?.stack ?? error) }));
	return finish({ ...devReport, seeded, stats, production, routes, discord, growth });
}

/** The cost of growth (bench/growth.mjs): the cron with a backlog, live streams (BENCH_GROWTH_PARTS, default both). */
function growthPhase() {
	log("growth: the cron with a backlog, live streams (bench/growth.mjs)");
	const parts = (process.env.BENCH_GROWTH_PARTS ?? "cron,streams").split(",").map((p) => p.trim());
	return runGrowth({ outDir: OUT_DIR, logFile: LOG_FILE, log, parts });
}

/** BENCH_ONLY=growth: only bench/growth.mjs; merges `growth` into bench/.out/latest.json. */
async function growthOnly() {
	const growth = await growthPhase();
	const latest = join(OUT_DIR, "latest.json");
	const merged = existsSync(latest) ? JSON.parse(readFileSync(latest, "utf8")) : {};
	// A run of one part keeps the other part's last figures, as `npm run bench:growth` does.
	writeFileSync(latest, `${JSON.stringify({ ...merged, growth: { ...merged.growth, ...growth } }, null, "\t")}\n`);
	console.log("");
	for (const line of await growthLines(growth)) console.log(line);
	console.log(`written to ${relative(ROOT, latest)} (growth)`);
	return { album: {} };
}

/**
 * One submit on the D1_STATS server, after one unmeasured request by the same user (a user's
 * first request in an isolate also writes the users row): its D1 statements, rows and plans.
 */
async function submitStats(devVars) {
	const token = await makeToken(devVars, "bench-submit-stats");
	const headers = { authorization: `Bearer ${token}` };
	await (await fetch(`${server.base}/api/v1/task/list?limit=1`, { headers })).arrayBuffer();
	const q = new URLSearchParams({ action: "IMAGINE", prompt: "bench submit stats" });
	const res = await fetch(`${server.base}/api/v1/trigger/submit?${q}`, { headers });
	const body = await res.text();
	const header = res.headers.get("x-d1-stats");
	if (res.status !== 200 || !header)
		throw new Error(`submit on the stats server answered ${res.status} ${body.slice(0, 300)}`);
	const stats = JSON.parse(header);
	// "SCAN x" of a CTE or subquery the same plan builds (CO-ROUTINE x, MATERIALIZE x) reads
	// that result, not a table.
	const tableScans = stats.plans.flatMap((plan) => {
		const steps = plan.split(" | ");
		const built = new Set(steps.flatMap((step) => /^(?:CO-ROUTINE|MATERIALIZE) (\S+)/.exec(step)?.[1] ?? []));
		return steps.filter(
			(step) =>
				/^SCAN (?!CONSTANT ROW)/.test(step) &&
				!/ USING (COVERING )?INDEX /.test(step) &&
				!built.has(step.split(" ")[1]),
		);
	});
	log(
		`submit on the D1_STATS server: ${stats.queries} D1 statements, ${stats.rowsRead} rows read, ${tableScans.length} table scans`,
	);
	return { ...stats, tableScans };
}

/** Writes the list data set (bench/lib/seed.mjs) into the stopped server's state and checks it. */
function seed(snapshot) {
	// Whole seconds, a minute ago: the newest seeded task is in the past but recent.
	const endMs = Math.floor(Date.now() / 1000) * 1000 - 60_000;
	const file = join(OUT_DIR, "seed.sql");
	writeFileSync(file, seedSql(endMs));
	const started = Date.now();
	log(`seeding ${TASKS} tasks over ${USERS} users (${userSub(1)} holds ${BIG_USER_TASKS}) with wrangler d1 execute`);
	const d1 = { root: ROOT, persistTo: STATE_DIR, config: snapshot?.config, logFile: LOG_FILE };
	d1Execute({ ...d1, file });
	const seconds = (Date.now() - started) / 1000;
	const [[counts]] = d1Execute({ ...d1, command: SEED_CHECK_SQL });
	const wrong = Object.entries(SEED_EXPECTED).filter(([key, want]) => counts[key] !== want);
	log(`seeded in ${fmt(seconds)} s: ${JSON.stringify(counts)}`);
	if (wrong.length > 0) {
		throw new Error(
			`the seeded data is not as planned: ${wrong.map(([key, want]) => `${key} ${counts[key]} (want ${want})`).join(", ")}`,
		);
	}
	return { endMs, seconds, counts };
}

/** Starts a server on the bench state, runs `body` with it as `server`, and always stops it. */
async function withServer(label, snapshot, extraArgs, body) {
	const port = await freePort();
	log(`starting wrangler dev (${label}) on 127.0.0.1:${port} (log: bench/.out/server.log)`);
	server = await startServer({ root: ROOT, persistTo: STATE_DIR, port, logFile: LOG_FILE, snapshot, extraArgs });
	log(`ready in ${fmt(server.startMs / 1000)} s (wrangler pid ${server.pid})`);
	try {
		return await body();
	} catch (error) {
		if (error && typeof error === "object") error.serverTail = server.logTail();
		throw error;
	} finally {
		log(`stopping wrangler dev (${label})`);
		await server.stop();
		server = undefined;
	}
}

/**
 * The album benchmark (bench/album.mjs), run on the D1_STATS server when that file exists
 * and exports runAlbumBench. A failure there is reported, not fatal: the rest still counts.
 */
async function album(snapshot, devVars) {
	const file = join(ROOT, "bench", "album.mjs");
	if (!existsSync(file)) return { skipped: "bench/album.mjs does not exist" };
	const lines = [];
	try {
		const mod = await import(pathToFileURL(file).href);
		if (typeof mod.runAlbumBench !== "function") return { skipped: "bench/album.mjs exports no runAlbumBench" };
		const sub = "bench-album-user";
		log("album: seeding and measuring (bench/album.mjs)");
		const report = await mod.runAlbumBench({
			baseUrl: server.base,
			persistDir: STATE_DIR,
			token: await makeToken(devVars, sub),
			sub,
			root: ROOT,
			config: snapshot?.config,
			logFile: LOG_FILE,
			print: (line) => lines.push(line),
		});
		for (const line of lines) log(line);
		return { report, lines, pass: report?.pass === true };
	} catch (error) {
		log(`album: could not run: ${error?.message ?? error}`);
		return { error: String(error?.stack ?? error), lines, pass: false };
	}
}

async function finish({ tp, mem, seeded, stats, production, routes, discord, growth, pidsAtStart, pidsAtEnd }) {
	const warnings = [];
	if (pidsAtEnd !== pidsAtStart) {
		warnings.push(
			`the workerd processes changed during the run (${pidsAtStart} -> ${pidsAtEnd}): wrangler restarted the runtime; numbers are suspect`,
		);
	}
	const names = Object.keys(tp).filter((name) => name !== "ratios");
	const errors = names.reduce((sum, name) => sum + tp[name].errors, 0);
	if (errors > 0) warnings.push(`${errors} requests failed or answered non-2xx during the load rounds`);
	if (stats.album.error) warnings.push("the album benchmark could not run (see above)");
	for (const warning of production?.warnings ?? []) warnings.push(warning);

	const report = {
		finishedAt: new Date().toISOString(),
		commit: gitCommit(),
		node: process.version,
		cpus: availableParallelism(),
		loadAverage: loadavg(),
		config,
		targets: TARGETS,
		seed: seeded,
		lists: stats.lists,
		album: stats.album,
		submitStats: stats.submit,
		throughput: tp,
		memory: mem,
		production,
		routes,
		discord,
		growth,
		warnings,
	};
	writeFileSync(join(OUT_DIR, "latest.json"), `${JSON.stringify(report, null, "\t")}\n`);
	await printSummary(report);
	return report;
}

let exitCode = 0;
try {
	const report = await main();
	// The rest ran and was reported; still, part of the bench could not run.
	if (report.album?.error) exitCode = 1;
} catch (error) {
	exitCode = 1;
	console.error(`\nbench could not run: ${error?.stack ?? error}`);
	const tail = server?.logTail() ?? error?.serverTail;
	if (tail) console.error(`\nlast server output:\n${tail.slice(-2000)}`);
} finally {
	await shutdown(exitCode);
}
