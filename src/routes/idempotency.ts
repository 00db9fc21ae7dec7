/**
 * `Idempotency-Key` on every submit, with Stripe's semantics: the first request with a key runs
 * and its successful answer is kept for 24 hours; the same key with the same request (method,
 * path, query and body) answers that first answer again, creating and charging nothing more, also
 * when both arrive at once (the second waits for the first). The same key with a different
 * request is refused (422). Keys are per user. A request that was refused or failed keeps
 * nothing, so the client may retry it with the same key.
 */

import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import {
	claimIdempotencyKey,
	completeIdempotencyKey,
	dropExpiredIdempotencyKey,
	findIdempotencyKey,
	type IdempotencyRecord,
	releaseIdempotencyKey,
} from "../db/idempotency";
import { dbOf } from "../db/request-db";
import { sha256Hex } from "../encoding";
import { ApiError, badRequest } from "../errors";

export const IDEMPOTENCY_HEADER = "idempotency-key";
/** How long an answer is kept for repeats. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** How long a repeat waits for the first request to finish. */
const WAIT_MS = 10_000;
/** Answers larger than this are not kept (submit answers are a few hundred bytes). */
const MAX_KEPT_BYTES = 256 * 1024;

const KEY = /^[\x21-\x7e]{1,255}$/;

async function fingerprint(method: string, path: string, query: string, body: ArrayBuffer): Promise<string> {
	const head = new TextEncoder().encode(`${method}\n${path}\n${query}\n`);
	const bytes = new Uint8Array(head.byteLength + body.byteLength);
	bytes.set(head, 0);
	bytes.set(new Uint8Array(body), head.byteLength);
	return sha256Hex(bytes);
}

function replay(record: IdempotencyRecord): Response {
	return new Response(record.responseBody ?? "", {
		status: record.responseStatus ?? 200,
		headers: { "content-type": record.responseType ?? "application/json", "idempotent-replayed": "true" },
	});
}

/** Needs requestDb() and authenticate() before it (and any body limit). */
export function idempotent(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const key = c.req.header(IDEMPOTENCY_HEADER);
		if (key === undefined) return next();
		if (!KEY.test(key)) throw badRequest("Idempotency-Key must be 1 to 255 printable ASCII characters");
		const db = dbOf(c);
		const userId = c.get("user").id;
		const url = new URL(c.req.url);
		const query = [...url.searchParams].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
		const print = await fingerprint(
			c.req.method,
			c.req.path,
			new URLSearchParams(query).toString(),
			c.req.method === "GET" || c.req.method === "HEAD" ? new ArrayBuffer(0) : await c.req.arrayBuffer(),
		);
		const createdAt = c.get("deps").now();
		let claim = await claimIdempotencyKey(db, { userId, key, fingerprint: print, createdAt });
		if (!claim.claimed && claim.existing && claim.existing.createdAt < createdAt - IDEMPOTENCY_WINDOW_MS) {
			await dropExpiredIdempotencyKey(db, userId, key, createdAt - IDEMPOTENCY_WINDOW_MS);
			claim = await claimIdempotencyKey(db, { userId, key, fingerprint: print, createdAt });
		}
		if (!claim.claimed) {
			let existing = claim.existing;
			if (existing && existing.fingerprint !== print) {
				throw new ApiError("IDEMPOTENCY_MISMATCH", "this Idempotency-Key was already used for a different request");
			}
			for (
				const deadline = c.get("deps").now() + WAIT_MS;
				existing && existing.responseStatus === null && c.get("deps").now() < deadline;
			) {
				await new Promise((resolve) => setTimeout(resolve, 50));
				existing = await findIdempotencyKey(db, userId, key);
			}
			if (existing?.responseStatus != null) return replay(existing);
			throw new ApiError("CONFLICT", "a request with this Idempotency-Key is still in progress; retry shortly");
		}
		try {
			await next();
		} finally {
			const response = c.res;
			const type = response.headers.get("content-type") ?? "application/json";
			const body = response.status < 300 ? await response.clone().text() : "";
			if (response.status < 300 && body.length <= MAX_KEPT_BYTES) {
				await completeIdempotencyKey(db, userId, key, { status: response.status, body, type });
			} else {
				await releaseIdempotencyKey(db, userId, key, createdAt);
			}
		}
	};
}
