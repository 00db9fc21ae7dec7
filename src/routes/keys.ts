/**
 * API keys, in the new-api envelope `{success, message, data}`: a user's own keys under
 * /api/user/keys and any user's under /api/admin. The whole key is in the answer to its
 * creation only; lists show its prefix.
 *
 * Middleware is per route, not `.use()`: these groups share their base paths with the
 * account and admin groups, and mounted before them they answer their own paths alone.
 */
import { Hono } from "hono";
import { z } from "zod";
import { createApiKey } from "../auth/api-keys";
import { authenticate } from "../auth/middleware";
import type { AppEnv } from "../context";
import { type ApiKeyListing, listLiveKeys, revokeApiKey } from "../db/api-keys";
import { dbOf, requestDb } from "../db/request-db";
import { findUserBySub } from "../db/users";
import { notFound } from "../errors";
import { epochSeconds } from "../time";
import { ok } from "./envelopes";
import { validate } from "./validate";

function keyView(key: ApiKeyListing) {
	return {
		id: key.id,
		name: key.name,
		prefix: key.prefix,
		role: key.role,
		created_at: epochSeconds(key.createdAt),
		last_used_at: key.lastUsedAt === null ? null : epochSeconds(key.lastUsedAt),
	};
}

export const newKeyBody = z.object({ name: z.string().trim().min(1).max(64) }).strict();
export const keyId = z.object({ id: z.string().regex(/^\d{1,15}$/, "key id must be a number") });

/** Mount at /api/user/keys, before the account group. */
export const userKeyRoutes = new Hono<AppEnv>()
	.post("/", requestDb(), authenticate(), validate("json", newKeyBody), async (c) => {
		const created = await createApiKey(dbOf(c), c.get("user"), c.req.valid("json").name, c.get("deps").now());
		return ok(c, { ...keyView(created), key: created.key }, 201);
	})
	.get("/", requestDb(), authenticate(), async (c) => {
		const keys = await listLiveKeys(dbOf(c), c.get("user").id);
		return ok(c, keys.map(keyView));
	})
	.delete("/:id", requestDb(), authenticate(), validate("param", keyId), async (c) => {
		const id = Number(c.req.valid("param").id);
		if (!(await revokeApiKey(dbOf(c), id, c.get("deps").now(), c.get("user").id))) throw notFound("no such API key");
		return ok(c, { id });
	});

/** Mount at /api/admin, before the admin group. */
export const adminKeyRoutes = new Hono<AppEnv>()
	.get("/users/:sub/keys", requestDb(), authenticate({ role: "admin" }), async (c) => {
		const db = dbOf(c);
		const user = await findUserBySub(db, c.req.param("sub"));
		if (!user) throw notFound("no such user");
		return ok(c, (await listLiveKeys(db, user.id)).map(keyView));
	})
	// The key acts as that user, with that user's role (never the calling admin's): shown once, here.
	.post("/users/:sub/keys", requestDb(), authenticate({ role: "admin" }), validate("json", newKeyBody), async (c) => {
		const db = dbOf(c);
		const user = await findUserBySub(db, c.req.param("sub"));
		if (!user) throw notFound("no such user");
		const owner = { id: user.id, sub: user.sub, role: user.role };
		const created = await createApiKey(db, owner, c.req.valid("json").name, c.get("deps").now());
		return ok(c, { ...keyView(created), key: created.key }, 201);
	})
	.delete("/keys/:id", requestDb(), authenticate({ role: "admin" }), validate("param", keyId), async (c) => {
		const id = Number(c.req.valid("param").id);
		if (!(await revokeApiKey(dbOf(c), id, c.get("deps").now()))) throw notFound("no such API key");
		return ok(c, { id });
	});
