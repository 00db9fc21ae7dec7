/**
 * Token verification with jose: HS256 only (so `alg: none` and key-confusion tokens fail),
 * `exp` and `sub` required, `role` limited to user/admin; `iss` and `aud` checked when
 * JWT_ISSUER / JWT_AUDIENCE are set, and a lifetime (`exp - iat`) capped by JWT_MAX_LIFETIME,
 * so a leaked signing tool or a careless `--expires 10y` cannot mint a token that lives for ever.
 * Those three are parsed by config() (src/config.ts), which logs a bad one and keeps its default.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import { type Config, type ConfigVars, config } from "../config";
import { unauthorized } from "../errors";
import type { Role } from "../vocabulary";
import { hmacKey, requireUsableSecrets } from "./hmac-key";

export interface TokenClaims {
	sub: string;
	role: Role;
}

/** What a verified token says: its claims, and when it was issued (`iat` in epoch seconds, 0 without one). */
export interface VerifiedClaims extends TokenClaims {
	issuedAt: number;
}

/** The settings tokens are verified against: the Worker's env, or a subset of it in tests. */
export type TokenSettings = ConfigVars;

const secretKey = (secret: string | undefined) => hmacKey(secret, "JWT_SECRET");

/**
 * Tokens this isolate verified, by the settings they were verified against (config() answers one
 * object per distinct set of vars and secrets) and then by the exact token string (signature
 * included), with their expiry: a client sends the same token on every request, and a hit skips
 * the HMAC and the claim parsing while `exp` is still checked against the clock.
 */
const verifiedBy = new WeakMap<Config, Map<string, { claims: VerifiedClaims; exp: number }>>();
const VERIFIED_LIMIT = 10_000;

/** Verifies a bearer token against `settings`; throws UNAUTHORIZED with a reason the client can act on. */
export async function verifyToken(token: string, settings: TokenSettings, now: number): Promise<VerifiedClaims> {
	requireUsableSecrets(settings);
	const settled = config(settings);
	let verified = verifiedBy.get(settled);
	if (!verified) {
		verified = new Map();
		verifiedBy.set(settled, verified);
	}
	const known = verified.get(token);
	if (known) {
		if (known.exp * 1000 > now) return known.claims;
		verified.delete(token);
		throw unauthorized("token expired");
	}
	const fresh = await verifyUncached(token, settings, now);
	if (verified.size >= VERIFIED_LIMIT) verified.clear();
	verified.set(token, fresh);
	return fresh.claims;
}

async function verifyUncached(
	token: string,
	settings: TokenSettings,
	now: number,
): Promise<{ claims: VerifiedClaims; exp: number }> {
	const key = await secretKey(settings.JWT_SECRET);
	const { issuer, audience, maxLifetime } = config(settings).jwt;
	try {
		const { payload } = await jwtVerify(token, key, {
			algorithms: ["HS256"],
			currentDate: new Date(now),
			requiredClaims: ["exp", "sub"],
			issuer: issuer ?? undefined,
			audience: audience ?? undefined,
		});
		const role = payload.role ?? "user";
		if (role !== "user" && role !== "admin") throw unauthorized("token role must be user or admin");
		if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 128) {
			throw unauthorized("token sub must be a non-empty string of at most 128 characters");
		}
		// jwtVerify with requiredClaims ["exp"] guarantees a numeric exp (and a numeric iat when present).
		const exp = payload.exp as number;
		if (maxLifetime !== null) {
			const limit = `token lifetime exceeds the maximum of ${maxLifetime.text}`;
			if (payload.iat === undefined) throw unauthorized(`${limit}: the token has no iat`);
			// An iat in the future would stretch the window: count from now then.
			if (exp - Math.min(payload.iat, now / 1000) > maxLifetime.seconds) throw unauthorized(limit);
		}
		return { claims: { sub: payload.sub, role, issuedAt: payload.iat ?? 0 }, exp };
	} catch (error) {
		if (error instanceof errors.JWTExpired) throw unauthorized("token expired");
		if (error instanceof errors.JWSSignatureVerificationFailed) throw unauthorized("token signature is invalid");
		if (error instanceof errors.JOSEAlgNotAllowed) throw unauthorized("token algorithm not allowed (HS256 only)");
		if (error instanceof errors.JWTClaimValidationFailed) throw unauthorized(`token claim invalid: ${error.claim}`);
		if (error instanceof errors.JOSEError) throw unauthorized("token is malformed");
		throw error;
	}
}

/** Signs a token; used by `npm run token` and the tests. `iss` and `aud` are set when given. */
export async function signToken(
	claims: TokenClaims,
	secret: string,
	expiresIn: string | number = "30d",
	options: {
		issuer?: string;
		audience?: string /** Epoch seconds; the signer's clock when absent. */;
		issuedAt?: number;
	} = {},
): Promise<string> {
	const jwt = new SignJWT({ role: claims.role })
		.setProtectedHeader({ alg: "HS256", typ: "JWT" })
		.setSubject(claims.sub)
		.setIssuedAt(options.issuedAt)
		.setExpirationTime(expiresIn);
	if (options.issuer) jwt.setIssuer(options.issuer);
	if (options.audience) jwt.setAudience(options.audience);
	return jwt.sign(await secretKey(secret));
}
