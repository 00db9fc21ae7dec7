#!/usr/bin/env node
// `npm run test:readme`: the README's quick start, run as a newcomer would, so it cannot drift.
// Starts a gateway of its own (test/lib/local-gateway.mjs: npm start on a free port with a fresh
// state), or uses the one `npm run test:e2e` shares between the npm-start checks, then runs every ```sh block of the
// README's "Quick start" section that a `<!-- run; expect: … -->` comment marks, in order, in one
// bash (`set -euo pipefail`), so variables carry from block to block as they do in a terminal.
// Each block passes when it exits 0 within its time, its output holds every `expect:` text and
// shows no task that ended FAILURE.
// The commands are changed in two ways only: 127.0.0.1:8787 becomes this run's port, and
// `admin:create … --local` gets this run's `--persist-to` (as the README tells a reader who gave
// npm start one). Traffic goes to 127.0.0.1 only (proxies are turned off for the commands).
// The README's stats count every task of a fresh gateway; on a shared one, the `"submitted":N`,
// `"succeeded":N` and `"failed":N` it expects are added to what the stats said before the blocks.
// Before that, every relative link of README.md and docs/*.md must name a file and a heading there.
// Always stops the shell and the gateway it started; prints "N passed, N failed" (exit 1 on any failure).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { bounded, ROOT, useGateway } from "../lib/local-gateway.mjs";

const TOTAL_MS = 300_000;
const BLOCK_MS = 120_000;

let passed = 0;
let failed = 0;

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// ---- the runnable blocks of the Quick start section ----

/** The marked ```sh blocks between "## Quick start" and the next "## " heading. */
function quickStartBlocks(markdown) {
	const lines = markdown.split("\n");
	const start = lines.indexOf("## Quick start");
	if (start < 0) throw new Error('README.md has no "## Quick start" section');
	const blocks = [];
	let expects = null;
	for (let i = start + 1; i < lines.length && !lines[i].startsWith("## "); i++) {
		const marker = lines[i].match(/^<!-- run(.*)-->\s*$/);
		if (marker) {
			expects = [...marker[1].matchAll(/expect: (.*?)\s*(?=; expect:|$)/g)].map((m) => m[1]);
			continue;
		}
		if (lines[i] === "```sh") {
			const body = [];
			const line = i + 1;
			for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]);
			if (expects) blocks.push({ line, body: body.join("\n"), expects });
			expects = null;
		} else if (lines[i].trim() !== "") expects = null; // a marker applies to the block right below it
	}
	return blocks;
}

const blocks = quickStartBlocks(readFileSync(join(ROOT, "README.md"), "utf8"));

// ---- links: every relative link of README.md and docs/*.md names a file, and an anchor there ----

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens, -1… for repeats. */
function anchorsOf(markdown) {
	const seen = new Map();
	const anchors = new Set();
	let fence = false;
	for (const line of markdown.split("\n")) {
		if (line.startsWith("```")) fence = !fence;
		const heading = !fence && line.match(/^#{1,6} (.*)$/);
		if (!heading) continue;
		let anchor = heading[1]
			.toLowerCase()
			.replace(/[^\p{L}\p{N} _-]/gu, "")
			.replaceAll(" ", "-");
		const n = seen.get(anchor) ?? 0;
		seen.set(anchor, n + 1);
		if (n > 0) anchor += `-${n}`;
		anchors.add(anchor);
	}
	return anchors;
}

function brokenLinks() {
	const pages = [
		"README.md",
		...readdirSync(join(ROOT, "docs"))
			.filter((f) => f.endsWith(".md"))
			.map((f) => `docs/${f}`),
	];
	const broken = [];
	for (const page of pages) {
		const text = readFileSync(join(ROOT, page), "utf8");
		for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
			if (/^[a-z]+:/.test(target)) continue;
			const [path, anchor] = target.split("#", 2);
			const file = path === "" ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), path);
			if (!existsSync(file)) {
				broken.push(`${page}: ${target} (no such file)`);
				continue;
			}
			if (anchor !== undefined && !anchorsOf(readFileSync(file, "utf8")).has(anchor)) {
				broken.push(`${page}: ${target} (no such heading)`);
			}
		}
	}
	return broken;
}

const broken = brokenLinks();
if (broken.length === 0) {
	passed += 1;
	console.log("ok - every relative link of README.md and docs/ resolves");
} else {
	failed += 1;
	console.log(`not ok - broken links:\n  ${broken.join("\n  ")}`);
}

// ---- the gateway: test/e2e.mjs's, or one of its own ----

/** Set once it answers. */
let gateway;

/** Stops a process group: SIGTERM, then SIGKILL after a while. */
async function stopGroup(child, isGone) {
	if (isGone()) return;
	const exited = new Promise((done) => child.once("exit", done));
	try {
		process.kill(-child.pid, "SIGTERM");
	} catch {
		return;
	}
	const timer = setTimeout(() => {
		try {
			process.kill(-child.pid, "SIGKILL");
		} catch {
			// gone
		}
	}, 8000);
	await exited;
	clearTimeout(timer);
}

