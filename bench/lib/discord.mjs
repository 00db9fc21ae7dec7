/**
 * Discord accounts (issues 16 and 20): the CPU of each invocation a Discord account runs, one at a
 * time, and how many accounts one gateway Worker drives before an invocation passes 10 ms.
 *
 * The gateway bundle runs in workerd through Miniflare (bench/lib/workerd.mjs) on a fresh state of
 * its own, with the fake Discord (simulator/discord/) and the upstream simulator each in a workerd
 * process of their own, so the gateway process's CPU holds none of theirs. A discord channel is
 * added through the admin API as an operator would, pointing at the fake.
 *
 * Part 1, per invocation: the account's steps on the fake are held (`POST /_fake/hold`), so every
 * gateway event leaves the fake only when the bench asks (`POST /_fake/step`), one at a time, and
 * the queue consumers are off, so the bench dispatches each TASK_QUEUE message itself. Each event is
 * metered as bench/lib/events.mjs meters the other kinds (process CPU from schedstat between two
 * quiet points; the isolate's own time from a V8 profile of a second pass) and judged on the
 * isolate's worst window.
 *
 * Part 2, accounts per Worker: N accounts at once (1, 10, 50, 100), each running 3 jobs at a time
 * with the fake's steps on their timers (a new job as soon as one ends), under a profile of the
 * gateway isolate: events per second, the isolate's busy share, the isolate's time per gateway
 * event, and from them the worst invocation at N.
 */
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { makeToken, readBody } from "./api.mjs";
import {
	EVENT_CPU_TARGET_MS,
	eventLines,
	isolateTime,
	judgeIsolate,
	message,
	meter,
	PROFILE_INTERVAL_US,
	summarizeEvents,
} from "./events.mjs";
import { cpuSeconds } from "./proc.mjs";
import { frameLocator, profileWhile } from "./profile.mjs";
import { freePort, migrate, prepareFakeDiscord } from "./server.mjs";
import { startWorkerd } from "./workerd.mjs";

/** Every Discord kind measured one at a time, in print order; all are invocations the gateway runs. */
export const DISCORD_KINDS = {
	submitImagine: {
		label:
			"TASK_QUEUE submit message of an IMAGINE on a discord channel (findTask, claimSubmit, DiscordAccount.submit, TaskObject.apply SUBMITTED) and the account sending /imagine over REST",
		judged: true,
	},
	submitButton: {
		label: "the same for a button press: UPSCALE U1 of a finished grid (parent read, button found, interaction sent)",
		judged: true,
	},
	interactionAck: {
		label: "gateway INTERACTION_CREATE + INTERACTION_SUCCESS: the account keeps the interaction id (a storage put)",
		judged: true,
	},
	gatewayStart: {
		label:
			"gateway MESSAGE_CREATE '(Waiting to start)' with our nonce: channel read, classify, match, TaskObject.apply IN_PROGRESS",
		judged: true,
	},
	gatewayProgress: {
		label:
			"gateway MESSAGE_UPDATE '(31%)' / '(72%)' with a preview: classify, match by message id, TaskObject.apply (D1 write, UserHub notify)",
		judged: true,
	},
	gatewayFinal: {
		label:
			"gateway final MESSAGE_CREATE with the image and buttons (after the progress message's MESSAGE_DELETE): match, TaskObject.apply SUCCESS; isolate: without the alarm below",
		judged: true,
	},
	finalAlarm: {
		label:
			"info: the TaskObject alarm the final message arms, the image fetched from the fake Discord's CDN into R2 (isolate only: the final's samples under alarm/#copyImage/copyImageToR2/pump). The same code as a relay task's alarm, judged in the table above",
		judged: false,
	},
};

