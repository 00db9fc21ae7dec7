#!/usr/bin/env node
// `npm run deploy [-- --dry-run]`: everything a deployment needs, in order, each step said as it
// runs. Safe to re-run: it creates only what is missing and applies only new migrations.
//
//   1. signed in?               wrangler whoami (`npx wrangler login`, or CLOUDFLARE_API_TOKEN)
//   2. static assets            the web console and the /docs script into dist/web
//   3. queues                   wrangler.toml's queues (and dead-letter queues) that do not exist
//   4. secrets                  JWT_SECRET / SIGNING_SECRET: random ones, only where none is set
//   5. migrations + deploy      wrangler deploy creates the D1 database and R2 bucket wrangler.toml
//                               names (automatic provisioning; no ids in the config); migrations
//                               run before the deploy, or right after it the first time, when the
//                               database does not exist until the deploy makes it
//   6. what is left             PUBLIC_BASE_URL, the first admin, the README's Deploy button
//
// --dry-run does steps 2 and a `wrangler deploy --dry-run` only: no network, no account (CI).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_readConfig } from "wrangler";
import { buildWeb } from "../web/build.ts";
import { buildDocs } from "./build-docs.mjs";

const SECRETS = ["JWT_SECRET", "SIGNING_SECRET"];
const args = process.argv.slice(2);
const dryRun = args.includes("--dry-run");
const unknown = args.filter((arg) => arg !== "--dry-run");
if (unknown.length > 0) {
	console.error(`unknown option ${unknown[0]}; usage: npm run deploy [-- --dry-run]`);
	process.exit(2);
}

const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
let stepNumber = 0;
const step = (text) => console.log(`\n[${++stepNumber}] ${text}`);

/** Runs wrangler (node_modules/.bin under `npm run`); `quiet` captures its output instead of showing it. */
function wrangler(wranglerArgs, { quiet = false, input } = {}) {
	const run = spawnSync("wrangler", wranglerArgs, {
		env,
		encoding: "utf8",
		input,
		stdio: [input === undefined ? "inherit" : "pipe", quiet ? "pipe" : "inherit", quiet ? "pipe" : "inherit"],
		maxBuffer: 16 * 1024 * 1024,
	});
	if (run.error) throw new Error(`could not run wrangler: ${run.error.message} (run this through npm run deploy)`);
	return run;
}

function mustSucceed(run, what) {
	if (run.status === 0) return run;
	if (run.stdout || run.stderr) console.error(`${run.stdout ?? ""}${run.stderr ?? ""}`);
	console.error(`\n${what} failed (wrangler exited ${run.status}); fix that and run npm run deploy again.`);
	process.exit(1);
}

const config = unstable_readConfig({ config: "wrangler.toml" });
const database = config.d1_databases.find((d) => d.binding === "DB");
const queues = [
	...new Set([
		...(config.queues.producers ?? []).map((q) => q.queue),
		...(config.queues.consumers ?? []).flatMap((q) => [q.queue, q.dead_letter_queue].filter(Boolean)),
	]),
];

/**
 * The README's Deploy to Cloudflare button needs the repository's public GitHub URL, which a
 * checkout cannot know for sure: say what the README's link is and, when `origin` is on GitHub,
 * the link it should be.
 */
function deployButtonNote() {
	const shown = readFileSync("README.md", "utf8").match(/deploy\.workers\.cloudflare\.com\/\?url=(\S+?)\)/)?.[1];
	const origin = spawnSync("git", ["remote", "get-url", "origin"], { encoding: "utf8" });
	const repo =
		origin.status === 0 ? origin.stdout.trim().match(/github\.com[:/]([\w.-]+\/[\w.-]+?)(?:\.git)?$/)?.[1] : null;
	const wanted = repo ? `https://github.com/${repo}` : null;
	if (wanted && shown === wanted) return `  The README's Deploy to Cloudflare button deploys ${wanted}.`;
	const fix = wanted
		? `this checkout's origin is ${wanted}: put that in its link`
		: "there is no GitHub origin remote here: once the repository is public on GitHub, put its URL in that link";
	return `  The README's Deploy to Cloudflare button points at ${shown ?? "nothing"}; ${fix}.`;
}

