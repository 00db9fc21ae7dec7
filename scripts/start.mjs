#!/usr/bin/env node
// `npm start [-- --port N] [-- --persist-to DIR] [-- other wrangler dev flags]`: the web console build, local D1 migrations, then one
// `wrangler dev` running the gateway (local D1, R2, Queues, Durable Objects), the upstream
// simulator Worker (simulator/wrangler.toml) and the fake Discord Worker
// (simulator/discord/wrangler.toml) side by side.
//
// The gateway reaches them through the SIMULATOR and FAKE_DISCORD service bindings. Those
// bindings must not be in wrangler.toml (a deploy would fail without those Workers), so this
// script runs wrangler dev on a copy of wrangler.toml with the bindings added:
// .wrangler/start/wrangler.toml, regenerated on every start.
//
// Stopping: wrangler (and the workerd processes under it) runs in its own process group.
// SIGINT, SIGTERM or SIGHUP to this process, or this process's parent (npm) going away,
// stops the whole group, with SIGKILL after a grace period.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildWeb } from "../web/build.ts";
import { buildDocs } from "./build-docs.mjs";
import { ensureDevVars, localVarFlags, withoutAi } from "./lib/dev-vars.mjs";

const FAKE_DISCORD_URL = "http://fake-discord.internal";
const GRACE_MS = 5000;

const args = process.argv.slice(2);
let port = 8787;
// Where the local D1, R2, queues and Durable Objects live; the browser test uses a fresh one.
let state = ".wrangler/state";
const rest = [];
for (let i = 0; i < args.length; i++) {
	const arg = args[i];
	if (arg === "--port") port = Number(args[++i]);
	else if (arg.startsWith("--port=")) port = Number(arg.slice("--port=".length));
	else if (arg === "--persist-to") state = args[++i];
	else rest.push(arg);
}
if (!Number.isInteger(port) || port < 1 || port > 65535) {
	console.error("--port must be a number from 1 to 65535");
	process.exit(2);
}

// Local secrets, random per checkout: the committed .dev.vars.example has none to copy.
if (ensureDevVars()) console.log("created .dev.vars with random local secrets (npm run token signs with them)");

// The static assets wrangler.toml [assets] serves: the /docs page's script.
buildDocs();

const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
// Under `npm start`, node_modules/.bin is first on PATH: wrangler runs on the Node 22 it installs.
const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
	stdio: "inherit",
	env,
});
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// The web console served at / (wrangler.toml [assets]); built on every start so it is current.
await buildWeb();
const config = devConfig();
const base = `http://127.0.0.1:${port}`;
const dev = spawn(
	"wrangler",
	[
		"dev",
		"-c",
		config,
		"-c",
		"simulator/wrangler.toml",
		"-c",
		"simulator/discord/wrangler.toml",
		// The copied config lives elsewhere: keep the state where wrangler.toml's would be.
		"--persist-to",
		state,
		"--ip",
		"127.0.0.1",
		"--port",
		String(port),
		"--var",
		`PUBLIC_BASE_URL:${base}`,
		`FAKE_DISCORD_URL:${FAKE_DISCORD_URL}`,
		// Development mode, the simulator, a large starting balance and the local stand-in
		// translator, each unless .dev.vars chooses otherwise (wrangler.toml's [vars] are production's).
		...localVarFlags(".", { TRANSLATOR: "fake" }),
		...rest,
	],
	{ stdio: "inherit", env, detached: true },
);

let exiting = false;
function signalGroup(signal) {
	try {
		process.kill(-dev.pid, signal);
	} catch {
		// The group is gone already.
	}
}
function stop(signal) {
	if (exiting) return;
	exiting = true;
	signalGroup(signal);
	setTimeout(() => {
		signalGroup("SIGKILL");
		process.exit(1);
	}, GRACE_MS).unref();
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));
// npm may die without passing a signal on (SIGHUP, SIGKILL), leaving the `sh -c` between it
// and this process alive: watch the parent and the grandparent, and stop when either is gone.
const ancestors = [process.ppid, parentOf(process.ppid)].filter((pid) => pid > 1);
setInterval(() => {
	if (ancestors.some((pid) => !alive(pid))) stop("SIGTERM");
}, 500).unref();
// Whatever ends this process, the runtime does not outlive it.
process.on("exit", () => signalGroup("SIGKILL"));
dev.on("exit", (code, signal) => {
	// wrangler is gone; make sure nothing it started lingers.
	signalGroup("SIGKILL");
	process.exit(exiting || signal ? 0 : (code ?? 0));
});

function alive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return error.code === "EPERM";
	}
}

/** The parent pid of `pid` from /proc (Linux); 0 where /proc is not available. */
function parentOf(pid) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
	} catch {
		return 0;
	}
}

/**
 * wrangler.toml plus the dev-only SIMULATOR and FAKE_DISCORD bindings, with its relative paths made absolute,
 * and .dev.vars beside it (wrangler reads .dev.vars from the config's own directory).
 */
function devConfig() {
	const source = readFileSync("wrangler.toml", "utf8");
	const absolute = (key) => (text) =>
		text.replace(
			new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, "m"),
			(_, path) => `${key} = ${JSON.stringify(resolve(path))}`,
		);
	const copied = [absolute("main"), absolute("migrations_dir"), absolute("directory"), withoutAi].reduce(
		(text, fix) => fix(text),
		source,
	);
	const dir = resolve(".wrangler", "start");
	mkdirSync(dir, { recursive: true });
	copyFileSync(".dev.vars", resolve(dir, ".dev.vars"));
	const file = resolve(dir, "wrangler.toml");
	writeFileSync(
		file,
		`# Generated by scripts/start.mjs from wrangler.toml on every start: edit that instead.\n${copied}
# Local only: the simulator Worker started next to the gateway (simulator/wrangler.toml).
[[services]]
binding = "SIMULATOR"
service = "mj-edge-simulator"

# Local only: the fake Discord Worker (simulator/discord/wrangler.toml).
[[services]]
binding = "FAKE_DISCORD"
service = "mj-edge-fake-discord"
`,
	);
	return file;
}
