/**
 * `BENCH_ONLY=routes npm run bench` (issue 20): every D1-backed route against ITS ceiling, a bare
 * Worker issuing the same statements by hand through the D1 binding (bench/lib/ceilings.mjs), and
 * the framework's share (drizzle-orm + Hono + zod) of the isolate's CPU profile under the list
 * mix. One workerd instance without queue consumers (so submits pile up unconsumed, as in the
 * workerd phase's submit rounds) holds the gateway and the ceiling Worker, on the same D1
 * database; the bare hello Worker runs in its own process, as in bench/lib/production.mjs, whose
 * rounds (wrk, ABBA, median of rounds) this reuses. Route and ceiling run back to back in every
 * round. Writes bench/.out/routes.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeToken } from "./lib/api.mjs";
import { checkEndpoints, RATIO_TARGETS, rounds, unfinishedTask } from "./lib/production.mjs";
import { profileWhile, summarizeProfile } from "./lib/profile.mjs";
import { startWorkerd } from "./lib/workerd.mjs";
import { wrkRun } from "./lib/wrk.mjs";

/** Issue 20: each route at least this share of its own ceiling's req/s. */
export const CEILING_TARGET = 0.85;

/** Route -> its ceiling endpoint. */
const PAIRS = {
	fetchPending: "cFetchPending",
	list002: "cList002",
	self: "cSelf",
	album: "cAlbum",
	adminP1: "cAdminP1",
	adminP1000: "cAdminP1000",
	submit: "cSubmit",
};

/** `BENCH_ROUTES=list002,self` runs only those routes (and their ceilings); the profile share needs the list mix. */
function chosenPairs(env = process.env) {
	const only = env.BENCH_ROUTES?.split(",")
		.map((name) => name.trim())
		.filter(Boolean);
	if (!only?.length) return PAIRS;
	const unknown = only.filter((name) => !(name in PAIRS));
	if (unknown.length)
		throw new Error(`BENCH_ROUTES: no route ${unknown.join(", ")} (routes: ${Object.keys(PAIRS).join(", ")})`);
	return Object.fromEntries(only.map((name) => [name, PAIRS[name]]));
}