/** The functions of the TaskObject alarm (and the image copy it runs), told apart in a final's window. */
const ALARM_FRAMES = /^(alarm|#copyImage|copyImageToR2|pump|multipartCopy|fetchUpstreamMedia)$/;

/** Which invocation a source file's code runs in (the outermost such frame on a sample's stack decides). */
const INVOCATIONS = [
	[/^src\/queue\//, "consumer"],
	[/^src\/(durable\/discord-account\.ts|discord\/)/, "DiscordAccount"],
	[/^src\/durable\/task-object\.ts/, "TaskObject"],
	[/^src\/(durable\/user-hub\.ts|live\/)/, "UserHub"],
	[/^src\/(index|app)\.ts|^src\/routes\//, "fetch"],
];

/** The DiscordAccount watchdog alarm's own functions. */
const WATCHDOG = /^(alarm|#readInfo|#dropFinished)$/;

/**
 * A sample's invocation: the outermost frame of the gateway's own code that names one. A queue
 * message, a Durable Object call or an alarm each starts at its handler, and code resumed after an
 * await starts at the async function it resumes, so the outermost frame is the invocation's own
 * code; samples whose stack holds none (a library resuming, the runtime) stay unclaimed.
 */
function invocationLocator(profile, mapFile) {
	const locate = frameLocator(mapFile);
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const parent = new Map();
	for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
	const memo = new Map();
	return (id) => {
		if (memo.has(id)) return memo.get(id);
		let owner = null;
		for (let at = id; at !== undefined; at = parent.get(at)) {
			const frame = byId.get(at).callFrame;
			const found = INVOCATIONS.find(([test]) => test.test(locate(frame)));
			if (!found) continue;
			// The account's watchdog alarm (every 30 s) is an invocation of its own that may land in a window.
			owner = found[1] === "DiscordAccount" && WATCHDOG.test(frame.functionName) ? "DiscordAccount watchdog" : found[1];
		}
		memo.set(id, owner);
		return owner;
	};
}

/** The accounts-per-Worker steps, unless BENCH_DISCORD_ACCOUNTS names others ("1,10,50,100"). */
export const DEFAULT_ACCOUNT_STEPS = [1, 10, 50, 100];
/** Seconds of load before the profile at each N: the feeder's ramp and the first jobs' steps. */
const WARMUP_SECONDS = 20;
/** Jobs each account runs at once in part 2 (Midjourney's fast-mode concurrency on most plans). */
const JOBS_PER_ACCOUNT = 3;
/**
 * Part 2's jobs: `--fake-long` (twelve progress updates, as a job of about a minute sends) a step
 * apart; Midjourney edits a running job's message every few seconds. A job is then 17 gateway
 * events (2 interaction events, the start, 12 progress updates, the delete, the final) over 14 steps.
 */
const SCALE_STEP_MS = 3000;
const EVENTS_PER_JOB = 17;
const STEPS_PER_JOB = 14;
/** Gateway events per second one account receives when its jobs run without delay. */
const OFFERED_PER_ACCOUNT_S = (EVENTS_PER_JOB * JOBS_PER_ACCOUNT) / ((STEPS_PER_JOB * SCALE_STEP_MS) / 1000);

const GUILD = "1200000000000000001";
const CHANNEL = "1200000000000000002";
const FAKE_URL = "http://fake-discord.internal";

const f = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** The gateway's admin API for channels, with an admin token. */
function adminApi(base, token) {
	const call = async (path, init = {}) => {
		const res = await fetch(`${base}/api/admin/channels${path}`, {
			...init,
			headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
		});
		const body = await readBody(res);
		if (res.status >= 300)
			throw new Error(`${init.method ?? "GET"} /api/admin/channels${path}: ${res.status} ${JSON.stringify(body)}`);
		return body.data;
	};
	return {
		list: () => call(""),
		create: (body) => call("", { method: "POST", body: JSON.stringify(body) }),
		patch: (id, body) => call(`/${id}`, { method: "PATCH", body: JSON.stringify(body) }),
	};
}

/** The fake Discord's test controls, from the bench (its own process, 127.0.0.1). */
function fakeControls(base) {
	const post = async (path, body) => {
		const res = await fetch(`${base}${path}`, { method: "POST", body: JSON.stringify(body) });
		const answer = await readBody(res);
		if (res.status !== 200) throw new Error(`fake ${path}: ${res.status} ${JSON.stringify(answer)}`);
		return answer;
	};
	const get = async (path) => readBody(await fetch(`${base}${path}`));
	return {
		hold: (token, hold) => post("/_fake/hold", { token, hold }),
		step: (token) => post("/_fake/step", { token }),
		interactions: (token) => get(`/_fake/interactions?token=${encodeURIComponent(token)}`),
		state: (token) => get(`/_fake/state?token=${encodeURIComponent(token)}`),
	};
}

/**
 * The fake's CDN must send a picture with its length across the process boundary, as Discord's
 * does. Without it the gateway cannot stream the copy into R2 and buffers it in parts
 * (src/images/copy.ts), and that garbage, not the accounts' work, then made the longest stretches
 * of part 2: garbage-collection pauses of 14-19 ms at N = 10 on 5 December.
 */
async function cdnSendsLength(base) {
	const res = await fetch(`${base}/attachments/1/2/bench_grid_0.png`);
	const bytes = (await res.arrayBuffer()).byteLength;
	const length = res.headers.get("content-length");
	if (res.status !== 200 || length !== String(bytes)) {
		throw new Error(`the fake Discord's CDN answered ${res.status}, content-length ${length} for ${bytes} bytes`);
	}
}

/**
 * Every channel there is off (the simulator's, and the `fake-discord` account a development
 * gateway with FAKE_DISCORD_URL adds by itself), so tasks go only to the accounts the bench adds next.
 */
async function allChannelsOff(admin, base, userToken) {
	// The gateway adds those on its first submit in an isolate: one throwaway submit first, so that
	// they exist now and are switched off with the rest.
	// (Refused when every channel is off already: then there is nothing left to add.)
	await submit(base, userToken, { action: "IMAGINE", prompt: "bench discord setup" }).catch(() => undefined);
	for (const channel of await admin.list()) {
		if (channel.enabled) await admin.patch(channel.id, { enabled: false });
	}
}

/** Adds discord channels `names` on the fake and waits until every one is connected. */
async function addAccounts(admin, names, discord = {}) {
	const added = [];
	for (const name of names) {
		const token = `bench-token-${name}`;
		const channel = await admin.create({
			name,
			kind: "discord",
			secret: token,
			weight: 1,
			discord: { guild_id: GUILD, channel_id: CHANNEL, api_base: FAKE_URL, activity_base: FAKE_URL, ...discord },
		});
		added.push({ id: channel.id, name, token });
	}
	const deadline = Date.now() + 60_000;
	for (;;) {
		const list = await admin.list();
		const down = added.filter((a) => list.find((c) => c.id === a.id)?.connection !== "connected");
		if (down.length === 0) return added;
		if (Date.now() > deadline) throw new Error(`${down.length} Discord accounts did not connect within 60 s`);
		await sleep(250);
	}
}

/** Submits an action through seed-002's trigger route and returns the task id. */
async function submit(base, token, params) {
	const res = await fetch(`${base}/api/v1/trigger/submit?${new URLSearchParams(params)}`, {
		headers: { authorization: `Bearer ${token}` },
	});
	const body = await readBody(res);
	if (body?.code !== 1 || typeof body.result !== "string") throw new Error(`submit answered ${JSON.stringify(body)}`);
	return body.result;
}

/** The kind of gateway event a held step sent, from what the fake says it dispatched. */
function stepKind(dispatched) {
	const types = dispatched.map((d) => d.t);
	if (types.includes("INTERACTION_CREATE")) return "interactionAck";
	const created = dispatched.find((d) => d.t === "MESSAGE_CREATE");
	if (created?.content?.includes("(Waiting to start)")) return "gatewayStart";
	if (created && created.attachments > 0) return "gatewayFinal";
	if (types.length === 1 && types[0] === "MESSAGE_UPDATE") return "gatewayProgress";
	return "other";
}

/**
 * One pass of part 1: `count` IMAGINEs (after one unmeasured warm-up), each stepped through its
 * gateway events, then an UPSCALE of it stepped through its own. Returns the summary and the
 * windows, for the profile.
 */
async function eventsPass({ rt, fake, account, userToken, count }) {
	const worker = await rt.mf.getWorker("mj-edge");
	const db = await rt.mf.getD1Database("DB", "mj-edge");
	const row = (id) => db.prepare("SELECT status, progress, image_key FROM tasks WHERE public_id = ?").bind(id).first();
	const { read, quiet, calibrate } = meter(rt.pid);
	const samples = Object.fromEntries(Object.keys(DISCORD_KINDS).map((k) => [k, []]));
	const windows = [];
	const warnings = [];
	const monoUs = () => Number(process.hrtime.bigint() / 1000n);
	let messageNo = 0;
	const idleNsPerMs = await calibrate();

	/** As bench/lib/events.mjs: quiet, read, run (and its own signal), quiet again, read. */
	const measure = async (kind, counted, run) => {
		if (!(await quiet())) warnings.push("the process was not quiet before an event");
		const startNs = read();
		const startMs = performance.now();
		const fromUs = monoUs();
		const result = await run();
		const settled = await quiet();
		const toUs = monoUs();
		const ms = (read() - startNs - idleNsPerMs * (performance.now() - startMs)) / 1e6;
		const name = typeof kind === "function" ? kind(result) : kind;
		if (!settled) warnings.push(`${name}: the process was not quiet within 10 s after the event`);
		if (counted && samples[name]) {
			samples[name].push(ms);
			windows.push({ kind: name, fromUs, toUs });
		}
		return result;
	};
	/** The submit message for `id`, dispatched by hand; its window ends once the interaction reached the fake. */
	const submitEvent = async (kind, id, counted) => {
		const before = (await fake.interactions(account.token)).length;
		await measure(kind, counted, async () => {
			const result = await worker.queue("mj-edge-tasks", [
				message(`bench-discord-${++messageNo}`, { kind: "submit", taskId: id }),
			]);
			if (result.outcome !== "ok") warnings.push(`submit ${id}: ${JSON.stringify(result)}`);
			// The account paces its interactions (~1 s apart): the process is quiet while it waits.
			const deadline = Date.now() + 10_000;
			while ((await fake.interactions(account.token)).length <= before && Date.now() < deadline) await sleep(20);
		});
		const sent = (await fake.interactions(account.token)).at(-1);
		if (sent?.status !== 204) warnings.push(`${kind} ${id}: the interaction answered ${sent?.status}`);
	};
	/** Every held step of the account, one event each, until none is left; the final waits for the image in R2. */
	const stepThrough = async (id, counted) => {
		for (let guard = 0; guard < 20; guard++) {
			const answer = await measure(stepKind, counted, async () => {
				const stepped = await fake.step(account.token);
				if (stepKind(stepped.dispatched) === "gatewayFinal") {
					// The alarm waits on the fake's CDN (another process) between its busy parts: without
					// this wait the window could close in that pause. Each look is one D1 read.
					const deadline = Date.now() + 10_000;
					await sleep(50);
					while (!(await row(id))?.image_key && Date.now() < deadline) await sleep(100);
				}
				return stepped.dispatched;
			});
			if (answer.length === 0) return;
		}
	};

	for (let i = 0; i <= count; i++) {
		const counted = i > 0;
		const id = await submit(rt.base, userToken, { action: "IMAGINE", prompt: `bench discord ${i} --ar 1:1` });
		await submitEvent("submitImagine", id, counted);
		await stepThrough(id, counted);
		const done = await row(id);
		if (done?.status !== "SUCCESS" || !done.image_key) {
			warnings.push(`IMAGINE ${id} ended ${done?.status} ${done?.image_key ? "" : "without its image"}`);
			continue;
		}
		const up = await submit(rt.base, userToken, { action: "UPSCALE", taskId: id, index: "1" });
		await submitEvent("submitButton", up, counted);
		await stepThrough(up, counted);
		const upscaled = await row(up);
		if (upscaled?.status !== "SUCCESS") warnings.push(`UPSCALE ${up} ended ${upscaled?.status}`);
	}
	const summary = summarizeEvents(samples, { idleNsPerMs, count, warnings, spec: DISCORD_KINDS });
	// The alarm has no window of its own: the process figure holds it in the final's.
	summary.missing = summary.missing.filter((name) => name !== "finalAlarm");
	summary.pass = summary.missing.length === 0 && summary.worstMs !== null && summary.worstMs < summary.target;
	summary.simulatorApart = true;
	return { summary, windows };
}

/** Part 1: every Discord kind one at a time, then a profiled pass for the isolate's own time. */
async function perInvocation({ rt, admin, fake, userToken, count, inspectorPort, outDir, mapFile, log }) {
	const [account] = await addAccounts(admin, ["bench-discord-events"], { concurrency: 3, queue_size: 10 });
	await fake.hold(account.token, true);
	log(`Discord per invocation: account ${account.name} connected, its steps held; ${count} of each after a warm-up`);
	const { summary } = await eventsPass({ rt, fake, account, userToken, count });
	try {
		const { profile, loadResult } = await profileWhile({
			port: inspectorPort,
			workerName: "mj-edge",
			load: () => eventsPass({ rt, fake, account, userToken, count: Math.max(2, Math.ceil(count / 2)) }),
			intervalUs: PROFILE_INTERVAL_US,
		});
		// Kept for reading in Chrome DevTools or with summarizeProfile (bench/lib/profile.mjs), windows beside it.
		writeFileSync(join(outDir, "discord-events.cpuprofile"), JSON.stringify(profile));
		writeFileSync(join(outDir, "discord-events.windows.json"), JSON.stringify(loadResult.windows));
		summary.isolate = isolateTime(
			profile,
			loadResult.windows,
			DISCORD_KINDS,
			{ kinds: { gatewayFinal: "finalAlarm" }, frames: ALARM_FRAMES },
			invocationLocator(profile, mapFile),
		);
		if (!summary.isolate.error) {
			// One event sets off several invocations (the consumer, the account, the task's object): each
			// is billed on its own, so each kind is held to the target by its largest one.
			summary.isolate.judgedBy = "invocation";
			judgeIsolate(summary, DISCORD_KINDS);
		}
		summary.warnings.push(...loadResult.summary.warnings.map((w) => `profiled pass: ${w}`));
	} catch (error) {
		summary.isolate = { error: String(error.message) };
	}
	await fake.hold(account.token, false);
	// Out of the way of part 2: its tasks go to part 2's accounts only.
	await admin.patch(account.id, { enabled: false });
	return summary;
}

/**
 * The isolate's time in a profile: busy ms (non-idle samples, each at most one interval), and the
 * longest run of samples without an idle one or a gap between them (a synchronous stretch: one
 * invocation's piece of work, or several back to back when the isolate is saturated).
 */
function busyOf(profile) {
	const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").map((n) => n.id));
	const names = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName || "(anonymous)"]));
	let busyUs = 0;
	let run = 0;
	let runFrom = 0;
	let longest = { us: 0, from: 0, to: 0 };
	for (let i = 0; i < profile.samples.length; i++) {
		const delta = profile.timeDeltas[i] ?? 0;
		if (idle.has(profile.samples[i])) {
			run = 0;
			continue;
		}
		const us = Math.min(delta, PROFILE_INTERVAL_US);
		busyUs += us;
		// A sample after a pause longer than two intervals starts a new stretch.
		if (run === 0 || delta > 2 * PROFILE_INTERVAL_US) {
			run = us;
			runFrom = i;
		} else run += us;
		if (run > longest.us) longest = { us: run, from: runFrom, to: i };
	}
	// What the longest stretch ran most (self time by function), to tell one invocation from many.
	const self = new Map();
	for (let i = longest.from; i <= longest.to; i++) {
		const name = names.get(profile.samples[i]);
		self.set(name, (self.get(name) ?? 0) + 1);
	}
	const top = [...self]
		.sort((a, b) => b[1] - a[1])
		.slice(0, 4)
		.map(([name, n]) => `${name} ${n}`);
	return {
		busyMs: busyUs / 1000,
		wallMs: (profile.endTime - profile.startTime) / 1000,
		longestMs: longest.us / 1000,
		longestTop: top,
	};
}

/** Gateway events the fake has sent on every account's session so far (their seq numbers). */
async function dispatchedSoFar(fake, accounts) {
	const states = await Promise.all(accounts.map((a) => fake.state(a.token)));
	return states.reduce((sum, s) => sum + (s.seq ?? 0), 0);
}

/**
 * Part 2 at one N: keeps JOBS_PER_ACCOUNT jobs running per account (new tasks submitted as they
 * end), warms up, then profiles the isolate for `seconds`.
 */
async function underLoad({ rt, fake, accounts, userTokens, seconds, warmupSeconds, inspectorPort, outDir }) {
	const db = await rt.mf.getD1Database("DB", "mj-edge");
	const channelIds = accounts.map((a) => a.id);
	const target = accounts.length * JOBS_PER_ACCOUNT;
	const unfinished = async () =>
		(
			await db
				.prepare(
					`SELECT COUNT(*) AS n FROM tasks WHERE status NOT IN ('SUCCESS', 'FAILURE', 'CANCEL') AND prompt LIKE 'bench discord load %'`,
				)
				.first()
		).n;
	const finished = async () =>
		(
			await db
				.prepare(`SELECT COUNT(*) AS n FROM tasks WHERE status = 'SUCCESS' AND channel_id IN (${channelIds.join(",")})`)
				.first()
		).n;
	const failures = async () =>
		(
			await db
				.prepare(`SELECT COUNT(*) AS n FROM tasks WHERE status = 'FAILURE' AND channel_id IN (${channelIds.join(",")})`)
				.first()
		).n;
	let feeding = true;
	let submitted = 0;
	let submitErrors = 0;
	// Jobs started all at once would step in lockstep: the feeder ramps up over about ten seconds.
	const perTick = Math.max(1, Math.ceil(target / 20));
	const feeder = (async () => {
		let n = 0;
		while (feeding) {
			const missing = Math.min(perTick, target - (await unfinished()));
			await Promise.all(
				Array.from({ length: Math.max(0, missing) }, () =>
					// Users in turn: the gateway allows one user 60 submits a minute (SUBMIT_LIMITER).
					submit(rt.base, userTokens[n % userTokens.length], {
						action: "IMAGINE",
						prompt: `bench discord load ${++n} --fake-long`,
					}).then(
						() => submitted++,
						() => submitErrors++,
					),
				),
			);
			await sleep(500);
		}
	})();
	try {
		await sleep(warmupSeconds * 1000);
		const before = {
			dispatched: await dispatchedSoFar(fake, accounts),
			finished: await finished(),
			cpu: cpuSeconds(rt.pid),
		};
		const startedAt = performance.now();
		const { profile } = await profileWhile({
			port: inspectorPort,
			workerName: "mj-edge",
			load: () => sleep(seconds * 1000),
			intervalUs: PROFILE_INTERVAL_US,
		});
		const elapsedS = (performance.now() - startedAt) / 1000;
		const after = {
			dispatched: await dispatchedSoFar(fake, accounts),
			finished: await finished(),
			cpu: cpuSeconds(rt.pid),
		};
		writeFileSync(join(outDir, `discord-scale-${accounts.length}.cpuprofile`), JSON.stringify(profile));
		const { busyMs, wallMs, longestMs, longestTop } = busyOf(profile);
		const dispatched = after.dispatched - before.dispatched;
		return {
			accounts: accounts.length,
			seconds: elapsedS,
			dispatched,
			eventsPerS: dispatched / elapsedS,
			tasksPerS: (after.finished - before.finished) / elapsedS,
			busyShare: busyMs / wallMs,
			isolateMsPerEvent: dispatched ? busyMs / dispatched : null,
			processMsPerEvent: dispatched ? ((after.cpu - before.cpu) * 1000) / dispatched : null,
			longestStretchMs: longestMs,
			longestStretchTop: longestTop,
			submitted,
			submitErrors,
			failures: await failures(),
		};
	} finally {
		feeding = false;
		await feeder;
	}
}

/** Waits until no load task is unfinished (up to `timeoutMs`). */
async function drain(rt, timeoutMs = 60_000) {
	const db = await rt.mf.getD1Database("DB", "mj-edge");
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const { n } = await db
			.prepare(
				"SELECT COUNT(*) AS n FROM tasks WHERE status NOT IN ('SUCCESS', 'FAILURE', 'CANCEL') AND prompt LIKE 'bench discord load %'",
			)
			.first();
		if (n === 0) return true;
		await sleep(500);
	}
	return false;
}

