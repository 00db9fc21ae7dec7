#!/usr/bin/env node
// `npm run token -- --sub user-1 [--role admin] [--expires 30d]`: prints a token signed with
// JWT_SECRET (from the environment, else .dev.vars, else .dev.vars.example) for local use.
import { existsSync, readFileSync } from "node:fs";
import { SignJWT } from "jose";

const options = { sub: undefined, role: "user", expires: "30d" };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
	const [flag, inline] = args[i].split("=", 2);
	const key = flag.replace(/^--/, "");
	if (!(key in options)) {
		console.error(`unknown option ${flag}; use --sub ID [--role user|admin] [--expires 30d]`);
		process.exit(2);
	}
	options[key] = inline ?? args[++i];
}
if (!options.sub) {
	console.error("usage: npm run token -- --sub USER_ID [--role user|admin] [--expires 30d]");
	process.exit(2);
}
if (options.role !== "user" && options.role !== "admin") {
	console.error("--role must be user or admin");
	process.exit(2);
}

function secretFrom(file) {
	if (!existsSync(file)) return undefined;
	const line = readFileSync(file, "utf8")
		.split("\n")
		.find((l) => l.startsWith("JWT_SECRET="));
	return line?.slice("JWT_SECRET=".length).trim();
}
const secret = process.env.JWT_SECRET || secretFrom(".dev.vars") || secretFrom(".dev.vars.example");
if (!secret) {
	console.error("no JWT_SECRET in the environment, .dev.vars or .dev.vars.example");
	process.exit(2);
}

const token = await new SignJWT({ role: options.role })
	.setProtectedHeader({ alg: "HS256", typ: "JWT" })
	.setSubject(options.sub)
	.setIssuedAt()
	.setExpirationTime(options.expires)
	.sign(new TextEncoder().encode(secret));
console.log(token);
