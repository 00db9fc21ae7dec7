// Reading local settings the way wrangler dev does: the environment first, then .dev.vars, then
// the committed .dev.vars.example (a fresh checkout has no .dev.vars yet).
import { existsSync, readFileSync } from "node:fs";

/** The value of `name=` in a dotenv-style file, or undefined. */
export function valueFrom(file, name) {
	if (!existsSync(file)) return undefined;
	const line = readFileSync(file, "utf8")
		.split("\n")
		.find((l) => l.startsWith(`${name}=`));
	return line?.slice(name.length + 1).trim();
}

/** A setting from the environment, .dev.vars or .dev.vars.example, in that order. */
export const devSetting = (name) =>
	process.env[name] || valueFrom(".dev.vars", name) || valueFrom(".dev.vars.example", name);