/**
 * Part 2: N accounts at once for each N in `steps`, added cumulatively (the accounts of the
 * previous step stay connected). Before the load at the largest N, an idle window: what connected
 * accounts cost with nothing to do (heartbeats and ACKs, the watchdog alarm every 30 s).
 */
async function accountsPerWorker({ rt, admin, fake, devVars, steps, seconds, inspectorPort, outDir, log }) {
	const results = [];
	const accounts = [];
	// One user per account: each stays far under the per-user submit limit.
	const userTokens = await Promise.all(
		Array.from({ length: Math.max(...steps) }, (_, i) => makeToken(devVars, `bench-discord-load-${i + 1}`)),
	);
	let idle;
	for (const n of steps) {
		const names = Array.from({ length: n - accounts.length }, (_, i) => `bench-discord-${accounts.length + i + 1}`);
		accounts.push(...(await addAccounts(admin, names, { concurrency: JOBS_PER_ACCOUNT, queue_size: 0 })));
		log(`accounts per Worker: ${n} connected; ${JOBS_PER_ACCOUNT} jobs each, a step every ${SCALE_STEP_MS} ms`);
		if (n === steps.at(-1)) {
			// Idle means no job left running from the step before.
			if (!(await drain(rt))) log("idle: load tasks still unfinished after 60 s");
			const before = await Promise.all(accounts.map((a) => fake.state(a.token)));
			const startedAt = performance.now();
			const { profile } = await profileWhile({
				port: inspectorPort,
				workerName: "mj-edge",
				load: () => sleep(15_000),
				intervalUs: PROFILE_INTERVAL_US,
			});
			const s = (performance.now() - startedAt) / 1000;
			const afterStates = await Promise.all(accounts.map((a) => fake.state(a.token)));
			const heartbeats = afterStates.reduce((sum, st, i) => sum + st.heartbeats - before[i].heartbeats, 0);
			const { busyMs, longestMs } = busyOf(profile);
			idle = { accounts: n, seconds: s, heartbeats, busyMs, msPerAccountMinute: (busyMs / n / s) * 60, longestMs };
			log(
				`idle, ${n} accounts: ${heartbeats} heartbeats in ${f(s, 1)} s, isolate ${f(busyMs, 1)} ms busy (${f(idle.msPerAccountMinute, 2)} ms per account per minute)`,
			);
		}
		const result = await underLoad({
			outDir,
			rt,
			fake,
			accounts: [...accounts],
			userTokens: userTokens.slice(0, n),
			seconds,
			warmupSeconds: WARMUP_SECONDS,
			inspectorPort,
		});
		results.push(result);
		log(
			`N=${n}: ${f(result.eventsPerS, 1)} gateway events/s (${f(result.eventsPerS / n, 2)} per account), ${f(result.tasksPerS, 2)} tasks/s, isolate busy ${f(result.busyShare * 100, 1)}%, ${f(result.isolateMsPerEvent, 2)} isolate ms per event, longest stretch ${f(result.longestStretchMs, 1)} ms (samples: ${result.longestStretchTop.join(", ")})`,
		);
	}
	return { results, idle };
}

