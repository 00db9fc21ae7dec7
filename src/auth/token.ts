/**
 * Token verification with jose: HS256 only (so `alg: none` and key-confusion tokens fail),
 * `exp` and `sub` required, `role` limited to user/admin.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import { unauthorized } from "../errors";
import { hmacKey } from "./hmac-key";

export type Role = "user" | "admin";

export interface TokenClaims {
	sub: string;
	role: Role;
}

const secretKey = (secret: string | undefined) => hmacKey(secret, "JWT_SECRET");

/**
 * Tokens this isolate verified, by the exact token string (signature included) and secret,
 * with their expiry: a client sends the same token on every request, and a hit skips the
 * HMAC and the claim parsing while `exp` is still checked against the clock.
 */
const verified = new Map<string, { claims: TokenClaims; exp: number }>();
const VERIFIED_LIMIT = 10_000;

/** Verifies a bearer token; throws UNAUTHORIZED with a reason the client can act on. */
export async function verifyToken(token: string, secret: string | undefined): Promise<TokenClaims> {
	const memo = `${secret}\u0000${token}`;
	const known = verified.get(memo);
	if (known) {
		if (known.exp * 1000 > Date.now()) return known.claims;
		verified.delete(memo);
		throw unauthorized("token expired");
	}
	const fresh = await verifyUncached(token, secret);
	if (verified.size >= VERIFIED_LIMIT) verified.clear();
	verified.set(memo, fresh);
	return fresh.claims;
}

async function verifyUncached(
	token: string,
	secret: string | undefined,
): Promise<{ claims: TokenClaims; exp: number }> {
	const key = await secretKey(secret);
	try {
		const { payload } = await jwtVerify(token, key, {
			algorithms: ["HS256"],
			requiredClaims: ["exp", "sub"],
		});
		const role = payload.role ?? "user";
		if (role !== "user" && role !== "admin") throw unauthorized("token role must be user or admin");
		if (typeof payload.sub !== "string" || payload.sub.length === 0 || payload.sub.length > 128) {
			throw unauthorized("token sub must be a non-empty string of at most 128 characters");
		}
		// jwtVerify with requiredClaims ["exp"] guarantees a numeric exp.
		return { claims: { sub: payload.sub, role }, exp: payload.exp as number };
	} catch (error) {
		if (error instanceof errors.JWTExpired) throw unauthorized("token expired");
		if (error instanceof errors.JWSSignatureVerificationFailed) throw unauthorized("token signature is invalid");
		if (error instanceof errors.JOSEAlgNotAllowed) throw unauthorized("token algorithm not allowed (HS256 only)");
		if (error instanceof errors.JWTClaimValidationFailed) throw unauthorized(`token claim invalid: ${error.claim}`);
		if (error instanceof errors.JOSEError) throw unauthorized("token is malformed");
		throw error;
	}
}

/** Signs a token; used by `npm run token` and the tests. */
export async function signToken(
	claims: TokenClaims,
	secret: string,
	expiresIn: string | number = "30d",
): Promise<string> {
	return new SignJWT({ role: claims.role })
		.setProtectedHeader({ alg: "HS256", typ: "JWT" })
		.setSubject(claims.sub)
		.setIssuedAt()
		.setExpirationTime(expiresIn)
		.sign(await secretKey(secret));
}