let shell;
let shellExited = true;
let finishing = false;
async function finish() {
	if (finishing) return;
	finishing = true;
	if (shell) await stopGroup(shell, () => shellExited);
	await gateway?.stop();
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed === 0 ? 0 : 1);
}
// Bounded: whatever hangs, the process groups are stopped and the run fails.
bounded(TOTAL_MS, (why) => {
	failed += 1;
	console.log(`not ok - ${why}`);
	void finish();
});

/** The block as this run executes it: its own port and state directory. */
function adapt(body) {
	return body
		.replaceAll("127.0.0.1:8787", `127.0.0.1:${gateway.port}`)
		.replace(/(admin:create -- [^\n#]*--local)\b/g, `$1 --persist-to ${relative(ROOT, gateway.state)}`);
}

/**
 * The stats' all-day totals before the blocks run, which a shared gateway's other checks made
 * (read with an admin key of this run's own); zero on a fresh gateway.
 */
async function totalsBefore() {
	const zero = { submitted: 0, succeeded: 0, failed: 0 };
	if (!gateway.shared) return zero;
	const created = spawnSync(
		"npm",
		[
			"run",
			"--silent",
			"admin:create",
			"--",
			"--sub",
			`readme-test-${process.pid}`,
			"--local",
			"--persist-to",
			gateway.state,
		],
		{ cwd: ROOT, encoding: "utf8" },
	);
	const key = created.stdout.trim();
	if (created.status !== 0 || !key.startsWith("mjk_")) throw new Error(`admin:create failed: ${created.stderr}`);
	const response = await fetch(`${gateway.base}/api/admin/stats`, { headers: { authorization: `Bearer ${key}` } });
	if (!response.ok) throw new Error(`GET /api/admin/stats: ${response.status}`);
	const totals = (await response.json()).data.totals.last_days;
	return { submitted: totals.submitted, succeeded: totals.succeeded, failed: totals.failed };
}

/** What a block must print, with the stats' counts moved on by what was there before. */
const expected = (text, before) =>
	text.replace(/"(submitted|succeeded|failed)":(\d+)/g, (_, name, n) => `"${name}":${Number(n) + before[name]}`);

// ---- run ----

let before;
try {
	if (blocks.length === 0) throw new Error("the Quick start section marks no block with <!-- run … -->");
	gateway = await useGateway("readme-test");
	before = await totalsBefore();
} catch (error) {
	failed += 1;
	console.log(`not ok - start: ${error.message}`);
	await finish();
}

// One bash for all blocks, fed one block at a time: a block ends with a line the test waits for,
// which carries the block's exit status (set -e ends the shell on a failing command instead).
shellExited = false;
shell = spawn("bash", ["--noprofile", "--norc"], {
	cwd: ROOT,
	detached: true,
	stdio: ["pipe", "pipe", "pipe"],
	env: {
		...process.env,
		NO_PROXY: "*",
		no_proxy: "*",
		http_proxy: "",
		https_proxy: "",
		HTTP_PROXY: "",
		HTTPS_PROXY: "",
	},
});
let output = "";
let stderr = "";
shell.stdout.on("data", (chunk) => {
	output += chunk;
});
shell.stderr.on("data", (chunk) => {
	stderr += chunk;
});
shell.on("exit", () => {
	shellExited = true;
});
shell.stdin.write("set -euo pipefail\n");

let ran = 0;
for (const [n, block] of blocks.entries()) {
	ran += 1;
	const name = `README.md:${block.line} (quick-start block ${n + 1})`;
	const done = `@@readme-block-${n}-done@@`;
	const from = output.length;
	const errFrom = stderr.length;
	const started = Date.now();
	shell.stdin.write(`${adapt(block.body)}\necho "${done}"\n`);
	while (!output.includes(done, from) && !shellExited && Date.now() - started < BLOCK_MS) await sleep(100);
	const seen = output.slice(from).replace(`${done}\n`, "");
	let problem;
	if (!output.includes(done, from)) {
		problem = shellExited
			? "a command failed (set -e ended the shell)"
			: `it did not finish within ${BLOCK_MS / 1000} s`;
	} else {
		const missing = block.expects.map((text) => expected(text, before)).filter((text) => !seen.includes(text));
		if (missing.length > 0) problem = `its output lacks ${missing.join(", ")}`;
		// A task the README waited for must not have failed, whatever else the output shows.
		else if (seen.includes('"status":"FAILURE"')) problem = "a task it ran ended FAILURE";
	}
	if (problem) {
		failed += 1;
		console.log(`not ok - ${name}: ${problem}`);
		console.log(`  output: ${seen.slice(-1500)}`);
		console.log(`  stderr: ${stderr.slice(errFrom).slice(-1500)}`);
		break; // later blocks use what this one made
	}
	passed += 1;
	if (process.env.README_TEST_VERBOSE) console.log(seen);
	console.log(`ok - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
for (const [n, block] of blocks.entries()) {
	if (n < ran) continue;
	failed += 1;
	console.log(`not ok - README.md:${block.line} (quick-start block ${n + 1}): not run, an earlier block failed`);
}
shell.stdin.end();
await finish();