/**
 * Runs both parts on `snapshot` (prepareSnapshot) in a state of its own under `outDir`.
 * `config`: { tasks, steps, seconds }.
 */
export async function runDiscordBench({ root, snapshot, outDir, logFile, config, log }) {
	const persistTo = join(outDir, "discord-state");
	rmSync(join(outDir, "discord-state"), { recursive: true, force: true });
	for (const dir of ["simulator-state", "hello-state", "fake-discord-state"]) {
		if (existsSync(join(outDir, dir))) rmSync(join(outDir, dir), { recursive: true, force: true });
	}
	log("Discord: bundling the fake Discord; applying D1 migrations to bench/.out/discord-state");
	const fakeDiscord = prepareFakeDiscord({ root, dir: join(outDir, "build"), logFile });
	migrate({ root, persistTo, config: snapshot.config, logFile });
	const devVars = [snapshot.devVars];
	const adminToken = await makeToken(devVars, "bench-discord-admin", "admin");
	const userToken = await makeToken(devVars, "bench-discord-user");
	const setupToken = await makeToken(devVars, "bench-discord-setup");
	const report = { loadAverageAtStart: (await import("node:os")).loadavg() };
	const limits = { USER_CONCURRENCY: "100000000", USER_QUEUE_LIMIT: "100000000" };

	// Part 1: no queue consumers (the bench dispatches each message), held steps on the fake.
	let inspectorPort = await freePort();
	let rt = await startWorkerd({
		snapshot,
		persistTo,
		logFile,
		consumers: false,
		inspectorPort,
		vars: limits,
		simulatorApart: true,
		fakeDiscord: { ...fakeDiscord, vars: { FAKE_DISCORD_STEP_MS: "700" } },
	});
	try {
		const admin = adminApi(rt.base, adminToken);
		const fake = fakeControls(rt.fakeDiscord.base);
		await cdnSendsLength(rt.fakeDiscord.base);
		await allChannelsOff(admin, rt.base, setupToken);
		report.events = await perInvocation({
			rt,
			admin,
			fake,
			userToken,
			count: config.tasks,
			inspectorPort,
			outDir,
			mapFile: `${snapshot.script}.map`,
			log,
		});
		for (const line of eventLines(report.events, DISCORD_KINDS, "Discord gateway event and interaction")) log(line);
	} catch (error) {
		report.events = { error: String(error?.stack ?? error) };
		log(`Discord per invocation: could not run: ${error?.message ?? error}`);
	} finally {
		await rt.stop();
	}

	// Part 2: consumers on, the fake's steps on their timers, N accounts at once.
	inspectorPort = await freePort();
	rt = await startWorkerd({
		snapshot,
		persistTo,
		logFile,
		inspectorPort,
		vars: limits,
		simulatorApart: true,
		fakeDiscord: { ...fakeDiscord, vars: { FAKE_DISCORD_STEP_MS: String(SCALE_STEP_MS) } },
	});
	try {
		const admin = adminApi(rt.base, adminToken);
		const fake = fakeControls(rt.fakeDiscord.base);
		await allChannelsOff(admin, rt.base, setupToken);
		report.scale = await accountsPerWorker({
			rt,
			admin,
			fake,
			devVars,
			steps: config.steps,
			seconds: config.seconds,
			inspectorPort,
			outDir,
			log,
		});
	} catch (error) {
		report.scale = { error: String(error?.stack ?? error) };
		log(`accounts per Worker: could not run: ${error?.message ?? error}`);
	} finally {
		await rt.stop();
	}
	report.loadAverageAtEnd = (await import("node:os")).loadavg();
	judgeScale(report);
	return report;
}