const auth = (token) => ({ authorization: `Bearer ${token}` });
const f = (n, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

export async function runRoutes({ snapshot, persistTo, logFile, scriptDir, config, log, profile = true }) {
	const devVars = [snapshot.devVars];
	const token = (sub, role) => makeToken(devVars, sub, role);
	const { freePort } = await import("./lib/server.mjs");
	const inspectorPort = profile ? await freePort() : undefined;
	const rt = await startWorkerd({
		snapshot,
		persistTo,
		logFile,
		consumers: false,
		inspectorPort,
		ceilings: true,
		// Route, ceiling and hello each on a socket of its own: a request to Miniflare's main socket
		// first passes its entry Worker (core:entry), in the gateway's process, which the ceiling's
		// requests never did and production does not have (bench/README.md, "Miniflare's entry Worker").
		direct: process.env.BENCH_ENTRY !== "1",
		// As the workerd phase's submit instance: every submit accepted, each still counting.
		vars: { USER_CONCURRENCY: "100000000", USER_QUEUE_LIMIT: "100000000" },
	});
	const gatewayBase = rt.directBase ?? rt.base;
	const helloBase = rt.helloDirectBase ?? rt.helloBase;
	log(
		`workerd: gateway ${gatewayBase} (pid ${rt.pid}), ceiling ${rt.ceilingBase}, hello ${helloBase} (pid ${rt.helloPid})${rt.directBase ? "" : ", through Miniflare's entry Worker (BENCH_ENTRY=1)"}`,
	);
	const pairs = chosenPairs();
	const report = { config: { ...config }, ceilingTarget: CEILING_TARGET };
	try {
		const tokens = {
			bench: await token("bench-user"),
			big: await token("bench-user-1"),
			album: await token("bench-album-user"),
			admin: await token("bench-admin", "admin"),
		};
		// Each token's first request in an isolate writes its users row; after it, the route costs what it will.
		for (const t of Object.values(tokens)) {
			await (await fetch(`${gatewayBase}/api/v1/task/list?limit=1`, { headers: auth(t) })).arrayBuffer();
		}
		const db = await rt.mf.getD1Database("DB", "mj-edge");
		const idOf = async (sub) => (await db.prepare("SELECT id FROM users WHERE sub = ?").bind(sub).first())?.id;
		const pendingId = await unfinishedTask(db, "bench-user", log);
		const ids = {
			bench: await idOf("bench-user"),
			big: await idOf("bench-user-1"),
			album: await idOf("bench-album-user"),
			admin: await idOf("bench-admin"),
		};
		const submitters = [];
		for (let user = 2; user <= 100; user++) submitters.push({ user, token: await token(`bench-user-${user}`) });
		for (const s of submitters) s.id = await idOf(`bench-user-${s.user}`);
		const gw = (path, t, extra = {}) => ({ path, headers: auth(t), ...extra });
		const defined = {
			hello: { base: helloBase, requests: [{ path: "/" }], process: "hello" },
			d1One: { base: helloBase, requests: [{ path: "/d1-one" }], process: "hello" },
			fetchPending: {
				base: gatewayBase,
				requests: [gw(`/api/v1/task/fetch?_id=${pendingId}`, tokens.bench)],
				process: "gateway",
			},
			cFetchPending: {
				base: rt.ceilingBase,
				requests: [{ path: `/fetch?uid=${ids.bench}&id=${pendingId}` }],
				process: "gateway",
			},
			list002: { base: gatewayBase, requests: [gw("/api/v1/task/list", tokens.big)], process: "gateway" },
			cList002: { base: rt.ceilingBase, requests: [{ path: `/list002?uid=${ids.big}` }], process: "gateway" },
			self: { base: gatewayBase, requests: [gw("/api/mj/self?page_size=20", tokens.big)], process: "gateway" },
			cSelf: { base: rt.ceilingBase, requests: [{ path: `/self?uid=${ids.big}` }], process: "gateway" },
			album: {
				base: gatewayBase,
				requests: [
					gw("/userAlbum", tokens.album, {
						method: "POST",
						headers: { ...auth(tokens.album), "content-type": "application/json" },
						body: JSON.stringify({ page: 1, pageSize: 20 }),
					}),
				],
				process: "gateway",
			},
			cAlbum: { base: rt.ceilingBase, requests: [{ path: `/album?uid=${ids.album}` }], process: "gateway" },
			adminP1: { base: gatewayBase, requests: [gw("/api/mj/?page_size=20&p=1", tokens.admin)], process: "gateway" },
			cAdminP1: { base: rt.ceilingBase, requests: [{ path: `/admin?uid=${ids.admin}&p=1` }], process: "gateway" },
			adminP1000: {
				base: gatewayBase,
				requests: [gw("/api/mj/?page_size=20&p=1000", tokens.admin)],
				process: "gateway",
			},
			cAdminP1000: { base: rt.ceilingBase, requests: [{ path: `/admin?uid=${ids.admin}&p=1000` }], process: "gateway" },
			submit: {
				base: gatewayBase,
				requests: submitters.map((s) =>
					gw("/api/v1/trigger/submit?action=IMAGINE&prompt=bench%20submit%20a%20red%20fox", s.token),
				),
				acceptedIf: '"code":1,',
				process: "gateway",
			},
			cSubmit: {
				base: rt.ceilingBase,
				requests: submitters.map((s) => ({ path: `/submit?uid=${s.id}` })),
				acceptedIf: '"code":1,',
				process: "gateway",
			},
		};
		const chosen = new Set(["hello", "d1One", ...Object.entries(pairs).flat()]);
		const endpoints = Object.fromEntries(Object.entries(defined).filter(([name]) => chosen.has(name)));
		await checkEndpoints(endpoints);
		log(
			`routes and their ceilings: ${config.rounds} rounds x ${config.durationMs / 1000} s, ${config.concurrency} connections (wrk), ABBA`,
		);
		report.routes = await rounds({ endpoints, cpu: rt.cpu, config, scriptDir, log });
		report.ceilings = {};
		for (const [route, ceiling] of Object.entries(pairs)) {
			const r = report.routes[route];
			const c = report.routes[ceiling];
			const ratio = r.rps / c.rps;
			report.ceilings[route] = {
				ceiling,
				ratio,
				roundRatios: r.rounds.map((x, i) => x.countedRps / c.rounds[i].countedRps),
				cpuRatio: c.cpuMsPerRequest / r.cpuMsPerRequest,
				helloRatio: r.ratio,
				ceilingHelloRatio: c.ratio,
				target: CEILING_TARGET,
				pass: Number.isFinite(ratio) && ratio >= CEILING_TARGET && r.errors === 0 && c.errors === 0,
			};
		}
		if (profile) {
			// Each route and its ceiling alone, profiled: the isolates' own time per request (the
			// profiler slows them, so compare the two, not the figures with the rounds'). What the
			// route spends beyond its ceiling is the gateway's code; the process's D1 work is in neither.
			for (const [route, ceiling] of Object.entries(pairs)) {
				const isolate = {};
				for (const [name, worker] of [
					[route, "mj-edge"],
					[ceiling, "bench-ceiling"],
				]) {
					try {
						const { profile: raw, loadResult } = await profileWhile({
							port: inspectorPort,
							workerName: worker,
							load: () =>
								wrkRun({
									base: endpoints[name].base,
									requests: endpoints[name].requests,
									concurrency: config.concurrency,
									durationMs: 2000,
									scriptDir,
								}),
						});
						// BENCH_PROFILE_DIR=dir keeps each raw profile (<name>.cpuprofile) to read frame by frame.
						if (process.env.BENCH_PROFILE_DIR) {
							mkdirSync(process.env.BENCH_PROFILE_DIR, { recursive: true });
							writeFileSync(
								join(process.env.BENCH_PROFILE_DIR, `${name}.cpuprofile`),
								JSON.stringify({ ...raw, requests: loadResult.requests }),
							);
						}
						const summary = summarizeProfile(raw, { mapFile: `${snapshot.script}.map`, top: 5 });
						isolate[name] = { msPerRequest: summary.sampledMs / loadResult.requests, top: summary.functions };
					} catch (error) {
						isolate[name] = { error: String(error.message) };
					}
				}
				report.ceilings[route].isolate = isolate;
				log(
					`isolate ms/req under the profiler: ${route} ${f(isolate[route].msPerRequest, 3)}, ${ceiling} ${f(isolate[ceiling].msPerRequest, 3)}`,
				);
			}
			// The workerd phase's mix (bench/lib/production.mjs), so the shares compare with its profile.
			const mixed = ["list002", "self", "album", "adminP1"].flatMap((name) => defined[name].requests);
			mixed.push(gw(`/api/v1/task/fetch?_id=${pendingId}`, tokens.bench));
			// Warmed first, though that is not enough: in a BENCH_ROUTES run (the mix's routes not
			// profiled alone before) the share came out at 16.7-17.7% against 7.6% in a whole run of
			// the same code the same morning (Hono's c.json taking the JSON.stringify samples `ok` had),
			// so only a whole run's share is judged.
			await wrkRun({
				base: gatewayBase,
				requests: mixed,
				concurrency: config.concurrency,
				durationMs: 1000,
				scriptDir,
			});
			log("profiling the gateway isolate under the list mix (list002, self, album, admin p=1, fetch; unmeasured)");
			try {
				const { profile: raw, loadResult } = await profileWhile({
					port: inspectorPort,
					workerName: "mj-edge",
					load: () =>
						wrkRun({
							base: gatewayBase,
							requests: mixed,
							concurrency: config.concurrency,
							durationMs: 4000,
							scriptDir,
						}),
				});
				report.profile = {
					judged: pairs === PAIRS,
					requests: loadResult.requests,
					...summarizeProfile(raw, { mapFile: `${snapshot.script}.map`, top: 20 }),
				};
			} catch (error) {
				report.profile = { error: String(error.message) };
			}
		}
	} finally {
		await rt.stop();
	}
	return report;
}

/** The printout: each route beside its ceiling and beside hello, PASS/FAIL, then the profile share. */
export function routesLines(report) {
	const lines = [];
	const { routes } = report;
	lines.push(
		`routes against their ceilings (a bare Worker issuing the same D1 statements by hand, same process and database); hello ${f(routes.hello.rps, 0)} req/s, d1One ${f(routes.d1One.ratio)} of hello`,
	);
	lines.push(
		"  route        req/s  ceiling req/s  of ceiling  target     route/hello  ceiling/hello  cpu ms route/ceiling (ratio)  rounds (of ceiling)",
	);
	for (const [name, c] of Object.entries(report.ceilings)) {
		const r = routes[name];
		const k = routes[c.ceiling];
		const helloTarget = RATIO_TARGETS[name];
		lines.push(
			`  ${name.padEnd(12)} ${f(r.rps, 0).padStart(5)}  ${f(k.rps, 0).padStart(13)}  ${f(c.ratio).padStart(10)}  >= ${c.target} ${c.pass ? "PASS" : "FAIL"}  ${f(c.helloRatio).padStart(11)}${helloTarget ? ` (>= ${helloTarget})` : ""}  ${f(c.ceilingHelloRatio).padStart(13)}  ${f(r.cpuMsPerRequest, 2)} / ${f(k.cpuMsPerRequest, 2)} (${f(c.cpuRatio, 2)})  ${c.roundRatios.map((x) => f(x, 2)).join(" ")}${r.errors || k.errors ? `  ERRORS ${r.errors}/${k.errors}` : ""}`,
		);
	}
	lines.push(
		"  isolate's own time per request under the profiler (100 us sampling: compare route with ceiling, not with the rounds), route / ceiling ms:",
	);
	for (const [name, c] of Object.entries(report.ceilings)) {
		const i = c.isolate;
		if (!i) continue;
		lines.push(
			`    ${name.padEnd(12)} ${f(i[name]?.msPerRequest)} / ${f(i[c.ceiling]?.msPerRequest)}  the gateway's own: ${f(i[name]?.msPerRequest - i[c.ceiling]?.msPerRequest)} ms`,
		);
	}
	const p = report.profile;
	if (p?.error) lines.push(`  profile: ${p.error}`);
	else if (p) {
		const fw = p.framework;
		lines.push(
			`  drizzle-orm + Hono + zod, share of the isolate's samples under the list mix: ${f(fw.share * 100, 1)}% (${Object.entries(
				fw.parts,
			)
				.map(([name, share]) => `${name} ${f(share * 100, 1)}%`)
				.join(
					", ",
				)}) target < ${fw.target * 100}%: ${p.judged === false ? "not judged in a BENCH_ROUTES run" : fw.pass ? "PASS" : "FAIL"}`,
		);
		lines.push(`  profile by source (${p.requests} requests, self time):`);
		for (const s of p.sources.slice(0, 12)) lines.push(`    ${f(s.share * 100, 1).padStart(5)}%  ${s.name}`);
		lines.push("  by function:");
		for (const s of p.functions.slice(0, 15)) lines.push(`    ${f(s.share * 100, 1).padStart(5)}%  ${s.name}`);
	}
	return lines;
}
