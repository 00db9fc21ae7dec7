/**
 * Starts the gateway under `wrangler dev` (local D1/R2/Queues/Durable Objects) together with
 * the upstream simulator Worker (simulator/) on a free loopback port with its own persist
 * directory, and stops it again, workerd children included.
 */
import { spawn, spawnSync } from "node:child_process";
import {
	appendFileSync,
	cpSync,
	createWriteStream,
	existsSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { buildDocs } from "../../scripts/build-docs.mjs";
import {
	devVarsText,
	ensureDevVars as ensureLocalDevVars,
	LOCAL_VARS,
	withoutAi,
} from "../../scripts/lib/dev-vars.mjs";
import { alive, descendants } from "./proc.mjs";

/** Path of wrangler's JS entry, read from its package.json so a layout change shows up here. */
function wranglerEntry(root) {
	const pkgDir = join(root, "node_modules", "wrangler");
	const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
	const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin?.wrangler;
	if (!bin) throw new Error("node_modules/wrangler/package.json has no wrangler bin");
	return join(pkgDir, bin);
}

/** A port the OS considers free on 127.0.0.1 right now. */
export async function freePort() {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

/** Local secrets: wrangler dev reads .dev.vars, which a fresh checkout does not have (as npm start makes it). */
export function ensureDevVars(root) {
	if (ensureLocalDevVars(root)) console.log("created .dev.vars with random local secrets");
}

/**
 * The bench's own .dev.vars: npm start's local vars and fixed secrets, never a developer's
 * .dev.vars (which may be stale or tuned), so every run measures the same settings and a
 * BENCH_ONLY=workerd run signs as the run that left the state. Local only: it serves 127.0.0.1
 * in development mode, and a production gateway refuses these secrets anyway (too well known).
 */
const BENCH_VARS = {
	JWT_SECRET: "bench-jwt-secret-local-only-0123456789abcdef",
	SIGNING_SECRET: "bench-signing-secret-local-only-0123456789",
	...LOCAL_VARS,
	TRANSLATOR: "fake",
};
const writeBenchVars = (file) => writeFileSync(file, devVarsText(BENCH_VARS, "Written by bench/lib/server.mjs."));

const wranglerEnv = () => ({ ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" });

/** Runs a wrangler command to completion; its output goes to `logFile`; throws on failure; returns stdout. */
function runWrangler({ root, args, logFile, what }) {
	const result = spawnSync(process.execPath, [wranglerEntry(root), ...args], {
		cwd: root,
		env: wranglerEnv(),
		encoding: "utf8",
		timeout: 120_000,
	});
	if (logFile) {
		mkdirSync(dirname(logFile), { recursive: true });
		appendFileSync(logFile, `$ wrangler ${args.join(" ")}\n${result.stdout ?? ""}${result.stderr ?? ""}`);
	}
	if (result.status !== 0) {
		const reason = result.error ? result.error.message : `status ${result.status}`;
		throw new Error(`${what} failed (${reason}):\n${(result.stderr || result.stdout || "").slice(-2000)}`);
	}
	return result.stdout ?? "";
}

/** Applies the D1 migrations to the local database under `persistTo`. */
export function migrate({ root, persistTo, config, logFile }) {
	const args = ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo];
	runWrangler({ root, args: config ? [...args, "--config", config] : args, logFile, what: "d1 migrations apply" });
}

/**
 * Runs SQL on the local D1 database under `persistTo` (`wrangler d1 execute --local`): a
 * `file` or a `command`. With a command the answer is parsed from `--json`: the result rows
 * of each statement, as an array of arrays. Run it while no server uses that directory.
 */
export function d1Execute({ root, persistTo, config, file, command, logFile }) {
	const args = ["d1", "execute", "DB", "--local", "--persist-to", persistTo, "--yes"];
	if (config) args.push("--config", config);
	if (file) args.push("--file", file);
	else args.push("--command", command, "--json");
	const stdout = runWrangler({ root, args, logFile, what: `d1 execute ${file ? "--file" : "--command"}` });
	if (file) return undefined;
	const answer = JSON.parse(stdout.slice(stdout.indexOf("[")));
	return answer.map((statement) => statement.results);
}

/**
 * The gateway reaches the simulator through a SIMULATOR service binding that wrangler.toml
 * must not have (a deploy would fail without that Worker): appended to a copy of it, as
 * scripts/start.mjs does.
 */
const SIMULATOR_BINDING = `
# Local only: the simulator Worker run next to the gateway (simulator/wrangler.toml).
[[services]]
binding = "SIMULATOR"
service = "mj-edge-simulator"
`;

/** A config's `main` replaced by `script`, served as it is (`no_bundle`). */
function serveBundle(source, script) {
	return source.replace(/^main\s*=.*$/m, `main = ${JSON.stringify(script)}\nno_bundle = true`);
}

/**
 * Freezes the Worker and the simulator as they are now into `dir`: wrangler.toml (plus the
 * SIMULATOR binding), simulator/wrangler.toml and migrations/ copied, the bench's .dev.vars
 * written (writeBenchVars), and both bundled once (`wrangler deploy --dry-run`). `wrangler dev` on this snapshot
 * watches nothing anyone else edits: on a shared tree an edit to src/ or wrangler.toml
 * otherwise restarts the runtime in the middle of a measurement.
 * Returns `{ script, config, simulatorConfig, devVars }` for startServer, migrate and makeToken.
 */
export function prepareSnapshot({ root, dir, logFile }) {
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	// As npm start: no [ai] (wrangler dev would open a remote session for it and fail without a
	// Cloudflare login; the bench reaches no network), prompts translated by the fake.
	const source = withoutAi(readFileSync(join(root, "wrangler.toml"), "utf8"));
	const main = /^main\s*=\s*"([^"]+)"/m.exec(source)?.[1];
	if (!main) throw new Error('wrangler.toml has no main = "..." line');
	const config = join(dir, "wrangler.toml");
	// Relative paths in a config resolve against its directory: point main and the static assets
	// (built first: the directory must exist) back at the sources.
	buildDocs(root);
	const assets = /^directory\s*=\s*"([^"]+)"/m.exec(source)?.[1];
	writeFileSync(
		config,
		source
			.replace(/^main\s*=.*$/m, `main = ${JSON.stringify(join(root, main))}`)
			.replace(/^directory\s*=.*$/m, assets ? `directory = ${JSON.stringify(join(root, assets))}` : ""),
	);
	const migrationsDir = /^migrations_dir\s*=\s*"([^"]+)"/m.exec(source)?.[1] ?? "migrations";
	cpSync(join(root, migrationsDir), join(dir, migrationsDir), { recursive: true });
	writeBenchVars(join(dir, ".dev.vars"));

	const outDir = join(dir, "dist");
	runWrangler({
		root,
		args: ["deploy", "--dry-run", "--config", config, "--outdir", outDir],
		logFile,
		what: "wrangler deploy --dry-run",
	});
	const script = bundledScript(outDir);
	writeFileSync(config, `${serveBundle(readFileSync(config, "utf8"), script)}${SIMULATOR_BINDING}`);

	const simulatorDir = join(dir, "simulator");
	mkdirSync(simulatorDir, { recursive: true });
	const simulatorSource = readFileSync(join(root, "simulator", "wrangler.toml"), "utf8");
	const simulatorConfig = join(simulatorDir, "wrangler.toml");
	writeFileSync(
		simulatorConfig,
		simulatorSource.replace(/^main\s*=.*$/m, `main = ${JSON.stringify(join(root, "simulator", "src", "index.ts"))}`),
	);
	const simulatorOut = join(simulatorDir, "dist");
	runWrangler({
		root,
		args: ["deploy", "--dry-run", "--config", simulatorConfig, "--outdir", simulatorOut],
		logFile,
		what: "wrangler deploy --dry-run (simulator)",
	});
	const simulatorScript = bundledScript(simulatorOut);
	writeFileSync(simulatorConfig, serveBundle(readFileSync(simulatorConfig, "utf8"), simulatorScript));
	return { script, config, simulatorConfig, simulatorScript, devVars: join(dir, ".dev.vars") };
}