/**
 * The worst invocation at N: the isolated worst window (part 1) scaled by what one gateway event
 * costs the isolate at N against N = 1. Invocations overlap under load, so no window holds one
 * alone; what load changes for each (garbage collection, colder caches) shows in that ratio.
 */
export function judgeScale(report) {
	const scale = report.scale;
	if (!scale?.results?.length) return;
	const base = scale.results[0].isolateMsPerEvent;
	const isolatedWorst = report.events?.judgedOn === "isolate" ? report.events.worstMs : null;
	for (const r of scale.results) {
		r.costRatio = base ? r.isolateMsPerEvent / base : null;
		// Never below the isolated figure: events get cheaper per event under load (warmer code, the
		// isolate's fixed costs spread over more events), which says nothing of the worst one.
		const scaled = isolatedWorst !== null && r.costRatio !== null ? isolatedWorst * Math.max(1, r.costRatio) : null;
		// Nor below the longest stretch without a pause: one invocation ran it all (with the isolate this
		// far from busy, stretches do not join several); under load that is a garbage collection pause,
		// charged to whichever invocation was running.
		r.worstInvocationMs = scaled === null ? null : Math.max(scaled, r.longestStretchMs);
		r.worstFrom = scaled !== null && r.longestStretchMs > scaled ? "stretch" : "scaled";
		// Whether each account's jobs ran at the rate offered (see busyShare for whether the isolate was the cause).
		r.eventsPerAccountS = r.eventsPerS / r.accounts;
		r.keptUp = r.eventsPerAccountS >= 0.85 * OFFERED_PER_ACCOUNT_S;
	}
	const over = scale.results.find((r) => !(r.worstInvocationMs < EVENT_CPU_TARGET_MS));
	scale.firstOverTarget = over ? over.accounts : null;
	scale.largest = scale.results.at(-1).accounts;
	scale.pass = !over;
}

