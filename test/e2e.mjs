#!/usr/bin/env node
// `npm run test:e2e`: the three npm-start checks against ONE local gateway, which is started once
// (test/lib/local-gateway.mjs) instead of once per check. Each check gets its address and state
// directory in MJ_EDGE_BASE_URL / MJ_EDGE_STATE and makes users of its own, so none relies on
// what another left behind; they run one after another (the browser test disables every channel
// for a moment, which would fail a task another check had in flight). Every check still runs
// alone, with a gateway of its own, as `npm run test:browser`, `test:clients` or `test:readme`.
// Prints each check's own report, then a line per check with its time; exit 1 if any failed.
import { spawn } from "node:child_process";
import { ROOT, SHARED_BASE_URL, SHARED_STATE, startGateway } from "./lib/local-gateway.mjs";

const CHECKS = [
	// The README's quick start reads the gateway's stats: it adds what the others made before it.
	{ name: "clients: a midjourney-proxy client from npm (uniai) end to end", script: "test/clients/uniai.mjs" },
	{ name: "readme: the README's links; its quick-start blocks run in order", script: "test/readme/quick-start.mjs" },
	{ name: "browser: the web console in Chromium", script: "test/browser/console.mjs" },
];

const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function run(script, env) {
	return new Promise((done) => {
		const child = spawn(process.execPath, [script], { cwd: ROOT, stdio: "inherit", env });
		// A check that is stopped stops the run too: Ctrl-C reaches the check (same process group).
		child.once("exit", (code, signal) => done(signal ? 1 : (code ?? 1)));
		child.once("error", () => done(1));
	});
}

const started = Date.now();
console.log("--- one gateway for every check (npm start on a free port, fresh state)");
let gateway;
try {
	gateway = await startGateway("e2e");
} catch (error) {
	console.log(`not ok - the gateway did not start: ${error.message}`);
	process.exit(1);
}
console.log(`${gateway.base} answers /health after ${seconds(started)}`);
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
	process.on(signal, () => {
		if (stopping) return;
		stopping = true;
		void gateway.stop().then(() => process.exit(1));
	});
}

const results = [];
const env = { ...process.env, [SHARED_BASE_URL]: gateway.base, [SHARED_STATE]: gateway.state };
for (const check of CHECKS) {
	if (stopping) break;
	console.log(`--- ${check.name}`);
	const from = Date.now();
	const code = await run(check.script, env);
	results.push({ ...check, code, took: seconds(from) });
}
stopping = true;
await gateway.stop();

console.log("--- e2e summary");
for (const { name, code, took } of results) console.log(`${code === 0 ? "ok" : "not ok"} - ${name} (${took})`);
const failed = results.filter((r) => r.code !== 0).length + CHECKS.length - results.length;
console.log(`${CHECKS.length - failed} of ${CHECKS.length} checks passed in ${seconds(started)}`);
process.exit(failed === 0 ? 0 : 1);