/**
 * The fake Discord (simulator/discord/) frozen beside a snapshot: its wrangler.toml copied into
 * `<dir>/fake-discord` and its Worker bundled once, for bench/lib/discord.mjs.
 * Returns `{ config, script }`.
 */
export function prepareFakeDiscord({ root, dir, logFile }) {
	const fakeDir = join(dir, "fake-discord");
	mkdirSync(fakeDir, { recursive: true });
	const source = readFileSync(join(root, "simulator", "discord", "wrangler.toml"), "utf8");
	const config = join(fakeDir, "wrangler.toml");
	writeFileSync(
		config,
		source.replace(/^main\s*=.*$/m, `main = ${JSON.stringify(join(root, "simulator", "discord", "src", "index.ts"))}`),
	);
	const outDir = join(fakeDir, "dist");
	runWrangler({
		root,
		args: ["deploy", "--dry-run", "--config", config, "--outdir", outDir],
		logFile,
		what: "wrangler deploy --dry-run (fake Discord)",
	});
	const script = bundledScript(outDir);
	writeFileSync(config, serveBundle(readFileSync(config, "utf8"), script));
	return { config, script };
}

function bundledScript(outDir) {
	const scripts = readdirSync(outDir).filter((f) => /\.m?js$/.test(f));
	const entry = scripts.includes("index.js") ? "index.js" : scripts[0];
	if (!entry) throw new Error(`wrangler deploy --dry-run wrote no script to ${outDir}`);
	return join(outDir, entry);
}

