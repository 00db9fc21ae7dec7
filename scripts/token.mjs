#!/usr/bin/env node
// `npm run token -- --sub user-1 [--role admin] [--expires 30d] [--issuer ISS] [--audience AUD]`:
// prints a token signed with JWT_SECRET (from the environment, else .dev.vars, which npm start
// creates with random secrets). --issuer / --audience default to JWT_ISSUER / JWT_AUDIENCE from
// the same places; --expires must fit the gateway's JWT_MAX_LIFETIME (default 30d, which the default fits).
import { SignJWT } from "jose";
import { devSetting } from "./lib/dev-vars.mjs";

const options = { sub: undefined, role: "user", expires: "30d", issuer: undefined, audience: undefined };
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
	const [flag, inline] = args[i].split("=", 2);
	const key = flag.replace(/^--/, "");
	if (!(key in options)) {
		console.error(
			`unknown option ${flag}; use --sub ID [--role user|admin] [--expires 30d] [--issuer ISS] [--audience AUD]`,
		);
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

const secret = devSetting("JWT_SECRET");
if (!secret) {
	console.error(
		"no JWT_SECRET in the environment or .dev.vars: run npm start once (it creates .dev.vars), or set JWT_SECRET to the gateway's",
	);
	process.exit(2);
}

const jwt = new SignJWT({ role: options.role })
	.setProtectedHeader({ alg: "HS256", typ: "JWT" })
	.setSubject(options.sub)
	.setIssuedAt()
	.setExpirationTime(options.expires);
const issuer = options.issuer ?? devSetting("JWT_ISSUER");
const audience = options.audience ?? devSetting("JWT_AUDIENCE");
if (issuer) jwt.setIssuer(issuer);
if (audience) jwt.setAudience(audience);
const token = await jwt.sign(new TextEncoder().encode(secret));
console.log(token);
