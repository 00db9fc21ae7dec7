// The local gateway the npm-start checks (test/browser, test/clients, test/readme) run against.
//
// `useGateway()` answers the one a runner started for several checks (test/e2e.mjs passes it in
// MJ_EDGE_BASE_URL and MJ_EDGE_STATE), or else starts one of this process's own with
// `startGateway()`: scripts/start.mjs (wrangler dev: gateway, simulator, fake Discord) on a free
// port with a fresh state directory, in its own process group, so `stop()` ends wrangler and
// every workerd under it. A shared gateway is left running by `stop()`: its runner stops it.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));

const HEALTH_MS = 90_000;
const STOP_GRACE_MS = 8000;

/** Names of the environment variables a runner hands a shared gateway over in. */
export const SHARED_BASE_URL = "MJ_EDGE_BASE_URL";
export const SHARED_STATE = "MJ_EDGE_STATE";

/**
 * @typedef {object} Gateway
 * @property {string} base      http://127.0.0.1:PORT
 * @property {number} port
 * @property {string} state     absolute path of its --persist-to directory (admin:create --local needs it)
 * @property {boolean} shared   started by a runner for several checks: its data is not this check's alone
 * @property {() => string} log what it printed so far (empty for a shared one)
 * @property {() => Promise<void>} stop
 */

export const freePort = () =>
	new Promise((done, fail) => {
		const server = createServer();
		server.once("error", fail);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address();
			server.close(() => done(port));
		});
	});

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** The runner's gateway when there is one, else a fresh one of this check's own (`name` names its state directory). */
export async function useGateway(name) {
	const base = process.env[SHARED_BASE_URL];
	if (!base) return startGateway(name);
	const state = process.env[SHARED_STATE];
	if (!state) throw new Error(`${SHARED_BASE_URL} is set without ${SHARED_STATE} (the gateway's --persist-to)`);
	const gateway = {
		base: base.replace(/\/+$/, ""),
		port: Number(new URL(base).port),
		state: resolve(ROOT, state),
		shared: true,
		log: () => "",
		stop: async () => undefined,
	};
	await waitForHealth(gateway, () => false);
	return gateway;
}

/** Starts scripts/start.mjs on a free port with a fresh state directory; resolves once /health answers. */
export async function startGateway(name) {
	const port = await freePort();
	const inspector = await freePort();
	const state = join(ROOT, ".wrangler", `${name}-${process.pid}`);
	rmSync(state, { recursive: true, force: true });
	const child = spawn(
		process.execPath,
		["scripts/start.mjs", "--port", String(port), "--persist-to", state, "--inspector-port", String(inspector)],
		{
			cwd: ROOT,
			detached: true,
			stdio: ["ignore", "pipe", "pipe"],
			env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
		},
	);
	let log = "";
	child.stdout.on("data", (chunk) => {
		log += chunk;
	});
	child.stderr.on("data", (chunk) => {
		log += chunk;
	});
	let exited = false;
	const gone = new Promise((done) => child.once("exit", done));
	void gone.then(() => {
		exited = true;
	});
	const signal = (name) => {
		try {
			process.kill(-child.pid, name);
		} catch {
			// the group is gone
		}
	};
	// Whatever ends this process, the runtime does not outlive it.
	process.on("exit", () => signal("SIGKILL"));
	let stopping;
	const gateway = {
		base: `http://127.0.0.1:${port}`,
		port,
		state,
		shared: false,
		log: () => log,
		stop() {
			stopping ??= (async () => {
				if (!exited) {
					signal("SIGTERM");
					const timer = setTimeout(() => signal("SIGKILL"), STOP_GRACE_MS);
					await gone;
					clearTimeout(timer);
				}
				rmSync(state, { recursive: true, force: true });
			})();
			return stopping;
		},
	};
	try {
		await waitForHealth(gateway, () => exited);
	} catch (error) {
		await gateway.stop();
		throw error;
	}
	return gateway;
}

async function waitForHealth(gateway, exited) {
	const deadline = Date.now() + HEALTH_MS;
	while (Date.now() < deadline) {
		if (exited()) throw new Error(`the gateway exited:\n${gateway.log().slice(-3000)}`);
		try {
			const response = await fetch(`${gateway.base}/health`);
			await response.body?.cancel();
			if (response.ok) return;
		} catch {
			// not listening yet
		}
		await sleep(300);
	}
	throw new Error(`no ${gateway.base}/health within ${HEALTH_MS / 1000} s:\n${gateway.log().slice(-3000)}`);
}

/**
 * Bounds a check: past `totalMs`, or on SIGINT, SIGTERM or SIGHUP, `fail(why)` runs once per
 * cause (it counts the failure and finishes the run, stopping what it started).
 */
export function bounded(totalMs, fail) {
	setTimeout(() => fail(`the run took over ${totalMs / 1000} s`), totalMs).unref();
	for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => fail(`stopped by ${signal}`));
}