/** The printout of both parts. */
export function discordLines(report) {
	const lines = [];
	if (report.events) lines.push(...eventLines(report.events, DISCORD_KINDS, "Discord gateway event and interaction"));
	const scale = report.scale;
	if (scale?.error) lines.push(`  accounts per Worker: could not run (${scale.error.split("\n")[0]})`);
	else if (scale?.results) {
		lines.push(
			`  accounts per gateway Worker: N accounts at once, ${JOBS_PER_ACCOUNT} jobs each (a job: ${EVENTS_PER_JOB} gateway events, 12 of them progress updates, over ${STEPS_PER_JOB} steps of ${SCALE_STEP_MS} ms; a new job as one ends: ${f(OFFERED_PER_ACCOUNT_S, 2)} events/s offered per account), consumers on; ${f(scale.results[0].seconds, 0)} s profiled per N after ${WARMUP_SECONDS} s of load:`,
		);
		lines.push(
			"    N     events/s (per account)  tasks/s  isolate busy  isolate ms/event  process ms/event  longest stretch  worst invocation (est.)",
		);
		for (const r of scale.results) {
			lines.push(
				`    ${String(r.accounts).padEnd(5)} ${f(r.eventsPerS, 1).padStart(7)} (${f(r.eventsPerAccountS, 2).padStart(5)})          ${f(r.tasksPerS, 2).padStart(7)}  ${`${f(r.busyShare * 100, 1)}%`.padStart(12)}  ${f(r.isolateMsPerEvent, 2).padStart(16)}  ${f(r.processMsPerEvent, 2).padStart(16)}  ${`${f(r.longestStretchMs, 1)} ms`.padStart(15)}  ${`${r.worstFrom === "stretch" ? "*" : ""}${f(r.worstInvocationMs, 2)} ms`.padStart(10)} ${r.worstInvocationMs < EVENT_CPU_TARGET_MS ? "PASS" : "FAIL"}${r.keptUp ? "" : "  (accounts ran below the offered rate)"}${r.failures ? `  ${r.failures} tasks FAILED` : ""}`,
			);
		}
		lines.push(
			`    worst invocation (est.) = the larger of: the judged worst above x (isolate ms per event at N / at N=${scale.results[0].accounts}, at least 1), and the longest stretch (*: it decides); first N past ${EVENT_CPU_TARGET_MS} ms: ${scale.firstOverTarget ?? `none up to ${scale.largest}`}: ${scale.pass ? "PASS" : "FAIL"}`,
		);
		lines.push(
			`    longest stretches, by the samples in them: ${scale.results.map((r) => `N=${r.accounts}: ${(r.longestStretchTop ?? []).join(", ")}`).join("; ")}`,
		);
		if (scale.idle) {
			lines.push(
				`    idle, ${scale.idle.accounts} accounts connected: ${scale.idle.heartbeats} heartbeats in ${f(scale.idle.seconds, 1)} s, isolate ${f(scale.idle.busyMs, 1)} ms busy: ${f(scale.idle.msPerAccountMinute, 2)} ms per account per minute (heartbeat + ACK, watchdog alarm)`,
			);
		}
	}
	if (report.loadAverageAtStart)
		lines.push(
			`  load average at start ${report.loadAverageAtStart.map((x) => x.toFixed(2)).join(" ")}, at end ${report.loadAverageAtEnd?.map((x) => x.toFixed(2)).join(" ") ?? "n/a"}`,
		);
	return lines;
}

/** Both parts PASS. */
export function discordPass(report) {
	return report.events?.pass === true && report.scale?.pass === true;
}
