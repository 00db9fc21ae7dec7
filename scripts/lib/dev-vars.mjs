// Local settings, in one place for npm start, the scripts, the browser and client tests and the
// bench. .dev.vars.example holds only what a deployment must be asked for (the Deploy button
// prompts for each of its entries): the two secrets, empty. What only local runs use lives here,
// so no deployment can pick it up: LOCAL_VARS, and random secrets in a git-ignored .dev.vars.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The vars every local run gets unless .dev.vars sets them (wrangler.toml's [vars] are
 * production's): the URL policy relaxed for local addresses, the simulator channel on, and a
 * balance large enough to never run out while trying things.
 */
export const LOCAL_VARS = {
	ENVIRONMENT: "development",
	SIMULATOR_URL: "http://mj-simulator.internal",
	NEW_USER_QUOTA: "1000000",
};

/** Fresh random secrets: 48 random bytes each, far past the gateway's 32-character minimum. */
export function randomSecrets() {
	return {
		JWT_SECRET: randomBytes(48).toString("base64url"),
		SIGNING_SECRET: randomBytes(48).toString("base64url"),
	};
}

/** KEY=VALUE lines for `vars`, under a comment line. */
export function devVarsText(vars, comment) {
	return `${comment
		.split("\n")
		.map((line) => `# ${line}`)
		.join("\n")}\n${Object.entries(vars)
		.map(([name, value]) => `${name}=${value}`)
		.join("\n")}\n`;
}

/**
 * Creates `<dir>/.dev.vars` with random secrets when it is missing (a fresh checkout); answers
 * whether it did. An existing .dev.vars is never touched.
 */
export function ensureDevVars(dir = ".") {
	const file = join(dir, ".dev.vars");
	if (existsSync(file)) return false;
	const text = devVarsText(
		randomSecrets(),
		"Local secrets for wrangler dev, made at random by npm start: never commit this file.\n" +
			"npm run token signs with this JWT_SECRET. Other vars set here (ENVIRONMENT, SIMULATOR_URL,\n" +
			"NEW_USER_QUOTA, TRANSLATOR, ...) override the local defaults in scripts/lib/dev-vars.mjs.",
	);
	writeFileSync(file, text, { mode: 0o600 });
	return true;
}

/** The value of `name=` in a dotenv-style file, or undefined. */
export function valueFrom(file, name) {
	if (!existsSync(file)) return undefined;
	const line = readFileSync(file, "utf8")
		.split("\n")
		.find((l) => l.startsWith(`${name}=`));
	return line?.slice(name.length + 1).trim();
}

/** A setting from the environment, else .dev.vars, else LOCAL_VARS (what wrangler dev under npm start sees). */
export const devSetting = (name, dir = ".") =>
	process.env[name] || valueFrom(join(dir, ".dev.vars"), name) || LOCAL_VARS[name];

/**
 * wrangler dev `--var` flags for each of LOCAL_VARS (and `extra`) that `<dir>/.dev.vars` does
 * not set: --var wins over .dev.vars, so a developer's own choice there must not be overridden.
 */
export function localVarFlags(dir = ".", extra = {}) {
	const file = join(dir, ".dev.vars");
	return Object.entries({ ...LOCAL_VARS, ...extra })
		.filter(([name]) => valueFrom(file, name) === undefined)
		.map(([name, value]) => `${name}:${value}`);
}

/**
 * wrangler.toml's text without its [ai] table: Workers AI is always remote, so wrangler dev would
 * need a Cloudflare login and reach the network. Local runs (npm start, the bench) translate with
 * TRANSLATOR = "fake".
 */
export function withoutAi(text) {
	return text.replace(/^\[ai\]\n(?:[^[\n][^\n]*\n)*/m, "");
}
