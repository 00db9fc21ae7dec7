/**
 * Runs the production bundle in workerd through Miniflare's API, the way production runs it:
 * no `wrangler dev` proxy worker and no wrangler process in front. The bindings come from
 * the same wrangler.toml (`unstable_getMiniflareWorkerOptions`), the state from the same
 * persist directory as `wrangler dev --persist-to` (`<dir>/v3`), so the seeded D1 data is
 * there. Beside it, a bare hello Worker runs in a second Miniflare instance (its own workerd
 * process, same runtime build and entry path): the baseline every ratio is judged against,
 * and its CPU is read from its own process.
 */
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { ceilingWorker } from "./ceilings.mjs";
import { cpuSeconds, descendants } from "./proc.mjs";
import { freePort } from "./server.mjs";

/** KEY=VALUE lines of a .dev.vars file. */
export function readVars(file) {
	const vars = {};
	for (const line of readFileSync(file, "utf8").split("\n")) {
		const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/i.exec(line);
		if (match && !line.trimStart().startsWith("#")) vars[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
	}
	return vars;
}

/** A Miniflare log that appends workerd's and Miniflare's output to `logFile` only. */
class FileLog extends Log {
	constructor(logFile, prefix) {
		super(LogLevel.WARN);
		this.logFile = logFile;
		this.prefix = prefix;
	}
	log(message) {
		appendFileSync(this.logFile, `[${this.prefix}] ${message}\n`);
	}
}

function workerdPids() {
	return new Set(
		descendants(process.pid)
			.filter((p) => p.comm.includes("workerd"))
			.map((p) => p.pid),
	);
}

/** Starts one Miniflare instance and finds the workerd process it spawned. */
async function startInstance(options, label) {
	const before = workerdPids();
	const mf = new Miniflare(convertV4MiniflareOptions(options));
	const url = await mf.ready;
	const fresh = [...workerdPids()].filter((pid) => !before.has(pid));
	if (fresh.length !== 1) throw new Error(`${label}: expected one new workerd process, found ${fresh.length}`);
	return { mf, url, pid: fresh[0] };
}

/** The ceiling Worker's SUBMIT_LIMITER namespace (the gateway's is wrangler.toml's 1001). */
const CEILING_LIMITER_NAMESPACE = "1901";

/** The fake Discord's origin as the gateway names it (as under `npm start`): its URLs go through FAKE_DISCORD. */
const FAKE_DISCORD_URL = "http://fake-discord.internal";

/** What the gateway's ASSETS binding answers in the bench: the console is not measured. */
const NO_ASSETS = `export default { fetch: () => new Response("not served in the bench", { status: 404 }) };`;

/**
 * The hello Worker; `/d1` and `/d1-page` (information only) read one row and a page of 20 rows
 * of a 40-column table (about a task row's width) straight through the D1 binding, no drizzle,
 * no Hono: what local D1 itself costs per request in this runtime, to set the routes against.
 * `/d1-one` is `SELECT 1` through `.raw()`: one D1 round trip with nothing to convert, the
 * floor any route with one D1 query stands on here.
 */
const HELLO = `
const json = (body) => new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
const COLS = Array.from({ length: 40 }, (_, i) => "c" + i);
export default {
	async fetch(request, env) {
		const { pathname } = new URL(request.url);
		if (pathname === "/d1-one") return json(await env.DB.prepare("SELECT 1").raw());
		if (pathname === "/d1") return json(await env.DB.prepare("SELECT * FROM t WHERE id = ?").bind(7).first());
		if (pathname === "/d1-page") return json((await env.DB.prepare("SELECT * FROM t ORDER BY id DESC LIMIT 20").all()).results);
		if (pathname === "/setup") {
			await env.DB.prepare("DROP TABLE IF EXISTS t").run();
			await env.DB.prepare("CREATE TABLE t (id INTEGER PRIMARY KEY, " + COLS.map((c, i) => c + (i % 2 ? " INTEGER" : " TEXT")).join(", ") + ")").run();
			const insert = env.DB.prepare("INSERT INTO t (id, " + COLS.join(", ") + ") VALUES (?, " + COLS.map(() => "?").join(", ") + ")");
			await env.DB.batch(Array.from({ length: 100 }, (_, n) => insert.bind(n + 1, ...COLS.map((c, i) => (i % 2 ? n * i : "value " + c + " of row " + n)))));
			return json({ ok: true });
		}
		return new Response('{"ok":true}', { headers: { "content-type": "application/json" } });
	},
};`;

/**
 * Starts the gateway bundle (`snapshot` from prepareSnapshot) and the hello Worker. `vars`
 * override wrangler.toml's [vars] and .dev.vars (as `--var` would). `consumers: false` leaves
 * the queue consumers out, so queued messages wait and cost nothing while submits are measured.
 * `simulatorApart: true` runs the simulator in a workerd process of its own (own state under
 * `<persistTo>/../simulator-state`), bound to the gateway as an external HTTP service on
 * 127.0.0.1, so the gateway process's CPU holds none of the simulator's. `simulatorVars` override
 * the simulator's [vars] (SIMULATOR_STEP_MS). `ceilings: true` adds the per-route ceiling Worker
 * (bench/lib/ceilings.mjs) to the gateway's process, bound to the same D1 database and task queue,
 * on a socket of its own (`ceilingBase`). `fakeDiscord` ({ config, script, vars } from
 * prepareFakeDiscord) runs the fake Discord in a workerd process of its own as well, bound to every
 * gateway Worker (split and variant ones too) as FAKE_DISCORD with FAKE_DISCORD_URL set, as
 * `npm start` binds it (bench/lib/discord.mjs); its origin for the bench's own calls is
 * `fakeDiscord.base`.
 * `splitIsolates: true` (bench/growth.mjs) runs the same bundle as several Workers of the same
 * process, so each kind of invocation has an isolate (and an inspector target) of its own, as each
 * is an invocation of its own in production: `mj-edge` answers HTTP and the cron, `mj-edge-queue`
 * consumes the queues, and each Durable Object class runs in `mj-edge-do-<Class>`.
 * `variants` ({ name: vars }) adds more Workers running the gateway with those vars on top (no
 * queue consumers), sharing its D1, R2, queues and objects. `onLog(level, message)` also gets
 * workerd's structured logs (console.log of every Worker). `hello: false` leaves the hello
 * Worker out (then `helloBase` and `helloPid` are undefined and `cpu().hello` is null).
 * Returns `{ base, helloBase, ceilingBase, pid, helloPid, mf, simulator, fakeDiscord, cpu(), stop() }`:
 * `cpu()` is the CPU seconds of
 * both workerd processes so far.
 */
export async function startWorkerd({
	snapshot,
	persistTo,
	logFile,
	vars = {},
	consumers = true,
	inspectorPort,
	simulatorApart = false,
	simulatorVars = {},
	splitIsolates = false,
	variants = {},
	onLog,
	hello: withHello = true,
	ceilings = false,
	fakeDiscord,
	direct = false,
}) {
	mkdirSync(dirname(logFile), { recursive: true });
	const { workerOptions } = unstable_getMiniflareWorkerOptions(snapshot.config);
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	// A bundle is one ES module: no module rules. No cron either: a minute's reconcile landing in a
	// measured round would be noise. Empty binding groups are left out (the v4 -> v5 option
	// conversion refuses some of them).
	//
	// No [assets] router either. Miniflare emulates Workers Assets with two more Workers in front
	// of the gateway (a router, then the asset server), and with run_worker_first every request
	// passes that router: ~0.2 ms of CPU here, about a whole hello Worker's request again, which
	// Cloudflare runs in its own routing layer and does not charge to the Worker. The console and
	// /docs script are not measured; ASSETS is bound to a stub that answers 404.
	// `node bench/assets-router.mjs` measures the router's cost beside a bare hello Worker.
	const { cronTriggers: _cron, modulesRules: _rules, assets: _assets, ...rest } = workerOptions;
	const worker = Object.fromEntries(
		Object.entries(rest).filter(
			([, value]) => !(value && typeof value === "object" && Object.keys(value).length === 0),
		),
	);
	// The upstream simulator runs in the gateway's workerd too, reached through the SIMULATOR
	// service binding exactly as under `npm start` (the simulator is not what is measured).
	const simulatorOptions = unstable_getMiniflareWorkerOptions(snapshot.simulatorConfig).workerOptions;
	const { cronTriggers: _simCron, modulesRules: _simRules, ...simulatorRest } = simulatorOptions;
	const simulator = Object.fromEntries(
		Object.entries(simulatorRest).filter(
			([, value]) => !(value && typeof value === "object" && Object.keys(value).length === 0),
		),
	);
	const log = new FileLog(logFile, "workerd");
	const shared = {
		host: "127.0.0.1",
		log,
		logRequests: false,
		handleStructuredLogs: ({ level, message }) => {
			appendFileSync(logFile, `[workerd ${level}] ${message}\n`);
			onLog?.(level, message);
		},
	};
	const simulatorWorker = {
		...simulator,
		name: "mj-edge-simulator",
		modules: true,
		scriptPath: snapshot.simulatorScript,
		bindings: { ...simulator.bindings, ...simulatorVars },
	};
	const ceilingPort = ceilings ? await freePort() : undefined;
	const ceilingWorkers = ceilings
		? [
				{
					name: "bench-ceiling",
					modules: true,
					script: ceilingWorker(),
					compatibilityDate: worker.compatibilityDate,
					compatibilityFlags: worker.compatibilityFlags,
					d1Databases: worker.d1Databases,
					queueProducers: { TASK_QUEUE: worker.queueProducers.TASK_QUEUE },
					// The submit's rate limiter as the gateway's (same limit, period and key shape), in a
					// namespace of its own: sharing the gateway's buckets, the ceiling's submits would use
					// up the bench users' allowance of 60 a minute and get the route's refused.
					ratelimits: {
						SUBMIT_LIMITER: { ...worker.ratelimits.SUBMIT_LIMITER, namespace_id: CEILING_LIMITER_NAMESPACE },
					},
					unsafeDirectSockets: [{ host: "127.0.0.1", port: ceilingPort }],
				},
			]
		: [];
	let apart;
	if (simulatorApart) {
		const simulatorPort = await freePort();
		apart = await startInstance(
			{
				...shared,
				port: simulatorPort,
				resourcePersistencePath: join(persistTo, "..", "simulator-state"),
				workers: [simulatorWorker],
			},
			"simulator",
		);
		apart.address = `127.0.0.1:${simulatorPort}`;
	}
	let fake;
	if (fakeDiscord) {
		const fakeOptions = unstable_getMiniflareWorkerOptions(fakeDiscord.config).workerOptions;
		const { cronTriggers: _fakeCron, modulesRules: _fakeRules, ...fakeRest } = fakeOptions;
		const fakePort = await freePort();
		try {
			fake = await startInstance(
				{
					...shared,
					port: fakePort,
					resourcePersistencePath: join(persistTo, "..", "fake-discord-state"),
					workers: [
						{
							...fakeRest,
							name: "mj-edge-fake-discord",
							modules: true,
							scriptPath: fakeDiscord.script,
							bindings: { ...fakeRest.bindings, ...fakeDiscord.vars },
						},
					],
				},
				"fake Discord",
			);
		} catch (error) {
			await apart?.mf.dispose();
			throw error;
		}
		fake.address = `127.0.0.1:${fakePort}`;
	}
	const gatewayWorker = {
		...worker,
		name: "mj-edge",
		modules: true,
		scriptPath: snapshot.script,
		bindings: {
			...worker.bindings,
			...readVars(snapshot.devVars),
			PUBLIC_BASE_URL: base,
			...(fake ? { FAKE_DISCORD_URL: FAKE_DISCORD_URL } : {}),
			...vars,
		},
		queueConsumers: consumers ? worker.queueConsumers : {},
		serviceBindings: {
			...worker.serviceBindings,
			ASSETS: "bench-no-assets",
			...(apart ? { SIMULATOR: { external: { address: apart.address, http: {} } } } : {}),
			...(fake ? { FAKE_DISCORD: { external: { address: fake.address, http: {} } } } : {}),
		},
	};
	// Split and variant Workers spread this one, so they get the simulator and fake Discord bindings too.
	const gatewayWorkers = splitIsolates ? splitGateway(gatewayWorker) : [gatewayWorker];
	for (const [name, extra] of Object.entries(variants)) {
		gatewayWorkers.push({
			...gatewayWorkers[0],
			name,
			bindings: { ...gatewayWorkers[0].bindings, ...extra },
			queueConsumers: {},
		});
	}
	// `direct`: the gateway (its first Worker) and hello on sockets of their own as well, as the
	// ceiling Worker is, so no request pays Miniflare's entry Worker (see its doc comment above).
	const gatewayDirectPort = direct ? await freePort() : undefined;
	if (gatewayDirectPort) {
		gatewayWorkers[0] = {
			...gatewayWorkers[0],
			unsafeDirectSockets: [{ host: "127.0.0.1", port: gatewayDirectPort }],
		};
	}
	const gateway = await startInstance(
		{
			...shared,
			port,
			...(inspectorPort ? { inspectorPort } : {}),
			// The layout `wrangler dev --persist-to` and `wrangler d1 execute --persist-to` use.
			resourcePersistencePath: join(persistTo, "v3"),
			workers: [
				...gatewayWorkers,
				{ name: "bench-no-assets", modules: true, script: NO_ASSETS },
				...(apart ? [] : [simulatorWorker]),
				...ceilingWorkers,
			],
		},
		"gateway",
	).catch(async (error) => {
		await Promise.allSettled([apart?.mf.dispose(), fake?.mf.dispose()]);
		throw error;
	});
	let hello;
	const helloDirectPort = withHello && direct ? await freePort() : undefined;
	if (withHello) {
		try {
			hello = await startInstance(
				{
					...shared,
					port: await freePort(),
					// Its own throwaway D1, never the gateway's state: two processes on one SQLite file would contend.
					resourcePersistencePath: join(persistTo, "..", "hello-state"),
					workers: [
						{
							name: "hello",
							modules: true,
							script: HELLO,
							compatibilityDate: worker.compatibilityDate,
							d1Databases: { DB: "bench-hello-d1" },
							...(helloDirectPort ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: helloDirectPort }] } : {}),
						},
					],
				},
				"hello",
			);
		} catch (error) {
			await Promise.allSettled([gateway.mf.dispose(), apart?.mf.dispose(), fake?.mf.dispose()]);
			throw error;
		}
		const setup = await fetch(`${hello.url.origin}/setup`);
		if (!setup.ok) throw new Error(`hello Worker /setup answered ${setup.status}`);
	}
	let stopped = false;
	return {
		base,
		helloBase: hello?.url.origin,
		/** Under `direct`: the gateway's and hello's own sockets, past Miniflare's entry Worker. */
		directBase: gatewayDirectPort ? `http://127.0.0.1:${gatewayDirectPort}` : undefined,
		helloDirectBase: helloDirectPort ? `http://127.0.0.1:${helloDirectPort}` : undefined,
		ceilingBase: ceilingPort ? `http://127.0.0.1:${ceilingPort}` : undefined,
		pid: gateway.pid,
		helloPid: hello?.pid,
		mf: gateway.mf,
		/** The simulator's own Miniflare instance and process under `simulatorApart`, else undefined. */
		simulator: apart && { mf: apart.mf, pid: apart.pid },
		/** The fake Discord's own instance (`fakeDiscord`), its process and its origin on 127.0.0.1. */
		fakeDiscord: fake && { mf: fake.mf, pid: fake.pid, base: `http://${fake.address}` },
		cpu: () => ({ gateway: cpuSeconds(gateway.pid), hello: hello ? cpuSeconds(hello.pid) : null }),
		stop: async () => {
			if (stopped) return;
			stopped = true;
			await Promise.allSettled([gateway.mf.dispose(), hello?.mf.dispose(), apart?.mf.dispose(), fake?.mf.dispose()]);
		},
	};
}

/**
 * The gateway as several Workers of one bundle (startWorkerd's `splitIsolates`): `mj-edge` keeps
 * HTTP and the cron, `mj-edge-queue` the queue consumers, and each Durable Object class moves to
 * `mj-edge-do-<Class>`; every Worker reaches the objects there.
 */
function splitGateway(main) {
	const objects = Object.fromEntries(
		Object.entries(main.durableObjects ?? {}).map(([binding, spec]) => [
			binding,
			{ ...spec, scriptName: `mj-edge-do-${spec.className}` },
		]),
	);
	const hosts = Object.values(main.durableObjects ?? {}).map((spec) => ({
		...main,
		name: `mj-edge-do-${spec.className}`,
		queueConsumers: {},
		durableObjects: {
			...objects,
			...Object.fromEntries(
				Object.entries(main.durableObjects).filter(([, other]) => other.className === spec.className),
			),
		},
	}));
	return [
		{ ...main, queueConsumers: {}, durableObjects: objects },
		{ ...main, name: "mj-edge-queue", durableObjects: objects },
		...hosts,
	];
}