/**
 * For BENCH_SOURCE=live: the .dev.vars beside liveConfig's wrangler.toml (wrangler reads it from
 * the config's directory), written once; makeToken signs with it.
 */
export function liveDevVars(persistTo) {
	const dir = join(dirname(persistTo), "live-config");
	mkdirSync(dir, { recursive: true });
	const file = join(dir, ".dev.vars");
	if (!existsSync(file)) writeBenchVars(file);
	return file;
}

/** For BENCH_SOURCE=live: wrangler.toml plus the SIMULATOR binding, its paths made absolute. */
function liveConfig(root, persistTo) {
	const dir = dirname(liveDevVars(persistTo));
	const absolute = (text, key) =>
		text.replace(new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, "m"), (_, p) => `${key} = ${JSON.stringify(join(root, p))}`);
	const source = readFileSync(join(root, "wrangler.toml"), "utf8");
	const config = join(dir, "wrangler.toml");
	writeFileSync(config, `${absolute(absolute(source, "main"), "migrations_dir")}${SIMULATOR_BINDING}`);
	return config;
}

/**
 * Spawns `wrangler dev` (the gateway, then the simulator) in its own process group and waits
 * for GET /health.
 * `snapshot` (from prepareSnapshot): serve those bundles with their configs;
 * without it wrangler bundles src/ and simulator/ itself and reloads on every edit, as
 * `npm start` does (with the bench's .dev.vars, like the snapshot).
 * Returns `{ base, port, pid, stop(), logTail() }`; `stop()` is idempotent.
 */
export async function startServer({
	root,
	persistTo,
	port,
	logFile,
	snapshot,
	readyTimeoutMs = 60_000,
	extraArgs = [],
}) {
	const base = `http://127.0.0.1:${port}`;
	mkdirSync(dirname(logFile), { recursive: true });
	const log = createWriteStream(logFile, { flags: "a" });
	let tail = "";
	const args = [
		wranglerEntry(root),
		"dev",
		...(snapshot
			? ["--config", snapshot.config, "--config", snapshot.simulatorConfig]
			: ["--config", liveConfig(root, persistTo), "--config", join(root, "simulator", "wrangler.toml")]),
		"--ip",
		"127.0.0.1",
		"--port",
		String(port),
		"--persist-to",
		persistTo,
		"--var",
		`PUBLIC_BASE_URL:${base}`,
		...extraArgs,
	];
	const child = spawn(process.execPath, args, {
		cwd: root,
		env: wranglerEnv(),
		detached: true,
		stdio: ["ignore", "pipe", "pipe"],
	});
	let exited = null;
	child.on("exit", (code, signal) => {
		exited = { code, signal };
	});
	const collect = (chunk) => {
		log.write(chunk);
		tail = (tail + chunk.toString()).slice(-8000);
	};
	child.stdout.on("data", collect);
	child.stderr.on("data", collect);

	// Every pid ever seen under the wrangler process, so stop() can make sure they all died
	// even after the tree has been re-parented to init.
	const seen = new Map();
	const remember = () => {
		for (const p of descendants(child.pid)) seen.set(p.pid, p.comm);
	};

	let stopped = false;
	const stop = async () => {
		if (stopped) return;
		stopped = true;
		remember();
		signalGroup(child.pid, "SIGTERM");
		const deadline = Date.now() + 5000;
		while (Date.now() < deadline && [child.pid, ...seen.keys()].some(alive)) await sleep(100);
		signalGroup(child.pid, "SIGKILL");
		for (const [pid, comm] of seen) killIfSame(pid, comm);
		log.end();
	};

	const started = Date.now();
	for (;;) {
		if (exited) {
			await stop();
			throw new Error(`wrangler dev exited early (${JSON.stringify(exited)}):\n${tail.slice(-3000)}`);
		}
		if (Date.now() - started > readyTimeoutMs) {
			await stop();
			throw new Error(`GET ${base}/health did not answer within ${readyTimeoutMs} ms:\n${tail.slice(-3000)}`);
		}
		try {
			const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
			const body = await res.text();
			if (res.ok && JSON.parse(body).ok === true) break;
		} catch {
			// Not listening yet.
		}
		await sleep(250);
	}
	remember();
	return {
		base,
		port,
		pid: child.pid,
		startMs: Date.now() - started,
		stop,
		/** Synchronous last resort for process "exit" handlers. */
		killNow: () => {
			signalGroup(child.pid, "SIGKILL");
			for (const [pid, comm] of seen) killIfSame(pid, comm);
		},
		remember,
		logTail: () => tail,
	};
}

function signalGroup(pid, signal) {
	try {
		process.kill(-pid, signal);
	} catch {
		// Group already gone.
	}
}

/** SIGKILLs a straggler only while its pid still names the same program (pids get reused). */
function killIfSame(pid, comm) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) === comm) process.kill(pid, "SIGKILL");
	} catch {
		// Gone.
	}
}
