#!/usr/bin/env node
// `npm start [-- --port N] [-- other wrangler dev flags]`: local D1 migrations, then
// `wrangler dev` with local D1, R2, Queues, Durable Objects and the built-in simulator.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync } from "node:fs";

const args = process.argv.slice(2);
let port = 8787;
const rest = [];
for (let i = 0; i < args.length; i++) {
	const arg = args[i];
	if (arg === "--port") port = Number(args[++i]);
	else if (arg.startsWith("--port=")) port = Number(arg.slice("--port=".length));
	else rest.push(arg);
}
if (!Number.isInteger(port) || port < 1 || port > 65535) {
	console.error("--port must be a number from 1 to 65535");
	process.exit(2);
}

if (!existsSync(".dev.vars")) {
	copyFileSync(".dev.vars.example", ".dev.vars");
	console.log("created .dev.vars from .dev.vars.example");
}

const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
// Under `npm start`, node_modules/.bin is first on PATH: wrangler runs on the Node 22 it installs.
const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "DB", "--local"], { stdio: "inherit", env });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const base = `http://127.0.0.1:${port}`;
const dev = spawn(
	"wrangler",
	["dev", "--ip", "127.0.0.1", "--port", String(port), "--var", `PUBLIC_BASE_URL:${base}`, ...rest],
	{ stdio: "inherit", env },
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code, signal) => process.exit(signal ? 0 : (code ?? 0)));