if (dryRun) {
	step("static assets: the web console and the /docs script into dist/web");
	buildDocs();
	await buildWeb();
	step("wrangler deploy --dry-run: bundles the Worker and checks the config, uploads nothing");
	const outdir = mkdtempSync(join(tmpdir(), "mj-edge-dry-run-"));
	try {
		mustSucceed(wrangler(["deploy", "--dry-run", "--outdir", outdir]), "wrangler deploy --dry-run");
	} finally {
		rmSync(outdir, { recursive: true, force: true });
	}
	console.log(`\nThe config builds. A real deploy would also create the queues ${queues.join(", ")} if missing,`);
	console.log(`set ${SECRETS.join(" and ")} if unset, and apply the D1 migrations to ${database.database_name}.`);
	console.log(deployButtonNote());
	process.exit(0);
}

step("signed in to Cloudflare?");
// whoami exits 0 when signed out too; its words say which.
const whoami = mustSucceed(wrangler(["whoami"], { quiet: true }), "wrangler whoami");
if (/not authenticated/i.test(`${whoami.stdout}${whoami.stderr}`)) {
	console.error("Not signed in: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), then npm run deploy again.");
	process.exit(1);
}
console.log(
	`  ${
		whoami.stdout
			.split("\n")
			.find((line) => /logged in|associated with|api token/i.test(line))
			?.trim() ?? "yes"
	}`,
);

step("static assets: the web console and the /docs script into dist/web");
buildDocs();
await buildWeb();

step(`queues: ${queues.join(", ")}`);
for (const queue of queues) {
	if (wrangler(["queues", "info", queue], { quiet: true }).status === 0) {
		console.log(`  ${queue}: exists`);
		continue;
	}
	console.log(`  ${queue}: creating`);
	mustSucceed(wrangler(["queues", "create", queue]), `wrangler queues create ${queue}`);
}

step(`secrets: ${SECRETS.join(", ")}`);
// `secret list` fails before the first deploy (no Worker yet): then every secret is missing. Any
// other failure stops here, so a secret that is set is never replaced by a guess.
const listed = wrangler(["secret", "list", "--format", "json"], { quiet: true });
let present = [];
if (listed.status === 0) present = JSON.parse(listed.stdout).map((s) => s.name);
else if (!/10007|not found|does not exist/i.test(`${listed.stdout}${listed.stderr}`)) {
	mustSucceed(listed, "wrangler secret list");
}
const missing = SECRETS.filter((name) => !present.includes(name));
for (const name of SECRETS.filter((n) => present.includes(n))) console.log(`  ${name}: set, kept`);
let secretsDir;
const secretArgs = [];
if (missing.length > 0) {
	// Handed to this deploy through a file only this user can read, deleted right after.
	secretsDir = mkdtempSync(join(tmpdir(), "mj-edge-secrets-"));
	const file = join(secretsDir, "secrets.json");
	const values = Object.fromEntries(missing.map((name) => [name, randomBytes(48).toString("base64url")]));
	writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
	secretArgs.push("--secrets-file", file);
	for (const name of missing) console.log(`  ${name}: none set; a random one goes up with this deploy`);
}

// wrangler finds the database by name (no id in wrangler.toml); it does not exist before the
// first deploy, which creates it.
const exists = wrangler(["d1", "info", database.database_name, "--json"], { quiet: true }).status === 0;
const migrate = () =>
	mustSucceed(wrangler(["d1", "migrations", "apply", "DB", "--remote"]), "wrangler d1 migrations apply DB --remote");
try {
	if (exists) {
		step(`D1 migrations on ${database.database_name} (only the ones not applied yet), before the new code`);
		migrate();
	}
	step("wrangler deploy (creates the D1 database and R2 bucket the first time)");
	mustSucceed(wrangler(["deploy", ...secretArgs]), "wrangler deploy");
} finally {
	if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
}
if (!exists) {
	step(`D1 migrations on the new database ${database.database_name}`);
	migrate();
}

step("what is left");
if (missing.includes("JWT_SECRET")) {
	console.log("  JWT_SECRET is random and shown nowhere: clients use API keys. To sign JWTs yourself,");
	console.log("  set one you keep: npx wrangler secret put JWT_SECRET");
}
if (!config.vars.PUBLIC_BASE_URL) {
	console.log("  PUBLIC_BASE_URL is empty: image links use each request's origin and upstream pushes are off.");
	console.log("  Set it in wrangler.toml [vars] to the Worker's URL (printed above) and run npm run deploy again.");
}
console.log("  The first admin and its API key (sign in to the console with it):");
console.log("    npm run admin:create -- --sub <you> --remote");
console.log(deployButtonNote());
