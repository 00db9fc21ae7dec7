#!/usr/bin/env node
// `npm run admin:create -- --sub alice --local [--persist-to DIR] [--quota N]` or `... --remote`:
// makes `alice` an admin (creating the user if new; a second run keeps the user and adds another
// key) and prints a new admin API key, once, on stdout. The key signs in to the web console and
// works as a Bearer token on every API; no JWT has to be made by hand.
//
// The key and its hash come from src/auth/key-format.ts and the SQL from src/auth/first-admin.ts,
// the files the gateway and its tests use; the SQL runs through `wrangler d1 execute DB`.
// --local writes the database `npm start` uses (applying migrations first, so it works on a
// fresh checkout); --persist-to must match npm start's when that was given one. --remote writes
// the deployed database (`npm run deploy` applies its migrations).
import { spawnSync } from "node:child_process";
import { firstAdminStatements, subProblem } from "../src/auth/first-admin.ts";
import { generateApiKey, hashApiKey, KEY_PREFIX_LENGTH, MAX_LIVE_KEYS } from "../src/auth/key-format.ts";
import { devSetting } from "./lib/dev-vars.mjs";

const USAGE = "usage: npm run admin:create -- --sub NAME (--local [--persist-to DIR] | --remote) [--quota N]";

function fail(message, code = 2) {
	console.error(message);
	process.exit(code);
}

const options = { sub: undefined, local: false, remote: false, persistTo: undefined, quota: undefined };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
	const [flag, inline] = args[i].split("=", 2);
	if (flag === "--local" || flag === "--remote") options[flag.slice(2)] = true;
	else if (flag === "--sub") options.sub = inline ?? args[++i];
	else if (flag === "--persist-to") options.persistTo = inline ?? args[++i];
	else if (flag === "--quota") options.quota = inline ?? args[++i];
	else fail(`unknown option ${flag}\n${USAGE}`);
}
if (options.sub === undefined) fail(USAGE);
const problem = subProblem(options.sub);
if (problem) fail(problem);
if (options.local === options.remote) fail(`choose one of --local and --remote\n${USAGE}`);
if (options.remote && options.persistTo) fail("--persist-to is for --local only");

// A new admin starts with what a new user gets under npm start (.dev.vars, else the local
// default); remotely with 0, as the deployed NEW_USER_QUOTA is not known here (grant more with
// PUT /api/admin/users/{sub}/quota).
const quotaText = options.quota ?? (options.local ? devSetting("NEW_USER_QUOTA") : "0");
const quota = Number(quotaText);
if (!Number.isSafeInteger(quota) || quota < 0) fail("--quota must be a whole number, 0 or more");

const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
const where = options.local
	? ["--local", ...(options.persistTo ? ["--persist-to", options.persistTo] : [])]
	: ["--remote"];

/** Runs wrangler quietly, showing its output only when it fails; answers its stdout. */
function wrangler(args) {
	// Under `npm run`, node_modules/.bin (and its Node 22) is first on PATH.
	const run = spawnSync("wrangler", args, { env, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
	if (run.error) fail(`could not run wrangler: ${run.error.message} (run this through npm run admin:create)`, 1);
	if (run.status !== 0) {
		console.error(run.stdout, run.stderr);
		fail(`wrangler ${args.slice(0, 3).join(" ")} failed (exit ${run.status})`, 1);
	}
	return run.stdout;
}

if (options.local) {
	console.error("applying the D1 migrations to the local database (already applied ones are skipped)");
	wrangler(["d1", "migrations", "apply", "DB", ...where]);
}

const key = generateApiKey((length) => crypto.getRandomValues(new Uint8Array(length)));
const sql = firstAdminStatements({
	sub: options.sub,
	prefix: key.slice(0, KEY_PREFIX_LENGTH),
	hash: await hashApiKey(key),
	quota,
	now: Date.now(),
	liveLimit: MAX_LIVE_KEYS,
}).join("; ");
console.error(`making ${options.sub} an admin and adding a key (${options.local ? "local" : "remote"} database)`);
const output = wrangler(["d1", "execute", "DB", ...where, "--json", "--command", sql]);
let stored;
try {
	stored = JSON.parse(output).at(-1)?.results?.[0]?.stored;
} catch {
	fail(`unexpected output from wrangler d1 execute:\n${output}`, 1);
}
if (stored !== 1) {
	fail(
		`no key was added: ${options.sub} already has ${MAX_LIVE_KEYS} live keys; revoke one (DELETE /api/admin/keys/{id})`,
		1,
	);
}
console.error(`${options.sub} is an admin. Its new API key, shown once (sign in to the console with it):`);
console.log(key);
